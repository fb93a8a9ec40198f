"""Reader sign-up with double opt-in, over HTTP and a real SMTP server."""

import re
import threading
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.test import Client

from newsletter.models import ConsentRecord, Subscriber, Subscription
from tests.factories import SubscriberFactory, subscribe

pytestmark = pytest.mark.django_db

SIGNUP_URL = "/newsletter/"


def sign_up(client, email, *, newsletters=(), fields=None, **headers):
    """POST the sign-up form; ``headers`` go to the request (REMOTE_ADDR=…), not the form."""
    data = {"email": email, "page": "/2016/12/13/aleppo/", **(fields or {})}
    if newsletters:
        data["newsletters"] = [newsletter.pk for newsletter in newsletters]
    return client.post(SIGNUP_URL, data, **headers)


def link_in(text, kind):
    """Return the path of the first newsletter ``kind`` link (confirm, unsubscribe…) in text."""
    match = re.search(rf"https://news\.example\.org(/newsletter/{kind}/[^/\s\"<>]+/)", text)
    assert match, f"no {kind} link in {text!r}"
    return match.group(1)


def parts(message):
    """Return the plain-text and HTML bodies of a parsed email."""
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def test_signup_page_has_one_labelled_form(client, newsletters):
    response = client.get(SIGNUP_URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<h1") == 1
    assert '<label for="id_email">Email address</label>' in html
    assert "Daily Briefing" in html and "Breaking News" in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_signup_emails_a_confirmation_link_through_smtp(
    client, newsletters, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_up(client, "Reader@Example.COM", newsletters=[newsletters["breaking"]])

    assert response.status_code == 303
    assert response["Location"] == "/newsletter/thanks/"
    assert smtp_server.recipients() == ["Reader@example.com"]
    [message] = smtp_server.messages
    assert message["To"] == "Reader@example.com"
    assert message["From"] == "Newsroom <newsroom@localhost>"
    assert message["Subject"] == "Confirm your subscription to Newsroom"
    assert re.fullmatch(r"<https://news\.example\.org/newsletter/unsubscribe/\S+/>",
                        message["List-Unsubscribe"].strip())  # fmt: skip
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = parts(message)
    assert "Breaking News" in text and "Breaking News" in html
    assert link_in(text, "confirm") == link_in(html, "confirm")
    subscription = Subscription.objects.get()
    assert subscription.status == Subscription.Status.PENDING
    assert subscription.newsletter == newsletters["breaking"]


def test_opening_the_confirmation_link_asks_and_changes_nothing(
    client, newsletters, smtp_server, django_capture_on_commit_callbacks
):
    """Guards against mail scanners, which open every link, confirming for nobody."""
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(client, "reader@example.com", newsletters=[newsletters["breaking"]])
    confirm = link_in(parts(smtp_server.messages[0])[0], "confirm")

    scanned = [Client().head(confirm), Client().get(confirm)]
    response = client.get(confirm)

    assert [answer.status_code for answer in scanned] == [200, 200]
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("<h1") == 1
    assert "<h1>Confirm your subscription</h1>" in page
    assert "<li>Breaking News</li>" in page and "Daily Briefing" not in page
    assert re.search(
        r'<form method="post">\s*<p><button type="submit" class="button">'
        r"Confirm my subscription</button>",
        page,
    )
    assert "no-store" in response["Cache-Control"]
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.PENDING
    assert subscriber.confirmed_at is None
    assert Subscription.objects.get().status == Subscription.Status.PENDING
    assert not subscriber.consent_records.filter(kind=ConsentRecord.Kind.CONFIRMATION).exists()


@pytest.mark.parametrize("method", ["put", "patch", "delete", "options"])
def test_the_confirmation_link_refuses_other_methods(
    client, newsletters, smtp_server, django_capture_on_commit_callbacks, method
):
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(client, "reader@example.com")
    confirm = link_in(parts(smtp_server.messages[0])[0], "confirm")

    response = getattr(client, method)(confirm)

    assert response.status_code == 405
    assert set(response["Allow"].split(", ")) == {"GET", "HEAD", "POST"}
    assert Subscription.objects.get().status == Subscription.Status.PENDING


def test_the_confirm_button_confirms_the_subscription(
    client, newsletters, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(client, "reader@example.com")
    text, _ = parts(smtp_server.messages[0])
    # The signed link is the key: no CSRF cookie or token, as from a browser that
    # blocks cookies, or another browser than the one that signed up.
    browser = Client(enforce_csrf_checks=True)

    response = browser.post(link_in(text, "confirm"), REMOTE_ADDR="203.0.113.77")

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "You are subscribed" in response.content.decode()
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.CONFIRMED
    assert subscriber.confirmed_at is not None
    subscription = subscriber.subscriptions.get()
    assert subscription.newsletter == newsletters["daily"]  # the default newsletter
    assert subscription.status == Subscription.Status.CONFIRMED
    assert subscription.confirmed_at is not None
    confirmation = subscriber.consent_records.get(kind=ConsentRecord.Kind.CONFIRMATION)
    assert confirmation.ip_network == "203.0.113.0/24"
    assert confirmation.page_url == "/newsletter/confirm/"  # never the secret token


def test_confirming_twice_changes_nothing(
    client, newsletters, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(client, "reader@example.com")
    confirm = link_in(parts(smtp_server.messages[0])[0], "confirm")
    client.post(confirm)
    confirmed_at = Subscription.objects.get().confirmed_at

    again = client.post(confirm)
    opened_again = client.get(confirm)

    assert again.status_code == 200
    assert "You are subscribed" in again.content.decode()
    assert "Nothing left to confirm" in opened_again.content.decode()
    assert Subscription.objects.get().confirmed_at == confirmed_at
    assert ConsentRecord.objects.filter(kind=ConsentRecord.Kind.CONFIRMATION).count() == 1


def test_confirmation_link_expires_after_seven_days_and_offers_a_new_email(
    client, newsletters, smtp_server, django_capture_on_commit_callbacks
):
    with time_machine.travel("2025-03-01 09:00 +0000", tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            sign_up(client, "late.reader@example.com")
    confirm = link_in(parts(smtp_server.messages[0])[0], "confirm")

    with time_machine.travel("2025-03-07 23:00 +0000", tick=False):
        still_valid = client.get(confirm)
    with time_machine.travel("2025-03-08 09:01 +0000", tick=False):
        expired = client.get(confirm)
        expired_post = client.post(confirm)

    assert still_valid.status_code == 200
    assert "Confirm my subscription" in still_valid.content.decode()
    assert expired.status_code == expired_post.status_code == 410
    for answer in [expired, expired_post]:
        page = answer.content.decode()
        assert "This confirmation link has expired" in page
        assert 'action="/newsletter/"' in page
        assert 'value="late.reader@example.com"' in page
    assert Subscription.objects.get().status == Subscription.Status.PENDING


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token: "not-a-token",
        lambda token: token.split(":")[0],
    ],
    ids=["changed signature", "garbage", "cut short"],
)
def test_tampered_confirmation_link_is_refused_with_a_form(
    client, newsletters, smtp_server, django_capture_on_commit_callbacks, mangle
):
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(client, "reader@example.com")
    confirm = link_in(parts(smtp_server.messages[0])[0], "confirm")
    token = confirm.rstrip("/").rsplit("/", 1)[1]

    for send in [client.get, client.post]:
        response = send(f"/newsletter/confirm/{mangle(token)}/")

        assert response.status_code == 400
        assert "This confirmation link does not work" in response.content.decode()
        assert 'name="email"' in response.content.decode()
    assert Subscription.objects.get().status == Subscription.Status.PENDING


def test_a_confirmation_link_stops_working_once_the_address_is_erased(
    client, newsletters, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(client, "reader@example.com")
    confirm = link_in(parts(smtp_server.messages[0])[0], "confirm")
    Subscriber.objects.all().delete()

    assert client.get(confirm).status_code == 400
    assert client.post(confirm).status_code == 400


def make_subscriber_in_state(state, email, newsletter):
    if state == "new":
        return
    subscriber = SubscriberFactory(email=email)
    subscribe(subscriber, newsletter, status=state)


@time_machine.travel("2025-03-01 09:00 +0000", tick=False)
def test_signup_answers_the_same_whatever_the_address_is(
    client, newsletters, django_capture_on_commit_callbacks, mailoutbox
):
    """Guards against account enumeration: the answer never says who subscribes."""
    answers = {}
    for state in ["new", "pending", "confirmed", "unsubscribed"]:
        email = f"{state}@example.com"
        make_subscriber_in_state(state, email, newsletters["daily"])
        with django_capture_on_commit_callbacks(execute=True):
            response = sign_up(Client(), email)
        answers[state] = (response.status_code, dict(response.headers), response.content)

    assert answers["new"] == answers["pending"] == answers["confirmed"] == answers["unsubscribed"]
    assert answers["new"][0] == 303
    # Exactly one email each, so timing and mail volume say nothing either.
    assert sorted(message.to[0] for message in mailoutbox) == sorted(
        f"{state}@example.com" for state in ["new", "pending", "confirmed", "unsubscribed"]
    )


def test_confirmed_reader_signing_up_again_gets_a_note_not_a_duplicate(
    client, newsletters, smtp_server, django_capture_on_commit_callbacks
):
    subscriber = SubscriberFactory(email="loyal@example.com")
    subscribe(subscriber, newsletters["daily"])

    with django_capture_on_commit_callbacks(execute=True):
        response = sign_up(client, "LOYAL@example.com")

    assert response.status_code == 303
    assert Subscriber.objects.count() == 1
    assert Subscription.objects.count() == 1
    assert Subscription.objects.get().status == Subscription.Status.CONFIRMED
    [message] = smtp_server.messages
    assert message["Subject"] == "You are already subscribed to Newsroom"
    text, html = parts(message)
    assert "/newsletter/confirm/" not in text + html
    assert link_in(text, "preferences")


def test_unsubscribed_reader_must_confirm_again(
    client, newsletters, smtp_server, django_capture_on_commit_callbacks
):
    subscriber = SubscriberFactory(email="back@example.com")
    subscribe(subscriber, newsletters["daily"], status=Subscription.Status.UNSUBSCRIBED)

    with django_capture_on_commit_callbacks(execute=True):
        sign_up(client, "back@example.com")

    subscription = Subscription.objects.get()
    assert subscription.status == Subscription.Status.PENDING
    [message] = smtp_server.messages
    assert message["Subject"] == "Confirm your subscription to Newsroom"
    client.post(link_in(parts(message)[0], "confirm"))
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CONFIRMED


@pytest.mark.parametrize(
    "email",
    [
        "not-an-address",
        "reader@",
        "@example.com",
        "",
        "a" * 290 + "@example.com",
        "reader@example.com\nBcc: victim@example.org",
        "reader@example.com\r\nSubject: spam",
        "reader@exa\x00mple.com",
        "Reader <reader@example.com>",
        "reader@example.com, other@example.com",
        "réader@example.com",
    ],
    ids=[
        "no at",
        "no domain",
        "no local part",
        "empty",
        "300 characters",
        "bcc header injection",
        "subject header injection",
        "null byte",
        "display name",
        "two addresses",
        "non-ascii local part",
    ],
)
def test_bad_addresses_get_a_form_error_and_store_nothing(
    client, newsletters, mailoutbox, django_capture_on_commit_callbacks, email
):
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_up(client, email)

    assert response.status_code == 400
    assert 'class="field-error"' in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    assert not Subscriber.objects.exists()
    assert mailoutbox == []


def test_an_unknown_newsletter_is_a_form_error(client, newsletters):
    response = client.post(SIGNUP_URL, {"email": "reader@example.com", "newsletters": ["99999"]})

    assert response.status_code == 400
    assert not Subscriber.objects.exists()


def test_internationalised_domain_is_accepted_and_stored_as_ascii(
    client, newsletters, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_up(client, "  User@Bücher.Example  ")

    assert response.status_code == 303
    assert Subscriber.objects.get().email == "User@xn--bcher-kva.example"
    assert smtp_server.recipients() == ["User@xn--bcher-kva.example"]


def test_the_same_address_in_another_case_is_the_same_subscriber(
    client, newsletters, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(client, "Reader@example.com")
        sign_up(client, "reader@EXAMPLE.com")
        sign_up(client, "READER@example.com")

    assert Subscriber.objects.count() == 1
    assert Subscriber.objects.get().email == "Reader@example.com"


def test_the_database_refuses_a_second_row_for_an_address_in_another_case(newsletters):
    SubscriberFactory(email="reader@example.com")

    with pytest.raises(IntegrityError), transaction.atomic():
        Subscriber.objects.create(email="READER@example.com")


def test_the_honeypot_answers_like_success_and_stores_nothing(
    client, newsletters, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_up(client, "bot@example.com", fields={"website": "http://spam.example"})

    assert response.status_code == 303
    assert response["Location"] == "/newsletter/thanks/"
    assert not Subscriber.objects.exists()
    assert mailoutbox == []


def test_signup_records_consent_with_a_truncated_ip(
    client, newsletters, django_capture_on_commit_callbacks
):
    client.post(
        SIGNUP_URL,
        {"email": "reader@example.com", "page": "/2016/12/13/aleppo/"},
        REMOTE_ADDR="198.51.100.23",
    )
    client.post(
        SIGNUP_URL,
        {"email": "v6@example.com", "newsletters": [newsletters["breaking"].pk]},
        REMOTE_ADDR="2001:db8:abcd:12:1:2:3:4",
    )

    record = ConsentRecord.objects.get(subscriber__email="reader@example.com")
    assert record.kind == ConsentRecord.Kind.SIGNUP
    assert record.ip_network == "198.51.100.0/24"
    assert record.page_url == "/2016/12/13/aleppo/"
    assert "unsubscribe at any time" in record.text
    assert record.newsletters == "Daily Briefing"
    v6 = ConsentRecord.objects.get(subscriber__email="v6@example.com")
    assert v6.ip_network == "2001:db8:abcd::/48"
    assert v6.newsletters == "Breaking News"


def test_too_many_signups_from_one_address_get_a_friendly_429(client, newsletters, settings):
    settings.NEWSLETTER_SIGNUP_LIMITS = {"ip": (3, 600), "email": (100, 3600)}
    answers = [
        sign_up(client, f"reader{number}@example.com", REMOTE_ADDR="192.0.2.1").status_code
        for number in range(4)
    ]
    other_reader = sign_up(client, "someone@example.com", REMOTE_ADDR="192.0.2.99")

    assert answers == [303, 303, 303, 429]
    assert other_reader.status_code == 303
    assert Subscriber.objects.count() == 4


def test_too_many_signups_for_one_email_get_a_friendly_429(client, newsletters, settings):
    settings.NEWSLETTER_SIGNUP_LIMITS = {"ip": (100, 600), "email": (2, 3600)}
    answers = [
        sign_up(client, email, REMOTE_ADDR=f"192.0.2.{number}")
        for number, email in enumerate(
            ["victim@example.com", "VICTIM@example.com", "victim@EXAMPLE.com"]
        )
    ]

    assert [answer.status_code for answer in answers[:2]] == [303, 303]
    limited = answers[2]
    assert limited.status_code == 429
    assert limited["Retry-After"] == "3600"
    page = limited.content.decode()
    assert "Please wait a little" in page and "60 minutes" in page


def test_the_rate_limit_window_ends(client, newsletters, settings):
    settings.NEWSLETTER_SIGNUP_LIMITS = {"ip": (1, 600), "email": (100, 3600)}
    with time_machine.travel("2025-03-01 09:00 +0000", tick=False) as traveller:
        first = sign_up(client, "one@example.com")
        second = sign_up(client, "two@example.com")
        traveller.shift(timedelta(minutes=11))
        # locmem expiry reads the clock, so the window is over for it too.
        third = sign_up(client, "three@example.com")

    assert [first.status_code, second.status_code, third.status_code] == [303, 429, 303]


def test_a_post_without_csrf_token_subscribes_nobody_and_shows_the_full_form(newsletters):
    """A POST that neither carries a token nor shows where it came from leads to the real form."""
    browser = Client(enforce_csrf_checks=True)

    response = browser.post(SIGNUP_URL, {"email": "footer@example.com", "page": "/"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "Almost done" in page
    assert 'value="footer@example.com"' in page
    assert not Subscriber.objects.exists()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    confirmed = browser.post(
        SIGNUP_URL, {"email": "footer@example.com", "page": "/", "csrfmiddlewaretoken": token}
    )
    assert confirmed.status_code == 303
    assert Subscriber.objects.get().email == "footer@example.com"


# What browsers send with the sign-up box's POST; the test client's host is "testserver".
SAME_ORIGIN = {"HTTP_SEC_FETCH_SITE": "same-origin", "HTTP_ORIGIN": "http://testserver"}


@pytest.mark.parametrize(
    "headers",
    [
        SAME_ORIGIN,
        {"HTTP_SEC_FETCH_SITE": "same-origin"},
        # Browsers without Fetch Metadata (before 2023) still send Origin on a POST.
        {"HTTP_ORIGIN": "http://testserver"},
        {"HTTP_ORIGIN": "https://testserver", "secure": True},
    ],
    ids=["fetch metadata and origin", "fetch metadata", "origin", "origin over https"],
)
def test_the_box_on_a_cached_page_signs_up_on_the_first_click(
    newsletters, mailoutbox, django_capture_on_commit_callbacks, headers
):
    """The story and footer boxes carry no token; their browser says they are ours."""
    reader = Client(enforce_csrf_checks=True)

    with django_capture_on_commit_callbacks(execute=True):
        response = reader.post(
            SIGNUP_URL, {"email": "box@example.com", "page": "/2016/12/13/aleppo/"}, **headers
        )

    assert response.status_code == 303
    assert response["Location"] == "/newsletter/thanks/"
    subscriber = Subscriber.objects.get()
    assert subscriber.email == "box@example.com"
    assert subscriber.status == Subscriber.Status.PENDING
    assert subscriber.consent_records.get().page_url == "/2016/12/13/aleppo/"
    assert [message.to for message in mailoutbox] == [["box@example.com"]]


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_SEC_FETCH_SITE": "cross-site", "HTTP_ORIGIN": "https://attacker.example"},
        {"HTTP_SEC_FETCH_SITE": "same-site", "HTTP_ORIGIN": "http://blog.testserver"},
        {"HTTP_SEC_FETCH_SITE": "none"},
        # Fetch Metadata wins: a cross-site form cannot borrow our origin.
        {"HTTP_SEC_FETCH_SITE": "cross-site", "HTTP_ORIGIN": "http://testserver"},
        {"HTTP_ORIGIN": "https://attacker.example"},
        {"HTTP_ORIGIN": "http://testserver.attacker.example"},
        {"HTTP_ORIGIN": "null"},
        {"HTTP_ORIGIN": ""},
        {},
        # Served over HTTPS, the page's origin is https://; http:// is another site.
        {"HTTP_ORIGIN": "http://testserver", "secure": True},
        # Everything behind a proxy that says HTTPS, but not from a page of ours.
        {
            "HTTP_ORIGIN": "https://attacker.example",
            "HTTP_HOST": "testserver",
            "HTTP_X_FORWARDED_PROTO": "https",
        },
    ],
    ids=[
        "cross-site",
        "same-site subdomain",
        "typed in",
        "cross-site with our origin",
        "other origin",
        "lookalike origin",
        "origin null",
        "empty origin",
        "no origin",
        "http origin on https",
        "other origin behind proxy",
    ],
)
def test_a_post_from_elsewhere_without_a_token_changes_nothing(
    newsletters, mailoutbox, django_capture_on_commit_callbacks, settings, headers
):
    """Guards against cross-site forgery: another site's form only reaches "Almost done"."""
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    browser = Client(enforce_csrf_checks=True)

    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(SIGNUP_URL, {"email": "victim@example.com"}, **headers)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Almost done" in page
    assert 'value="victim@example.com"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert not Subscriber.objects.exists()
    assert mailoutbox == []


def test_behind_a_tls_proxy_the_origin_is_judged_on_https(
    newsletters, settings, django_capture_on_commit_callbacks
):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # The proxy passes the reader's Host on, and says the reader used HTTPS.
    behind_proxy = {"HTTP_HOST": "testserver", "HTTP_X_FORWARDED_PROTO": "https"}

    with django_capture_on_commit_callbacks(execute=True):
        ours = Client(enforce_csrf_checks=True).post(
            SIGNUP_URL,
            {"email": "ours@example.com"},
            HTTP_ORIGIN="https://testserver",
            **behind_proxy,
        )
        plain = Client(enforce_csrf_checks=True).post(
            SIGNUP_URL,
            {"email": "plain@example.com"},
            HTTP_ORIGIN="http://testserver",
            **behind_proxy,
        )

    assert ours.status_code == 303
    assert "Almost done" in plain.content.decode()
    assert list(Subscriber.objects.values_list("email", flat=True)) == ["ours@example.com"]


def test_an_origin_in_csrf_trusted_origins_counts_as_ours(newsletters, settings):
    """A TLS terminator that hides https from Django is what CSRF_TRUSTED_ORIGINS is for."""
    settings.CSRF_TRUSTED_ORIGINS = ["https://news.example.org", "https://*.example.net"]
    browser = Client(enforce_csrf_checks=True)

    answers = [
        browser.post(SIGNUP_URL, {"email": f"{number}@example.com"}, HTTP_ORIGIN=origin)
        for number, origin in enumerate(
            ["https://news.example.org", "https://www.example.net", "https://example.org"]
        )
    ]

    assert [answer.status_code for answer in answers] == [303, 303, 200]
    assert sorted(Subscriber.objects.values_list("email", flat=True)) == [
        "0@example.com",
        "1@example.com",
    ]


def test_a_same_origin_post_still_meets_the_honeypot_and_the_rate_limit(
    newsletters, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.NEWSLETTER_SIGNUP_LIMITS = {"ip": (2, 600), "email": (100, 3600)}
    reader = Client(enforce_csrf_checks=True)

    with django_capture_on_commit_callbacks(execute=True):
        bot = reader.post(
            SIGNUP_URL,
            {"email": "bot@example.com", "website": "http://spam.example"},
            **SAME_ORIGIN,
        )
        answers = [
            reader.post(SIGNUP_URL, {"email": f"reader{number}@example.com"}, **SAME_ORIGIN)
            for number in range(2)
        ]

    assert bot.status_code == 303
    assert [answer.status_code for answer in answers] == [303, 429]
    assert list(Subscriber.objects.values_list("email", flat=True)) == ["reader0@example.com"]
    assert [message.to for message in mailoutbox] == [["reader0@example.com"]]


def test_a_same_origin_signup_answers_the_same_whatever_the_address_is(
    newsletters, django_capture_on_commit_callbacks
):
    """Guards against account enumeration through the boxes on cached pages."""
    answers = {}
    for state in ["new", "pending", "confirmed", "unsubscribed"]:
        email = f"{state}@example.com"
        make_subscriber_in_state(state, email, newsletters["daily"])
        with django_capture_on_commit_callbacks(execute=True):
            response = Client(enforce_csrf_checks=True).post(
                SIGNUP_URL, {"email": email}, **SAME_ORIGIN
            )
        answers[state] = (response.status_code, response["Location"], response.content)

    assert answers["new"] == answers["pending"] == answers["confirmed"] == answers["unsubscribed"]


def test_the_signup_partial_posts_to_the_signup_page(rf, newsletters):
    from django.template.loader import render_to_string

    html = render_to_string(
        "includes/newsletter_signup.html", {"cta_id": "-footer"}, request=rf.get("/x/")
    )

    assert 'action="/newsletter/"' in html
    assert '<label for="newsletter-email-footer">Email address</label>' in html
    assert 'name="page" value="/x/"' in html
    assert "csrfmiddlewaretoken" not in html


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_flood_of_concurrent_signups_for_one_address_stores_one_row(newsletters, settings):
    """Guards the get-or-create race: simultaneous requests must not make two rows or a 500."""
    if connection.vendor != "postgresql":
        pytest.skip("REQUIRE_POSTGRES: needs PostgreSQL's concurrent transactions")
    settings.NEWSLETTER_SIGNUP_LIMITS = {"ip": (1000, 600), "email": (1000, 3600)}
    start = threading.Barrier(8)
    statuses = []

    def sign_up_at_once(number):
        try:
            start.wait()
            response = Client().post(SIGNUP_URL, {"email": f"Flood@Example.com{' ' * number}"})
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=sign_up_at_once, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [303] * 8
    assert Subscriber.objects.count() == 1
    assert Subscription.objects.count() == 1
    assert ConsentRecord.objects.count() == 8


def test_signup_done_page_says_to_check_the_inbox(client):
    response = client.get("/newsletter/thanks/")

    assert response.status_code == 200
    assert "Check your inbox" in response.content.decode()
    assert urlsplit(SIGNUP_URL).path in response.content.decode()


def test_a_signup_answers_without_waiting_for_the_mail_server_in_a_few_queries(
    client, newsletters, settings, django_assert_max_num_queries,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    """The confirmation email is queued for the worker; the request never speaks SMTP."""
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.dummy.DummyBackend",
            "QUEUES": ["default", "photos", "newsletter"],
        }
    }
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    client.get("/newsletter/")

    # Newsletters, the locking read, the inserts of the subscriber, its subscriptions
    # and its consent record, the transaction and its savepoint.
    with (
        django_assert_max_num_queries(9),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = sign_up(client, "new.reader@example.org", newsletters=[newsletters["daily"]])

    assert response.status_code == 303
    assert Subscriber.objects.get(email="new.reader@example.org").status == "pending"
    from django_tasks import task_backends

    [queued] = task_backends["default"].results
    assert queued.task.name == "subscriber_send_signup_email"
