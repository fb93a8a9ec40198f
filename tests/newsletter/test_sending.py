"""Sending an issue: one delivery per subscriber, never twice, resumable after failures."""

import threading
from collections import Counter

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from newsletter import services
from newsletter.models import Delivery, Issue, IssueStory, Subscription
from newsletter.sending import UNKNOWN_OUTCOME
from newsletter.tasks import issue_send_deliveries
from tests.factories import (
    ArticleFactory,
    IssueFactory,
    PhotoFactory,
    SubscriberFactory,
    UserFactory,
    confirmed_readers,
    subscribe,
)
from tests.newsletter.test_signup import link_in, parts

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return UserFactory(username="audience-desk", is_superuser=True, email="desk@example.org")


@pytest.fixture
def issue(newsletters):
    issue = IssueFactory(
        newsletter=newsletters["daily"],
        subject="Aleppo: the last goodbyes",
        preheader="Residents tweet as the city falls",
        intro='<p>Good morning. <a href="/corrections/">Our corrections</a>.</p>'
        '<script>alert("x")</script>',
    )
    lead = ArticleFactory(
        headline="Aleppo residents tweet harrowing goodbyes",
        dek="As government forces advance, civilians post final messages.",
        lead_photo=PhotoFactory(alt_text="A ruined street in Aleppo"),
    )
    second = ArticleFactory(headline="Second story of the day", dek="")
    draft = ArticleFactory(headline="A draft nobody may see", status="draft", published_at=None)
    IssueStory.objects.create(issue=issue, article=second, position=2)
    IssueStory.objects.create(issue=issue, article=lead, position=1)
    IssueStory.objects.create(issue=issue, article=draft, position=3)
    return issue


def numbered_readers(newsletter, count):
    return confirmed_readers(newsletter, *[f"reader{number}" for number in range(count)])


def send(issue, staff, capture):
    with capture(execute=True):
        return services.issue_send(issue=issue, user=staff)


def received_per_address(smtp_server):
    return Counter(smtp_server.recipients())


def test_the_issue_email_has_both_parts_absolute_links_and_rfc_8058_headers(
    issue, newsletters, staff, smtp_server, django_capture_on_commit_callbacks
):
    numbered_readers(newsletters["daily"], 1)

    send(issue, staff, django_capture_on_commit_callbacks)

    [message] = smtp_server.messages
    assert message["Subject"] == "Aleppo: the last goodbyes"
    assert message["From"] == "Newsroom <newsroom@localhost>"
    assert message["To"] == "reader0@example.com"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Unsubscribe"].strip().startswith("<https://news.example.org/newsletter/")
    assert message["List-Id"].strip() == "Daily Briefing <daily-briefing.news.example.org>"
    text, html = parts(message)
    # Stories in the chosen order, public ones only, each with an absolute link.
    assert html.index("Aleppo residents tweet") < html.index("Second story of the day")
    assert "A draft nobody may see" not in html + text
    assert "As government forces advance" in html and "As government forces advance" in text
    assert 'href="https://news.example.org/20' in html
    assert "https://news.example.org/20" in text
    assert 'src="https://news.example.org/media/photos/' in html
    assert 'alt="A ruined street in Aleppo"' in html
    # The preheader is hidden text at the top; styles are inline, never linked.
    assert "display:none" in html and "Residents tweet as the city falls" in html
    assert "<link" not in html and "<style" not in html
    assert 'href="https://news.example.org/corrections/"' in html
    assert "<script" not in html and "alert" not in html
    assert link_in(text, "unsubscribe") == link_in(html, "unsubscribe")


def test_the_unsubscribe_link_of_an_issue_leaves_only_that_newsletter(
    client, issue, newsletters, staff, smtp_server, django_capture_on_commit_callbacks
):
    [reader] = numbered_readers(newsletters["daily"], 1)
    subscribe(reader, newsletters["breaking"])
    send(issue, staff, django_capture_on_commit_callbacks)
    unsubscribe = link_in(parts(smtp_server.messages[0])[0], "unsubscribe")

    client.post(unsubscribe)

    assert dict(reader.subscriptions.values_list("newsletter__slug", "status")) == {
        "daily-briefing": "unsubscribed",
        "breaking-news": "confirmed",
    }


def test_sending_reaches_each_confirmed_subscriber_once_and_nobody_else(
    issue, newsletters, staff, smtp_server, django_capture_on_commit_callbacks
):
    readers = numbered_readers(newsletters["daily"], 5)
    pending = SubscriberFactory(email="pending@example.com")
    subscribe(pending, newsletters["daily"], status=Subscription.Status.PENDING)
    gone = SubscriberFactory(email="gone@example.com")
    subscribe(gone, newsletters["daily"], status=Subscription.Status.UNSUBSCRIBED)
    other_list = SubscriberFactory(email="breaking-only@example.com")
    subscribe(other_list, newsletters["breaking"])

    added = send(issue, staff, django_capture_on_commit_callbacks)

    assert added == 5
    assert received_per_address(smtp_server) == Counter(reader.email for reader in readers)
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENT
    assert (issue.recipient_count, issue.sent_count, issue.failed_count) == (5, 5, 0)
    assert issue.sent_at is not None
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
    assert Delivery.objects.filter(sent_at=None).count() == 0


