"""Audience staff export subscribers to CSV and import them from it, all or nothing."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from newsletter.models import ConsentRecord, Subscriber
from tests.factories import SubscriberFactory, UserFactory, subscribe

pytestmark = pytest.mark.django_db

SUBSCRIBERS = "/admin/newsletter/subscriber/"


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
