"""Background work for the newsletter, run by the tasks worker on the "newsletter" queue.

``python manage.py db_worker --queue-name newsletter`` runs them in production. The
services queue them through the functions here; nothing here imports the services.
"""

from datetime import timedelta
from functools import partial

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from newsletter import sending
from newsletter.emails import IssueEmail, already_subscribed_message, confirmation_message
from newsletter.models import Delivery, Issue, Subscriber


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
    if subscriber.subscriptions.pending().exists():
        confirmation_message(subscriber).send()
        return "confirmation"
    if subscriber.subscriptions.confirmed().exists():
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
        batch = sending.batch_claim(issue, sending.batch_size())
        if batch is None:
            break
        result = sending.send_batch(batch, email)
        if result.taken_over or (result.trouble and result.sent == 0):
            stalled = True
            break
    counts = issue.finish_if_done()
    if stalled or counts[Delivery.Status.CLAIMED]:
        issue_send_later(issue)
    return counts


def subscriber_enqueue_signup_email(subscriber: Subscriber) -> None:
    """Queue the sign-up email to ``subscriber`` for when the transaction commits."""
    transaction.on_commit(partial(subscriber_send_signup_email.enqueue, subscriber.pk))


def subscriber_forget_results(subscriber_id: int) -> None:
    """Empty the tracebacks of failed sign-up emails to ``subscriber_id``.

    A refusal from the mail server quotes the address, and the database backend keeps
    the traceback of every failed task; a task's arguments hold only the subscriber's id.
    """
    if not apps.is_installed("django_tasks_db"):
        return  # another backend keeps its results outside this database
    # Imported here: its models cannot be loaded while the app is not installed.
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(
        task_path=subscriber_send_signup_email.module_path, args_kwargs__args__0=subscriber_id
    ).exclude(traceback="").update(traceback="")


def parallel_sends() -> int:
    """Return how many workers may send one issue at once (``NEWSLETTER_PARALLEL_SENDS``)."""
    return max(1, int(settings.NEWSLETTER_PARALLEL_SENDS))


def retry_delay() -> timedelta:
    return timedelta(seconds=float(settings.NEWSLETTER_RETRY_DELAY))


def issue_enqueue_sending(issue: Issue) -> None:
    """Queue sending tasks for ``issue`` after commit: one per worker that can help, at most.

    Each task claims batches until none are left, so with one worker the first task does
    everything and the others find nothing to do; with several, they share the batches.
    """
    pending = issue.deliveries.pending().count()
    tasks = min(parallel_sends(), max(1, -(-pending // sending.batch_size())))
    for _ in range(tasks):
        transaction.on_commit(partial(issue_send_deliveries.enqueue, issue.pk))


def issue_send_later(issue: Issue) -> None:
    """Queue one more sending task to run after ``NEWSLETTER_RETRY_DELAY`` seconds.

    For a mail server that refused for now, and for batches other workers still hold:
    if those workers stopped, their batches are taken over when it runs. Backends that
    cannot defer (the immediate one of ``make run``) leave it to the next "Resume sending".
    """
    if issue_send_deliveries.get_backend().supports_defer:
        issue_send_deliveries.using(run_after=timezone.now() + retry_delay()).enqueue(issue.pk)
