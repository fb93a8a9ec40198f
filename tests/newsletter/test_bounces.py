"""Bounce messages and complaint reports read by ``manage.py process_bounces``.

The messages under bounces/ are in the formats the mail servers write them: Postfix's
and Microsoft's RFC 3464 reports, Gmail's, Exim's plain-text failure notice, a Postfix
"delayed" warning, and complaint reports in the Abuse Reporting Format.
"""

import io
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from newsletter.models import Delivery, SuppressionReason
from tests.factories import IssueFactory, SubscriberFactory

BOUNCES = Path(__file__).parent / "bounces"


def process_stdin(monkeypatch, data: bytes) -> str:
    """Run the command with ``data`` on standard input, as a pipe alias does; return its output."""
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    out = io.StringIO()
    call_command("process_bounces", stdout=out)
    return out.getvalue()


def process_file(monkeypatch, name: str) -> str:
    return process_stdin(monkeypatch, (BOUNCES / name).read_bytes())


def make_maildir(root: Path, names: list[str]) -> Path:
    """Deliver the named bounce files into a new maildir, as a mail server would; return it."""
    for folder in ("cur", "new", "tmp"):
        (root / folder).mkdir(parents=True)
    for number, name in enumerate(names):
        (root / "new" / f"1481631604.M{number}P42.mail.news.example.org").write_bytes(
            (BOUNCES / name).read_bytes()
        )
    return root


def process_maildir(root: Path) -> str:
    out = io.StringIO()
    call_command("process_bounces", maildir=str(root), stdout=out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "address", "said"),
    [
        ("postfix_user_unknown.eml", "gone.reader@example.net", "User unknown"),
        ("gmail_account_does_not_exist.eml", "no.such.reader@gmail.com", "does not exist"),
        ("microsoft_recipient_not_found.eml", "left.company@contoso.example", "RecipientNotFound"),
        ("exim_mailbox_unavailable.eml", "moved.away@example.org", "Mail delivery failed"),
    ],
)
@pytest.mark.django_db
def test_a_permanent_failure_suppresses_the_address(monkeypatch, name, address, said):
    subscriber = SubscriberFactory(email=address)

    output = process_file(monkeypatch, name)

    subscriber.refresh_from_db()
    assert subscriber.is_suppressed
    assert subscriber.suppression_reason == SuppressionReason.HARD_BOUNCE
    assert subscriber.suppression_detail.startswith("bounce message: ")
    assert said in subscriber.suppression_detail
    assert f"{address}: suppressed (hard bounce)" in output
    assert "1 message read: 1 address suppressed" in output


@pytest.mark.django_db
def test_the_server_reply_of_a_delivery_report_is_kept(monkeypatch):
    subscriber = SubscriberFactory(email="gone.reader@example.net")

    process_file(monkeypatch, "postfix_user_unknown.eml")

    subscriber.refresh_from_db()
    assert subscriber.suppression_detail == (
        "bounce message: 5.1.1 smtp; 550 5.1.1 <gone.reader@example.net>: Recipient address "
        "rejected: User unknown in virtual mailbox table"
    )


@pytest.mark.django_db
def test_an_address_is_found_whatever_its_case(monkeypatch):
    subscriber = SubscriberFactory(email="Gone.Reader@Example.NET")

    process_file(monkeypatch, "postfix_user_unknown.eml")

    subscriber.refresh_from_db()
    assert subscriber.is_suppressed


@pytest.mark.django_db
def test_a_suppressed_address_gets_none_of_the_deliveries_waiting_for_it(monkeypatch):
    subscriber = SubscriberFactory(email="gone.reader@example.net")
    delivery = Delivery.objects.create(issue=IssueFactory(), subscriber=subscriber)

    process_file(monkeypatch, "postfix_user_unknown.eml")

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUPPRESSED


@pytest.mark.parametrize(
    ("name", "address"),
    [
        ("arf_complaint.eml", "annoyed.reader@yahoo.com"),
        ("arf_complaint_original_headers_only.eml", "marked.spam@hotmail.example"),
    ],
)
@pytest.mark.django_db
def test_a_complaint_report_suppresses_the_complaining_address(monkeypatch, name, address):
    subscriber = SubscriberFactory(email=address)
    bystander = SubscriberFactory(email="newsletter@news.example.org")

    output = process_file(monkeypatch, name)

    subscriber.refresh_from_db()
    bystander.refresh_from_db()
    assert subscriber.suppression_reason == SuppressionReason.COMPLAINT
    assert subscriber.suppression_detail == "bounce message: spam complaint (abuse)"
    assert f"{address}: suppressed (spam complaint)" in output
    assert not bystander.is_suppressed, "the sender named in the report is not the complainer"


@pytest.mark.django_db
def test_a_delayed_delivery_counts_a_soft_bounce(monkeypatch):
    subscriber = SubscriberFactory(email="full.mailbox@example.com")

    output = process_file(monkeypatch, "postfix_delayed.eml")

    subscriber.refresh_from_db()
    assert subscriber.soft_bounces == 1
    assert not subscriber.is_suppressed
    assert "full.mailbox@example.com: soft bounce 1 of 3" in output
    assert "0 addresses suppressed, 1 soft bounce counted" in output


