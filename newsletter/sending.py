"""Sending an issue: each delivery at most once, many deliveries per SMTP connection.

The guarantee is *at most once*. A worker claims one pending delivery at a time by
committing it as "sending" before it speaks to the mail server, then records "sent"
the moment the server accepts the message. So:

- two workers never send the same delivery (the claim is a row lock taken with
  ``SELECT … FOR UPDATE SKIP LOCKED`` plus a conditional update);
- a second click, or running the task again after a crash, only picks up deliveries
  still pending, so nobody gets the issue twice;
- whenever the server has certainly not taken the message (it refused it, or the
  connection dropped before the message was handed over) the delivery goes back to
  pending, or to failed after ``MAX_ATTEMPTS`` or a permanent refusal;
- a crash while the message itself is being handed over leaves that one delivery
  "sending": it may be in the inbox, so it is never retried without a person deciding
  to (the admin's "retry" action). At most one delivery per crashed worker ends so.

At-least-once would instead resend that one delivery after a crash. For a newsletter a
rare missing copy is better than a duplicate in every subscriber's inbox after each
incident, which is also what spam filters count against a sender.
"""

import enum
import logging
import smtplib
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import sanitize_address
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from newsletter.emails import issue_message
from newsletter.models import Delivery, Issue
from newsletter.services import issue_recipients

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
UNKNOWN_OUTCOME = (
    "The connection was lost while the message was being handed to the mail server, so it "
    "may have been delivered. It is not retried automatically; check the mail server's log."
)


def batch_size() -> int:
    """Return how many messages go over one SMTP connection."""
    return int(getattr(settings, "NEWSLETTER_BATCH_SIZE", 200))


class Outcome(enum.Enum):
    SENT = "sent"
    RETRY = "retry"  # certainly not delivered; worth another attempt
    FAILED = "failed"  # certainly not delivered; will not be
    UNKNOWN = "unknown"  # may or may not have been delivered


@dataclass
class Result:
    outcome: Outcome
    error: str = ""
    connection_lost: bool = False


@dataclass
class BatchResult:
    claimed: int = 0
    sent: int = 0
    trouble: bool = False  # the server refused for now, hung up, or could not be reached


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:1000]


def refused(code: int, reply) -> Result:
    """Return the result of a definite SMTP refusal: temporary (4xx) or permanent."""
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    error = f"The mail server refused the message: {code} {text}"[:1000]
    if 400 <= code < 500:
        return Result(Outcome.RETRY, error, connection_lost=code == 421)
    return Result(Outcome.FAILED, error)


def reset(smtp: smtplib.SMTP) -> None:
    try:
        smtp.rset()
    except (smtplib.SMTPException, OSError):
        pass


def transmit(backend, message) -> Result:
    """Hand ``message`` to ``backend``'s open connection; say whether it certainly arrived."""
    if isinstance(backend, SMTPBackend) and backend.connection is not None:
        return transmit_smtp(backend.connection, message)
    try:
        sent = backend.send_messages([message])
    except Exception as error:  # a non-SMTP backend (console, file, locmem, a vendor's API)
        return Result(Outcome.FAILED, describe(error))
    return Result(Outcome.SENT) if sent else Result(Outcome.FAILED, "The backend did not send it.")


def transmit_smtp(smtp: smtplib.SMTP, message) -> Result:
    """Send ``message`` over ``smtp``, telling failures before the DATA from those during it.

    ``smtplib.SMTP.sendmail`` would do the same commands but hides where it failed; only
    a failure once the message is being handed over leaves its fate unknown.
    """
    encoding = message.encoding or settings.DEFAULT_CHARSET
    sender = sanitize_address(message.from_email, encoding)
    recipients = [sanitize_address(address, encoding) for address in message.recipients()]
    payload = message.message().as_bytes(linesep="\r\n")
    try:
        smtp.ehlo_or_helo_if_needed()
        code, reply = smtp.mail(sender)
        if code != 250:
            reset(smtp)
            return refused(code, reply)
        accepted = 0
        last_refusal = (550, b"")
        for recipient in recipients:
            code, reply = smtp.rcpt(recipient)
            if code in (250, 251):
                accepted += 1
            else:
                last_refusal = (code, reply)
        if not accepted:
            reset(smtp)
            return refused(*last_refusal)
    except (smtplib.SMTPException, OSError) as error:
        # Nothing was handed over yet: the delivery can safely wait for another connection.
        return Result(Outcome.RETRY, describe(error), connection_lost=True)
    try:
        code, reply = smtp.data(payload)
    except smtplib.SMTPDataError as error:
        # The server answered DATA with a refusal instead of "354 go ahead".
        return refused(error.smtp_code, error.smtp_error)
    except (smtplib.SMTPException, OSError):
        return Result(Outcome.UNKNOWN, UNKNOWN_OUTCOME, connection_lost=True)
    if code != 250:
        reset(smtp)
        return refused(code, reply)
    return Result(Outcome.SENT)


