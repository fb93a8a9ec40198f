"""Measure newsletter signups per second and sending throughput with real worker processes.

Makes a dedicated PostgreSQL database anew (newsroom_bench_newsletter), starts a real
SMTP server (aiosmtpd, bench/smtp_sink.py) in a process of its own on 127.0.0.1, and
measures, with production settings (DEBUG off, tasks queued in the database):

1. signups through the real view (CSRF and rate limits as configured, limits raised):
   each answers once its confirmation email is queued, not sent;
2. those confirmation emails, sent by one ``manage.py db_worker`` process;
3. one issue sent to ``--subscribers`` confirmed subscribers by one worker process, then
   another issue by two, each worker claiming batches of its own.

Prints a Markdown table and writes it as the "Newsletter" section of docs/benchmarks.md
(after bench/run.py has written the rest; `make bench` runs both).

    .venv/bin/python bench/newsletter.py [--signups 1000] [--subscribers 2000]
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from in_process import ROOT, prepare_environment, replace_section
from services import free_port

DATABASE = "newsroom_bench_newsletter"
ROUNDS = 3
# The rate limits live in the cache: Redis, as in production (bench/run.py uses 15).
REDIS_URL = "redis://127.0.0.1:6379/14"
WORK_DIR = ROOT / "var" / "bench" / "newsletter"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signups", type=int, default=1000)
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    options = parser.parse_args()
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    smtp_port = free_port()
    prepare_environment(
        DATABASE,
        TASKS_BACKEND="database",
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(smtp_port),
        EMAIL_USE_TLS="0",
        EMAIL_USE_SSL="0",
        SITE_URL="https://news.example.org",
        CACHE_URL=REDIS_URL,
        LOG_LEVEL="WARNING",
    )

    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import cache
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    cache.clear()
    settings.NEWSLETTER_SIGNUP_LIMITS = {"ip": (10**9, 60), "email": (10**9, 60)}
    sink = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "smtp_sink.py"), str(smtp_port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_port(smtp_port)
        healthz = measure_healthz(options.signups)
        signups = measure_signups(options.signups)
        rows = [healthz, signups, measure_confirmations(options.signups)]
        # Interleaved rounds, the median kept: this machine's speed drifts from minute to
        # minute, and each kind should meet the same conditions.
        rounds = {"ceiling": [], 1: [], 2: []}
        for round_number in range(ROUNDS):
            rounds["ceiling"].append(measure_smtp_ceiling(options.subscribers, smtp_port))
            for workers in (1, 2):
                rounds[workers].append(
                    measure_sending(options.subscribers, workers=workers, round_number=round_number)
                )
        ceiling, one, two = (median_row(rounds[kind]) for kind in ("ceiling", 1, 2))
        rows += [ceiling, one, two]
    finally:
        sink.send_signal(signal.SIGTERM)
        received = int(sink.communicate(timeout=30)[0].strip() or 0)
    expected = options.signups + 3 * ROUNDS * options.subscribers
    assert received == expected, f"the SMTP server received {received} of {expected} messages"
    table = [
        "| measure | workers | count | seconds | per second | vs reference |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    references = {signups: healthz, one: ceiling, two: ceiling}

    def ratio(row):
        reference = references.get(row)
        return f"{rate(row) / rate(reference):.2f}×" if reference else "reference"

    table += [
        f"| {row[0]} | {row[1] or '—'} | {row[2]} | {row[3]:.2f} | {rate(row):.0f} | {ratio(row)} |"
        for row in rows
        if row is not rows[2]
    ]
    confirmations = rows[2]
    table.insert(
        4,
        f"| {confirmations[0]} | 1 | {confirmations[2]} | {confirmations[3]:.2f} | "
        f"{rate(confirmations):.0f} | |",
    )
    speedup = rate(two) / rate(one)
    summary = f"Two workers send {speedup:.2f}× as fast as one."
    print("\n".join(table))
    print(summary)
    write_section(options.output, table, summary, received)


def median_row(rows):
    return sorted(rows, key=rate)[len(rows) // 2]


def rate(row):
    return row[2] / row[3]


def wait_for_port(port):
    import socket

    for _ in range(100):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit("The SMTP server did not start.")


def write_section(path, table, summary, received):
    """Replace the Newsletter section of the benchmarks page with this run's table."""
    replace_section(
        path,
        "Newsletter",
        f"Measured by `bench/newsletter.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
        f" on this 2-core machine (load average {os.getloadavg()[0]:.1f} at the end), with "
        "production settings (DEBUG off), PostgreSQL and Redis (the cache, which keeps the "
        "rate limits) on 127.0.0.1 and tasks queued in the database. The SMTP server is "
        "aiosmtpd in a process of its own on 127.0.0.1 "
        f"(`bench/smtp_sink.py`); it counted {received} messages, exactly one per signup and "
        "per delivery. Signups go through the real view in the bench's own process (CSRF and "
        "rate limits as configured, limits raised) and answer once the confirmation email is "
        "queued; the confirmation emails are then sent by one `manage.py db_worker` process. "
        f"Sending is measured in {ROUNDS} interleaved rounds, the median shown. "
        "Issues are sent by `db_worker` processes already running, timed from the click on "
        '"Send" to the issue being marked sent; each worker claims its own batches of '
        "200 over one SMTP connection. The worker processes, the SMTP server and PostgreSQL "
        "share the 2 cores, so two workers cannot quite double one. Absolute figures drift on "
        "this machine with what else runs on it; compare runs by the last column: sign-ups "
        "against `GET /healthz` through the same client, and sending against one process "
        "handing ready-made messages to the same SMTP server.\n\n"
        + "\n".join(table)
        + f"\n\n{summary}",
    )


