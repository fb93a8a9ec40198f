"""Sending an issue: each delivery at most once, by any number of workers at once.

A worker claims a *batch* of pending deliveries (``SELECT … FOR UPDATE SKIP LOCKED``
plus a conditional update, so two workers never claim the same one), opens one SMTP
connection and sends the batch in id order. Before handing each message over it
records that delivery's id as the batch's ``in_flight`` and refreshes the batch's
heartbeat (one small update); outcomes other than success are stored at once, and
successes every ``SENT_FLUSH`` messages and at the end of the batch. So the database
always knows, for every batch, which deliveries were accepted, which one was in flight,
and which were never tried:

- a crashed worker's batch (no heartbeat for ``NEWSLETTER_CLAIM_TIMEOUT`` seconds) is
  taken over by the next worker that looks: the deliveries before ``in_flight`` are
  recorded as sent, the one in flight as "outcome unknown", the rest go back to the
  queue and are sent by someone else;
- a worker whose batch was taken over stops before its next message;
- whenever the server has certainly not taken a message (it refused it, or the
  connection dropped before the message was handed over) the delivery goes back to the
  queue, or to failed after ``MAX_ATTEMPTS`` or a permanent refusal;
- a connection lost while a message is being handed over leaves that delivery "outcome
  unknown": it may be in the inbox, so it is never resent without a person deciding to.

At-least-once would instead resend that one delivery. For a newsletter a rare missing
copy is better than a duplicate in every subscriber's inbox after each incident, which
is also what spam filters count against a sender.
"""

import enum
import logging
import os
import smtplib
import socket
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from newsletter.emails import IssueEmail
from newsletter.models import Delivery, Issue, SendBatch, Subscriber
from newsletter.suppression import Bounce, address_bounced

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
SENT_FLUSH = 50  # successes recorded together; the in-flight marker makes this safe
UNKNOWN_OUTCOME = (
    "The connection was lost while the message was being handed to the mail server, so it "
    "may have been delivered. It is not retried automatically; check the mail server's log."
)
UNKNOWN_AFTER_CRASH = (
    "The worker sending this message stopped while handing it to the mail server, so it "
    "may have been delivered. It is not retried automatically; check the mail server's log."
)
# RFC 3463: 5.1.x is a bad destination address, 5.2.1 a disabled mailbox; 550/551/553
# at RCPT without an enhanced code mean the same on servers that send none.
NO_SUCH_ADDRESS_CODES = (550, 551, 553)


def batch_size() -> int:
    """Return how many messages one worker claims and sends over one SMTP connection."""
    return int(settings.NEWSLETTER_BATCH_SIZE)


def claim_timeout() -> timedelta:
    """Return how long a batch may go without a heartbeat before its worker counts as dead."""
    return timedelta(seconds=float(settings.NEWSLETTER_CLAIM_TIMEOUT))


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


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
    temporary: bool = False  # the server said "try later" (4xx)
    bad_address: bool = False  # the server said the address does not exist


@dataclass
class BatchResult:
    claimed: int = 0
    sent: int = 0
    trouble: bool = False  # the server refused for now, hung up, or could not be reached
    taken_over: bool = False
    sent_ids: list[int] = field(default_factory=list)


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:1000]


def refused(code: int, reply, *, at_recipient: bool = False) -> Result:
    """Return the result of a definite SMTP refusal: temporary (4xx) or permanent."""
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    error = f"The mail server refused the message: {code} {text}"[:1000]
    if 400 <= code < 500:
        return Result(Outcome.RETRY, error, connection_lost=code == 421, temporary=True)
    bad_address = at_recipient and (
        text.startswith(("5.1.", "5.2.1")) or code in NO_SUCH_ADDRESS_CODES
    )
    return Result(Outcome.FAILED, error, bad_address=bad_address)


def reset(smtp: smtplib.SMTP) -> None:
    try:
        smtp.rset()
    except (smtplib.SMTPException, OSError):
        pass


def transmit(backend, email: IssueEmail, subscriber: Subscriber) -> Result:
    """Hand ``subscriber``'s copy to ``backend``'s open connection; say whether it arrived."""
    if isinstance(backend, SMTPBackend) and backend.connection is not None:
        return transmit_smtp(backend.connection, *email.smtp_payload(subscriber))
    try:
        sent = backend.send_messages([email.message_for(subscriber)])
    except Exception as error:  # a non-SMTP backend (console, file, locmem, a provider's API)
        return Result(Outcome.FAILED, describe(error))
    return Result(Outcome.SENT) if sent else Result(Outcome.FAILED, "The backend did not send it.")


