"""Purges that could not go out at once (a CDN's API, a front that did not answer), and
the repeat of every purge a moment later, run by the task worker (``manage.py db_worker``).

A failed purge is retried with a doubling delay (2 s, 4 s … at most
``PURGE_RETRY_MAX_SECONDS`` apart) for ``PURGE_RETRY_ATTEMPTS`` attempts.
"""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import default_task_backend, task

from frontcache import fronts

logger = logging.getLogger(__name__)


def send_now_or_queue(keys, hard):
    """Send the purge of ``keys`` to each near front now; queue it for the far and the failed."""
    for backend in fronts.backends():
        if backend.remote:
            purge_later.enqueue(backend.name, keys, hard, 0)
            continue
        started = time.perf_counter()
        try:
            backend.send(keys, hard=hard)
        except fronts.PurgeFailed as error:
            logger.warning("Purge at %s failed, retrying later: %s", backend.name, error)
            purge_later.enqueue(backend.name, keys, hard, 1)
        else:
            logger.info(
                "%s-purged %d key(s) at %s in %.1f ms",
                "Hard" if hard else "Soft",
                len(keys),
                backend.name,
                (time.perf_counter() - started) * 1000,
            )


@task(queue_name="default")
def purge_later(backend_name: str, keys: list[str], hard: bool, attempt: int) -> bool:
    backend = fronts.backend_named(backend_name)
    if backend is None:
        logger.warning("Purge of %s dropped: %s is no longer configured.", keys, backend_name)
        return False
    try:
        backend.send(keys, hard=hard)
    except fronts.PurgeFailed as error:
        if attempt >= settings.PURGE_RETRY_ATTEMPTS or not default_task_backend.supports_defer:
            logger.error("Purge of %s at %s abandoned: %s", keys, backend_name, error)
            return False
        delay = min(2**attempt, settings.PURGE_RETRY_MAX_SECONDS)
        logger.warning("Purge at %s failed (%s); retrying in %s s.", backend_name, error, delay)
        purge_later.using(run_after=timezone.now() + timedelta(seconds=delay)).enqueue(
            backend_name, keys, hard, attempt + 1
        )
        return False
    return True


def purge_again_later(keys, hard):
    """Queue the repeat of a purge, ``PURGE_REPEAT_SECONDS`` from now (see ``purge.purge``)."""
    if not default_task_backend.supports_defer:
        return  # tasks run inline (development, tests): no later to wait for
    run_after = timezone.now() + timedelta(seconds=settings.PURGE_REPEAT_SECONDS)
    purge_again.using(run_after=run_after).enqueue(keys, hard)


@task(queue_name="default")
def purge_again(keys: list[str], hard: bool) -> None:
    send_now_or_queue(keys, hard)
