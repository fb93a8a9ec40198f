"""Leaving: the signed unsubscribe link, RFC 8058 one-click, and the preferences page."""

import re

import pytest
from django.test import Client

from newsletter import tokens
from newsletter.models import ConsentRecord, Subscriber, Subscription
from tests.factories import SubscriberFactory, subscribe
from tests.newsletter.test_signup import link_in, parts, sign_up

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(newsletters):
    subscriber = SubscriberFactory(email="reader@example.com")
    subscribe(subscriber, newsletters["daily"])
    subscribe(subscriber, newsletters["breaking"])
    return subscriber


def path_of(url):
    return url.removeprefix("https://news.example.org")


def statuses(subscriber):
    return dict(
        subscriber.subscriptions.values_list("newsletter__slug", "status").order_by("newsletter")
    )


def test_unsubscribe_link_in_the_email_asks_before_unsubscribing(
    client, newsletters, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(client, "reader@example.com")
    message = smtp_server.messages[0]
    client.post(link_in(parts(message)[0], "confirm"))
    unsubscribe = link_in(parts(message)[1], "unsubscribe")
    assert f"<https://news.example.org{unsubscribe}>" == message["List-Unsubscribe"].strip()

    asked = client.get(unsubscribe)

    page = asked.content.decode()
    assert asked.status_code == 200
    assert re.search(r'<form method="post">\s*<p><button type="submit"', page)
    assert Subscriber.objects.get().status == Subscriber.Status.CONFIRMED

    done = client.post(unsubscribe)

    assert done.status_code == 200
    assert "You are unsubscribed" in done.content.decode()
    assert Subscriber.objects.get().status == Subscriber.Status.UNSUBSCRIBED
    assert Subscription.objects.get().unsubscribed_at is not None


def test_opening_the_unsubscribe_link_changes_nothing(reader):
    """Guards against mail scanners, which open every link, unsubscribing readers."""
    url = path_of(tokens.unsubscribe_url(reader))

    answers = [Client().head(url), Client().get(url)]

    assert [answer.status_code for answer in answers] == [200, 200]
    assert "no-store" in answers[1]["Cache-Control"]
    assert set(statuses(reader).values()) == {"confirmed"}
    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.CONFIRMED


def test_one_click_unsubscribe_works_without_a_csrf_token(reader, newsletters):
    """RFC 8058: the mail app POSTs "List-Unsubscribe=One-Click" with no cookie or token."""
    mail_app = Client(enforce_csrf_checks=True)
    url = path_of(tokens.unsubscribe_url(reader, newsletters["daily"]))

    response = mail_app.post(
        url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 200
    assert statuses(reader) == {"daily-briefing": "unsubscribed", "breaking-news": "confirmed"}


def test_one_click_unsubscribe_is_idempotent(reader, newsletters):
    mail_app = Client(enforce_csrf_checks=True)
    url = path_of(tokens.unsubscribe_url(reader))

    answers = [mail_app.post(url, {"List-Unsubscribe": "One-Click"}) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert "already unsubscribed" in answers[2].content.decode()
    assert set(statuses(reader).values()) == {"unsubscribed"}
    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.UNSUBSCRIBED


def test_a_forged_unsubscribe_link_is_refused(reader):
    token = tokens.unsubscribe_token(reader)
    payload, signature = token.split(":")
    other = SubscriberFactory(email="other@example.com")
    someone_else = tokens.unsubscribe_token(other).split(":")[0] + ":" + signature
    wrong_purpose = tokens.preferences_token(reader)

    for forged in [token[:-3], someone_else, wrong_purpose, payload]:
        response = Client(enforce_csrf_checks=True).post(f"/newsletter/unsubscribe/{forged}/")
        assert response.status_code == 400
    assert set(statuses(reader).values()) == {"confirmed"}


def test_one_click_unsubscribe_of_an_erased_subscriber_still_succeeds(reader):
    url = path_of(tokens.unsubscribe_url(reader))
    reader.delete()

    response = Client(enforce_csrf_checks=True).post(url)

    assert response.status_code == 200
    assert "no longer on our lists" in response.content.decode()


def test_preferences_page_lets_a_subscriber_choose_newsletters(client, reader, newsletters):
    url = path_of(tokens.preferences_url(reader))
    page = client.get(url)
    assert page.status_code == 200
    assert page.content.decode().count("checked") == 2

    response = client.post(url, {"newsletters": [newsletters["breaking"].pk]})

    assert response.status_code == 200
    assert "Your choices are saved" in response.content.decode()
    assert statuses(reader) == {"daily-briefing": "unsubscribed", "breaking-news": "confirmed"}


def test_preferences_can_add_a_newsletter_with_a_consent_record(client, newsletters):
    subscriber = SubscriberFactory(email="one@example.com")
    subscribe(subscriber, newsletters["daily"])

    client.post(
        path_of(tokens.preferences_url(subscriber)),
        {"newsletters": [newsletters["daily"].pk, newsletters["breaking"].pk]},
        REMOTE_ADDR="203.0.113.5",
    )

    assert set(statuses(subscriber).values()) == {"confirmed"}
    record = subscriber.consent_records.get(kind=ConsentRecord.Kind.PREFERENCES)
    assert record.newsletters == "Breaking News"
    assert record.ip_network == "203.0.113.0/24"


def test_preferences_with_nothing_ticked_unsubscribes_from_everything(client, reader):
    client.post(path_of(tokens.preferences_url(reader)), {})

    reader.refresh_from_db()
    assert reader.status == Subscriber.Status.UNSUBSCRIBED


def test_preferences_need_the_csrf_token(reader, newsletters):
    response = Client(enforce_csrf_checks=True).post(
        path_of(tokens.preferences_url(reader)), {"newsletters": []}
    )

    assert response.status_code == 403
    assert set(statuses(reader).values()) == {"confirmed"}


def test_a_forged_preferences_link_is_refused(client, reader):
    token = tokens.preferences_token(reader)

    assert client.get(f"/newsletter/preferences/{token}x/").status_code == 400
    assert (
        client.get(f"/newsletter/preferences/{tokens.unsubscribe_token(reader)}/").status_code
        == 400
    )