class Workers:
    """``manage.py db_worker`` processes on the newsletter queue, stopped by PID."""

    def __init__(self, count, *, warm_up=3):
        self.count = count
        self.warm_up = warm_up
        self.processes = []

    def __enter__(self):
        for number in range(self.count):
            log = open(WORK_DIR / f"worker-{number}.log", "w")  # noqa: SIM115 - closed below
            self.processes.append(
                (
                    subprocess.Popen(
                        [
                            sys.executable,
                            "manage.py",
                            "db_worker",
                            "--queue-name",
                            "newsletter",
                            "--interval",
                            "0.05",
                            "--no-startup-delay",
                            "--no-reload",
                        ],
                        cwd=ROOT,
                        env=dict(os.environ),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    ),  # fmt: skip
                    log,
                )
            )
        time.sleep(self.warm_up)  # started and polling before the clock starts
        return self

    def __exit__(self, *exc_info):
        for process, _ in self.processes:
            process.send_signal(signal.SIGTERM)
        for process, log in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()


def wait_until(check, what, timeout=600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise SystemExit(f"Timed out waiting for {what}; see {WORK_DIR}/worker-*.log")


def measure_healthz(count):
    """The reference for sign-ups: the same client, middleware and database, one SELECT 1."""
    from django.test import Client

    client = Client()
    started = time.perf_counter()
    for _ in range(count):
        assert client.get("/healthz").status_code == 200
    return ("reference: `GET /healthz` (one `SELECT 1`)", 0, count, time.perf_counter() - started)


def measure_smtp_ceiling(count, port):
    """The reference for sending: one process handing ready-made messages to the same SMTP
    server over one connection, with no database and no rendering: what the server and the
    round trips allow one sender."""
    import smtplib

    payload = (
        b"From: bench@example.org\r\nTo: ceiling@example.net\r\nSubject: Ceiling\r\n\r\n"
        + b"Body line.\r\n" * 200
    )
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for number in range(count):
            smtp.sendmail("bench@example.org", [f"ceiling{number}@example.net"], payload)
    seconds = time.perf_counter() - started
    return ("reference: raw SMTP from one process, one connection", 1, count, seconds)


def measure_signups(count):
    """Sign up ``count`` new addresses through the real view; each queues its email."""
    from django.test import Client
    from django_tasks_db.models import DBTaskResult

    from newsletter.models import Newsletter

    newsletter = Newsletter.objects.order_by("pk").first()
    client = Client()
    started = time.perf_counter()
    for number in range(count):
        response = client.post(
            "/newsletter/",
            {"email": f"reader{number}@example.org", "newsletters": [newsletter.pk]},
            REMOTE_ADDR=f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}",
        )
        assert response.status_code in (302, 303), response.status_code
    seconds = time.perf_counter() - started
    queued = DBTaskResult.objects.filter(task_path__endswith="subscriber_send_signup_email")
    assert queued.count() == count, "every signup queues one email"
    return ("signups (HTTP view, confirmation email queued)", 0, count, seconds)


def measure_confirmations(count):
    from django_tasks_db.models import DBTaskResult

    queued = DBTaskResult.objects.filter(task_path__endswith="subscriber_send_signup_email")
    with Workers(1, warm_up=0):
        # The worker finds the queue full as it starts: its start-up time is counted.
        started = time.perf_counter()
        wait_until(
            lambda: queued.filter(status="SUCCESSFUL").count() == count, "confirmation emails"
        )
        seconds = time.perf_counter() - started
    failed = queued.exclude(status="SUCCESSFUL").count()
    assert not failed, f"{failed} confirmation emails failed"
    return ("confirmation emails sent by the worker", 1, count, seconds)


def measure_sending(count, *, workers, round_number):
    """Send one issue to ``count`` confirmed subscribers with ``workers`` worker processes."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from newsletter.models import Issue, Newsletter, SendBatch, Subscriber, Subscription
    from newsletter.services import issue_send

    newsletter, _ = Newsletter.objects.get_or_create(
        slug=f"bench-{workers}-{round_number}", defaults={"name": f"Bench {workers} {round_number}"}
    )
    subscribers = Subscriber.objects.bulk_create(
        Subscriber(
            email=f"subscriber{number}.{workers}.{round_number}@example.net",
            status=Subscriber.Status.CONFIRMED,
            confirmed_at=timezone.now(),
        )
        for number in range(count)
    )
    Subscription.objects.bulk_create(
        Subscription(
            subscriber=subscriber,
            newsletter=newsletter,
            status=Subscription.Status.CONFIRMED,
            confirmed_at=timezone.now(),
        )
        for subscriber in subscribers
    )
    user = get_user_model().objects.filter(username="bench").first()
    user = user or get_user_model().objects.create_superuser("bench", "bench@example.org", "x")
    issue = Issue.objects.create(newsletter=newsletter, subject="Bench issue", intro="<p>Hi</p>")
    with Workers(workers):
        started = time.perf_counter()
        issue_send(issue=issue, user=user)
        wait_until(
            lambda: Issue.objects.filter(pk=issue.pk, status=Issue.Status.SENT).exists(),
            "the issue to be sent",
        )
        seconds = time.perf_counter() - started
    issue.refresh_from_db()
    assert issue.sent_count == count, f"sent {issue.sent_count} of {count}"
    used = SendBatch.objects.filter(issue=issue).values("worker").distinct().count()
    assert used == workers, f"{used} of {workers} workers sent batches"
    return (f"issue sending to {count} subscribers", workers, count, seconds)


if __name__ == "__main__":
    main()
