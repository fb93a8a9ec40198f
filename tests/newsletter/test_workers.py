"""Several real worker processes sending one issue: shared fairly, never twice, crash-safe.

Each test starts ``manage.py db_worker`` processes, as production runs them, against
this run's test database and a real SMTP server on 127.0.0.1.
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from newsletter import services
from newsletter.models import Delivery, Issue, SendBatch, Subscriber, Subscription
from tests.database import shared_database_url
from tests.factories import IssueFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ROOT = Path(__file__).resolve().parent.parent.parent
DATABASE_TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "photos", "newsletter"],
    }
}


@pytest.fixture(autouse=True)
def postgresql_and_database_tasks(settings):
    if connection.vendor != "postgresql":
        pytest.skip("REQUIRE_POSTGRES: worker processes share the test database (PostgreSQL)")
    # Sending is queued in the database for the workers, as in production.
    settings.TASKS = DATABASE_TASKS


def many_confirmed(newsletter, count):
    now = timezone.now()
    subscribers = Subscriber.objects.bulk_create(
        Subscriber(email=f"reader{number}@example.net", status="confirmed", confirmed_at=now)
        for number in range(count)
    )
    Subscription.objects.bulk_create(
        Subscription(subscriber=subscriber, newsletter=newsletter, status="confirmed")
        for subscriber in subscribers
    )
    return {subscriber.email for subscriber in subscribers}


class Workers:
    """``db_worker`` processes on the newsletter queue, stopped by PID when done."""

    def __init__(self, smtp_port, tmp_path, **settings):
        self.environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "newsroom.settings",
            "DEBUG": "1",
            "DATABASE_URL": shared_database_url(),
            "TASKS_BACKEND": "database",
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp_port),
            "EMAIL_USE_TLS": "0",
            "EMAIL_USE_SSL": "0",
            "SITE_URL": "https://news.example.org",
            "MEDIA_ROOT": str(tmp_path / "media"),
            **{name: str(value) for name, value in settings.items()},
        }
        self.tmp_path = tmp_path
        self.processes = []

    def start(self):
        number = len(self.processes)
        log = open(self.tmp_path / f"worker-{number}.log", "w")  # noqa: SIM115 - closed by stop
        process = subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--queue-name", "newsletter",
             "--interval", "0.2", "--no-startup-delay", "--no-reload"],
            cwd=ROOT,
            env=self.environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.processes.append((process, log))
        return process

    def stop(self):
        for process, _ in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process, log in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()

    def logs(self):
        return "\n".join(
            (self.tmp_path / f"worker-{number}.log").read_text()[-3000:]
            for number in range(len(self.processes))
        )


@pytest.fixture
def workers(smtp_server, settings, tmp_path):
    started = []

    def start(count, **worker_settings):
        group = Workers(settings.EMAIL_PORT, tmp_path, **worker_settings)
        started.append(group)
        for _ in range(count):
            group.start()
        return group

    yield start
    for group in started:
        group.stop()


def wait_until(check, workers, *, timeout=180):
    """Wait for ``check()`` to hold: the workers' progress, not a speed measurement."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    pytest.fail(f"the workers did not finish in {timeout} s:\n{workers.logs()}")


def issue_finished(issue):
    return lambda: Issue.objects.get(pk=issue.pk).status == Issue.Status.SENT


def test_two_worker_processes_share_one_issue_and_nobody_gets_two_copies(
    newsletters, smtp_server, workers
):
    addresses = many_confirmed(newsletters["daily"], 2000)
    issue = IssueFactory(newsletter=newsletters["daily"], subject="Two workers")
    services.issue_send(issue=issue, user=UserFactory(username="desk", is_superuser=True))

    group = workers(2, NEWSLETTER_BATCH_SIZE=100)
    wait_until(issue_finished(issue), group)

    received = Counter(smtp_server.recipients())
    assert len(smtp_server.messages) == 2000
    assert set(received) == addresses and set(received.values()) == {1}
    assert Delivery.objects.filter(issue=issue, status=Delivery.Status.SENT).count() == 2000
    assert Delivery.objects.filter(issue=issue).count() == 2000
    # Both processes sent batches of their own.
    workers_used = set(SendBatch.objects.filter(issue=issue).values_list("worker", flat=True))
    assert len(workers_used) == 2
    issue.refresh_from_db()
    assert (issue.recipient_count, issue.sent_count, issue.failed_count) == (2000, 2000, 0)


def test_a_worker_killed_mid_batch_is_taken_over_without_duplicates(
    newsletters, smtp_server, workers
):
    addresses = many_confirmed(newsletters["daily"], 300)
    issue = IssueFactory(newsletter=newsletters["daily"], subject="Crash")
    smtp_server.delay = 0.01  # slow enough to stop the worker in the middle of a batch
    services.issue_send(issue=issue, user=UserFactory(username="desk", is_superuser=True))
    timing = {"NEWSLETTER_BATCH_SIZE": 100, "NEWSLETTER_CLAIM_TIMEOUT": 2,
              "NEWSLETTER_RETRY_DELAY": 1}  # fmt: skip

    first = workers(1, **timing)
    wait_until(lambda: len(smtp_server.messages) >= 30, first)
    [(process, _)] = first.processes
    process.send_signal(signal.SIGKILL)
    process.wait()
    received_before = len(smtp_server.messages)
    assert received_before < 300, "the worker was stopped before it finished"
    smtp_server.delay = 0

    second = workers(1, **timing)
    wait_until(issue_finished(issue), second)

    received = Counter(smtp_server.recipients())
    assert set(received.values()) == {1}, "nobody gets the issue twice"
    counts = Issue.objects.get(pk=issue.pk).delivery_counts()
    # The one message being handed over when the worker died may or may not have
    # arrived: it is reported, never resent. Everyone else got exactly one copy.
    assert counts["unknown"] <= 1
    assert counts["sent"] + counts["unknown"] == 300
    assert counts["pending"] == counts["claimed"] == 0
    unknown = set(
        Delivery.objects.filter(issue=issue, status="unknown").values_list(
            "subscriber__email", flat=True
        )
    )
    assert set(received) | unknown == addresses
    sent = set(
        Delivery.objects.filter(issue=issue, status="sent").values_list(
            "subscriber__email", flat=True
        )
    )
    assert sent <= set(received)
    taken_over = SendBatch.objects.filter(issue=issue).exclude(recovered_at=None)
    assert taken_over.count() == 1
