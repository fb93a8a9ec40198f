"""Background work for the newsletter, run by the tasks worker on the "newsletter" queue.

``python manage.py db_worker --queue-name newsletter`` runs them in production.
"""

from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from newsletter import sending
from newsletter.emails import already_subscribed_message, confirmation_message, issue_context
from newsletter.models import Delivery, Issue, Subscriber, Subscription
from newsletter.services import issue_refresh_counts


@task(queue_name="newsletter")
def subscriber_send_signup_email(subscriber_id: int) -> str:
    """Email subscriber ``subscriber_id`` after a sign-up; return which email it was sent.

    The confirmation email while anything awaits confirmation, else the "already
    subscribed" note; nothing once the subscriber is gone or has left everything.
    """
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None:
        return "none"
    statuses = set(subscriber.subscriptions.values_list("status", flat=True))
    if Subscription.Status.PENDING in statuses:
        confirmation_message(subscriber).send()
        return "confirmation"
    if Subscription.Status.CONFIRMED in statuses:
        already_subscribed_message(subscriber).send()
        return "already subscribed"
    return "none"


@task(queue_name="newsletter")
def issue_send_deliveries(issue_id: int) -> dict:
    """Send issue ``issue_id``'s pending deliveries in batches; return the delivery counts.

    Safe to run any number of times, in any number of workers at once: it only ever
    sends deliveries it claimed from the pending ones. It stops early when the mail
    server refuses or cannot be reached, leaving the rest pending for the next run.
    """
    issue = Issue.objects.select_related("newsletter").filter(pk=issue_id).first()
    if issue is None or issue.status == Issue.Status.DRAFT:
        return {}
    shared = issue_context(issue)
    while True:
        sending.skip_lapsed(issue)
        batch = sending.send_batch(issue, size=sending.batch_size(), shared=shared)
        issue_refresh_counts(issue=issue)
        if batch.claimed == 0 or (batch.trouble and batch.sent == 0):
            break
    counts = issue_refresh_counts(issue=issue)
    if not counts[Delivery.Status.PENDING]:
        Issue.objects.filter(pk=issue.pk, status=Issue.Status.SENDING).filter(
            ~Q(deliveries__status=Delivery.Status.PENDING)
        ).update(status=Issue.Status.SENT, sent_at=timezone.now())
    return counts
