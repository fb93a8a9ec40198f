"""Purge pages at the fronts (``frontcache.fronts``): the one call invalidation makes.

A front on the same network hears of a purge straight after the commit. A CDN's API is far
away, so its purges always go through the task queue (``frontcache.tasks``); so does any
purge a front refuses or does not answer, retried with a growing delay until it lands.
"""

from django.conf import settings

from frontcache import fronts, tasks


def purge(keys, *, hard, repeat=True):
    """Purge ``keys`` at every front: at once where it is near, through the task queue if not.

    With ``repeat``, the purge is sent again ``PURGE_REPEAT_SECONDS`` later by the task
    worker: a page whose render read the database just before the commit, and reached
    the front just after the first purge, would otherwise be kept with the old content.
    """
    if not keys:
        return
    keys = sorted(keys)
    tasks.send_now_or_queue(keys, hard)
    if repeat and settings.PURGE_REPEAT_SECONDS and fronts.backends():
        tasks.purge_again_later(keys, hard)
