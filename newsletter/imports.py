"""Subscribers to and from CSV: the export staff download and the import they upload.

An import is all or nothing: every row is checked first, and one bad row imports none.
Exports defuse spreadsheet formulas (OWASP "CSV injection") and imports undo that, so an
exported file imports again as it was.
"""

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from accounts.permissions import require_permission
from newsletter.addresses import MAX_EMAIL_LENGTH, normalize_email
from newsletter.models import ConsentRecord, Newsletter, Subscriber, Subscription

EXPORT_CHUNK_SIZE = 2000
EXPORT_HEADER = ["email", "status", "newsletters", "pending", "signed_up_at", "confirmed_at"]


@dataclass
class ImportRow:
    line: int
    email: str
    problem: str = ""
    outcome: str = ""


@dataclass
class ImportReport:
    rows: list[ImportRow] = field(default_factory=list)
    file_problem: str = ""

    @property
    def problems(self) -> list[ImportRow]:
        return [row for row in self.rows if row.problem]

    @property
    def accepted(self) -> bool:
        return not self.file_problem and not self.problems and bool(self.rows)

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)


IMPORT_ADDED = "added"
IMPORT_ALREADY = "already subscribed"
IMPORT_UNSUBSCRIBED = "skipped: unsubscribed earlier"
MAX_IMPORT_ROWS = 50_000

# Spreadsheets run cells that start with these as formulas; exports prefix them with a
# quote (OWASP "CSV injection") and imports take it off again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    """Return ``value`` so that no spreadsheet reads it as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_unescape(value: str) -> str:
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value


def export_rows(subscribers):
    """Yield the CSV header, then one row per subscriber, reading 2,000 rows at a time.

    ``subscribers`` has its subscriptions and their newsletters prefetched.
    """
    yield EXPORT_HEADER
    for subscriber in subscribers.iterator(chunk_size=EXPORT_CHUNK_SIZE):
        subscriptions = subscriber.subscriptions.all()
        yield [
            csv_safe(subscriber.email),
            subscriber.status,
            ";".join(
                item.newsletter.slug
                for item in subscriptions
                if item.status == Subscription.Status.CONFIRMED
            ),
            ";".join(
                item.newsletter.slug
                for item in subscriptions
                if item.status == Subscription.Status.PENDING
            ),
            subscriber.created_at.isoformat(),
            subscriber.confirmed_at.isoformat() if subscriber.confirmed_at else "",
        ]


def subscriber_import_check(text: str) -> ImportReport:
    """Return a report on every row of a subscriber CSV, without changing anything."""
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(text))
    fieldnames = [name.strip().lower() for name in reader.fieldnames or []]
    if "email" not in fieldnames:
        report.file_problem = 'The first line must be a header with an "email" column.'
        return report
    reader.fieldnames = fieldnames
    seen = {}
    try:
        for record in reader:
            line = reader.line_num
            if len(report.rows) >= MAX_IMPORT_ROWS:
                report.file_problem = f"The file has more than {MAX_IMPORT_ROWS:,} rows; split it."
                return report
            raw = csv_unescape((record.get("email") or "").strip())
            row = ImportRow(line=line, email=raw)
            report.rows.append(row)
            row.problem = email_problem(raw)
            if row.problem:
                continue
            row.email = normalize_email(raw)
            key = row.email.lower()
            if key in seen:
                row.problem = f"the same address as line {seen[key]}"
            else:
                seen[key] = line
    except csv.Error as error:
        report.file_problem = f"Line {reader.line_num}: {error}"
    if not report.rows and not report.file_problem:
        report.file_problem = "The file has no addresses."
    return report


def email_problem(raw: str) -> str:
    """Return what is wrong with ``raw`` as a subscriber's address, or ""."""
    if not raw:
        return "no email address"
    if len(raw) > MAX_EMAIL_LENGTH:
        return f"longer than {MAX_EMAIL_LENGTH} characters"
    try:
        normalized = normalize_email(raw)
        validate_email(normalized)
    except (ValueError, ValidationError):
        return "not a valid email address"
    if len(normalized) > MAX_EMAIL_LENGTH:
        return f"longer than {MAX_EMAIL_LENGTH} characters"
    return ""


@transaction.atomic
def subscriber_import(
    *,
    text: str,
    newsletters: Iterable[Newsletter],
    consent_text: str,
    user,
) -> ImportReport:
    """Subscribe every address in the CSV ``text`` to ``newsletters``, or none if one is bad.

    Staff attest that each person consented (``consent_text`` says how); addresses are
    confirmed at once, except those that unsubscribed before, which are left alone.
    """
    require_permission(user, "newsletter.import_subscribers", "import subscribers")
    report = subscriber_import_check(text)
    if not report.accepted:
        return report
    newsletters = list(newsletters)
    names = ConsentRecord.newsletter_names(newsletters)
    now = timezone.now()
    for row in report.rows:
        subscriber, _ = Subscriber.objects.locked_for_email(row.email)
        statuses = dict(
            subscriber.subscriptions.filter(newsletter__in=newsletters).values_list(
                "newsletter_id", "status"
            )
        )
        added = []
        for newsletter in newsletters:
            status = statuses.get(newsletter.pk)
            if status == Subscription.Status.CONFIRMED:
                continue
            if status == Subscription.Status.UNSUBSCRIBED:
                continue
            Subscription.objects.update_or_create(
                subscriber=subscriber,
                newsletter=newsletter,
                defaults={"status": Subscription.Status.CONFIRMED, "confirmed_at": now},
            )
            added.append(newsletter)
        if added:
            row.outcome = IMPORT_ADDED
            ConsentRecord.objects.create(
                subscriber=subscriber,
                kind=ConsentRecord.Kind.IMPORT,
                text=consent_text,
                newsletters=names,
                recorded_by=user,
            )
            if subscriber.confirmed_at is None:
                Subscriber.objects.filter(pk=subscriber.pk).update(confirmed_at=now)
            subscriber.refresh_status()
        elif Subscription.Status.UNSUBSCRIBED in statuses.values():
            row.outcome = IMPORT_UNSUBSCRIBED
        else:
            row.outcome = IMPORT_ALREADY
    return report