def transmit_smtp(smtp: smtplib.SMTP, sender: str, recipients: list[str], payload: bytes) -> Result:
    """Send ``payload`` over ``smtp``, telling failures before the DATA from those during it.

    ``smtplib.SMTP.sendmail`` would do the same commands but hides where it failed; only
    a failure once the message is being handed over leaves its fate unknown.
    """
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
            return refused(*last_refusal, at_recipient=True)
    except (smtplib.SMTPException, OSError) as error:
        # Nothing was handed over yet: the delivery can safely wait for another connection.
        return Result(Outcome.RETRY, describe(error), connection_lost=True, temporary=True)
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


# Claiming and recovering batches ----------------------------------------------------------


def batch_claim(issue: Issue, size: int) -> SendBatch | None:
    """Claim up to ``size`` pending deliveries of ``issue`` as a new batch, or return None."""
    while True:
        now = timezone.now()
        with transaction.atomic():
            ids = list(
                Delivery.objects.select_for_update(skip_locked=True)
                .filter(issue=issue, status=Delivery.Status.PENDING)
                .order_by("pk")
                .values_list("pk", flat=True)[:size]
            )
            if not ids:
                return None
            batch = SendBatch.objects.create(issue=issue, worker=worker_name(), heartbeat_at=now)
            # The conditional update keeps the claim exclusive on databases without row
            # locks (SQLite), where select_for_update() does nothing.
            claimed = Delivery.objects.filter(pk__in=ids, status=Delivery.Status.PENDING).update(
                status=Delivery.Status.CLAIMED, batch=batch, claimed_at=now, updated_at=now
            )
            if not claimed:
                batch.delete()
        if claimed:
            return batch


def batch_recover_stale(issue: Issue) -> int:
    """Take over the batches of ``issue`` whose worker stopped; return how many."""
    cutoff = timezone.now() - claim_timeout()
    recovered = 0
    with transaction.atomic():
        stale = list(
            SendBatch.objects.select_for_update(skip_locked=True).filter(
                issue=issue, finished_at=None, recovered_at=None, heartbeat_at__lt=cutoff
            )
        )
        for batch in stale:
            batch_settle(batch, crashed=True)
            recovered += 1
    if recovered:
        logger.warning(
            "Newsletter: took over %s stalled batch(es) of issue %s", recovered, issue.pk
        )
    return recovered


def batch_settle(batch: SendBatch, *, crashed: bool) -> None:
    """Record what happened to ``batch``'s claimed deliveries, from its in-flight marker.

    Deliveries before the one in flight were accepted (every other outcome is stored at
    once); after a crash the one in flight may or may not have been; the rest were never
    tried and go back to the queue.
    """
    now = timezone.now()
    claimed = Delivery.objects.filter(batch=batch, status=Delivery.Status.CLAIMED)
    if batch.in_flight is not None:
        claimed.filter(pk__lt=batch.in_flight).update(
            status=Delivery.Status.SENT, sent_at=batch.heartbeat_at, error="", updated_at=now
        )
        if crashed:
            claimed.filter(pk=batch.in_flight).update(
                status=Delivery.Status.UNKNOWN, error=UNKNOWN_AFTER_CRASH, updated_at=now
            )
        claimed = claimed.filter(pk__gte=batch.in_flight)
    claimed.update(status=Delivery.Status.PENDING, batch=None, claimed_at=None, updated_at=now)
    if crashed:
        batch.recovered_at = now
    else:
        batch.finished_at, batch.in_flight = now, None
    batch.save(update_fields=["recovered_at", "finished_at", "in_flight"])


def batch_mark_in_flight(batch: SendBatch, delivery_id: int) -> bool:
    """Record that ``delivery_id`` is about to be handed over; False if the batch was taken."""
    now = timezone.now()
    updated = SendBatch.objects.filter(pk=batch.pk, recovered_at=None).update(
        in_flight=delivery_id, heartbeat_at=now
    )
    batch.in_flight, batch.heartbeat_at = delivery_id, now
    return bool(updated)


