"""Signed links in newsletter emails: confirm, unsubscribe, manage preferences.

A confirmation link expires after seven days and only works for the address it was sent
to. Unsubscribe and preferences links never expire: a reader must be able to leave with
the link in an email however old it is.
"""

from datetime import timedelta

from django.core import signing
from django.urls import reverse

from newsletter.addresses import email_fingerprint
from newsletter.models import Newsletter, Subscriber
from publication.addresses import absolute_url

CONFIRM_SALT = "newsletter.confirm"
CONFIRM_MAX_AGE = timedelta(days=7)
UNSUBSCRIBE_SALT = "newsletter.unsubscribe"
PREFERENCES_SALT = "newsletter.preferences"


def confirm_token(subscriber: Subscriber) -> str:
    """Return a token that confirms ``subscriber``'s pending subscriptions for seven days."""
    return signing.dumps(
        {"s": subscriber.pk, "e": email_fingerprint(subscriber.email)}, salt=CONFIRM_SALT
    )


def subscriber_for_confirm_token(token: str) -> Subscriber:
    """Return the subscriber ``token`` confirms.

    Raise ``signing.SignatureExpired`` for an old link, ``signing.BadSignature`` for a
    forged one and ``Subscriber.DoesNotExist`` when the address was erased or changed.
    """
    data = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    return subscriber_matching(data)


def subscriber_for_expired_confirm_token(token: str) -> Subscriber | None:
    """Return the subscriber a genuine but expired confirmation ``token`` was sent to."""
    try:
        return subscriber_matching(signing.loads(token, salt=CONFIRM_SALT))
    except (signing.BadSignature, Subscriber.DoesNotExist, KeyError, TypeError):
        return None


def subscriber_matching(data) -> Subscriber:
    subscriber = Subscriber.objects.get(pk=data["s"])
    if email_fingerprint(subscriber.email) != data["e"]:
        raise Subscriber.DoesNotExist("The address changed since the link was sent.")
    return subscriber


def unsubscribe_token(subscriber: Subscriber, newsletter: Newsletter | None = None) -> str:
    """Return a lasting token that unsubscribes ``subscriber`` from ``newsletter``, or all."""
    data = {"s": subscriber.pk}
    if newsletter is not None:
        data["n"] = newsletter.pk
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign_object(data)


def unsubscribe_target(token: str) -> tuple[Subscriber, Newsletter | None]:
    """Return the subscriber and newsletter (None: all) ``token`` unsubscribes.

    Raise ``signing.BadSignature`` or ``Subscriber.DoesNotExist``.
    """
    data = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign_object(token)
    subscriber = Subscriber.objects.get(pk=data["s"])
    newsletter = Newsletter.objects.filter(pk=data.get("n")).first() if "n" in data else None
    return subscriber, newsletter


def preferences_token(subscriber: Subscriber) -> str:
    return signing.Signer(salt=PREFERENCES_SALT).sign_object({"s": subscriber.pk})


def subscriber_for_preferences_token(token: str) -> Subscriber:
    """Return the subscriber whose preferences ``token`` opens; raise as ``unsubscribe_target``."""
    data = signing.Signer(salt=PREFERENCES_SALT).unsign_object(token)
    return Subscriber.objects.get(pk=data["s"])


def confirm_url(subscriber: Subscriber) -> str:
    return absolute_url(reverse("newsletter:confirm", kwargs={"token": confirm_token(subscriber)}))


def unsubscribe_url(subscriber: Subscriber, newsletter: Newsletter | None = None) -> str:
    token = unsubscribe_token(subscriber, newsletter)
    return absolute_url(reverse("newsletter:unsubscribe", kwargs={"token": token}))


def preferences_url(subscriber: Subscriber) -> str:
    token = preferences_token(subscriber)
    return absolute_url(reverse("newsletter:preferences", kwargs={"token": token}))