@pytest.mark.django_db
def test_soft_bounces_suppress_at_the_limit(monkeypatch, settings):
    settings.NEWSLETTER_SOFT_BOUNCE_LIMIT = 2
    subscriber = SubscriberFactory(email="full.mailbox@example.com")

    process_file(monkeypatch, "postfix_delayed.eml")
    output = process_file(monkeypatch, "postfix_delayed.eml")

    subscriber.refresh_from_db()
    assert subscriber.soft_bounces == 2
    assert subscriber.suppression_reason == SuppressionReason.SOFT_BOUNCES
    assert "4.2.2" in subscriber.suppression_detail
    assert "full.mailbox@example.com: soft bounce 2 of 2, suppressed" in output


@pytest.mark.django_db
def test_a_bounce_for_an_unknown_address_is_reported_and_changes_nothing(monkeypatch):
    reader = SubscriberFactory(email="still.here@example.net")

    output = process_file(monkeypatch, "postfix_user_unknown.eml")

    reader.refresh_from_db()
    assert not reader.is_suppressed
    assert "gone.reader@example.net: not a subscriber, ignored" in output
    assert "1 unknown address ignored" in output


@pytest.mark.django_db
def test_a_message_that_is_not_a_bounce_is_reported_not_an_error(monkeypatch):
    reader = SubscriberFactory(email="holiday.reader@example.com")

    output = process_file(monkeypatch, "out_of_office.eml")

    reader.refresh_from_db()
    assert not reader.is_suppressed
    assert "not understood, not a bounce or complaint (Automatic reply:" in output
    assert "1 message not understood" in output


@pytest.mark.django_db
def test_an_address_already_suppressed_keeps_its_first_reason(monkeypatch):
    subscriber = SubscriberFactory(email="annoyed.reader@yahoo.com")
    process_file(monkeypatch, "arf_complaint.eml")

    output = process_file(monkeypatch, "arf_complaint.eml")

    subscriber.refresh_from_db()
    assert subscriber.suppression_reason == SuppressionReason.COMPLAINT
    assert "annoyed.reader@yahoo.com: already suppressed" in output


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "Standard input is empty"),
        (b"   \n\n", "Standard input is empty"),
        (b"this is not an email\nat all\n", "Standard input is not an email message"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "Standard input is not an email message"),
    ],
)
@pytest.mark.django_db
def test_unreadable_input_stops_with_a_clear_message(monkeypatch, data, message):
    with pytest.raises(CommandError, match=message):
        process_stdin(monkeypatch, data)


@pytest.mark.django_db
def test_a_maildir_is_read_and_each_message_marked_seen(tmp_path):
    gone = SubscriberFactory(email="gone.reader@example.net")
    annoyed = SubscriberFactory(email="annoyed.reader@yahoo.com")
    full = SubscriberFactory(email="full.mailbox@example.com")
    maildir = make_maildir(
        tmp_path / "bounces",
        [
            "postfix_user_unknown.eml",
            "arf_complaint.eml",
            "postfix_delayed.eml",
            "out_of_office.eml",
            "gmail_account_does_not_exist.eml",
        ],
    )

    output = process_maildir(maildir)

    for subscriber in (gone, annoyed, full):
        subscriber.refresh_from_db()
    assert gone.suppression_reason == SuppressionReason.HARD_BOUNCE
    assert annoyed.suppression_reason == SuppressionReason.COMPLAINT
    assert full.soft_bounces == 1
    assert output.splitlines()[-1] == (
        "5 messages read: 2 addresses suppressed, 1 soft bounce counted, "
        "1 unknown address ignored, 1 message not understood."
    )
    assert list((maildir / "new").iterdir()) == []
    assert (
        sorted(path.name.rpartition(":2,")[2] for path in (maildir / "cur").iterdir()) == ["S"] * 5
    )


@pytest.mark.django_db
def test_a_second_run_over_the_same_maildir_counts_nothing_twice(tmp_path, settings):
    settings.NEWSLETTER_SOFT_BOUNCE_LIMIT = 2
    full = SubscriberFactory(email="full.mailbox@example.com")
    maildir = make_maildir(tmp_path / "bounces", ["postfix_delayed.eml"])
    process_maildir(maildir)

    output = process_maildir(maildir)

    full.refresh_from_db()
    assert full.soft_bounces == 1
    assert not full.is_suppressed
    assert output.splitlines()[-1].startswith("0 messages read")


@pytest.mark.django_db
def test_messages_a_mail_client_already_read_are_skipped_but_unread_ones_in_cur_are_not(tmp_path):
    gone = SubscriberFactory(email="gone.reader@example.net")
    annoyed = SubscriberFactory(email="annoyed.reader@yahoo.com")
    maildir = make_maildir(tmp_path / "bounces", [])
    (maildir / "cur" / "1481631604.M1P42.host:2,S").write_bytes(
        (BOUNCES / "postfix_user_unknown.eml").read_bytes()
    )
    (maildir / "cur" / "1481631604.M2P42.host:2,F").write_bytes(
        (BOUNCES / "arf_complaint.eml").read_bytes()
    )

    process_maildir(maildir)

    gone.refresh_from_db()
    annoyed.refresh_from_db()
    assert not gone.is_suppressed
    assert annoyed.is_suppressed
    assert (maildir / "cur" / "1481631604.M2P42.host:2,FS").exists()


@pytest.mark.django_db
def test_a_folder_that_is_not_a_maildir_stops_with_a_clear_message(tmp_path):
    with pytest.raises(CommandError, match="is not a maildir: it needs cur/, new/ and tmp/"):
        process_maildir(tmp_path)
