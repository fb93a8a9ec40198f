"""Read bounce messages and complaint reports, and suppress the addresses they name.

For sites that send through their own SMTP server, where no provider's webhook reports
bounces: the mail server delivers the bounces that come back to the sender address,
and this command reads them.

    manage.py process_bounces < message.eml           # one message (a pipe alias)
    manage.py process_bounces --maildir /var/mail/bounces

Delivery status notifications (RFC 3464, and the many older formats) are read by
flufl.bounce: a permanent failure suppresses the address, a temporary one ("delayed",
a full mailbox) counts as a soft bounce. Spam complaints in the Abuse Reporting Format
(RFC 5965, ``multipart/report; report-type=feedback-report``) suppress the complained
address. In a maildir, each message read is marked seen (moved to ``cur/`` with the
``S`` flag), and seen messages are skipped, so a cron job never counts one twice.
"""

import email
import logging
import os
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from flufl.bounce import all_failures

from newsletter.models import Subscriber
from newsletter.suppression import (
    Bounce,
    address_bounced,
    soft_bounce_limit,
)

SOURCE = "bounce message"
COMPLAINT_FIELDS = ("Original-Rcpt-To", "Removal-Recipient")
MAILDIR_FOLDERS = ("cur", "new", "tmp")
MAILDIR_INFO = ":2,"
KIND_NAMES = {Bounce.HARD: "hard bounce", Bounce.COMPLAINT: "spam complaint"}


@dataclass
class Summary:
    messages: int = 0
    suppressed: int = 0
    soft_bounces: int = 0
    not_subscribers: int = 0
    not_understood: int = 0
    unreadable: list = field(default_factory=list)

    def __str__(self):
        return (
            f"{plural(self.messages, 'message')} read: "
            f"{plural(self.suppressed, 'address', 'addresses')} suppressed, "
            f"{plural(self.soft_bounces, 'soft bounce')} counted, "
            f"{plural(self.not_subscribers, 'unknown address', 'unknown addresses')} ignored, "
            f"{plural(self.not_understood, 'message')} not understood."
        )


def plural(number: int, singular: str, several: str = "") -> str:
    return f"{number} {singular if number == 1 else several or singular + 's'}"


def one_line(text) -> str:
    return re.sub(r"\s+", " ", str(text or "")).strip()


def is_complaint_report(message: Message) -> bool:
    return (
        message.get_content_type() == "multipart/report"
        and (message.get_param("report-type") or "").lower() == "feedback-report"
    )


def header_blocks(part: Message) -> list[Message]:
    """Return the header blocks a message/delivery-status or feedback-report part holds."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    return [HeaderParser().parsestr(payload or "")]


def complaint(message: Message) -> tuple[list[str], str]:
    """Return the addresses a complaint report is about, and what it says."""
    addresses, feedback_type = [], ""
    for part in message.walk():
        if part.get_content_type() != "message/feedback-report":
            continue
        for block in header_blocks(part):
            feedback_type = feedback_type or one_line(block.get("Feedback-Type"))
            for name in COMPLAINT_FIELDS:
                addresses += [address for _, address in getaddresses(block.get_all(name, []))]
    if not addresses:
        # Without Original-Rcpt-To, the complained message's own To: says who got it.
        for part in message.walk():
            if part.get_content_type() == "message/rfc822" and part.is_multipart():
                original = part.get_payload(0)
            elif part.get_content_type() == "text/rfc822-headers":
                headers = part.get_payload(decode=True) or b""
                charset = part.get_content_charset() or "utf-8"
                original = HeaderParser().parsestr(headers.decode(charset, errors="replace"))
            else:
                continue
            addresses += [address for _, address in getaddresses(original.get_all("To", []))]
            break
    return unique(addresses), f"spam complaint ({feedback_type or 'abuse'})"


def delivery_details(message: Message) -> dict[str, str]:
    """Return, by lower-cased address, the status and server reply a DSN gives for it."""
    details = {}
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for block in header_blocks(part):
            words = " ".join(
                one_line(block[name]) for name in ("Status", "Diagnostic-Code") if block[name]
            )
            for name in ("Original-Recipient", "Final-Recipient"):
                _, _, address = one_line(block.get(name)).partition(";")
                if address.strip() and words:
                    details.setdefault(address.strip().strip("<>").lower(), words)
    return details


def unique(addresses) -> list[str]:
    seen = {}
    for address in addresses:
        address = address.strip().strip("<>")
        if "@" in address:
            seen.setdefault(address.lower(), address)
    return list(seen.values())


@contextmanager
def quiet_detectors():
    """Keep flufl.bounce's per-detector log lines (and tracebacks) out of the output."""
    logger = logging.getLogger("flufl.bounce")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


