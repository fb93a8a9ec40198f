"""Tell the front cache (Varnish, a CDN) what each public response shows and how long to keep it.

Anonymous GET and HEAD responses that may be shared get:

- ``Cache-Control: public, max-age=BROWSER_CACHE_SECONDS``: browsers, which nobody can
  purge, keep a page briefly;
- ``Surrogate-Control: max-age=FRONT_CACHE_SECONDS, stale-while-revalidate=…,
  stale-if-error=…``: Varnish (``deploy/varnish/newsroom.vcl``) and Fastly keep it long,
  because every change purges exactly the pages it touches;
- ``xkey``: the surrogate keys of what the page shows (``frontcache.keys``), which
  Varnish's xkey module indexes; ``SURROGATE_KEY_HEADER`` repeats them for a CDN.

Pages that list stories live no longer than the next scheduled publication, so a story
scheduled for 06:00 appears at 06:00 with no save and no cron job. Everything else (staff
with a session, POSTs, the admin, previews, errors, redirects to sign in) is marked
private, so no shared cache keeps it.
"""

from django.conf import settings
from django.core.cache import cache
from django.http import FileResponse
from django.utils import timezone
from django.utils.cache import patch_cache_control

from frontcache import keys

CACHEABLE_STATUSES = {200, 301, 410}
# Never shared, whatever they answer: staff pages, previews, per-reader newsletter links,
# the health check the front probes, search (any query is a new address).
UNCACHED_PREFIXES = (
    "/admin/", "/accounts/", "/preview/", "/healthz", "/ckeditor5/", "/photos/",
    "/newsletter/", "/search/",
)  # fmt: skip
KEY_HEADER = "xkey"
NEXT_PUBLICATION_KEY = "frontcache:next-publication"


def refresh_next_publication():
    """Find the next scheduled publication and remember it; return its time or "none"."""
    from articles.models import Article

    next_at = (
        Article.objects.scheduled()
        .order_by("published_at")
        .values_list("published_at", flat=True)
        .first()
    ) or "none"
    cache.set(NEXT_PUBLICATION_KEY, next_at, timeout=settings.FRONT_CACHE_SECONDS)
    return next_at


def seconds_until_next_publication():
    """Return how long until a scheduled story goes live, or None when none is scheduled.

    Kept in the Django cache and refreshed by ``frontcache.invalidation`` whenever a
    story changes, so a page costs no query for it.
    """
    next_at = cache.get(NEXT_PUBLICATION_KEY)
    if next_at is None or (next_at != "none" and next_at <= timezone.now()):
        next_at = refresh_next_publication()
    if next_at == "none":
        return None
    return max(int((next_at - timezone.now()).total_seconds()) + 1, 0)


class SurrogateKeyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not self.is_shareable_request(request):
            response = self.get_response(request)
            self.mark_private(response)
            return response
        with keys.collecting() as collector:
            response = self.get_response(request)
        page_keys = collector.result()
        if not self.is_shareable_response(response) or (
            # A redirect that shows nothing (a slash added to any address) is cheap to
            # answer, and storing one per address would let anyone fill the cache.
            response.status_code == 301 and page_keys == [keys.SITE]
        ):
            self.mark_private(response)
            return response
        front_seconds = settings.FRONT_CACHE_SECONDS
        browser_seconds = settings.BROWSER_CACHE_SECONDS
        limits = []
        if any(keys.is_listing(key) for key in page_keys):
            limits.append(seconds_until_next_publication())
        if collector.expires_at is not None:
            limits.append(max(int((collector.expires_at - timezone.now()).total_seconds()) + 1, 0))
        for seconds in limits:
            if seconds is not None:
                front_seconds = min(front_seconds, seconds)
                browser_seconds = min(browser_seconds, seconds)
        patch_cache_control(response, public=True, max_age=browser_seconds)
        response["Surrogate-Control"] = (
            f"max-age={front_seconds}, "
            f"stale-while-revalidate={settings.FRONT_CACHE_STALE_WHILE_REVALIDATE}, "
            f"stale-if-error={settings.FRONT_CACHE_STALE_IF_ERROR}"
        )
        response[KEY_HEADER] = " ".join(page_keys)
        cdn_header = settings.SURROGATE_KEY_HEADER
        if cdn_header and cdn_header.lower() != KEY_HEADER:
            # Cloudflare's Cache-Tag is comma-separated; Fastly's Surrogate-Key, like xkey,
            # space-separated.
            separator = "," if cdn_header.lower() == "cache-tag" else " "
            response[cdn_header] = separator.join(page_keys)
        return response

    @staticmethod
    def is_shareable_request(request):
        return (
            request.method in ("GET", "HEAD")
            and not request.path.startswith(UNCACHED_PREFIXES)
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
        )

    @staticmethod
    def is_shareable_response(response):
        cache_control = response.get("Cache-Control", "")
        return (
            response.status_code in CACHEABLE_STATUSES
            # Uploaded photos stream from disk; other streams are built per request.
            and (not response.streaming or isinstance(response, FileResponse))
            and not response.cookies
            and "private" not in cache_control
            and "no-cache" not in cache_control
            and "no-store" not in cache_control
        )

    @staticmethod
    def mark_private(response):
        """Keep a response out of every shared cache, unless its view already decided."""
        if "Cache-Control" not in response:
            patch_cache_control(response, private=True, no_cache=True)
