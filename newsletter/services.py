"""State changes to subscribers and issues. The views, the admin and the webhooks call these.

The services queue their background work through ``newsletter.tasks``, which never calls
back into them: what a task needs to know about an issue or a subscriber is a model or
queryset method.
"""

from collections.abc import Iterable

from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from accounts.permissions import require_permission
from newsletter import tasks
from newsletter.addresses import truncated_ip
from newsletter.emails import issue_message
from newsletter.models import (
    ConsentRecord,
    Delivery,
    Issue,
    Newsletter,
    Subscriber,
    Subscription,
)

DELIVERY_INSERT_BATCH = 2000


# Readers --------------------------------------------------------------------------


@transaction.atomic
def subscriber_sign_up(
    *,
    email: str,
    newsletters: Iterable[Newsletter],
    consent_text: str,
    page_url: str = "",
    ip_address: str = "",
) -> Subscriber:
    """Ask ``email`` to confirm ``newsletters``; queue exactly one email whatever its state.

    New and unsubscribed subscriptions become pending and the email asks to confirm them;
    subscriptions already confirmed stay as they are, and when nothing is left to confirm
    the email only says so, with a link to the preferences page. Callers answer the same
    whatever happened, so the form never reveals who subscribes.
    """
    newsletters = list(newsletters)
    subscriber, created = Subscriber.objects.locked_for_email(email)
    if created:
        # A new address has no subscriptions yet, and pending is its status already.
        Subscription.objects.bulk_create(
            Subscription(subscriber=subscriber, newsletter=newsletter) for newsletter in newsletters
        )
    else:
        for newsletter in newsletters:
            subscription, new = Subscription.objects.get_or_create(
                subscriber=subscriber, newsletter=newsletter
            )
            if not new and subscription.status == Subscription.Status.UNSUBSCRIBED:
                subscription.status = Subscription.Status.PENDING
                subscription.confirmed_at = None
                subscription.save(update_fields=["status", "confirmed_at"])
    ConsentRecord.objects.create(
        subscriber=subscriber,
        kind=ConsentRecord.Kind.SIGNUP,
        text=consent_text,
        newsletters=ConsentRecord.newsletter_names(newsletters),
        page_url=page_url[:500],
        ip_network=truncated_ip(ip_address),
    )
    if not created or not newsletters:
        subscriber.refresh_status()
    tasks.subscriber_enqueue_signup_email(subscriber)
    return subscriber


@transaction.atomic
def subscriber_confirm(*, subscriber: Subscriber, ip_address: str = "", page_url: str = "") -> list:
    """Confirm every pending subscription of ``subscriber``; return all it is confirmed for.

    Confirming again changes nothing and records nothing.
    """
    subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
    now = timezone.now()
    pending = list(subscriber.subscriptions.pending().select_related("newsletter"))
    if pending:
        Subscription.objects.filter(pk__in=[subscription.pk for subscription in pending]).update(
            status=Subscription.Status.CONFIRMED, confirmed_at=now, unsubscribed_at=None
        )
        ConsentRecord.objects.create(
            subscriber=subscriber,
            kind=ConsentRecord.Kind.CONFIRMATION,
            text="Followed the confirmation link sent to this address.",
            newsletters=ConsentRecord.newsletter_names(
                subscription.newsletter for subscription in pending
            ),
            page_url=page_url[:500],
            ip_network=truncated_ip(ip_address),
        )
        if subscriber.confirmed_at is None:
            subscriber.confirmed_at = now
            Subscriber.objects.filter(pk=subscriber.pk).update(confirmed_at=now)
        subscriber.refresh_status()
    return subscriber.subscriptions.confirmed().newsletters()


@transaction.atomic
def subscriber_unsubscribe(
    *, subscriber: Subscriber, newsletter: Newsletter | None = None
) -> list[Newsletter]:
    """Unsubscribe ``subscriber`` from ``newsletter`` (or everything); return what it left.

    Unsubscribing twice is harmless: the second time nothing is left to leave.
    """
    subscriptions = subscriber.subscriptions.active().select_related("newsletter")
    if newsletter is not None:
        subscriptions = subscriptions.filter(newsletter=newsletter)
    left = list(subscriptions.select_for_update(of=("self",)))
    if left:
        Subscription.objects.filter(pk__in=[subscription.pk for subscription in left]).update(
            status=Subscription.Status.UNSUBSCRIBED, unsubscribed_at=timezone.now()
        )
        subscriber.refresh_status()
    return [subscription.newsletter for subscription in left]


@transaction.atomic
def subscriber_set_preferences(
    *,
    subscriber: Subscriber,
    newsletters: Iterable[Newsletter],
    consent_text: str,
    ip_address: str = "",
    page_url: str = "",
) -> None:
    """Make ``newsletters`` exactly what ``subscriber`` receives.

    The preferences link only reaches the owner of the address, so newly chosen
    newsletters are confirmed at once, with a consent record.
    """
    subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
    chosen = {newsletter.pk: newsletter for newsletter in newsletters}
    now = timezone.now()
    existing = {
        subscription.newsletter_id: subscription for subscription in subscriber.subscriptions.all()
    }
    added = []
    for newsletter_id, newsletter in chosen.items():
        subscription = existing.get(newsletter_id)
        if subscription is None:
            subscription = Subscription(subscriber=subscriber, newsletter=newsletter)
        if subscription.status != Subscription.Status.CONFIRMED:
            subscription.status = Subscription.Status.CONFIRMED
            subscription.confirmed_at = now
            subscription.unsubscribed_at = None
            subscription.save()
            added.append(newsletter)
    for newsletter_id, subscription in existing.items():
        if newsletter_id not in chosen and subscription.status != Subscription.Status.UNSUBSCRIBED:
            subscription.status = Subscription.Status.UNSUBSCRIBED
            subscription.unsubscribed_at = now
            subscription.save(update_fields=["status", "unsubscribed_at"])
    if added:
        ConsentRecord.objects.create(
            subscriber=subscriber,
            kind=ConsentRecord.Kind.PREFERENCES,
            text=consent_text,
            newsletters=ConsentRecord.newsletter_names(added),
            page_url=page_url[:500],
            ip_network=truncated_ip(ip_address),
        )
        if subscriber.confirmed_at is None:
            Subscriber.objects.filter(pk=subscriber.pk).update(confirmed_at=now)
    subscriber.refresh_status()


