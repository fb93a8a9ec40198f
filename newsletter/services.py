"""State changes to subscribers and issues. The views, the admin and the tasks call these."""

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.permissions import require_permission
from newsletter.addresses import MAX_EMAIL_LENGTH, normalize_email, truncated_ip
from newsletter.models import (
    ConsentRecord,
    Delivery,
    Issue,
    Newsletter,
    Subscriber,
    Subscription,
)

DELIVERY_INSERT_BATCH = 2000


def newsletter_names(newsletters: Iterable[Newsletter]) -> str:
    return ", ".join(newsletter.name for newsletter in newsletters)[:500]


def subscriber_for_email(email: str) -> Subscriber:
    """Return the subscriber for ``email`` (any case), creating it race-safely if new."""
    email = normalize_email(email)
    try:
        subscriber, _ = Subscriber.objects.get_or_create(
            email__iexact=email, defaults={"email": email}
        )
    except IntegrityError:
        # Another request inserted the same address between our read and our write;
        # get_or_create retries once, a flood can need one more read.
        subscriber = Subscriber.objects.get(email__iexact=email)
    return subscriber


def subscriber_locked_for_email(email: str) -> tuple[Subscriber, bool]:
    """Return the subscriber for ``email`` locked for this transaction, and whether it is new.

    Sign-ups are the busiest write: a new address costs one locking read and one insert
    (the row is this transaction's own until it commits).
    """
    email = normalize_email(email)
    subscriber = Subscriber.objects.select_for_update().filter(email__iexact=email).first()
    if subscriber is not None:
        return subscriber, False
    try:
        with transaction.atomic():
            return Subscriber.objects.create(email=email), True
    except IntegrityError:
        # Another request inserted the same address since our read; wait for its lock.
        return Subscriber.objects.select_for_update().get(email__iexact=email), False


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
    subscriber, created = subscriber_locked_for_email(email)
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
        newsletters=newsletter_names(newsletters),
        page_url=page_url[:500],
        ip_network=truncated_ip(ip_address),
    )
    if not created or not newsletters:
        subscriber.refresh_status()
    from newsletter.tasks import subscriber_send_signup_email

    transaction.on_commit(partial(subscriber_send_signup_email.enqueue, subscriber.pk))
    return subscriber


@transaction.atomic
def subscriber_confirm(*, subscriber: Subscriber, ip_address: str = "", page_url: str = "") -> list:
    """Confirm every pending subscription of ``subscriber``; return all it is confirmed for.

    Confirming again changes nothing and records nothing.
    """
    subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
    now = timezone.now()
    pending = list(
        subscriber.subscriptions.select_related("newsletter").filter(
            status=Subscription.Status.PENDING
        )
    )
    if pending:
        Subscription.objects.filter(pk__in=[subscription.pk for subscription in pending]).update(
            status=Subscription.Status.CONFIRMED, confirmed_at=now, unsubscribed_at=None
        )
        ConsentRecord.objects.create(
            subscriber=subscriber,
            kind=ConsentRecord.Kind.CONFIRMATION,
            text="Followed the confirmation link sent to this address.",
            newsletters=newsletter_names(subscription.newsletter for subscription in pending),
            page_url=page_url[:500],
            ip_network=truncated_ip(ip_address),
        )
        if subscriber.confirmed_at is None:
            subscriber.confirmed_at = now
            Subscriber.objects.filter(pk=subscriber.pk).update(confirmed_at=now)
        subscriber.refresh_status()
    return [
        subscription.newsletter
        for subscription in subscriber.subscriptions.select_related("newsletter").filter(
            status=Subscription.Status.CONFIRMED
        )
    ]


@transaction.atomic
def subscriber_unsubscribe(
    *, subscriber: Subscriber, newsletter: Newsletter | None = None
) -> list[Newsletter]:
    """Unsubscribe ``subscriber`` from ``newsletter`` (or everything); return what it left.

    Unsubscribing twice is harmless: the second time nothing is left to leave.
    """
    subscriptions = subscriber.subscriptions.select_related("newsletter").exclude(
        status=Subscription.Status.UNSUBSCRIBED
    )
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
            newsletters=newsletter_names(added),
            page_url=page_url[:500],
            ip_network=truncated_ip(ip_address),
        )
        if subscriber.confirmed_at is None:
            Subscriber.objects.filter(pk=subscriber.pk).update(confirmed_at=now)
    subscriber.refresh_status()


