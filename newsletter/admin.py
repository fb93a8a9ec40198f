import csv
import smtplib
from datetime import timedelta

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import (
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django_ckeditor_5.widgets import CKEditor5Widget

from articles.html import body_for_editor
from articles.models import Article
from newsletter import imports, services, suppression
from newsletter.emails import GMAIL_CLIP_BYTES, IssueEmail
from newsletter.forms import ImportForm, IssueAdminForm
from newsletter.models import (
    ConsentRecord,
    Delivery,
    Issue,
    IssueStory,
    Newsletter,
    Subscriber,
    Subscription,
    SuppressionReason,
)

STORY_CHOICE_DAYS = 30


@admin.register(Newsletter)
class NewsletterAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_default", "is_active", "confirmed_subscribers"]
    list_editable = ["is_default", "is_active"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).with_confirmed_count()

    @admin.display(description="confirmed subscribers", ordering="confirmed_count")
    def confirmed_subscribers(self, newsletter):
        return newsletter.confirmed_count


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    extra = 0
    fields = ["newsletter", "status", "created_at", "confirmed_at", "unsubscribed_at"]
    readonly_fields = ["created_at", "confirmed_at", "unsubscribed_at"]


class ConsentRecordInline(admin.TabularInline):
    model = ConsentRecord
    extra = 0
    fields = ["created_at", "kind", "newsletters", "text", "page_url", "ip_network", "recorded_by"]
    readonly_fields = fields
    can_delete = False
    verbose_name_plural = "Consent records (the evidence behind every email)"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class NewsletterFilter(admin.SimpleListFilter):
    title = "newsletter"
    parameter_name = "newsletter"

    def lookups(self, request, model_admin):
        return [(newsletter.pk, newsletter.name) for newsletter in Newsletter.objects.all()]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        return queryset.filter(
            subscriptions__in=Subscription.objects.active().filter(newsletter_id=self.value())
        )


class Echo:
    """A file-like object whose write() returns what it was given, for csv.writer."""

    def write(self, value):
        return value


class SuppressedFilter(admin.SimpleListFilter):
    title = "suppression"
    parameter_name = "suppressed"

    def lookups(self, request, model_admin):
        return [
            ("any", "Suppressed (any reason)"),
            *SuppressionReason.choices,
            ("no", "Not suppressed"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "any":
            return queryset.suppressed()
        if self.value() == "no":
            return queryset.mailable()
        if self.value() in SuppressionReason.values:
            return queryset.filter(suppression_reason=self.value())
        return queryset


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["email", "status", "suppression", "newsletter_list", "created_at",
                    "confirmed_at"]  # fmt: skip
    list_filter = ["status", SuppressedFilter, NewsletterFilter, "created_at"]
    search_fields = ["email"]
    date_hierarchy = "created_at"
    list_per_page = 100
    fieldsets = [
        (None, {"fields": ["email", "status", "created_at", "confirmed_at"]}),
        (
            "Deliverability",
            {
                "fields": [
                    "suppressed_at",
                    "suppression_reason",
                    "suppression_detail",
                    "soft_bounces",
                ]  # fmt: skip
            },
        ),
    ]
    readonly_fields = ["status", "created_at", "confirmed_at", "suppressed_at",
                       "suppression_reason", "suppression_detail", "soft_bounces"]  # fmt: skip
    inlines = [SubscriptionInline, ConsentRecordInline]
    actions = ["erase_selected", "lift_suppression"]

    @admin.display(description="suppressed", ordering="suppressed_at")
    def suppression(self, subscriber):
        if not subscriber.is_suppressed:
            return "—"
        return format_html(
            '<span title="{}">{}</span>',
            subscriber.suppression_detail,
            subscriber.get_suppression_reason_display(),
        )

    @admin.action(
        description="Lift the suppression of selected subscribers", permissions=["change"]
    )
    def lift_suppression(self, request, queryset):
        lifted = 0
        for subscriber in queryset.suppressed():
            suppression.subscriber_lift_suppression(subscriber=subscriber, user=request.user)
            lifted += 1
        self.message_user(
            request,
            f"{lifted} subscriber{'s' if lifted != 1 else ''} will be mailed again.",
            messages.SUCCESS,
        )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch(
                    "subscriptions",
                    queryset=Subscription.objects.select_related("newsletter").order_by(
                        "newsletter__position", "newsletter__name"
                    ),
                )
            )
        )

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None):
        # Deleting would leave the address in the admin log; "erase" removes it everywhere.
        return False

    def has_erase_permission(self, request):
        return request.user.has_perm("newsletter.erase_subscriber")

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        form.instance.refresh_status()

    @admin.display(description="newsletters")
    def newsletter_list(self, subscriber):
        return ", ".join(
            subscription.newsletter.name
            + ("" if subscription.status == Subscription.Status.CONFIRMED else " (pending)")
            for subscription in subscriber.subscriptions.all()
            if subscription.status != Subscription.Status.UNSUBSCRIBED
        )

    def changelist_view(self, request, extra_context=None):
        totals = Subscriber.objects.status_totals()
        extra_context = {
            **(extra_context or {}),
            "status_totals": [(label, totals[value]) for value, label in Subscriber.Status.choices],
            "can_export": request.user.has_perm("newsletter.export_subscribers"),
            "can_import": request.user.has_perm("newsletter.import_subscribers"),
        }
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        return [
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name="newsletter_subscriber_export",
            ),
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="newsletter_subscriber_import",
            ),
            *super().get_urls(),
        ]

    def export_view(self, request):
        """Stream the subscribers the list shows (same filters and search) as CSV."""
        if not request.user.has_perm("newsletter.export_subscribers"):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        subscribers = changelist.get_queryset(request).order_by("pk")
        writer = csv.writer(Echo())
        response = StreamingHttpResponse(
            (writer.writerow(row) for row in imports.export_rows(subscribers)),
            content_type="text/csv; charset=utf-8",
        )
        stamp = timezone.localtime().strftime("%Y-%m-%d")
        response["Content-Disposition"] = f'attachment; filename="subscribers-{stamp}.csv"'
        response["Cache-Control"] = "no-store"
        return response

    def import_view(self, request):
        """Check a CSV of addresses row by row; import all of them, or none if one is bad."""
        if not request.user.has_perm("newsletter.import_subscribers"):
            raise PermissionDenied
        report = None
        status = 200
        if request.method == "POST":
            form = ImportForm(request.POST, request.FILES)
            if form.is_valid():
                report = imports.subscriber_import(
                    text=form.cleaned_data["file"],
                    newsletters=form.cleaned_data["newsletters"],
                    consent_text=form.cleaned_data["consent_text"],
                    user=request.user,
                )
                if report.accepted:
                    self.message_user(
                        request,
                        f"Imported {len(report.rows)} rows: {report.count(imports.IMPORT_ADDED)} "
                        f"added, {report.count(imports.IMPORT_ALREADY)} already subscribed, "
                        f"{report.count(imports.IMPORT_UNSUBSCRIBED)} left alone because "
                        "they unsubscribed before.",
                        messages.SUCCESS,
                    )
                else:
                    status = 400
            else:
                status = 400
        else:
            form = ImportForm()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import subscribers",
            "form": form,
            "report": report,
        }
        return TemplateResponse(
            request, "admin/newsletter/subscriber/import.html", context, status=status
        )

    @admin.action(description="Erase personal data of selected subscribers", permissions=["erase"])
    def erase_selected(self, request, queryset):
        if request.POST.get("confirm") == "yes":
            count = 0
            for subscriber in queryset:
                services.subscriber_erase(subscriber=subscriber, user=request.user)
                count += 1
            self.message_user(
                request,
                f"Erased {count} subscriber{'s' if count != 1 else ''}: their addresses, "
                "subscriptions and consent records are gone; delivery counts remain.",
                messages.SUCCESS,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Erase personal data?",
            "subscribers": queryset,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(
            request, "admin/newsletter/subscriber/erase_confirmation.html", context
        )


def size_context(issue, user) -> dict:
    """Return the size of the issue's HTML and whether Gmail would clip it."""
    html_bytes = IssueEmail(issue).html_bytes(Subscriber(email=user.email or "you@example.org"))
    return {
        "html_kb": round(html_bytes / 1024),
        "clip_kb": GMAIL_CLIP_BYTES // 1024,
        "clipped": html_bytes > GMAIL_CLIP_BYTES,
    }


def progress_context(issue, counts) -> dict:
    """Return the figures the issue page shows while and after it is sent."""
    changelist = reverse("admin:newsletter_delivery_changelist")

    def link(status):
        return f"{changelist}?issue__id__exact={issue.pk}&status__exact={status}"

    Status = Delivery.Status
    return {
        "rows": [
            ("Sent", counts[Status.SENT], link(Status.SENT)),
            ("Failed", counts[Status.FAILED], link(Status.FAILED)),
            (
                "Suppressed (bounced or complained)",
                counts[Status.SUPPRESSED],
                link(Status.SUPPRESSED),
            ),
            (
                "Skipped (unsubscribed before their turn)",
                counts[Status.SKIPPED],
                link(Status.SKIPPED),
            ),
            ("Outcome unknown", counts[Status.UNKNOWN], link(Status.UNKNOWN)),
            ("Remaining", counts[Status.PENDING] + counts[Status.CLAIMED], link(Status.PENDING)),
        ],  # fmt: skip
        "total": sum(counts.values()),
        "failures": issue.deliveries.failure_summary(),
        "retryable": issue.deliveries.retryable().count(),
        "unknown": counts[Status.UNKNOWN],
        "unknown_link": link(Status.UNKNOWN),
    }


class IssueStoryInline(admin.TabularInline):
    model = IssueStory
    extra = 3
    fields = ["article", "position"]
    verbose_name_plural = f"Stories (published in the last {STORY_CHOICE_DAYS} days)"

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "article":
            # Audience staff cannot open the story admin, so the stories are offered here
            # rather than through its autocomplete.
            kwargs["queryset"] = (
                Article.objects.published()
                .filter(published_at__gte=timezone.now() - timedelta(days=STORY_CHOICE_DAYS))
                .order_by("-published_at")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class IssueForm(IssueAdminForm):
    class Meta(IssueAdminForm.Meta):
        widgets = {"intro": CKEditor5Widget(config_name="default")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.initial.get("intro"):
            self.initial["intro"] = body_for_editor(self.initial["intro"])


@admin.register(Issue)
class IssueAdmin(admin.ModelAdmin):
    form = IssueForm
    inlines = [IssueStoryInline]
    list_display = ["subject", "newsletter", "status", "recipient_count", "sent_count",
                    "failed_count", "created_at"]  # fmt: skip
    list_filter = ["status", "newsletter"]
    search_fields = ["subject"]
    readonly_fields = ["status", "progress", "send_started_at", "sent_at"]
    fieldsets = [
        (None, {"fields": ["newsletter", "subject", "preheader", "intro"]}),
        ("Sending", {"fields": ["status", "progress", "send_started_at", "sent_at"]}),
    ]

    def has_change_permission(self, request, obj=None):
        # Once sending starts, the issue is what subscribers got: it is kept as it was.
        if obj is not None and obj.status != Issue.Status.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status != Issue.Status.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.display(description="deliveries")
    def progress(self, issue):
        if issue.pk is None:
            return "Not sent yet."
        counts = issue.delivery_counts()
        if not any(counts.values()):
            return "Not sent yet."
        return render_to_string(
            "admin/newsletter/issue/progress.html",
            {"issue": issue, **progress_context(issue, counts)},
        )

    def get_urls(self):
        return [
            path(
                "<path:object_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="newsletter_issue_preview",
            ),
            path(
                "<path:object_id>/send-test/",
                self.admin_site.admin_view(self.send_test_view),
                name="newsletter_issue_send_test",
            ),
            path(
                "<path:object_id>/send/",
                self.admin_site.admin_view(self.send_view),
                name="newsletter_issue_send",
            ),
            path(
                "<path:object_id>/retry-failed/",
                self.admin_site.admin_view(self.retry_failed_view),
                name="newsletter_issue_retry_failed",
            ),
            *super().get_urls(),
        ]

    def issue_or_404(self, request, object_id):
        issue = get_object_or_404(Issue.objects.select_related("newsletter"), pk=object_id)
        if not self.has_view_permission(request, issue):
            raise PermissionDenied
        return issue

    def preview_view(self, request, object_id):
        """Show the HTML email exactly as a subscriber would get it."""
        issue = self.issue_or_404(request, object_id)
        email = IssueEmail(issue)
        message = email.message_for(Subscriber(email=request.user.email or "you@example.org"))
        html, _ = message.alternatives[0]
        response = HttpResponse(html)
        response["Cache-Control"] = "no-store"
        return response

    @staticmethod
    def change_url(issue):
        return reverse("admin:newsletter_issue_change", args=[issue.pk])

    def send_test_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        issue = self.issue_or_404(request, object_id)
        if not request.user.has_perm("newsletter.send_issue"):
            raise PermissionDenied
        if not request.user.email:
            self.message_user(
                request, "Your account has no email address to send the test to.", messages.ERROR
            )
            return HttpResponseRedirect(self.change_url(issue))
        try:
            services.issue_send_test(issue=issue, user=request.user)
        except (smtplib.SMTPException, OSError) as error:
            self.message_user(request, f"The test could not be sent: {error}", messages.ERROR)
        else:
            self.message_user(request, f"Test sent to {request.user.email}.", messages.SUCCESS)
        return HttpResponseRedirect(self.change_url(issue))

    def retry_failed_view(self, request, object_id):
        """Queue again the deliveries that failed with a temporary error (POST only)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        issue = self.issue_or_404(request, object_id)
        if not request.user.has_perm("newsletter.send_issue"):
            raise PermissionDenied
        count = services.issue_retry_failed(issue=issue, user=request.user)
        if count:
            self.message_user(
                request,
                f"Sending {count} deliver{'ies' if count != 1 else 'y'} again in the background.",
                messages.SUCCESS,
            )
        else:
            self.message_user(
                request, "No delivery failed with a temporary error.", messages.WARNING
            )
        return HttpResponseRedirect(self.change_url(issue))

    def send_view(self, request, object_id):
        """Ask, then queue the issue for every confirmed subscriber (or resume sending it)."""
        issue = self.issue_or_404(request, object_id)
        if not request.user.has_perm("newsletter.send_issue"):
            raise PermissionDenied
        if issue.status == Issue.Status.SENT:
            self.message_user(request, "This issue has already been sent.", messages.WARNING)
            return HttpResponseRedirect(self.change_url(issue))
        if request.method == "POST":
            added = services.issue_send(issue=issue, user=request.user)
            self.message_user(
                request,
                f"Sending to {added} subscriber{'s' if added != 1 else ''} in the background. "
                "The counts below update as it goes; reload to see them.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(self.change_url(issue))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Send this issue?",
            "issue": issue,
            "original": issue,
            "recipients": issue.recipients().count(),
            "suppressed": issue.confirmed_subscribers().suppressed().count(),
            "story_count": len(issue.ordered_stories()),
            **size_context(issue, request.user),
        }
        return TemplateResponse(request, "admin/newsletter/issue/send_confirmation.html", context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["can_send"] = request.user.has_perm("newsletter.send_issue")
        if obj is not None and obj.pk is not None:
            context.update(size_context(obj, request.user))
        return super().render_change_form(request, context, add, change, form_url, obj)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["issue", "recipient", "status", "attempts", "sent_at", "short_error"]
    list_filter = ["status", "issue"]
    list_select_related = ["issue", "subscriber"]
    search_fields = ["subscriber__email"]
    list_per_page = 200
    show_full_result_count = False
    actions = ["resend_unknown"]
    fields = ["issue", "subscriber", "status", "attempts", "temporary", "claimed_at", "sent_at",
              "error"]  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_retry_permission(self, request):
        return request.user.has_perm("newsletter.send_issue")

    @admin.display(description="subscriber", ordering="subscriber__email")
    def recipient(self, delivery):
        return delivery.subscriber.email if delivery.subscriber else "(erased)"

    @admin.display(description="error")
    def short_error(self, delivery):
        return delivery.error[:120]

    @admin.action(
        description="Send selected deliveries with an unknown outcome again (check the mail "
        "server's log first)",
        permissions=["retry"],
    )
    def resend_unknown(self, request, queryset):
        count = services.delivery_resend_unknown(deliveries=queryset, user=request.user)
        self.message_user(
            request,
            f"{count} deliver{'ies' if count != 1 else 'y'} queued again.",
            messages.SUCCESS,
        )
