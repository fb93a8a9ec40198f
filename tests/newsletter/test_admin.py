"""Audience staff in the admin: subscribers, erasure, issues, dashboard."""

import pytest
from django.contrib.admin.models import LogEntry

from newsletter.models import ConsentRecord, Delivery, Issue, Subscriber, Subscription
from tests.factories import ArticleFactory, IssueFactory, UserFactory

pytestmark = pytest.mark.django_db

SUBSCRIBERS = "/admin/newsletter/subscriber/"


def listed_emails(response):
    return sorted(str(subscriber) for subscriber in response.context["cl"].result_list)


@pytest.mark.parametrize("role", ["Reporter", "Editor"])
def test_reporters_and_editors_cannot_reach_subscribers(client, role, readers):
    client.force_login(UserFactory(username=f"{role.lower()}-x", role=role))

    for url in [SUBSCRIBERS, f"{SUBSCRIBERS}export/", f"{SUBSCRIBERS}import/",
                "/admin/newsletter/issue/", "/admin/newsletter/delivery/"]:  # fmt: skip
        assert client.get(url).status_code == 403, url


def test_audience_staff_cannot_reach_stories(client, audience):
    story = ArticleFactory()

    assert client.get("/admin/articles/article/").status_code == 403
    assert client.get(f"/admin/articles/article/{story.pk}/change/").status_code == 403


def test_audience_staff_see_subscribers_with_totals(client, audience, readers):
    response = client.get(SUBSCRIBERS)

    assert response.status_code == 200
    assert listed_emails(response) == [
        "confirmed@example.com", "left@example.com", "pending@example.com",
    ]  # fmt: skip
    page = response.content.decode()
    assert "<strong>1</strong> confirmed" in page
    assert "<strong>1</strong> pending confirmation" in page
    assert "<strong>1</strong> unsubscribed" in page


def test_subscribers_can_be_filtered_and_searched(client, audience, readers, newsletters):
    by_status = client.get(SUBSCRIBERS, {"status__exact": "pending"})
    by_newsletter = client.get(SUBSCRIBERS, {"newsletter": newsletters["daily"].pk})
    by_search = client.get(SUBSCRIBERS, {"q": "CONFIRMED@"})
    by_date = client.get(SUBSCRIBERS, {"created_at__gte": "2000-01-01 00:00:00+00:00"})

    assert listed_emails(by_status) == ["pending@example.com"]
    assert listed_emails(by_newsletter) == ["confirmed@example.com"]
    assert listed_emails(by_search) == ["confirmed@example.com"]
    assert len(listed_emails(by_date)) == 3


def test_adding_an_address_that_exists_in_another_case_is_a_form_error(client, audience, readers):
    response = client.post(
        f"{SUBSCRIBERS}add/",
        {
            "email": "CONFIRMED@Example.com",
            "subscriptions-TOTAL_FORMS": "0",
            "subscriptions-INITIAL_FORMS": "0",
            "consent_records-TOTAL_FORMS": "0",
            "consent_records-INITIAL_FORMS": "0",
        },  # fmt: skip
    )

    assert response.status_code == 200
    assert "A subscriber with this email address already exists." in response.content.decode()
    assert Subscriber.objects.count() == 3


def test_erasing_asks_first_then_removes_personal_data_but_keeps_counts(
    client, audience, readers, newsletters
):
    from django.contrib.contenttypes.models import ContentType

    subscriber = readers["confirmed"]
    LogEntry.objects.create(
        user=audience,
        content_type=ContentType.objects.get_for_model(Subscriber),
        object_id=str(subscriber.pk),
        object_repr=subscriber.email,
        action_flag=2,
        change_message="Changed email from confirmed@example.com",
    )
    issue = IssueFactory(newsletter=newsletters["daily"], status=Issue.Status.SENT)
    Delivery.objects.create(issue=issue, subscriber=subscriber, status="failed",
                            error="550 confirmed@example.com unknown")  # fmt: skip
    action = {"action": "erase_selected", "_selected_action": [subscriber.pk]}

    asked = client.post(SUBSCRIBERS, action)

    assert asked.status_code == 200
    assert "Erase personal data?" in asked.content.decode()
    assert Subscriber.objects.filter(pk=subscriber.pk).exists()

    done = client.post(SUBSCRIBERS, {**action, "confirm": "yes"}, follow=True)

    assert done.status_code == 200
    assert not Subscriber.objects.filter(pk=subscriber.pk).exists()
    assert not Subscription.objects.filter(subscriber_id=subscriber.pk).exists()
    assert not ConsentRecord.objects.filter(subscriber_id=subscriber.pk).exists()
    delivery = Delivery.objects.get()
    assert (delivery.subscriber, delivery.error, delivery.status) == (None, "", "failed")
    assert not LogEntry.objects.filter(object_repr__contains="confirmed@example.com").exists()
    assert not LogEntry.objects.filter(change_message__contains="confirmed@example.com").exists()


