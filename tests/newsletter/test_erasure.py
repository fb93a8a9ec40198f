"""Erasing a subscriber, whoever calls the service, leaves their address nowhere at all."""

import json

import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models
from django_tasks import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from newsletter import services
from newsletter.models import Delivery, Issue, Subscriber
from newsletter.suppression import Bounce, address_bounced
from tests.factories import IssueFactory, UserFactory

pytestmark = pytest.mark.django_db

ADDRESS = "Erase.Me@Example.COM"
STORED = "Erase.Me@example.com"  # the domain lower-cased, as every address is kept
TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)


def columns_naming(needle: str) -> set[str]:
    """Return "table.column" for every text value in the database that contains ``needle``.

    Every table of every installed model is read, Django's and third-party apps' too,
    so that a new place keeping the address cannot be missed.
    """
    needle = needle.lower()
    tables = set(connection.introspection.table_names())
    found = set()
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy or not meta.managed or meta.db_table not in tables:
            continue
        columns = [field.attname for field in meta.concrete_fields
                   if isinstance(field, TEXT_FIELDS)]  # fmt: skip
        if not columns:
            continue
        for row in model._base_manager.values_list(*columns):
            for column, value in zip(columns, row, strict=True):
                text = value if isinstance(value, str) else json.dumps(value, default=str)
                if needle in text.lower():
                    found.add(f"{meta.db_table}.{column}")
    return found


def database_worker_runs_the_queue():
    """Run every queued task as ``manage.py db_worker`` does, recording how each ended."""
    worker = Worker(queue_names=["*"], interval=0, batch=True, backend_name="default",
                    startup_delay=False, max_tasks=None, worker_id="test",
                    excluded_queue_names=[])  # fmt: skip
    for result in DBTaskResult.objects.ready():
        result.claim(worker.worker_id)
        worker.run_task(result)


@pytest.fixture
def remembered_everywhere(settings, newsletters, smtp_server, django_capture_on_commit_callbacks):
    """Return a subscriber whose address the database keeps in every place it can.

    A sign-up (consent record, queued email), the mail server refusing the confirmation
    (a failed task whose traceback quotes it), a staff edit (admin log), a delivery
    whose error quotes it and the bounce that suppressed it.
    """
    settings.TASKS = {
        "default": {
            "BACKEND": "django_tasks_db.DatabaseBackend",
            "QUEUES": ["default", "photos", "newsletter"],
        }
    }
    smtp_server.unknown_recipients = {STORED}
    with django_capture_on_commit_callbacks(execute=True):
        subscriber = services.subscriber_sign_up(
            email=ADDRESS,
            newsletters=[newsletters["daily"]],
            consent_text="Send me the newsletter.",
            page_url="/newsletter/",
            ip_address="203.0.113.9",
        )
    database_worker_runs_the_queue()
    editor = UserFactory(username="desk-editor", role="Audience")
    LogEntry.objects.create(
        user=editor,
        content_type=ContentType.objects.get_for_model(Subscriber),
        object_id=str(subscriber.pk),
        object_repr=str(subscriber),
        action_flag=CHANGE,
        change_message=f"Corrected the address to {STORED}",
    )
    issue = IssueFactory(newsletter=newsletters["daily"], status=Issue.Status.SENT)
    error = f"The mail server refused the message: 550 5.1.1 <{STORED}>: no such user"
    Delivery.objects.create(issue=issue, subscriber=subscriber, status="failed", error=error)
    address_bounced(STORED, Bounce.HARD, detail=error, source="SMTP")
    return subscriber


def test_erasing_through_the_service_leaves_the_address_in_no_table(remembered_everywhere):
    staff = UserFactory(username="dpo", role="Audience")
    subscriber_id = remembered_everywhere.pk
    assert columns_naming(STORED) >= {
        "newsletter_subscriber.email",
        "newsletter_subscriber.suppression_detail",
        "newsletter_delivery.error",
        "django_admin_log.object_repr",
        "django_admin_log.change_message",
        "django_tasks_database_dbtaskresult.traceback",
    }

    services.subscriber_erase(subscriber=remembered_everywhere, user=staff)

    assert columns_naming(STORED) == set()
    assert columns_naming("erase.me") == set()
    [delivery] = Delivery.objects.all()
    assert (delivery.subscriber, delivery.status) == (None, "failed")
    erasure = LogEntry.objects.latest("pk")
    assert (erasure.user, erasure.object_repr) == (staff, f"Subscriber #{subscriber_id} (erased)")


def test_a_refused_signup_email_is_kept_as_a_failed_task_that_quotes_the_address(
    remembered_everywhere,
):
    """Why erasing empties tracebacks: the arguments name the subscriber only by its id."""
    [result] = DBTaskResult.objects.all()

    assert result.args_kwargs == {"args": [remembered_everywhere.pk], "kwargs": {}}
    assert result.status == TaskResultStatus.FAILED
    assert STORED in result.traceback