# Staff ----------------------------------------------------------------------------


@transaction.atomic
def subscriber_erase(*, subscriber: Subscriber, user) -> None:
    """Remove everything that identifies ``subscriber``; delivery counts stay, anonymous.

    Subscriptions and consent records go with the subscriber. Deliveries lose their link
    to it and any error text, which may quote the address.
    """
    require_permission(user, "newsletter.erase_subscriber", "erase subscribers")
    Delivery.objects.filter(subscriber=subscriber).update(subscriber=None, error="")
    subscriber.delete()


@dataclass
class ImportRow:
    line: int
    email: str
    problem: str = ""
    outcome: str = ""


@dataclass
class ImportReport:
    rows: list[ImportRow] = field(default_factory=list)
    file_problem: str = ""

    @property
    def problems(self) -> list[ImportRow]:
        return [row for row in self.rows if row.problem]

    @property
    def accepted(self) -> bool:
        return not self.file_problem and not self.problems and bool(self.rows)

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)


IMPORT_ADDED = "added"
IMPORT_ALREADY = "already subscribed"
IMPORT_UNSUBSCRIBED = "skipped: unsubscribed earlier"
MAX_IMPORT_ROWS = 50_000

# Spreadsheets run cells that start with these as formulas; exports prefix them with a
# quote (OWASP "CSV injection") and imports take it off again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    """Return ``value`` so that no spreadsheet reads it as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_unescape(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value


def subscriber_import_check(text: str) -> ImportReport:
    """Return a report on every row of a subscriber CSV, without changing anything."""
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(text))
    fieldnames = [name.strip().lower() for name in reader.fieldnames or []]
    if "email" not in fieldnames:
        report.file_problem = 'The first line must be a header with an "email" column.'
        return report
    reader.fieldnames = fieldnames
    seen = {}
    try:
        for record in reader:
            line = reader.line_num
            if len(report.rows) >= MAX_IMPORT_ROWS:
                report.file_problem = f"The file has more than {MAX_IMPORT_ROWS:,} rows; split it."
                return report
            raw = csv_unescape((record.get("email") or "").strip())
            row = ImportRow(line=line, email=raw)
            report.rows.append(row)
            row.problem = email_problem(raw)
            if row.problem:
                continue
            row.email = normalize_email(raw)
            key = row.email.lower()
            if key in seen:
                row.problem = f"the same address as line {seen[key]}"
            else:
                seen[key] = line
    except csv.Error as error:
        report.file_problem = f"Line {reader.line_num}: {error}"
    if not report.rows and not report.file_problem:
        report.file_problem = "The file has no addresses."
    return report


def email_problem(raw: str) -> str:
    """Return what is wrong with ``raw`` as a subscriber's address, or ""."""
    if not raw:
        return "no email address"
    if len(raw) > MAX_EMAIL_LENGTH:
        return f"longer than {MAX_EMAIL_LENGTH} characters"
    try:
        normalized = normalize_email(raw)
        validate_email(normalized)
    except (ValueError, ValidationError):
        return "not a valid email address"
    if len(normalized) > MAX_EMAIL_LENGTH:
        return f"longer than {MAX_EMAIL_LENGTH} characters"
    return ""


