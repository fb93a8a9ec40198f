from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.http import require_POST
from reversion.admin import VersionAdmin
from reversion.models import Version

from articles import revisions, services
from articles.editing_admin import StoryEditingAdminMixin, pending_byline_rows, pending_update_for
from articles.forms import ArticleAdminForm
from articles.html import sanitize_html
from articles.models import Article, ArticleAuthor, Author, Correction, Section, Tag
from articles.search import full_text_search_available, search_articles
from photos.widgets import PhotoChooserAdminMixin
from publication.addresses import absolute_url


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "order"]
    list_editable = ["order"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]


@admin.register(Author)
class AuthorAdmin(PhotoChooserAdminMixin, admin.ModelAdmin):
    list_display = ["name", "initials", "role", "user"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "initials", "role"]
    autocomplete_fields = ["user"]
    raw_id_fields = ["photo"]
    photo_chooser_fields = ["photo"]


class BylineInline(admin.TabularInline):
    model = ArticleAuthor
    extra = 1
    autocomplete_fields = ["author"]
    fields = ["author", "position"]
    verbose_name = "byline"
    verbose_name_plural = "Bylines (in the order readers see them)"

    def get_extra(self, request, obj=None, **kwargs):
        rows = pending_byline_rows(request, obj)
        return self.extra if rows is None else rows


class CorrectionInline(admin.StackedInline):
    model = Correction
    extra = 0
    fields = ["kind", "published_at", "text"]
    verbose_name_plural = "Corrections and clarifications (shown under the story)"


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [
            ("draft", "Draft"),
            ("review", "In review"),
            ("scheduled", "Scheduled"),
            ("live", "Published"),
            ("withdrawn", "Withdrawn"),
            ("pending", "Update pending"),
        ]

    def queryset(self, request, queryset):
        return {
            "draft": lambda: queryset.filter(status=Article.Status.DRAFT),
            "review": lambda: queryset.filter(status=Article.Status.REVIEW),
            "scheduled": lambda: queryset.scheduled(),
            "live": lambda: queryset.published(),
            "withdrawn": lambda: queryset.filter(status=Article.Status.WITHDRAWN),
            "pending": lambda: queryset.filter(pending_update__isnull=False),
        }.get(self.value(), lambda: queryset)()


WORKFLOW_BUTTONS = {
    "_submit_review": (services.article_submit_for_review, "Submitted for review."),
    "_publish": (services.article_publish, None),
    "_withdraw": (services.article_withdraw, "Withdrawn: its address now answers 410 Gone."),
    "_to_draft": (services.article_return_to_draft, "Returned to draft."),
    "_publish_update": (
        services.article_publish_update,
        "The update is published: readers see it now.",
    ),
}
# What saving a published story's pending update never changes: its publication times.
NOT_STAGED = {"published_at", "updated_at"}


