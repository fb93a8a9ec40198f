"""What happens after a message is handed over: failures, suppression, honest progress.

Covers "Retry failed" (temporary failures only), addresses the mail server says do not
exist, a stopped worker's batch taken over from its in-flight marker, the counts and
reasons on the issue page, Gmail's clipping size, and email-sized photos.
"""

from collections import Counter
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from newsletter import sending, services
from newsletter.emails import GMAIL_CLIP_BYTES
from newsletter.models import Delivery, Issue, IssueStory, SendBatch, Subscriber
from newsletter.tasks import issue_send_deliveries, subscriber_send_signup_email
from photos.models import Photo
from tests.factories import ArticleFactory, IssueFactory, UserFactory, confirmed_readers
from tests.photos import samples

pytestmark = pytest.mark.django_db

ISSUES = "/admin/newsletter/issue/"


@pytest.fixture
def issue(newsletters):
    return IssueFactory(newsletter=newsletters["daily"], subject="Morning briefing")


def send(issue, user, capture):
    with capture(execute=True):
        return services.issue_send(issue=issue, user=user)


def test_retry_failed_resends_only_temporary_failures(
    client, audience, issue, newsletters, smtp_server, django_capture_on_commit_callbacks
):
    ok, full, gone = confirmed_readers(newsletters["daily"], "ok", "full", "gone")
    smtp_server.busy_recipients = {full.email}
    smtp_server.unknown_recipients = {gone.email}

    send(issue, audience, django_capture_on_commit_callbacks)
    # A mailbox full thrice (the worker tries MAX_ATTEMPTS times) fails as temporary.
    for _ in range(sending.MAX_ATTEMPTS):
        with django_capture_on_commit_callbacks(execute=True):
            issue_send_deliveries.enqueue(issue.pk)

    failed = {d.subscriber.email: d for d in Delivery.objects.filter(status="failed")}
    assert set(failed) == {full.email, gone.email}
    assert failed[full.email].temporary and "452 4.2.2 Mailbox full" in failed[full.email].error
    assert not failed[gone.email].temporary and "550 5.1.1" in failed[gone.email].error
    page = client.get(f"{ISSUES}{issue.pk}/change/").content.decode()
    assert ">Sent</a></th><td>1</td>" in page and ">Failed</a></th><td>2</td>" in page
    assert "Mailbox full, try again later" in page and "(temporary:" in page
    assert "No such user here" in page and "(permanent: not retried)" in page

    smtp_server.busy_recipients = set()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{ISSUES}{issue.pk}/retry-failed/", follow=True)

    assert "Sending 1 delivery again" in response.content.decode()
    assert Counter(smtp_server.recipients()) == {ok.email: 1, full.email: 1}
    assert Delivery.objects.get(subscriber=full).status == "sent"
    assert Delivery.objects.get(subscriber=gone).status == "failed"
    assert client.get(f"{ISSUES}{issue.pk}/retry-failed/").status_code == 405


