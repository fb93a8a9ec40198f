"""A reader signs up from a story, confirms by email and unsubscribes, in a real browser.

Email goes through a real SMTP server (aiosmtpd on 127.0.0.1), and the links are
followed from the messages it received.
"""

import re
import time

import pytest

from newsletter import tokens
from newsletter.models import Subscriber, Subscription
from tests.browser.test_accessibility import violations
from tests.factories import ArticleFactory
from tests.newsletter import conftest as newsletter_fixtures
from tests.newsletter.factories import SubscriberFactory, subscribe

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# The real SMTP server and the newsletters, shared with tests/newsletter/.
smtp_server = newsletter_fixtures.smtp_server
newsletters = newsletter_fixtures.newsletters


def wait_for_messages(collector, count, timeout=10):
    deadline = time.monotonic() + timeout
    while len(collector.messages) < count:
        assert time.monotonic() < deadline, f"{count} email(s) expected, got {collector.messages}"
        time.sleep(0.1)
    return collector.messages


def link(message, kind):
    text = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(rf"(http://\S+/newsletter/{kind}/\S+/)", text).group(1)


def test_reader_signs_up_on_a_story_confirms_and_unsubscribes(
    live_server,
    page,
    settings,
    smtp_server,
    newsletters,
):
    settings.SITE_URL = live_server.url
    story = ArticleFactory(headline="Aleppo residents tweet harrowing goodbyes")

    page.goto(live_server.url + story.get_absolute_url())
    call_to_action = page.locator("article .newsletter-cta")
    if call_to_action.locator("input[type=email]").count():
        # The story's own sign-up box; its page is cached, so it leads to the full form.
        call_to_action.get_by_label("Email address").fill("reader@example.com")
        call_to_action.get_by_role("button", name="Sign up").click()
        assert page.get_by_role("heading", level=1).inner_text().startswith("Almost done")
    else:
        call_to_action.get_by_role("link", name="Sign up to our newsletter").click()
        page.get_by_label("Email address").fill("reader@example.com")
    page.get_by_role("button", name="Subscribe").click()

    assert page.get_by_role("heading", level=1).inner_text() == "Check your inbox"
    [confirmation] = wait_for_messages(smtp_server, 1)
    assert confirmation["To"] == "reader@example.com"

    page.goto(link(confirmation, "confirm"))

    assert page.get_by_role("heading", level=1).inner_text() == "You are subscribed"
    assert "Daily Briefing" in page.locator("main").inner_text()
    assert Subscriber.objects.get().status == Subscriber.Status.CONFIRMED
    consent = Subscriber.objects.get().consent_records.first()
    assert consent.page_url == story.get_absolute_url()

    page.goto(link(confirmation, "unsubscribe"))
    assert page.get_by_role("heading", level=1).inner_text() == "Unsubscribe?"
    page.get_by_role("button", name="Unsubscribe").click()

    assert page.get_by_role("heading", level=1).inner_text() == "You are unsubscribed"
    assert Subscription.objects.get().status == Subscription.Status.UNSUBSCRIBED


@pytest.fixture
def story_with_signup_box(settings, tmp_path):
    """Put the sign-up box where the story's call to action is, as the site will."""
    overrides = tmp_path / "templates" / "includes"
    overrides.mkdir(parents=True)
    (overrides / "newsletter_cta.html").write_text(
        '{% include "includes/newsletter_signup.html" %}'
    )
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path / "templates", *settings.TEMPLATES[0]["DIRS"]]}
    ]
    return ArticleFactory(headline="A story with the sign-up box")


def test_the_sign_up_box_on_a_cached_story_page_leads_to_a_confirmed_sign_up(
    live_server,
    page,
    settings,
    smtp_server,
    newsletters,
    story_with_signup_box,
):
    settings.SITE_URL = live_server.url
    story = story_with_signup_box

    page.goto(live_server.url + story.get_absolute_url())
    box = page.locator("article .newsletter-cta")
    box.get_by_label("Email address").fill("box@example.com")
    box.get_by_role("button", name="Sign up").click()
    assert page.get_by_role("heading", level=1).inner_text().startswith("Almost done")
    assert page.get_by_label("Email address").input_value() == "box@example.com"
    page.get_by_role("button", name="Subscribe").click()

    assert page.get_by_role("heading", level=1).inner_text() == "Check your inbox"
    [confirmation] = wait_for_messages(smtp_server, 1)
    page.goto(link(confirmation, "confirm"))
    assert page.get_by_role("heading", level=1).inner_text() == "You are subscribed"
    assert Subscriber.objects.get().consent_records.first().page_url == story.get_absolute_url()


@pytest.mark.parametrize(
    "page_name", ["signup", "signup errors", "unsubscribe", "preferences", "expired link"]
)
def test_newsletter_pages_have_no_serious_accessibility_violations(
    live_server, page, newsletters, page_name
):
    reader = SubscriberFactory(email="reader@example.com")
    subscribe(reader, newsletters["daily"])
    paths = {
        "signup": "/newsletter/",
        "unsubscribe": tokens.unsubscribe_url(reader).removeprefix(settings_site_url()),
        "preferences": tokens.preferences_url(reader).removeprefix(settings_site_url()),
        "expired link": "/newsletter/confirm/not-a-real-token/",
    }
    if page_name == "signup errors":
        page.goto(live_server.url + "/newsletter/")
        page.get_by_label("Email address").fill("not an address")
        page.get_by_role("button", name="Subscribe").click()
        assert page.locator(".field-error").count() == 1
    else:
        page.goto(live_server.url + paths[page_name])

    assert page.locator("h1").count() == 1
    assert violations(page) == []


def settings_site_url():
    from django.conf import settings

    return settings.SITE_URL