@admin.register(Article)
class ArticleAdmin(StoryEditingAdminMixin, PhotoChooserAdminMixin, VersionAdmin):
    form = ArticleAdminForm
    object_history_template = "admin/articles/article/object_history.html"
    change_list_template = "admin/articles/article/change_list.html"
    inlines = [BylineInline, CorrectionInline]
    list_display = [
        "headline", "status_badge", "editing_marker", "section", "byline_list", "published_at",
    ]  # fmt: skip
    list_filter = [StatusFilter, "section", "story_type", "featured", "bylines__author",
                   "published_at"]  # fmt: skip
    list_select_related = ["section"]
    list_per_page = 50
    search_fields = ["headline", "dek", "body"]
    date_hierarchy = "published_at"
    # A full count on every page of a 100,000-story list is wasted work.
    show_full_result_count = False
    prepopulated_fields = {"slug": ["headline"]}
    autocomplete_fields = ["section", "tags"]
    raw_id_fields = ["lead_photo"]
    photo_chooser_fields = ["lead_photo"]
    actions = ["publish_selected", "withdraw_selected"]
    readonly_fields = ["status_badge", "created_by", "created_at", "modified_at"]
    fieldsets = [
        (None, {"fields": ["headline", "slug", "dek", "body"]}),
        ("Lead photo", {"fields": ["lead_photo", "lead_photo_caption"]}),
        (
            "Filing",
            {"fields": ["section", "tags", "story_type", "language", "byline", "featured"]},
        ),  # fmt: skip
        (
            "Publication",
            {"fields": ["status_badge", "published_at", "updated_at", "loaded_modified_at"]},
        ),  # fmt: skip
        (
            "Search engines and sharing",
            {"fields": ["seo_title", "seo_description"], "classes": ["collapse"]},
        ),  # fmt: skip
        (
            "Record",
            {"fields": ["created_by", "created_at", "modified_at"], "classes": ["collapse"]},
        ),  # fmt: skip
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .with_editing_marks()
            .prefetch_related(
                Prefetch("bylines", queryset=ArticleAuthor.objects.select_related("author"))
            )
        )

    def get_search_results(self, request, queryset, search_term):
        # The same full-text search readers get, over every story whatever its state;
        # Django's icontains search over search_fields where PostgreSQL is not available.
        if not search_term.strip() or not full_text_search_available(queryset.db):
            return super().get_search_results(request, queryset, search_term)
        return search_articles(search_term, queryset=queryset, ranked=False), False

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.has_perm("articles.publish_article"):
            readonly += ["published_at", "updated_at", "featured"]
        elif self.edits_pending_update(request, obj):
            readonly += sorted(NOT_STAGED)
        return readonly

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or obj.status != Article.Status.PUBLISHED:
            return fieldsets
        # A published story's update can tell readers it was updated.
        return [
            (name, {**options, "fields": [*options["fields"], "substantive_update"]})
            if name == "Publication"
            else (name, options)
            for name, options in fieldsets
        ]

    def get_inlines(self, request, obj):
        # Corrections reach readers the moment they are saved: never part of a pending update.
        if self.edits_pending_update(request, obj):
            return [BylineInline]
        return super().get_inlines(request, obj)

    def edits_pending_update(self, request, obj):
        """Return whether the form edits a pending update rather than the live story."""
        return (
            obj is not None
            and obj.status == Article.Status.PUBLISHED
            and (
                pending_update_for(request, obj) is not None
                or not services.article_can_edit(user=request.user, article=obj)
            )
        )

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        return obj is None or services.article_can_work_on(user=request.user, article=obj)

    def has_publish_permission(self, request):
        return request.user.has_perm("articles.publish_article")

    @admin.display(description="being edited", empty_value="")
    def editing_marker(self, article):
        if not getattr(article, "editing_by", None):
            return ""
        return format_html(
            '<span class="editing-marker" title="Being edited by {}">✎ {}</span>',
            article.editing_by,
            article.editing_by,
        )

    @admin.display(description="status", ordering="status")
    def status_badge(self, article):
        if article.pk is None:
            return "Draft (not saved yet)"
        if getattr(article, "has_pending_update", False):
            return format_html(
                '{} · <span class="status status-pending">update pending</span>',
                self.status_word(article),
            )
        return self.status_word(article)

    def status_word(self, article):
        if article.is_scheduled:
            when = timezone.localtime(article.published_at).strftime("%d %b %Y, %H:%M %Z")
            return format_html(
                '<span class="status status-scheduled">Scheduled for {}</span>', when
            )
        label = article.status_label
        return format_html(
            '<span class="status status-{}">{}</span>', label.lower().replace(" ", "-"), label
        )

    @admin.display(description="bylines")
    def byline_list(self, article):
        return ", ".join(str(part) for part in article.byline_parts())

    def view_on_site(self, article):
        if article.is_public:
            return article.get_absolute_url()
        return reverse("articles:preview", kwargs={"pk": article.pk})

    def save_model(self, request, obj, form, change):
        if self.is_staging(request, obj):
            return  # save_related stages the update; the live story stays as it is
        if not change:
            obj.created_by = request.user
        if form.cleaned_data.get("substantive_update"):
            obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        if self.is_staging(request, form.instance):
            self.stage_update(request, form, formsets)
            return
        super().save_related(request, form, formsets, change)
        article = form.instance
        author = getattr(request.user, "author", None)
        if not change and author is not None and not article.bylines.exists():
            ArticleAuthor.objects.create(article=article, author=author, position=0)

    def construct_change_message(self, request, form, formsets, add=False):
        if self.is_staging(request, form.instance):
            return "Saved a pending update (not yet shown to readers)."
        return super().construct_change_message(request, form, formsets, add)

    def stage_update(self, request, form, formsets):
        """Save the form as the story's pending update: readers keep the live version."""
        article = form.instance
        data = form.cleaned_data
        bylines = next(formset for formset in formsets if formset.prefix == "bylines")
        rows = sorted(
            (row["position"] or 0, index, row["author"].pk)
            for index, row in enumerate(bylines.cleaned_data)
            if row and row.get("author") and not row.get("DELETE")
        )
        # The form has put what it holds on the (unsaved) story; tags are only in the form.
        content = revisions.Content(
            fields={name: getattr(article, name) or "" for name in revisions.RESTORED_FIELDS},
            lead_photo_id=article.lead_photo_id,
            tag_ids=sorted(tag.pk for tag in data.get("tags", article.tags.all())),
            author_ids=[author for _, _, author in rows],
            attributes={name: getattr(article, name) for name in revisions.STAGED_ATTRIBUTES},
        )
        content.fields["body"] = sanitize_html(content.fields["body"])
        services.article_stage_update(
            article=article,
            user=request.user,
            content=content,
            substantive=bool(data.get("substantive_update")),
        )
        skipped = [
            str(form.fields[name].label or name) for name in form.changed_data if name in NOT_STAGED
        ]
        if skipped:
            messages.warning(request, (
                f"Not part of a pending update, so left as they were: {', '.join(skipped)}."
            ))  # fmt: skip
        if any(formset.has_changed() for formset in formsets if formset.prefix == "corrections"):
            messages.warning(
                request,
                "The correction was not saved: corrections reach readers at once. "
                "Add it once the update is published.",
            )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        user = request.user
        can_publish = user.has_perm("articles.publish_article")
        status = obj.status if obj else Article.Status.DRAFT
        buttons = []
        if status in (Article.Status.DRAFT,) and self.has_change_permission(request, obj):
            buttons.append(("_submit_review", "Save and submit for review"))
        pending_mode = self.edits_pending_update(request, obj)
        if obj is not None and obj.is_public and not pending_mode:
            if can_publish:
                buttons.append(("_stage", "Save as a pending update (readers keep this version)"))
        if can_publish:
            label = "Save and publish" if status != Article.Status.PUBLISHED else None
            if label:
                buttons.append(("_publish", f"{label} (or schedule, if the time is ahead)"))
            if pending_mode:
                buttons.append(("_publish_update", "Save and publish the update"))
            if status == Article.Status.PUBLISHED and obj is not None:
                buttons.append(("_withdraw", "Withdraw from the site"))
            if obj is not None and status != Article.Status.DRAFT:
                buttons.append(("_to_draft", "Return to draft"))
        context["workflow_buttons"] = buttons
        context["save_label"] = (
            ("Save the pending update" if can_publish else "Submit the update for an editor")
            if pending_mode
            else "Save"
            if status == Article.Status.PUBLISHED
            else "Save draft"
        )
        context["pending_mode"] = pending_mode
        if obj is not None:
            context["preview_url"] = reverse("articles:preview", kwargs={"pk": obj.pk})
            if can_publish:
                context["preview_link_url"] = reverse(
                    "admin:articles_article_preview_link", args=[obj.pk]
                )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def response_add(self, request, obj, post_url_continue=None):
        self.after_explicit_save(request, obj, leaving=leaves_form(request))
        return self.workflow_response(request, obj) or super().response_add(
            request, obj, post_url_continue
        )

    def response_change(self, request, obj):
        self.after_explicit_save(request, obj, leaving=leaves_form(request))
        if self.is_staging(request, obj) and "_publish_update" not in request.POST:
            messages.success(request, (
                f"“{obj.headline}”: the update is saved as pending. Readers still see the "
                "live version until an editor publishes it."
            ))  # fmt: skip
            if leaves_form(request):
                return HttpResponseRedirect(reverse("admin:articles_article_changelist"))
            return HttpResponseRedirect(reverse("admin:articles_article_change", args=[obj.pk]))
        return self.workflow_response(request, obj) or super().response_change(request, obj)

    def workflow_response(self, request, article):
        """Run the workflow button that was pressed, after the story itself was saved."""
        change_url = reverse("admin:articles_article_change", args=[article.pk])
        for name, (action, done) in WORKFLOW_BUTTONS.items():
            if name not in request.POST:
                continue
            try:
                action(article=article, user=request.user)
            except PermissionDenied:
                raise
            except ValidationError as error:
                messages.error(request, "Your edits were saved, but: " + " ".join(error.messages))
                return HttpResponseRedirect(change_url)
            if done is None:
                done = (
                    "Scheduled for "
                    + timezone.localtime(article.published_at).strftime("%d %b %Y, %H:%M %Z")
                    if article.is_scheduled
                    else "Published."
                )
            messages.success(request, f"“{article.headline}”: {done}")
            return HttpResponseRedirect(change_url)
        return None

    # Revisions: history, compare, restore and recover. Each judges permission on the
    # story as it is in the database now; none goes through the change form, so a restore
    # brings back wording only and never the workflow state of an old version.

    def get_urls(self):
        return [
            path(
                "<path:object_id>/history/compare/",
                self.admin_site.admin_view(self.compare_view),
                name="articles_article_compare",
            ),
            path(
                "<path:object_id>/preview-link/",
                self.admin_site.admin_view(self.preview_link_view),
                name="articles_article_preview_link",
            ),
            *super().get_urls(),
        ]

    def viewable_story(self, request, object_id):
        """Return the story ``object_id`` if this user may see it; raise 404 or 403 otherwise."""
        article = self.get_object(request, object_id)
        if article is None:
            raise Http404("There is no such story.")
        if not self.has_view_or_change_permission(request, article):
            raise PermissionDenied
        return article

    def revision_context(self, request, article, **context):
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": article,
            "object_id": article.pk,
            "history_url": reverse("admin:articles_article_history", args=[article.pk]),
            **context,
        }

    def history_view(self, request, object_id, extra_context=None):
        article = self.viewable_story(request, object_id)
        versions = list(revisions.article_versions(article))
        context = self.revision_context(
            request,
            article,
            title=f"History of “{article.headline}”",
            versions=versions,
            newest=versions[0] if versions else None,
            previous=versions[1] if len(versions) > 1 else None,
            **(extra_context or {}),
        )
        return TemplateResponse(request, self.object_history_template, context)

    def compare_view(self, request, object_id):
        article = self.viewable_story(request, object_id)
        first = revisions.article_version(article, request.GET.get("version_id1"))
        second = revisions.article_version(article, request.GET.get("version_id2"))
        if first is None or second is None:
            raise Http404("Choose two versions of this story to compare.")
        older, newer = sorted([first, second], key=lambda version: version.pk)
        context = self.revision_context(
            request,
            article,
            title=f"Compare versions of “{article.headline}”",
            older=older,
            newer=newer,
            changes=revisions.compare(
                revisions.version_content(older), revisions.version_content(newer)
            ),
        )
        return TemplateResponse(request, "admin/articles/article/compare.html", context)

    def revision_view(self, request, object_id, version_id, extra_context=None):
        article = self.viewable_story(request, object_id)
        version = revisions.article_version(article, version_id)
        if version is None:
            raise Http404("That version is not one of this story's.")
        # Restoring changes the live row at once: editing rights, not a pending update's.
        can_restore = services.article_can_edit(user=request.user, article=article)
        if request.method == "POST":
            if not can_restore:
                raise PermissionDenied
            missing = services.article_restore_version(
                article=article, version=version, user=request.user
            )
            when = timezone.localtime(version.revision.date_created).strftime("%d %b %Y, %H:%M")
            messages.success(
                request,
                f"Restored the wording of {when}. The story's status and address are unchanged.",
            )
            if missing:
                messages.warning(request, "Could not bring back: " + "; ".join(missing) + ".")
            return HttpResponseRedirect(reverse("admin:articles_article_change", args=[article.pk]))
        content = revisions.version_content(version)
        context = self.revision_context(
            request,
            article,
            title=f"Restore an earlier version of “{article.headline}”",
            version=version,
            can_restore=can_restore,
            missing=content.missing,
            changes=revisions.compare(revisions.current_content(article), content),
        )
        return TemplateResponse(request, "admin/articles/article/restore.html", context)

    def changelist_view(self, request, extra_context=None):
        context = {"can_recover": self.has_publish_permission(request), **(extra_context or {})}
        return super().changelist_view(request, context)

    def recoverlist_view(self, request, extra_context=None):
        if not self.has_publish_permission(request):
            raise PermissionDenied
        return super().recoverlist_view(request, extra_context)

    def recover_view(self, request, version_id, extra_context=None):
        if not self.has_publish_permission(request):
            raise PermissionDenied
        version = get_object_or_404(Version.objects.get_deleted(Article), pk=version_id)
        if request.method == "POST":
            article, missing = services.article_recover(version=version, user=request.user)
            messages.success(request, f"“{article.headline}” is back, as a draft.")
            if missing:
                messages.warning(request, "Could not bring back: " + "; ".join(missing) + ".")
            return HttpResponseRedirect(reverse("admin:articles_article_change", args=[article.pk]))
        content = revisions.version_content(version)
        empty = revisions.Content(
            fields=dict.fromkeys(revisions.RESTORED_FIELDS, ""),
            lead_photo_id=None,
            tag_ids=[],
            author_ids=[],
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Recover “{version.object_repr}”",
            "version": version,
            "missing": content.missing,
            "changes": revisions.compare(empty, content),
        }
        return TemplateResponse(request, "admin/articles/article/recover.html", context)

    @method_decorator(require_POST)
    def preview_link_view(self, request, object_id):
        """Create a shared preview link without saving the form it was pressed in."""
        article = self.viewable_story(request, object_id)
        token = services.article_preview_token(article=article, user=request.user)
        # The public address, as the link goes to people outside the newsroom.
        url = absolute_url(reverse("articles:shared_preview", kwargs={"token": token}))
        messages.success(request, format_html(
            "Preview link, valid for 48 hours: <a href=\"{}\">{}</a>", url, url
        ))  # fmt: skip
        return HttpResponseRedirect(reverse("admin:articles_article_change", args=[article.pk]))

    @admin.action(description="Publish selected stories", permissions=["publish"])
    def publish_selected(self, request, queryset):
        self.run_bulk(request, queryset, services.article_publish, "published")

    @admin.action(description="Withdraw selected stories", permissions=["publish"])
    def withdraw_selected(self, request, queryset):
        self.run_bulk(request, queryset, services.article_withdraw, "withdrawn")

    def run_bulk(self, request, queryset, action, verb):
        done, refused = 0, []
        for article in queryset:
            try:
                action(article=article, user=request.user)
            except ValidationError as error:
                refused.append(f"“{article.headline}”: {' '.join(error.messages)}")
            else:
                done += 1
        if done:
            messages.success(request, f"{done} stor{'y' if done == 1 else 'ies'} {verb}.")
        for message in refused:
            messages.error(request, message)


def leaves_form(request):
    """Return whether the button pressed closes the story form (plain Save, or Save and add)."""
    return "_save" in request.POST or "_addanother" in request.POST


@admin.register(Correction)
class CorrectionAdmin(admin.ModelAdmin):
    list_display = ["article", "kind", "published_at"]
    list_filter = ["kind", "published_at"]
    list_select_related = ["article"]
    search_fields = ["text", "article__headline"]
    raw_id_fields = ["article"]
    date_hierarchy = "published_at"