def test_a_second_click_never_sends_twice(
    issue, newsletters, staff, smtp_server, django_capture_on_commit_callbacks
):
    numbered_readers(newsletters["daily"], 3)
    send(issue, staff, django_capture_on_commit_callbacks)
    Issue.objects.filter(pk=issue.pk).update(status=Issue.Status.SENDING)

    added_again = send(issue, staff, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        issue_send_deliveries.enqueue(issue.pk)

    assert added_again == 0
    assert Delivery.objects.count() == 3
    assert set(received_per_address(smtp_server).values()) == {1}
    assert len(smtp_server.messages) == 3


def test_one_smtp_connection_carries_a_whole_batch(
    issue, newsletters, staff, smtp_server, settings, django_capture_on_commit_callbacks
):
    numbered_readers(newsletters["daily"], 5)
    settings.NEWSLETTER_BATCH_SIZE = 2

    send(issue, staff, django_capture_on_commit_callbacks)

    assert len(smtp_server.messages) == 5
    assert smtp_server.connections == 3  # batches of 2, 2 and 1


def test_a_server_that_starts_refusing_mid_batch_is_resumed_without_duplicates(
    issue, newsletters, staff, smtp_server, django_capture_on_commit_callbacks
):
    """Simulates a mail server going away after 3 messages, then a rerun of the task."""
    readers = numbered_readers(newsletters["daily"], 7)
    smtp_server.refuse_after = 3

    send(issue, staff, django_capture_on_commit_callbacks)

    assert len(smtp_server.messages) == 3
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENDING
    assert (issue.recipient_count, issue.sent_count, issue.failed_count) == (7, 3, 0)
    [waiting] = Delivery.objects.filter(status=Delivery.Status.PENDING).exclude(error="")
    assert "421 4.3.2 Service shutting down" in waiting.error

    smtp_server.accept_everything()
    with django_capture_on_commit_callbacks(execute=True):
        issue_send_deliveries.enqueue(issue.pk)

    assert received_per_address(smtp_server) == Counter(reader.email for reader in readers)
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENT
    assert issue.sent_count == 7


def test_a_server_hanging_up_between_messages_costs_a_reconnect_not_a_message(
    issue, newsletters, staff, smtp_server, django_capture_on_commit_callbacks
):
    readers = numbered_readers(newsletters["daily"], 5)
    smtp_server.hang_up_after = 2

    send(issue, staff, django_capture_on_commit_callbacks)

    assert received_per_address(smtp_server) == Counter(reader.email for reader in readers)
    assert smtp_server.connections == 2
    assert Issue.objects.get(pk=issue.pk).status == Issue.Status.SENT


def test_a_message_lost_mid_handover_is_never_resent_automatically(
    client, issue, newsletters, staff, smtp_server, django_capture_on_commit_callbacks
):
    """At most once: a delivery whose fate is unknown waits for a person, not a retry."""
    numbered_readers(newsletters["daily"], 5)
    smtp_server.drop_during_data_after = 2

    send(issue, staff, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        issue_send_deliveries.enqueue(issue.pk)

    unknown = Delivery.objects.get(status=Delivery.Status.UNKNOWN)
    assert unknown.error == UNKNOWN_OUTCOME
    assert unknown.subscriber.email not in smtp_server.recipients()
    assert len(smtp_server.messages) == 4
    assert set(received_per_address(smtp_server).values()) == {1}
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENT  # nothing left to send automatically

    with django_capture_on_commit_callbacks(execute=True):
        services.delivery_resend_unknown(
            deliveries=Delivery.objects.filter(pk=unknown.pk), user=staff
        )

    assert received_per_address(smtp_server)[unknown.subscriber.email] == 1
    assert set(received_per_address(smtp_server).values()) == {1}


def test_a_refused_address_fails_with_the_servers_reason_and_the_rest_are_sent(
    issue, newsletters, staff, smtp_server, django_capture_on_commit_callbacks
):
    readers = numbered_readers(newsletters["daily"], 3)
    smtp_server.unknown_recipients = {readers[1].email}

    send(issue, staff, django_capture_on_commit_callbacks)

    failed = Delivery.objects.get(status=Delivery.Status.FAILED)
    assert failed.subscriber == readers[1]
    assert "550 5.1.1 No such user here" in failed.error
    assert len(smtp_server.messages) == 2
    issue.refresh_from_db()
    assert (issue.status, issue.sent_count, issue.failed_count) == ("sent", 2, 1)


def test_a_subscriber_who_leaves_before_their_turn_is_skipped(
    issue, newsletters, staff, smtp_server, django_capture_on_commit_callbacks
):
    readers = numbered_readers(newsletters["daily"], 3)
    with django_capture_on_commit_callbacks(execute=False):
        services.issue_send(issue=issue, user=staff)
    services.subscriber_unsubscribe(subscriber=readers[0])

    issue_send_deliveries.call(issue.pk)

    assert readers[0].email not in smtp_server.recipients()
    assert Delivery.objects.get(subscriber=readers[0]).status == Delivery.Status.SKIPPED
    assert len(smtp_server.messages) == 2


def test_an_unreachable_mail_server_leaves_everything_pending(
    issue, newsletters, staff, settings, django_capture_on_commit_callbacks
):
    from tests.newsletter.smtp import free_port

    numbered_readers(newsletters["daily"], 2)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2

    send(issue, staff, django_capture_on_commit_callbacks)

    assert set(Delivery.objects.values_list("status", flat=True)) == {"pending"}
    assert Issue.objects.get(pk=issue.pk).status == Issue.Status.SENDING


def test_only_staff_allowed_to_send_can_send(issue):
    reporter = UserFactory(username="reporter-x", role="Reporter")

    with pytest.raises(PermissionDenied):
        services.issue_send(issue=issue, user=reporter)


def test_the_intro_is_sanitised_when_saved(newsletters):
    issue = IssueFactory(
        newsletter=newsletters["daily"], intro='<p onclick="x()">Hi</p><img src=x onerror=alert(1)>'
    )

    assert "onclick" not in issue.intro and "onerror" not in issue.intro


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_never_send_the_same_delivery(newsletters, smtp_server, settings):
    """Guards the claim: SKIP LOCKED plus a conditional update hand each delivery to one worker."""
    if connection.vendor != "postgresql":
        pytest.skip("REQUIRE_POSTGRES: needs PostgreSQL row locks")
    settings.NEWSLETTER_BATCH_SIZE = 5
    # Queue the task without running it, as the database backend does until a worker runs.
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks.backends.dummy.DummyBackend",
            "QUEUES": ["default", "photos", "newsletter"],
        }
    }
    staff = UserFactory(username="boss", is_superuser=True)
    readers = numbered_readers(newsletters["daily"], 30)
    issue = IssueFactory(newsletter=newsletters["daily"])
    services.issue_send(issue=issue, user=staff)
    start = threading.Barrier(3)
    results = []

    def worker():
        try:
            start.wait()
            results.append(issue_send_deliveries.call(issue.pk))
        finally:
            connection.close()

    workers = [threading.Thread(target=worker) for _ in range(3)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()

    assert received_per_address(smtp_server) == Counter(reader.email for reader in readers)
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 30


def test_each_copy_sent_is_the_email_the_preview_builds_with_non_ascii_text(
    newsletters, staff, smtp_server, django_capture_on_commit_callbacks
):
    """Copies are assembled from parts encoded once per issue; they must read the same."""
    from email import message_from_bytes, policy

    from newsletter.emails import IssueEmail

    [reader] = numbered_readers(newsletters["daily"], 1)
    issue = IssueFactory(
        newsletter=newsletters["daily"],
        subject="Ünïcode: Zürich & Köln – “quoted” " + "long subject words " * 6,
        intro="<p>" + "Ça va très bien, merci. = signs =3D and dots\n.\n " * 40 + "</p>",
    )

    send(issue, staff, django_capture_on_commit_callbacks)

    [received] = smtp_server.messages
    built = message_from_bytes(
        IssueEmail(issue).message_for(reader).message().as_bytes(), policy=policy.default
    )
    for header in ("From", "To", "Subject", "List-Id", "List-Unsubscribe",
                   "List-Unsubscribe-Post"):  # fmt: skip
        # Folding may move the whitespace at either end; the words must be the same.
        assert str(received[header]).split() == str(built[header]).split(), header
    # MIME text has CRLF line ends on the wire; mail apps read either the same.
    assert [part.replace("\r\n", "\n") for part in parts(received)] == list(parts(built))
    assert received["Message-ID"] and received["Date"]
    assert "Zürich & Köln" in received["Subject"]


@pytest.mark.parametrize("readers", [10, 40])
def test_sending_costs_one_small_query_per_message_and_a_few_per_batch(
    readers, issue, newsletters, staff, smtp_server, settings, django_assert_max_num_queries,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    """The issue is rendered once and successes are recorded together: per message only
    the in-flight marker is written, which is what makes a crashed worker recoverable."""
    numbered_readers(newsletters["daily"], readers)
    settings.NEWSLETTER_BATCH_SIZE = 20
    with django_capture_on_commit_callbacks(execute=False):
        services.issue_send(issue=issue, user=staff)
    batches = -(-readers // settings.NEWSLETTER_BATCH_SIZE)

    with django_assert_max_num_queries(readers + 16 * batches + 20):
        issue_send_deliveries.call(issue.pk)

    assert len(smtp_server.messages) == readers
    assert Issue.objects.get(pk=issue.pk).status == Issue.Status.SENT
