from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from frontpage import services
from frontpage.models import FrontPage, FrontPageSection, FrontPageStory
from frontpage.views import HomeView


class OncePerFrontPageFormSet(BaseInlineFormSet):
    """Refuse a story or section the arrangement already holds in a row this form left out."""

    unique_field = None

    def clean(self):
        super().clean()
        if self.instance.pk is None:
            return
        submitted = {form.instance.pk for form in self.initial_forms}
        kept_elsewhere = set(
            self.model.objects.filter(front_page=self.instance)
            .exclude(pk__in=submitted)
            .values_list(self.unique_field + "_id", flat=True)
        )
        for form in self.extra_forms:
            chosen = form.cleaned_data.get(self.unique_field) if form.has_changed() else None
            if chosen is not None and chosen.pk in kept_elsewhere:
                raise ValidationError(f"“{chosen}” is already on the front page once.")


class TopStoryFormSet(OncePerFrontPageFormSet):
    unique_field = "article"


class SectionBlockFormSet(OncePerFrontPageFormSet):
    unique_field = "section"


class TopStoryInline(admin.TabularInline):
    model = FrontPageStory
    formset = TopStoryFormSet
    extra = 3
    fields = ["article", "position"]
    autocomplete_fields = ["article"]


class SectionBlockInline(admin.TabularInline):
    model = FrontPageSection
    formset = SectionBlockFormSet
    extra = 1
    fields = ["section", "position"]
    autocomplete_fields = ["section"]


class FrontPagePreview(HomeView):
    """The home page as the draft arranges it, for editors only; never cached or indexed."""

    template_name = "frontpage/preview.html"
    front_page = None

    def get_plan(self):
        return self.front_page.plan()


@admin.register(FrontPage)
class FrontPageAdmin(admin.ModelAdmin):
    """One draft arrangement to edit, preview and publish; published ones are its history."""

    inlines = [TopStoryInline, SectionBlockInline]
    autocomplete_fields = ["lead"]
    change_form_template = "admin/frontpage/frontpage/change_form.html"
    fieldsets = [
        (None, {"fields": ["lead"]}),
        ("Breaking news", {"fields": ["breaking_text", "breaking_url", "breaking_expires_at"]}),
    ]

    def has_add_permission(self, request):
        return False  # the one draft is made when an editor opens the front page

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # Published arrangements are history: they are restored, never changed.
        if obj is not None and obj.state != FrontPage.State.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    def get_urls(self):
        def view(function, route, name):
            return path(route, self.admin_site.admin_view(function), name=f"frontpage_{name}")

        return [
            view(self.revisions_view, "revisions/", "revisions"),
            view(self.preview_view, "<int:pk>/preview/", "preview"),
            view(self.restore_view, "<int:pk>/restore/", "restore"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        """Open the draft: there is one front page to arrange, not a list of them."""
        if not self.has_change_permission(request):
            if self.has_view_permission(request):
                return HttpResponseRedirect(reverse("admin:frontpage_revisions"))
            raise PermissionDenied
        draft = services.front_page_draft(user=request.user)
        return HttpResponseRedirect(reverse("admin:frontpage_frontpage_change", args=[draft.pk]))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context.update(
            can_publish=request.user.has_perm("frontpage.publish_frontpage"),
            live=FrontPage.objects.published().select_related("published_by").first(),
        )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def response_change(self, request, obj):
        if "_publish" in request.POST:
            return self.publish(request, obj)
        messages.success(request, "The draft is saved. Readers see it once you publish it.")
        return HttpResponseRedirect(reverse("admin:frontpage_frontpage_change", args=[obj.pk]))

    def publish(self, request, draft):
        services.front_page_publish(front_page=draft, user=request.user)
        messages.success(request, "The front page is published: readers see it now.")
        return HttpResponseRedirect(reverse("admin:frontpage_revisions"))

    @method_decorator(never_cache)
    def preview_view(self, request, pk):
        if not self.has_view_permission(request):
            raise PermissionDenied
        front_page = get_object_or_404(FrontPage, pk=pk)
        response = FrontPagePreview.as_view(front_page=front_page)(request)
        response.render()
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    def revisions_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        revisions = list(FrontPage.objects.published().select_related("published_by", "lead")[:50])
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Published front pages",
            "revisions": revisions,
            "can_restore": self.has_change_permission(request),
        }
        return TemplateResponse(request, "admin/frontpage/frontpage/revisions.html", context)

    @method_decorator(require_POST)
    def restore_view(self, request, pk):
        revision = get_object_or_404(FrontPage.objects.published(), pk=pk)
        if not self.has_change_permission(request):
            raise PermissionDenied
        draft = services.front_page_restore(revision=revision, user=request.user)
        messages.success(
            request,
            f"The draft now holds the {revision}. Preview it, then publish it to bring it back.",
        )
        return HttpResponseRedirect(reverse("admin:frontpage_frontpage_change", args=[draft.pk]))
