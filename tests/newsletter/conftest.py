import pytest

from newsletter.models import Newsletter, Subscription
from tests.factories import SubscriberFactory, UserFactory, subscribe
from tests.newsletter.smtp import start_smtp_server

SITE_URL = "https://news.example.org"


@pytest.fixture(autouse=True)
def public_site_url(settings):
    """Links in emails point at the public HTTPS address, as in production."""
    settings.SITE_URL = SITE_URL


@pytest.fixture
def smtp_server(settings):
    """Start a real SMTP server on 127.0.0.1 and send all email through it."""
    collector, controller = start_smtp_server()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = controller.hostname
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    yield collector
    controller.stop()


@pytest.fixture
def newsletters(db):
    """Return the two newsletters the migration creates (made again after a flush)."""
    daily, _ = Newsletter.objects.get_or_create(
        slug="daily-briefing",
        defaults={"name": "Daily Briefing", "is_default": True, "position": 0},
    )
    breaking, _ = Newsletter.objects.get_or_create(
        slug="breaking-news", defaults={"name": "Breaking News", "position": 1}
    )
    return {"daily": daily, "breaking": breaking}


@pytest.fixture
def audience(client):
    """Return a member of the audience desk, signed in with ``client``."""
    user = UserFactory(username="audience-desk", role="Audience", email="desk@example.org")
    client.force_login(user)
    return user


@pytest.fixture
def readers(newsletters):
    """Return a confirmed, a pending and an unsubscribed reader, by those names."""
    confirmed = SubscriberFactory(email="confirmed@example.com")
    subscribe(confirmed, newsletters["daily"])
    pending = SubscriberFactory(email="pending@example.com")
    subscribe(pending, newsletters["breaking"], status=Subscription.Status.PENDING)
    left = SubscriberFactory(email="left@example.com")
    subscribe(left, newsletters["daily"], status=Subscription.Status.UNSUBSCRIBED)
    return {"confirmed": confirmed, "pending": pending, "left": left}