def batch_record_sent(batch: SendBatch, delivery_ids: list[int]) -> None:
    if delivery_ids:
        Delivery.objects.filter(
            pk__in=delivery_ids,
            batch=batch,
            status__in=[Delivery.Status.CLAIMED, Delivery.Status.UNKNOWN],
        ).update(status=Delivery.Status.SENT, sent_at=timezone.now(), error="")
        delivery_ids.clear()


def delivery_record(delivery: Delivery, result: Result) -> None:
    """Store the outcome of an attempt that did not certainly succeed, committed at once."""
    now = timezone.now()
    attempts = delivery.attempts + 1
    changes = {"error": result.error, "updated_at": now, "attempts": attempts}
    if result.outcome is Outcome.RETRY and attempts < MAX_ATTEMPTS:
        changes.update(status=Delivery.Status.PENDING, batch=None, claimed_at=None)
    elif result.outcome is Outcome.UNKNOWN:
        changes.update(status=Delivery.Status.UNKNOWN)
    else:
        changes.update(status=Delivery.Status.FAILED, temporary=result.temporary)
    Delivery.objects.filter(pk=delivery.pk).update(**changes)
    if delivery.subscriber is not None and result.outcome is Outcome.FAILED:
        if result.bad_address:
            address_bounced(
                delivery.subscriber.email, Bounce.HARD, detail=result.error, source="SMTP"
            )
        elif result.temporary:
            address_bounced(
                delivery.subscriber.email, Bounce.SOFT, detail=result.error, source="SMTP"
            )


def batch_skip_lapsed(batch: SendBatch) -> int:
    """Take out of ``batch`` the deliveries whose subscriber left, was erased or suppressed.

    Checked per batch as it is claimed, so a large issue costs the same small check each
    batch rather than a scan of every delivery still waiting.
    """
    now = timezone.now()
    claimed = Delivery.objects.filter(batch=batch, status=Delivery.Status.CLAIMED)
    suppressed = claimed.filter(subscriber__in=Subscriber.objects.suppressed().values("pk")).update(
        status=Delivery.Status.SUPPRESSED, updated_at=now
    )
    skipped = claimed.filter(
        Q(subscriber=None) | ~Q(subscriber__in=batch.issue.recipients().values("pk"))
    ).update(status=Delivery.Status.SKIPPED, updated_at=now)
    return suppressed + skipped


def send_batch(batch: SendBatch, email: IssueEmail) -> BatchResult:
    """Send ``batch``'s claimed deliveries over one connection; settle it however it ends."""
    result = BatchResult()
    batch_skip_lapsed(batch)
    deliveries = list(
        Delivery.objects.filter(batch=batch, status=Delivery.Status.CLAIMED)
        .select_related("subscriber")
        .order_by("pk")
    )
    result.claimed = len(deliveries)
    backend = get_connection(fail_silently=False)
    stopped_abruptly = True
    try:
        try:
            backend.open()
        except (smtplib.SMTPException, OSError) as error:
            logger.warning("Newsletter: cannot reach the mail server: %s", describe(error))
            result.trouble = True
            return result
        for delivery in deliveries:
            if not batch_mark_in_flight(batch, delivery.pk):
                result.taken_over = True
                break
            try:
                outcome = transmit(backend, email, delivery.subscriber)
            except Exception as error:  # the copy could not be built (a bad address, say)
                logger.exception("Newsletter: cannot build delivery %s", delivery.pk)
                outcome = Result(Outcome.FAILED, describe(error))
            if outcome.outcome is Outcome.SENT:
                result.sent += 1
                result.sent_ids.append(delivery.pk)
                if len(result.sent_ids) >= SENT_FLUSH:
                    batch_record_sent(batch, result.sent_ids)
                continue
            delivery_record(delivery, outcome)
            if outcome.outcome in (Outcome.RETRY, Outcome.UNKNOWN):
                result.trouble = True
            if outcome.connection_lost:
                break
        stopped_abruptly = False
    finally:
        # Also on the way out of an exception (the worker being stopped): then the
        # message in flight may have been handed over, and is settled as a crash would be.
        batch_record_sent(batch, result.sent_ids)
        if not result.taken_over:
            with transaction.atomic():
                current = SendBatch.objects.select_for_update().get(pk=batch.pk)
                if current.recovered_at is None:
                    if not stopped_abruptly:
                        current.in_flight = None  # every attempt's outcome is recorded
                    batch_settle(current, crashed=stopped_abruptly)
        try:
            backend.close()
        except Exception:  # closing a connection the server already dropped
            pass
    return result