class Command(BaseCommand):
    help = (
        "Read a bounce message or complaint report from standard input, or every unread "
        "message of a maildir, and suppress the addresses that bounced or complained."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--maildir",
            metavar="PATH",
            help="Read every message of this maildir not yet marked seen, and mark it seen.",
        )

    def handle(self, *args, maildir=None, **options):
        self.summary = Summary()
        with quiet_detectors():
            if maildir:
                self.read_maildir(Path(maildir))
            else:
                self.read_stdin()
        self.stdout.write(str(self.summary))
        if self.summary.unreadable:
            raise CommandError(
                f"{plural(len(self.summary.unreadable), 'message')} could not be read and "
                f"{'was' if len(self.summary.unreadable) == 1 else 'were'} left unread: "
                + "; ".join(self.summary.unreadable)
            )

    def read_stdin(self):
        if sys.stdin is None or sys.stdin.isatty():
            raise CommandError(
                "Give one message on standard input (manage.py process_bounces < message.eml), "
                "or a maildir with --maildir PATH."
            )
        try:
            data = sys.stdin.buffer.read()
        except OSError as error:
            raise CommandError(f"Standard input could not be read: {error}.") from None
        if not data.strip():
            raise CommandError("Standard input is empty: give one bounce message.")
        message = email.message_from_bytes(data)
        if not message.keys():
            raise CommandError(
                "Standard input is not an email message: it has no header lines "
                "(From:, Subject:…) before its body."
            )
        self.process(message, "standard input")

    def read_maildir(self, root: Path):
        if not all((root / folder).is_dir() for folder in MAILDIR_FOLDERS):
            raise CommandError(f"{root} is not a maildir: it needs cur/, new/ and tmp/ folders.")
        try:
            paths = [
                root / folder / name
                for folder in ("new", "cur")
                for name in sorted(os.listdir(root / folder))
                if not name.startswith(".") and "S" not in name.partition(MAILDIR_INFO)[2]
            ]
        except OSError as error:
            raise CommandError(f"{root} could not be read: {error.strerror}.") from None
        for path in paths:
            try:
                data = path.read_bytes()
            except OSError as error:
                self.summary.unreadable.append(f"{path.name} ({error.strerror})")
                continue
            self.process(email.message_from_bytes(data), path.name)
            self.mark_seen(root, path)

    @staticmethod
    def mark_seen(root: Path, path: Path):
        unique_name, _, flags = path.name.partition(MAILDIR_INFO)
        flags = "".join(sorted(set(flags) | {"S"}))
        path.rename(root / "cur" / f"{unique_name}{MAILDIR_INFO}{flags}")

    def process(self, message: Message, where: str):
        self.summary.messages += 1
        if is_complaint_report(message):
            addresses, detail = complaint(message)
            found = [(address, Bounce.COMPLAINT, detail) for address in addresses]
        else:
            found = self.bounces(message)
        if not found:
            self.summary.not_understood += 1
            subject = one_line(message.get("Subject")) or "no subject"
            self.stdout.write(f"{where}: not understood, not a bounce or complaint ({subject})")
            return
        for address, kind, detail in found:
            self.record(address, kind, detail)

    def bounces(self, message: Message) -> list[tuple[str, Bounce, str]]:
        try:
            temporary, permanent = all_failures(message)
        except Exception:  # a detector that trips over an odd message has not understood it
            return []
        details = delivery_details(message)
        subject = one_line(message.get("Subject"))
        found = []
        for addresses, kind in ((permanent, Bounce.HARD), (temporary - permanent, Bounce.SOFT)):
            for address in unique(a.decode("ascii", errors="replace") for a in addresses):
                found.append((address, kind, details.get(address.lower(), subject)))
        return found

    def record(self, address: str, kind: Bounce, detail: str):
        subscriber = Subscriber.objects.for_email(address).first()
        if subscriber is None:
            self.summary.not_subscribers += 1
            self.stdout.write(f"{address}: not a subscriber, ignored")
            return
        if subscriber.is_suppressed:
            self.stdout.write(f"{address}: already suppressed")
            return
        suppressed = address_bounced(address, kind, detail=detail, source=SOURCE)
        if kind is Bounce.SOFT:
            self.summary.soft_bounces += 1
            subscriber.refresh_from_db(fields=["soft_bounces"])
            self.stdout.write(
                f"{address}: soft bounce {subscriber.soft_bounces} of {soft_bounce_limit()}"
                + (", suppressed" if suppressed else "")
            )
        else:
            self.stdout.write(f"{address}: suppressed ({KIND_NAMES[kind]})")
        if suppressed:
            self.summary.suppressed += 1