def test_an_address_the_server_says_does_not_exist_is_never_mailed_again(
    client, audience, issue, newsletters, smtp_server, django_capture_on_commit_callbacks
):
    kept, gone = confirmed_readers(newsletters["daily"], "kept", "gone")
    smtp_server.unknown_recipients = {gone.email}

    send(issue, audience, django_capture_on_commit_callbacks)

    gone.refresh_from_db()
    assert gone.is_suppressed and gone.suppression_reason == "hard_bounce"
    assert "550 5.1.1 No such user here" in gone.suppression_detail
    listing = client.get("/admin/newsletter/subscriber/?suppressed=any").content.decode()
    assert gone.email in listing and kept.email not in listing
    assert "Hard bounce" in listing

    smtp_server.unknown_recipients = set()
    next_issue = IssueFactory(newsletter=newsletters["daily"], subject="Evening briefing")
    asked = client.get(f"{ISSUES}{next_issue.pk}/send/").content.decode()
    assert "goes to <strong>1</strong> confirmed subscriber" in asked
    assert "1 more confirmed subscriber will not get it" in asked
    send(next_issue, audience, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.subscriber_sign_up(
            email=gone.email, newsletters=[newsletters["breaking"]], consent_text="Yes"
        )

    assert smtp_server.recipients().count(gone.email) == 0
    assert Delivery.objects.get(issue=next_issue, subscriber=gone).status == "suppressed"
    assert next_issue.delivery_counts()["suppressed"] == 1
    assert subscriber_send_signup_email.call(gone.pk) == "suppressed"

    client.post(
        "/admin/newsletter/subscriber/",
        {"action": "lift_suppression", "_selected_action": [gone.pk]},
    )
    assert not Subscriber.objects.get(pk=gone.pk).is_suppressed


def test_a_stopped_workers_batch_is_settled_from_its_in_flight_marker(
    issue, newsletters, smtp_server, settings, django_capture_on_commit_callbacks
):
    """Deliveries before the marker were accepted, the marked one may have been, the rest
    were never tried: they go to the next worker and nobody gets two copies."""
    subscribers = confirmed_readers(
        newsletters["daily"], *[f"reader{number}" for number in range(6)]
    )
    with django_capture_on_commit_callbacks(execute=False):
        services.issue_send(issue=issue, user=UserFactory(username="boss", is_superuser=True))
    batch = sending.batch_claim(issue, 6)
    deliveries = list(Delivery.objects.filter(batch=batch).order_by("pk"))
    # The worker handed over the first two, was handing over the third, then died.
    stale = timezone.now() - timedelta(seconds=settings.NEWSLETTER_CLAIM_TIMEOUT + 1)
    SendBatch.objects.filter(pk=batch.pk).update(in_flight=deliveries[2].pk, heartbeat_at=stale)

    issue_send_deliveries.call(issue.pk)

    statuses = [Delivery.objects.get(pk=delivery.pk).status for delivery in deliveries]
    assert statuses == ["sent", "sent", "unknown", "sent", "sent", "sent"]
    assert Counter(smtp_server.recipients()) == {s.email: 1 for s in subscribers[3:]}
    unknown = Delivery.objects.get(status="unknown")
    assert unknown.error == sending.UNKNOWN_AFTER_CRASH
    assert SendBatch.objects.get(pk=batch.pk).recovered_at is not None
    assert Issue.objects.get(pk=issue.pk).status == Issue.Status.SENT


def test_a_live_workers_batch_is_left_alone(issue, newsletters, smtp_server):
    confirmed_readers(newsletters["daily"], "a", "b")
    services.issue_send(issue=issue, user=UserFactory(username="boss", is_superuser=True))
    batch = sending.batch_claim(issue, 2)

    issue_send_deliveries.call(issue.pk)

    assert smtp_server.recipients() == []
    assert set(Delivery.objects.values_list("status", flat=True)) == {"claimed"}
    assert SendBatch.objects.get(pk=batch.pk).recovered_at is None


def test_an_issue_gmail_would_clip_is_flagged_before_sending(client, audience, newsletters):
    small = IssueFactory(newsletter=newsletters["daily"], intro="<p>Short.</p>")
    large = IssueFactory(
        newsletter=newsletters["daily"],
        intro="<p>" + "A long paragraph of the intro. " * (GMAIL_CLIP_BYTES // 30) + "</p>",
    )

    warning = "Gmail clips emails over 102 KB"
    assert warning not in client.get(f"{ISSUES}{small.pk}/change/").content.decode()
    assert warning not in client.get(f"{ISSUES}{small.pk}/send/").content.decode()
    assert warning in client.get(f"{ISSUES}{large.pk}/change/").content.decode()
    asked = client.get(f"{ISSUES}{large.pk}/send/").content.decode()
    assert warning in asked and "unsubscribe link included" in asked


def test_issue_emails_show_photos_sized_for_email_not_originals(
    issue, newsletters, smtp_server, django_capture_on_commit_callbacks
):
    confirmed_readers(newsletters["daily"], "reader")
    with django_capture_on_commit_callbacks(execute=True):  # the renditions task runs
        photo = Photo.objects.create(
            image=ContentFile(samples.jpeg(width=3000, height=2000), name="harbour.jpg"),
            alt_text="The harbour at dawn",
        )
    photo.refresh_from_db()
    assert photo.picture_renditions_ready
    IssueStory.objects.create(issue=issue, article=ArticleFactory(lead_photo=photo), position=1)

    send(issue, UserFactory(username="boss", is_superuser=True), django_capture_on_commit_callbacks)

    [message] = smtp_server.messages
    html = message.get_body(("html",)).get_content()
    assert "/w1280.jpeg" in html and 'alt="The harbour at dawn"' in html
    assert photo.image.url not in html
