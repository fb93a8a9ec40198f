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
from tests.factories import ArticleFactory, SubscriberFactory, subscribe
from tests.newsletter import conftest as newsletter_fixtures

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


def open_as_a_fresh_reader(page, url):
    """Open ``url`` with no cookies and check it is a page every reader gets from the cache."""
    assert page.context.cookies() == []
    response = page.goto(url)
    headers = response.all_headers()
    assert "public" in headers["cache-control"]
    assert "xkey" in headers and "set-cookie" not in headers
    assert page.locator("input[name=csrfmiddlewaretoken]").count() == 0
    return response


@pytest.mark.parametrize(
    "where, box",
    [("story", "article .newsletter-cta"), ("home", ".site-footer .newsletter-cta")],
    ids=["story page box", "footer box"],
)
def test_the_sign_up_box_on_a_cached_page_works_on_the_first_click(
    live_server, page, settings, smtp_server, newsletters, where, box
):
    settings.SITE_URL = live_server.url
    story = ArticleFactory(headline="Aleppo residents tweet harrowing goodbyes")
    path = story.get_absolute_url() if where == "story" else "/"
    open_as_a_fresh_reader(page, live_server.url + path)

    sign_up_box = page.locator(box)
    sign_up_box.get_by_label("Email address").fill("reader@example.com")
    sign_up_box.get_by_role("button", name="Sign up").click()

    assert page.get_by_role("heading", level=1).inner_text() == "Check your inbox"
    subscriber = Subscriber.objects.get()
    assert subscriber.email == "reader@example.com"
    assert subscriber.status == Subscriber.Status.PENDING
    assert subscriber.consent_records.get().page_url == path
    [confirmation] = wait_for_messages(smtp_server, 1)
    assert confirmation["To"] == "reader@example.com"


def test_reader_confirms_with_the_button_and_unsubscribes(
    live_server, page, settings, smtp_server, newsletters
):
    settings.SITE_URL = live_server.url
    page.goto(live_server.url + "/newsletter/")
    page.get_by_label("Email address").fill("reader@example.com")
    page.get_by_role("button", name="Subscribe").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Check your inbox"
    [confirmation] = wait_for_messages(smtp_server, 1)

    page.goto(link(confirmation, "confirm"))

    # Opening the link, as a mail scanner does, confirms nothing.
    assert page.get_by_role("heading", level=1).inner_text() == "Confirm your subscription"
    assert "Daily Briefing" in page.locator("main").inner_text()
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING
    page.get_by_role("button", name="Confirm my subscription").click()

    assert page.get_by_role("heading", level=1).inner_text() == "You are subscribed"
    assert "Daily Briefing" in page.locator("main").inner_text()
    assert Subscriber.objects.get().status == Subscriber.Status.CONFIRMED
    assert Subscription.objects.get().status == Subscription.Status.CONFIRMED

    page.goto(link(confirmation, "unsubscribe"))
    assert page.get_by_role("heading", level=1).inner_text() == "Unsubscribe?"
    assert Subscription.objects.get().status == Subscription.Status.CONFIRMED
    page.get_by_role("button", name="Unsubscribe").click()

    assert page.get_by_role("heading", level=1).inner_text() == "You are unsubscribed"
    assert Subscription.objects.get().status == Subscription.Status.UNSUBSCRIBED


@pytest.mark.parametrize(
    "page_name",
    ["signup", "signup errors", "confirm", "unsubscribe", "preferences", "expired link"],
)
def test_newsletter_pages_have_no_serious_accessibility_violations(
    live_server, page, newsletters, page_name
):
    reader = SubscriberFactory(email="reader@example.com")
    subscribe(reader, newsletters["daily"])
    newcomer = SubscriberFactory(email="newcomer@example.com")
    subscribe(newcomer, newsletters["daily"], status=Subscription.Status.PENDING)
    paths = {
        "signup": "/newsletter/",
        "confirm": tokens.confirm_url(newcomer).removeprefix(settings_site_url()),
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
