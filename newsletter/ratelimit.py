"""Fixed-window request limits kept in the cache (Redis in production, shared by all workers).

The limits are settings, so a newsroom running a big campaign can raise them:

    NEWSLETTER_SIGNUP_LIMITS = {"ip": (10, 600), "email": (3, 3600)}

means at most 10 sign-ups per client address in 10 minutes, and at most 3 confirmation
emails to one address an hour (which stops the form being used to flood someone's inbox).
"""

from django.conf import settings
from django.core.cache import cache

DEFAULT_LIMITS = {"ip": (10, 600), "email": (3, 3600)}


def signup_limit(kind: str) -> tuple[int, int]:
    """Return (requests, seconds) allowed for ``kind`` ("ip" or "email")."""
    limits = {**DEFAULT_LIMITS, **getattr(settings, "NEWSLETTER_SIGNUP_LIMITS", {})}
    return limits[kind]


def allow(kind: str, key: str) -> bool:
    """Count one request for ``key``; return False once its window's allowance is spent."""
    allowed, seconds = signup_limit(kind)
    cache_key = f"newsletter:rate:{kind}:{key}"
    # add() starts the window only if none is running; incr() is atomic on Redis and locmem.
    cache.add(cache_key, 0, timeout=seconds)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # the window ended between add() and incr()
        cache.set(cache_key, 1, timeout=seconds)
        count = 1
    return count <= allowed
