"""Measure newsletter signups per second and sending throughput to a local SMTP sink.

Runs in-process against a dedicated PostgreSQL database (newsroom_bench_newsletter, made
anew each run) with a real SMTP server (aiosmtpd) on 127.0.0.1, and prints a Markdown
table, which it also writes as the "Newsletter" section of docs/benchmarks.md (after
bench/run.py has written the rest; `make bench` runs both).

    .venv/bin/python bench/newsletter.py [--signups 300] [--subscribers 2000]
"""

import argparse
import time
from pathlib import Path

from in_process import ROOT, prepare_environment, replace_section

DATABASE = "newsroom_bench_newsletter"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signups", type=int, default=300)
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    options = parser.parse_args()
    prepare_environment(DATABASE)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from aiosmtpd.controller import Controller

    from tests.newsletter.smtp import MailCollector, free_port

    collector = MailCollector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.NEWSLETTER_SIGNUP_LIMITS = {"ip": (10**9, 60), "email": (10**9, 60)}
    try:
        rows = [
            measure_signups(options.signups, collector),
            measure_sending(options.subscribers, collector),
        ]
    finally:
        controller.stop()
    table = ["| measure | count | seconds | per second |", "|---|---:|---:|---:|"]
    table += [f"| {name} | {n} | {seconds:.2f} | {n / seconds:.0f} |" for name, n, seconds in rows]
    print("\n".join(table))
    write_section(options.output, table)


def write_section(path, table):
    """Replace the Newsletter section of the benchmarks page with this run's table."""
    replace_section(
        path,
        "Newsletter",
        f"Measured by `bench/newsletter.py` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
        ","
        " in one process on the same machine: signups go through the real view (CSRF and "
        "rate limits as configured, limits raised) and each sends its confirmation email to a "
        "local aiosmtpd server; sending creates one delivery per confirmed subscriber and "
        "sends them through the task, batch by batch over one SMTP connection each.\n\n"
        + "\n".join(table),
    )


def measure_signups(count, collector):
    """Sign up ``count`` new addresses through the real view, confirmation email included."""
    from django.test import Client

    from newsletter.models import Newsletter

    newsletter = Newsletter.objects.order_by("pk").first()
    client = Client()
    before = len(collector.envelopes)
    started = time.perf_counter()
    for number in range(count):
        response = client.post(
            "/newsletter/",
            {"email": f"reader{number}@example.org", "newsletters": [newsletter.pk]},
            REMOTE_ADDR=f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}",
        )
        assert response.status_code in (302, 303), response.status_code
    seconds = time.perf_counter() - started
    assert len(collector.envelopes) - before == count, "every signup sends one email"
    return ("signups (HTTP view + confirmation email over SMTP)", count, seconds)


def measure_sending(count, collector):
    """Send one issue to ``count`` confirmed subscribers and time it end to end."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from newsletter.models import Issue, Newsletter, Subscriber, Subscription
    from newsletter.services import issue_send

    newsletter = Newsletter.objects.order_by("pk").first()
    subscribers = Subscriber.objects.bulk_create(
        Subscriber(
            email=f"subscriber{number}@example.net",
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
    recipients = Subscription.objects.filter(
        newsletter=newsletter, status=Subscription.Status.CONFIRMED
    ).count()
    user = get_user_model().objects.create_superuser("bench", "bench@example.org", "x")
    issue = Issue.objects.create(newsletter=newsletter, subject="Bench issue", intro="<p>Hi</p>")
    before = len(collector.envelopes)
    started = time.perf_counter()
    issue_send(issue=issue, user=user)  # the immediate backend sends on commit
    seconds = time.perf_counter() - started
    sent = len(collector.envelopes) - before
    assert sent == recipients, f"sent {sent} of {recipients}"
    return ("issue sending (one SMTP connection per batch)", sent, seconds)


if __name__ == "__main__":
    main()