@transaction.atomic
def subscriber_import(
    *,
    text: str,
    newsletters: Iterable[Newsletter],
    consent_text: str,
    user,
) -> ImportReport:
    """Subscribe every address in the CSV ``text`` to ``newsletters``, or none if one is bad.

    Staff attest that each person consented (``consent_text`` says how); addresses are
    confirmed at once, except those that unsubscribed before, which are left alone.
    """
    require_permission(user, "newsletter.import_subscribers", "import subscribers")
    report = subscriber_import_check(text)
    if not report.accepted:
        return report
    newsletters = list(newsletters)
    names = newsletter_names(newsletters)
    now = timezone.now()
    for row in report.rows:
        subscriber = subscriber_for_email(row.email)
        statuses = dict(
            subscriber.subscriptions.filter(newsletter__in=newsletters).values_list(
                "newsletter_id", "status"
            )
        )
        added = []
        for newsletter in newsletters:
            status = statuses.get(newsletter.pk)
            if status == Subscription.Status.CONFIRMED:
                continue
            if status == Subscription.Status.UNSUBSCRIBED:
                continue
            Subscription.objects.update_or_create(
                subscriber=subscriber,
                newsletter=newsletter,
                defaults={"status": Subscription.Status.CONFIRMED, "confirmed_at": now},
            )
            added.append(newsletter)
        if added:
            row.outcome = IMPORT_ADDED
            ConsentRecord.objects.create(
                subscriber=subscriber,
                kind=ConsentRecord.Kind.IMPORT,
                text=consent_text,
                newsletters=names,
                recorded_by=user,
            )
            if subscriber.confirmed_at is None:
                Subscriber.objects.filter(pk=subscriber.pk).update(confirmed_at=now)
            subscriber.refresh_status()
        elif Subscription.Status.UNSUBSCRIBED in statuses.values():
            row.outcome = IMPORT_UNSUBSCRIBED
        else:
            row.outcome = IMPORT_ALREADY
    return report


# Issues ---------------------------------------------------------------------------


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
    from newsletter.sending import batch_size
    from newsletter.tasks import issue_send_deliveries

    pending = issue.deliveries.filter(status=Delivery.Status.PENDING).count()
    tasks = min(parallel_sends(), max(1, -(-pending // batch_size())))
    for _ in range(tasks):
        transaction.on_commit(partial(issue_send_deliveries.enqueue, issue.pk))


def issue_send_later(issue: Issue) -> None:
    """Queue one more sending task to run after ``NEWSLETTER_RETRY_DELAY`` seconds.

    For a mail server that refused for now, and for batches other workers still hold:
    if those workers stopped, their batches are taken over when it runs. Backends that
    cannot defer (the immediate one of ``make run``) leave it to the next "Resume sending".
    """
    from newsletter.tasks import issue_send_deliveries

    if issue_send_deliveries.get_backend().supports_defer:
        issue_send_deliveries.using(run_after=timezone.now() + retry_delay()).enqueue(issue.pk)


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
    issue_refresh_counts(issue=issue)
    issue_enqueue_sending(issue)
    return added


def issue_refresh_counts(*, issue: Issue) -> dict[str, int]:
    """Store on ``issue`` how many of its deliveries are in each state; return them all."""
    counts = issue.delivery_counts()
    issue.recipient_count = sum(counts.values())
    issue.sent_count = counts[Delivery.Status.SENT]
    issue.failed_count = counts[Delivery.Status.FAILED]
    Issue.objects.filter(pk=issue.pk).update(
        recipient_count=issue.recipient_count,
        sent_count=issue.sent_count,
        failed_count=issue.failed_count,
    )
    return counts


def issue_finish_if_done(issue: Issue) -> dict[str, int]:
    """Store ``issue``'s counts, and mark it sent once nothing is waiting or being sent."""
    counts = issue_refresh_counts(issue=issue)
    if not counts[Delivery.Status.PENDING] and not counts[Delivery.Status.CLAIMED]:
        Issue.objects.filter(pk=issue.pk, status=Issue.Status.SENDING).exclude(
            deliveries__status__in=[Delivery.Status.PENDING, Delivery.Status.CLAIMED]
        ).update(status=Issue.Status.SENT, sent_at=timezone.now())
    return counts


def issue_send_test(*, issue: Issue, user) -> None:
    """Send ``issue`` to ``user``'s own address now, marked as a test; raise if SMTP fails."""
    require_permission(user, "newsletter.send_issue", "send issues")
    from newsletter.emails import issue_message

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
    return deliveries_requeue(
        issue.deliveries.filter(status=Delivery.Status.FAILED, temporary=True)
    )


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
        issue_refresh_counts(issue=issue)
        issue_enqueue_sending(issue)
    return count
