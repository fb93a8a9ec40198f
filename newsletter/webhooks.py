"""Bounces, complaints and unsubscribes reported by email providers' tracking webhooks.

django-anymail turns each provider's webhook post into normalized tracking events and
checks the post's authenticity itself (the shared ``WEBHOOK_SECRET`` basic auth, and the
provider's own signature where it signs). This module is both the URLconf of those
webhooks, mounted at ``/newsletter/webhooks/`` (``/newsletter/webhooks/mailgun/tracking/``…),
and the receiver of anymail's ``tracking`` signal, which hands each event to
``newsletter.suppression.address_bounced``.

A webhook that nothing authenticates is refused: anymail would only warn and accept it,
and then anyone could suppress or unsubscribe any reader with one request.
"""

import logging
import re
from functools import wraps

from anymail import urls as anymail_urls
from anymail.exceptions import AnymailConfigurationError
from anymail.signals import AnymailTrackingEvent, EventType
from django.db import transaction
from django.http import HttpResponseForbidden
from django.urls import URLPattern

from newsletter.models import Subscriber
from newsletter.services import subscriber_unsubscribe
from newsletter.suppression import Bounce, address_bounced

logger = logging.getLogger(__name__)

app_name = "anymail"  # so that reverse("anymail:mailgun_tracking_webhook") works as documented

# A reply code (450) or enhanced status code (4.2.2) at the start of a server's answer.
TEMPORARY_REPLY = re.compile(r"^\W*(?:smtp;\s*)?4\d\d\b|^\W*(?:smtp;\s*)?4\.\d{1,3}\.\d{1,3}\b")
# SparkPost's bounce classes for an address that does not exist; the others are soft.
SPARKPOST_HARD_CLASSES = {"10", "30"}


def is_secured(view) -> bool:
    """Return whether posts to ``view`` (an anymail webhook view) are authenticated."""
    return bool(view.basic_auth) or not view.warn_if_no_basic_auth


def refuse_unless_secured(callback):
    """Wrap an anymail webhook view so that it answers 403 unless something authenticates it.

    Also answers 403 instead of a server error when the provider is not set up here
    (anymail raises a configuration error), and runs the whole post in one transaction,
    so that a provider retrying a failed batch never counts a soft bounce twice.
    """
    view_class, initkwargs = callback.view_class, callback.view_initkwargs

    @wraps(callback)
    def view(request, *args, **kwargs):
        try:
            secured = is_secured(view_class(**initkwargs))
        except AnymailConfigurationError as error:
            logger.error("Refused a webhook post from %s: %s", view_class.esp_name, error)
            return HttpResponseForbidden(f"The {view_class.esp_name} webhook is not set up here.")
        if not secured:
            logger.error(
                "Refused a webhook post from %s: set ANYMAIL_WEBHOOK_SECRET (or the provider's "
                "signing key) so that its posts can be authenticated.",
                view_class.esp_name,
            )
            return HttpResponseForbidden(
                f"The {view_class.esp_name} webhook is not set up here: nothing authenticates it."
            )
        try:
            with transaction.atomic():
                return callback(request, *args, **kwargs)
        except AnymailConfigurationError as error:
            logger.error("Refused a webhook post from %s: %s", view_class.esp_name, error)
            return HttpResponseForbidden(f"The {view_class.esp_name} webhook is not set up here.")

    return view


urlpatterns = [
    URLPattern(pattern.pattern, refuse_unless_secured(pattern.callback), pattern.default_args,
               pattern.name)
    for pattern in anymail_urls.urlpatterns
]  # fmt: skip


def event_detail(event: AnymailTrackingEvent) -> str:
    """Return what the provider said about the event, for the subscriber's record."""
    parts = [str(part).strip() for part in (event.description, event.mta_response) if part]
    return " — ".join(dict.fromkeys(part for part in parts if part))


def esp_data(event: AnymailTrackingEvent) -> dict:
    return event.esp_event if isinstance(event.esp_event, dict) else {}


def is_soft_bounce(event: AnymailTrackingEvent, esp_name: str) -> bool:
    """Return whether a ``bounced`` event is temporary: the mailbox may work again.

    Anymail already reports most temporary failures as ``deferred`` (Mailgun's
    ``severity: temporary``, Postmark's ``Transient``, Mailtrap's ``soft bounce``…); these
    are the providers that still call a soft bounce ``bounced``.
    """
    data = esp_data(event)
    if esp_name == "Amazon SES":
        return data.get("bounce", {}).get("bounceType") in {"Transient", "Undetermined"}
    if esp_name == "Resend":
        bounce = (data.get("data") or {}).get("bounce") or {}
        return bounce.get("type") in {"Transient", "Undetermined"}
    if esp_name == "Postmark":
        return data.get("Type") in {"SoftBounce", "Transient", "DnsError", "VirusNotification"}
    if esp_name in {"Brevo", "SendinBlue", "Mandrill"}:
        return data.get("event") == "soft_bounce"
    if esp_name == "MailerSend":
        return (data.get("data") or {}).get("type") == "soft_bounced"
    if esp_name == "Mailjet":
        return data.get("hard_bounce") is False
    if esp_name == "SendGrid":
        return data.get("type") == "blocked" or str(data.get("status", "")).startswith("4")
    if esp_name == "SparkPost":
        message_event = next(iter((data.get("msys") or {}).values()), {})
        return str(message_event.get("bounce_class", "")) not in SPARKPOST_HARD_CLASSES
    return bool(TEMPORARY_REPLY.match(event.mta_response or ""))


def bounce_kind(event: AnymailTrackingEvent, esp_name: str) -> Bounce | None:
    """Return what the event says about the address, or None when it says nothing bad."""
    if event.event_type == EventType.BOUNCED:
        return Bounce.SOFT if is_soft_bounce(event, esp_name) else Bounce.HARD
    if event.event_type == EventType.DEFERRED:
        return Bounce.SOFT
    if event.event_type == EventType.COMPLAINED:
        return Bounce.COMPLAINT
    if event.event_type == EventType.REJECTED:
        return Bounce.REJECTED
    if event.event_type == EventType.FAILED and esp_data(event).get("event") == (
        "MessageDeliveryFailed"
    ):
        # Postal's HardFail: the recipient's server refused the message for good. Other
        # providers' failures (a template that did not render) say nothing of the address.
        return Bounce.HARD
    return None


def tracking_received(sender, event: AnymailTrackingEvent, esp_name: str, **kwargs) -> None:
    """Record a bounce, complaint or provider unsubscribe for a subscriber's address."""
    if not event.recipient:
        return
    if event.event_type == EventType.UNSUBSCRIBED:
        subscriber = Subscriber.objects.for_email(event.recipient).first()
        if subscriber is not None:
            subscriber_unsubscribe(subscriber=subscriber)
        return
    kind = bounce_kind(event, esp_name)
    if kind is not None:
        address_bounced(event.recipient, kind, detail=event_detail(event), source=esp_name)