def delivery_claim_next(issue: Issue) -> Delivery | None:
    """Return the next pending delivery of ``issue``, committed as "sending", or None."""
    while True:
        with transaction.atomic():
            delivery = (
                Delivery.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("subscriber")
                .filter(issue=issue, status=Delivery.Status.PENDING, subscriber__isnull=False)
                .order_by("pk")
                .first()
            )
            if delivery is None:
                return None
            # The conditional update keeps the claim exclusive on databases that have no
            # row locks (SQLite), where select_for_update() does nothing.
            claimed = Delivery.objects.filter(
                pk=delivery.pk, status=Delivery.Status.PENDING
            ).update(
                status=Delivery.Status.CLAIMED,
                claimed_at=timezone.now(),
                attempts=delivery.attempts + 1,
                updated_at=timezone.now(),
            )
        if claimed:
            delivery.attempts += 1
            delivery.status = Delivery.Status.CLAIMED
            return delivery


def delivery_record(delivery: Delivery, result: Result) -> None:
    """Store the outcome of one attempt at ``delivery``, committed at once."""
    now = timezone.now()
    changes = {"error": result.error, "updated_at": now}
    if result.outcome is Outcome.SENT:
        changes.update(status=Delivery.Status.SENT, sent_at=now, error="")
    elif result.outcome is Outcome.RETRY and delivery.attempts < MAX_ATTEMPTS:
        changes.update(status=Delivery.Status.PENDING)
    elif result.outcome is Outcome.UNKNOWN:
        changes.update(status=Delivery.Status.UNKNOWN)
    else:
        changes.update(status=Delivery.Status.FAILED)
    Delivery.objects.filter(pk=delivery.pk).update(**changes)


def skip_lapsed(issue: Issue) -> int:
    """Mark skipped the pending deliveries whose subscriber left or was erased since queueing."""
    return (
        Delivery.objects.filter(issue=issue, status=Delivery.Status.PENDING)
        .filter(Q(subscriber=None) | ~Q(subscriber__in=issue_recipients(issue).values("pk")))
        .update(status=Delivery.Status.SKIPPED, updated_at=timezone.now())
    )


def send_batch(issue: Issue, *, size: int, shared: dict) -> BatchResult:
    """Send up to ``size`` pending deliveries of ``issue`` over one SMTP connection."""
    batch = BatchResult()
    backend = get_connection(fail_silently=False)
    try:
        backend.open()
    except (smtplib.SMTPException, OSError) as error:
        logger.warning("Newsletter: cannot reach the mail server: %s", describe(error))
        batch.trouble = True
        return batch
    try:
        while batch.claimed < size:
            delivery = delivery_claim_next(issue)
            if delivery is None:
                break
            batch.claimed += 1
            try:
                message = issue_message(issue, delivery.subscriber, shared=shared)
            except Exception as error:
                logger.exception("Newsletter: cannot build delivery %s", delivery.pk)
                result = Result(Outcome.FAILED, describe(error))
            else:
                result = transmit(backend, message)
            delivery_record(delivery, result)
            if result.outcome is Outcome.SENT:
                batch.sent += 1
            elif result.outcome in (Outcome.RETRY, Outcome.UNKNOWN):
                batch.trouble = True
            if result.connection_lost:
                break
    finally:
        try:
            backend.close()
        except Exception:  # closing a connection the server already dropped
            pass
    return batch