def test_subscribers_cannot_be_deleted_without_erasing(client, audience, readers):
    response = client.get(f"{SUBSCRIBERS}{readers['confirmed'].pk}/delete/")

    assert response.status_code == 403


def test_the_dashboard_panel_shows_totals_and_a_chart_to_audience_staff(rf, audience, readers):
    from django.template.loader import render_to_string

    request = rf.get("/admin/")
    request.user = audience
    html = render_to_string("admin/newsletter/dashboard.html", {"request": request})

    assert "Newsletter subscribers" in html
    assert "<strong>1</strong> confirmed" in html
    assert html.count("<rect ") == 30
    assert '<svg role="img"' in html
    assert "3 new subscribers in 30 days" in html


def test_the_dashboard_panel_is_hidden_from_reporters(rf, readers):
    from django.template.loader import render_to_string

    request = rf.get("/admin/")
    request.user = UserFactory(username="rep", role="Reporter")

    assert render_to_string("admin/newsletter/dashboard.html", {"request": request}).strip() == ""


def test_audience_staff_preview_an_issue(client, audience, newsletters):
    issue = IssueFactory(newsletter=newsletters["daily"], subject="Morning edition")

    response = client.get(f"/admin/newsletter/issue/{issue.pk}/preview/")

    assert response.status_code == 200
    assert "Morning edition" in response.content.decode()
    assert "no-store" in response["Cache-Control"]


def test_send_a_test_to_me_reaches_my_inbox(client, audience, newsletters, smtp_server):
    issue = IssueFactory(newsletter=newsletters["daily"], subject="Morning edition")

    response = client.post(f"/admin/newsletter/issue/{issue.pk}/send-test/", follow=True)

    assert "Test sent to desk@example.org" in response.content.decode()
    [message] = smtp_server.messages
    assert message["Subject"] == "[Test] Morning edition"
    assert message["To"] == "desk@example.org"
    assert Issue.objects.get().status == Issue.Status.DRAFT
    assert not Delivery.objects.exists()


def test_send_to_all_asks_then_sends_and_shows_progress(
    client, audience, readers, newsletters, smtp_server, django_capture_on_commit_callbacks
):
    issue = IssueFactory(newsletter=newsletters["daily"])
    send_url = f"/admin/newsletter/issue/{issue.pk}/send/"

    asked = client.get(send_url)
    assert asked.status_code == 200
    assert "goes to <strong>1</strong> confirmed subscriber" in asked.content.decode()
    assert not Delivery.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(send_url, follow=True)

    assert sent.status_code == 200
    assert smtp_server.recipients() == ["confirmed@example.com"]
    change = client.get(f"/admin/newsletter/issue/{issue.pk}/change/").content.decode()
    assert ">Sent</a></th><td>1</td>" in change
    deliveries = client.get("/admin/newsletter/delivery/", {"status__exact": "sent"})
    assert deliveries.status_code == 200
    assert [str(delivery.subscriber) for delivery in deliveries.context["cl"].result_list] == [
        "confirmed@example.com"
    ]
    again = client.post(send_url, follow=True)
    assert "already been sent" in again.content.decode()
    assert len(smtp_server.messages) == 1


def test_audience_staff_write_an_issue_with_stories(client, audience, newsletters):
    story = ArticleFactory(headline="A story for the newsletter")

    response = client.post(
        "/admin/newsletter/issue/add/",
        {
            "newsletter": newsletters["daily"].pk,
            "subject": "Monday",
            "preheader": "The week ahead",
            "intro": "<p>Hello</p>",
            "placements-TOTAL_FORMS": "1",
            "placements-INITIAL_FORMS": "0",
            "placements-0-article": story.pk,
            "placements-0-position": "1",
        },  # fmt: skip
    )

    assert response.status_code == 302
    issue = Issue.objects.get()
    assert issue.created_by == audience
    assert issue.ordered_stories() == [story]


def test_a_subject_with_a_line_break_is_a_form_error(client, audience, newsletters):
    response = client.post(
        "/admin/newsletter/issue/add/",
        {
            "newsletter": newsletters["daily"].pk,
            "subject": "Monday\r\nBcc: everyone@example.com",
            "placements-TOTAL_FORMS": "0",
            "placements-INITIAL_FORMS": "0",
        },  # fmt: skip
    )

    assert response.status_code == 200
    assert "without line breaks" in response.content.decode()
    assert not Issue.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/newsletter/",
        "/admin/newsletter/newsletter/",
        "/admin/newsletter/issue/",
        "/admin/newsletter/issue/add/",
        "/admin/newsletter/delivery/",
        f"{SUBSCRIBERS}import/",
        "draft issue",
        "subscriber",
    ],
)
def test_audience_admin_pages_open(client, audience, readers, newsletters, url):
    if url == "draft issue":
        url = f"/admin/newsletter/issue/{IssueFactory(newsletter=newsletters['daily']).pk}/change/"
    elif url == "subscriber":
        url = f"{SUBSCRIBERS}{readers['confirmed'].pk}/change/"

    response = client.get(url)

    assert response.status_code == 200
