"""Background work for the newsletter, run by the tasks worker on the "newsletter" queue.

``python manage.py db_worker --queue-name newsletter`` runs them in production.
"""

from django_tasks import task

from newsletter import sending
from newsletter.emails import IssueEmail, already_subscribed_message, confirmation_message
from newsletter.models import Delivery, Issue, Subscriber, Subscription
from newsletter.services import issue_finish_if_done, issue_send_later


@task(queue_name="newsletter")
def subscriber_send_signup_email(subscriber_id: int) -> str:
    """Email subscriber ``subscriber_id`` after a sign-up; return which email it was sent.

    The confirmation email while anything awaits confirmation, else the "already
    subscribed" note; nothing once the subscriber is gone or has left everything.
    """
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None:
        return "none"
    if subscriber.is_suppressed:
        return "suppressed"  # it bounced or complained: nothing is sent to it again
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
    """Send issue ``issue_id``'s pending deliveries, batch by batch; return the delivery counts.

    Safe to run any number of times, in any number of workers at once: each run claims
    batches of its own until none are left, first taking over the batches of workers
    that stopped. It stops early when the mail server refuses or cannot be reached,
    leaving the rest pending, and runs again after ``NEWSLETTER_RETRY_DELAY`` seconds
    while batches of other workers are still open (in case they stopped too).
    """
    issue = Issue.objects.select_related("newsletter").filter(pk=issue_id).first()
    if issue is None or issue.status == Issue.Status.DRAFT:
        return {}
    email = IssueEmail(issue)
    stalled = False
    while True:
        sending.batch_recover_stale(issue)
        sending.skip_lapsed(issue)
        batch = sending.batch_claim(issue, sending.batch_size())
        if batch is None:
            break
        result = sending.send_batch(batch, email)
        if result.taken_over or (result.trouble and result.sent == 0):
            stalled = True
            break
    counts = issue_finish_if_done(issue)
    if stalled or counts[Delivery.Status.CLAIMED]:
        issue_send_later(issue)
    return counts
