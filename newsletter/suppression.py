"""Addresses we must stop mailing: hard bounces, complaints and repeated soft bounces.

Every source of bad news about an address ends here: the email providers' tracking
webhooks (newsletter/webhooks.py), bounce messages read by ``manage.py process_bounces``,
and refusals the SMTP server gives while an issue is being sent. A suppressed address
gets nothing again, on any newsletter (issues, confirmation emails, "already
subscribed" notes), until audience staff lift the suppression.

Soft bounces (a full mailbox, a server down for now) count up; the address is suppressed
at ``NEWSLETTER_SOFT_BOUNCE_LIMIT`` of them (default 3) within
``NEWSLETTER_SOFT_BOUNCE_DAYS`` (default 30) of the first one counted. An older count
starts again from one.
"""

import enum
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.permissions import require_permission
from newsletter.models import Delivery, Subscriber, SuppressionReason


class Bounce(enum.Enum):
    HARD = "hard"  # the address does not exist or will never accept mail
    SOFT = "soft"  # try later: mailbox full, server unavailable
    COMPLAINT = "complaint"  # the reader marked a message as spam
    REJECTED = "rejected"  # the provider refused to send to it (its own suppression list)


REASONS = {
    Bounce.HARD: SuppressionReason.HARD_BOUNCE,
    Bounce.COMPLAINT: SuppressionReason.COMPLAINT,
    Bounce.REJECTED: SuppressionReason.REJECTED,
}


def soft_bounce_limit() -> int:
    return int(settings.NEWSLETTER_SOFT_BOUNCE_LIMIT)


def soft_bounce_window() -> timedelta:
    return timedelta(days=int(settings.NEWSLETTER_SOFT_BOUNCE_DAYS))


@transaction.atomic
def address_bounced(email: str, kind: Bounce, *, detail: str = "", source: str = "") -> bool:
    """Record bad news of ``kind`` about ``email``; return whether it is now suppressed.

    ``detail`` is what the server or provider said; ``source`` where it came from (a
    provider's name, "bounce message", "SMTP"). Unknown addresses are ignored.
    """
    subscriber = Subscriber.objects.select_for_update().for_email(email).first()
    if subscriber is None:
        return False
    if subscriber.is_suppressed:
        return True
    now = timezone.now()
    detail = f"{source}: {detail}".strip(": ")[:2000] if source else detail[:2000]
    if kind is Bounce.SOFT:
        if subscriber.soft_bounce_since is None or (
            now - subscriber.soft_bounce_since > soft_bounce_window()
        ):
            subscriber.soft_bounces, subscriber.soft_bounce_since = 0, now
        subscriber.soft_bounces += 1
        fields = ["soft_bounces", "soft_bounce_since"]
        if subscriber.soft_bounces >= soft_bounce_limit():
            suppress(subscriber, SuppressionReason.SOFT_BOUNCES, detail, now=now)
            fields += ["suppressed_at", "suppression_reason", "suppression_detail"]
        subscriber.save(update_fields=fields)
    else:
        suppress(subscriber, REASONS[kind], detail, now=now)
        subscriber.save(update_fields=["suppressed_at", "suppression_reason", "suppression_detail"])
    if subscriber.is_suppressed:
        subscriber.deliveries.pending().update(status=Delivery.Status.SUPPRESSED, updated_at=now)
    return subscriber.is_suppressed


def suppress(subscriber: Subscriber, reason: str, detail: str, *, now) -> None:
    subscriber.suppressed_at = now
    subscriber.suppression_reason = reason
    subscriber.suppression_detail = detail


@transaction.atomic
def subscriber_lift_suppression(*, subscriber: Subscriber, user) -> None:
    """Mail ``subscriber`` again, once staff know the address works (the reader asked)."""
    require_permission(user, "newsletter.change_subscriber", "lift suppressions")
    Subscriber.objects.filter(pk=subscriber.pk).update(
        suppressed_at=None,
        suppression_reason="",
        suppression_detail="",
        soft_bounces=0,
        soft_bounce_since=None,
    )