# Staff ----------------------------------------------------------------------------


@transaction.atomic
def subscriber_erase(*, subscriber: Subscriber, user) -> None:
    """Remove ``subscriber``'s address from everywhere it is kept; delivery counts stay.

    Subscriptions, consent records and the suppression detail go with the subscriber row.
    Deliveries lose their link to it and any error text, which may quote the address.
    Earlier admin log entries about it are renamed and emptied, and one more records the
    erasure. Task results keep subscriber ids, not addresses, except the traceback of a
    sign-up email the mail server refused, which ``tasks.subscriber_forget_results`` empties.
    """
    require_permission(user, "newsletter.erase_subscriber", "erase subscribers")
    subscriber_id = subscriber.pk
    Delivery.objects.filter(subscriber=subscriber).update(subscriber=None, error="")
    subscriber.delete()
    erased = f"Subscriber #{subscriber_id} (erased)"
    content_type = ContentType.objects.get_for_model(Subscriber)
    LogEntry.objects.filter(content_type=content_type, object_id=str(subscriber_id)).update(
        object_repr=erased, change_message=""
    )
    LogEntry.objects.create(
        user=user,
        content_type=content_type,
        object_id=str(subscriber_id),
        object_repr=erased,
        action_flag=DELETION,
        change_message="Erased on a data-protection request.",
    )
    tasks.subscriber_forget_results(subscriber_id)


# Issues ---------------------------------------------------------------------------


@transaction.atomic
def issue_send(*, issue: Issue, user) -> int:
    """Queue ``issue`` for every confirmed subscriber; return how many deliveries were added.

    Each subscriber gets one delivery row, whatever the number of clicks: the unique
    constraint on (issue, subscriber) drops the repeats. Suppressed addresses get a row
    too, already marked suppressed, so that the issue's counts add up to its newsletter's
    confirmed subscribers. The sending tasks are queued after commit and only ever send
    pending deliveries, so a second click resumes, never repeats.
    """
    require_permission(user, "newsletter.send_issue", "send issues")
    issue = Issue.objects.select_for_update().get(pk=issue.pk)
    before = issue.deliveries.count()
    recipients = issue.confirmed_subscribers().values_list("pk", "suppressed_at").order_by("pk")
    batch = []
    for subscriber_id, suppressed_at in recipients.iterator(chunk_size=DELIVERY_INSERT_BATCH):
        status = Delivery.Status.PENDING if suppressed_at is None else Delivery.Status.SUPPRESSED
        batch.append(Delivery(issue=issue, subscriber_id=subscriber_id, status=status))
        if len(batch) == DELIVERY_INSERT_BATCH:
            Delivery.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    Delivery.objects.bulk_create(batch, ignore_conflicts=True)
    added = issue.deliveries.count() - before
    issue.status = Issue.Status.SENDING
    issue.send_started_at = issue.send_started_at or timezone.now()
    issue.sent_at = None
    issue.save(update_fields=["status", "send_started_at", "sent_at"])
    issue.refresh_counts()
    tasks.issue_enqueue_sending(issue)
    return added


def issue_send_test(*, issue: Issue, user) -> None:
    """Send ``issue`` to ``user``'s own address now, marked as a test; raise if SMTP fails."""
    require_permission(user, "newsletter.send_issue", "send issues")
    message = issue_message(issue, Subscriber(email=user.email))
    message.subject = f"[Test] {issue.subject}"
    message.send()


@transaction.atomic
def issue_retry_failed(*, issue: Issue, user) -> int:
    """Send again the deliveries of ``issue`` that failed for now (4xx); return how many.

    Permanent refusals (no such address, refused as spam) are not retried: they would
    fail again, and repeated attempts count against the sender's reputation.
    """
    require_permission(user, "newsletter.send_issue", "send issues")
    return deliveries_requeue(issue.deliveries.retryable())


@transaction.atomic
def delivery_resend_unknown(*, deliveries, user) -> int:
    """Queue again the ``deliveries`` whose outcome is unknown; return how many.

    They may already be in the subscriber's inbox: staff resend them only after
    checking the mail server's log.
    """
    require_permission(user, "newsletter.send_issue", "send issues")
    return deliveries_requeue(deliveries.filter(status=Delivery.Status.UNKNOWN))


def deliveries_requeue(deliveries) -> int:
    """Put ``deliveries`` back in the queue of their issues and queue the sending tasks."""
    deliveries = deliveries.exclude(subscriber=None).exclude(
        subscriber__in=Subscriber.objects.suppressed()
    )
    issue_ids = set(deliveries.values_list("issue_id", flat=True))
    count = deliveries.update(
        status=Delivery.Status.PENDING,
        error="",
        temporary=False,
        attempts=0,
        batch=None,
        claimed_at=None,
        updated_at=timezone.now(),
    )
    for issue in Issue.objects.filter(pk__in=issue_ids):
        Issue.objects.filter(pk=issue.pk).update(status=Issue.Status.SENDING, sent_at=None)
        issue.refresh_counts()
        tasks.issue_enqueue_sending(issue)
    return count
