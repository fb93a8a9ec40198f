"""Audience staff in the admin: subscribers, import and export, erasure, issues, dashboard."""

import csv
import io

import pytest
from django.contrib.admin.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile

from newsletter.models import ConsentRecord, Delivery, Issue, Subscriber, Subscription
from tests.factories import ArticleFactory, UserFactory
from tests.newsletter.factories import IssueFactory, SubscriberFactory, subscribe

pytestmark = pytest.mark.django_db

SUBSCRIBERS = "/admin/newsletter/subscriber/"


@pytest.fixture
def readers(newsletters):
    confirmed = SubscriberFactory(email="confirmed@example.com")
    subscribe(confirmed, newsletters["daily"])
    pending = SubscriberFactory(email="pending@example.com")
    subscribe(pending, newsletters["breaking"], status=Subscription.Status.PENDING)
    left = SubscriberFactory(email="left@example.com")
    subscribe(left, newsletters["daily"], status=Subscription.Status.UNSUBSCRIBED)
    return {"confirmed": confirmed, "pending": pending, "left": left}


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


def export(client, **filters):
    response = client.get(f"{SUBSCRIBERS}export/", filters)
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="subscribers-')
    return b"".join(response.streaming_content).decode()


def test_export_streams_the_filtered_list_as_csv(client, audience, readers):
    rows = list(csv.DictReader(io.StringIO(export(client, status__exact="confirmed"))))

    assert [row["email"] for row in rows] == ["confirmed@example.com"]
    assert rows[0]["newsletters"] == "daily-briefing"
    assert rows[0]["status"] == "confirmed"


def test_export_reads_the_list_in_chunks(
    client, audience, newsletters, django_assert_max_num_queries
):
    """Guards constant memory: rows are fetched 2,000 at a time, never all at once."""
    for number in range(30):
        subscribe(SubscriberFactory(email=f"r{number}@example.com"), newsletters["daily"])

    with django_assert_max_num_queries(12):
        text = export(client)

    assert len(text.strip().splitlines()) == 31


def test_export_defuses_spreadsheet_formulas(client, audience, newsletters):
    subscribe(SubscriberFactory(email="=cmd|calc@example.com"), newsletters["daily"])

    text = export(client)

    assert "'=cmd|calc@example.com" in text


def test_export_needs_the_export_permission(client, readers):
    viewer = UserFactory(username="viewer")
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_subscriber"))
    client.force_login(viewer)

    assert client.get(SUBSCRIBERS).status_code == 200
    assert client.get(f"{SUBSCRIBERS}export/").status_code == 403


def import_csv(client, text, newsletters, *, attest=True, name="list.csv"):
    data = {
        "file": SimpleUploadedFile(name, text.encode(), content_type="text/csv"),
        "newsletters": [newsletter.pk for newsletter in newsletters],
        "consent_text": "Signed up on paper at the Book Fair, 3 May 2025",
    }
    if attest:
        data["attest"] = "on"
    return client.post(f"{SUBSCRIBERS}import/", data)


def test_import_subscribes_every_row_with_a_consent_record(client, audience, readers, newsletters):
    text = (
        "Email,name\nnew@example.com,New\nNEW2@Bücher.example,Second\nconfirmed@example.com,Old\n"
    )

    response = import_csv(client, text, [newsletters["daily"]])

    assert response.status_code == 200
    page = response.content.decode()
    assert "Imported 3 rows: 2 added, 1 already subscribed" in page
    new = Subscriber.objects.get(email="NEW2@xn--bcher-kva.example")
    assert new.status == Subscriber.Status.CONFIRMED
    record = new.consent_records.get()
    assert record.kind == ConsentRecord.Kind.IMPORT
    assert record.text == "Signed up on paper at the Book Fair, 3 May 2025"
    assert record.recorded_by == audience


def test_import_never_resubscribes_someone_who_left(client, audience, readers, newsletters):
    response = import_csv(client, "email\nleft@example.com\n", [newsletters["daily"]])

    assert response.status_code == 200
    assert "1 left alone because they unsubscribed before" in response.content.decode()
    readers["left"].refresh_from_db()
    assert readers["left"].status == Subscriber.Status.UNSUBSCRIBED


def test_an_import_with_one_bad_row_imports_nothing_and_reports_each_problem(
    client, audience, newsletters
):
    text = "email\ngood@example.com\nnot an address\nGood@example.com\n" + "x" * 300 + "@a.com\n"

    response = import_csv(client, text, [newsletters["daily"]])

    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was imported" in page
    assert "not a valid email address" in page
    assert "the same address as line 2" in page
    assert "longer than 254 characters" in page
    assert not Subscriber.objects.exists()


@pytest.mark.parametrize(
    "text, problem",
    [
        ("name\nAnn\n", "header with an &quot;email&quot; column"),
        ("email\n", "The file has no addresses."),
    ],
)
def test_a_file_without_addresses_is_refused(client, audience, newsletters, text, problem):
    response = import_csv(client, text, [newsletters["daily"]])

    assert response.status_code == 400
    assert problem in response.content.decode()


def test_import_needs_the_consent_attestation(client, audience, newsletters):
    response = import_csv(client, "email\na@example.com\n", [newsletters["daily"]], attest=False)

    assert response.status_code == 400
    assert "Nobody can be imported without their consent." in response.content.decode()
    assert not Subscriber.objects.exists()


def test_a_file_that_is_not_utf8_is_refused(client, audience, newsletters):
    data = {
        "file": SimpleUploadedFile("list.csv", "email\nä@example.com\n".encode("latin-1")),
        "newsletters": [newsletters["daily"].pk],
        "consent_text": "Paper form",
        "attest": "on",
    }

    response = client.post(f"{SUBSCRIBERS}import/", data)

    assert response.status_code == 400
    assert "not UTF-8" in response.content.decode()


def test_export_then_import_round_trips_the_list(client, audience, readers, newsletters):
    exported = export(client, status__exact="confirmed")
    Subscriber.objects.all().delete()

    response = import_csv(client, exported, [newsletters["daily"]])

    assert response.status_code == 200
    assert list(Subscriber.objects.values_list("email", "status")) == [
        ("confirmed@example.com", "confirmed")
    ]


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
