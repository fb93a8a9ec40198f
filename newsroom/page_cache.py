"""A whole-page cache for readers, emptied the moment the newsroom changes anything.

Every cached page is stored under a "generation" number; any save of a story, byline,
correction, section, tag, author, photo or the site settings moves to a new generation,
so no reader sees a page older than the last change. Pages are kept at most
PAGE_CACHE_SECONDS, and never past the next scheduled publication, which needs no save
to go live.
"""

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone
from django.utils.cache import patch_cache_control

GENERATION_KEY = "page-cache:generation"
NEXT_PUBLICATION_KEY = "page-cache:next-publication:{generation}"
CACHEABLE_STATUSES = {200, 301, 404, 410}
UNCACHED_PREFIXES = ("/admin/", "/preview/", "/healthz", "/ckeditor5/", "/photos/", "/newsletter/")


def current_generation():
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, 1, timeout=None)
        generation = cache.get(GENERATION_KEY, 1)
    return generation


def bump_generation():
    """Start a new generation, so every cached page is rebuilt on its next request."""
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.set(GENERATION_KEY, 2, timeout=None)


def bump_after_commit(**kwargs):
    transaction.on_commit(bump_generation)


def seconds_until_next_publication(generation):
    """Return how long until a scheduled story goes live, or None when none is scheduled."""
    from articles.models import Article

    key = NEXT_PUBLICATION_KEY.format(generation=generation)
    next_at = cache.get(key)
    if next_at is None:
        next_at = (
            Article.objects.filter(status=Article.Status.PUBLISHED, published_at__gt=timezone.now())
            .order_by("published_at")
            .values_list("published_at", flat=True)
            .first()
        ) or "none"
        cache.set(key, next_at, timeout=settings.PAGE_CACHE_SECONDS or None)
    if next_at == "none":
        return None
    return max(int((next_at - timezone.now()).total_seconds()) + 1, 0)


def connect_invalidation():
    """Empty the page cache whenever content readers can see is saved or deleted."""
    from articles.models import Article, ArticleAuthor, Author, Correction, Section, Tag
    from newsroom.models import SiteSettings
    from photos.models import Photo
    from photos.signals import renditions_ready

    for model in (Article, ArticleAuthor, Author, Correction, Section, Tag, Photo, SiteSettings):
        post_save.connect(bump_after_commit, sender=model, dispatch_uid=f"page-cache-{model}")
        post_delete.connect(bump_after_commit, sender=model, dispatch_uid=f"page-cache-d-{model}")
    m2m_changed.connect(bump_after_commit, sender=Article.tags.through, dispatch_uid="page-cache-t")
    # Renditions are marked ready with a queryset update, which sends no post_save.
    renditions_ready.connect(bump_after_commit, dispatch_uid="page-cache-renditions")


class PageCacheMiddleware:
    """Serve anonymous GET requests from the page cache and tell CDNs how long to keep them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not self.is_cacheable_request(request):
            return self.get_response(request)
        generation = current_generation()
        key = f"page-cache:{generation}:{request.get_host()}:{request.get_full_path()}"
        cached = cache.get(key) if settings.PAGE_CACHE_SECONDS else None
        if cached is not None:
            cached["X-Cache"] = "HIT"
            return cached
        response = self.get_response(request)
        if not self.is_cacheable_response(response):
            return response
        patch_cache_control(
            response,
            public=True,
            max_age=settings.PAGE_CACHE_MAX_AGE,
            stale_while_revalidate=settings.PAGE_CACHE_STALE_WHILE_REVALIDATE,
        )
        if settings.PAGE_CACHE_SECONDS:
            timeout = settings.PAGE_CACHE_SECONDS
            until_publication = seconds_until_next_publication(generation)
            if until_publication is not None:
                timeout = min(timeout, until_publication)
            if timeout > 0:
                if hasattr(response, "render") and callable(response.render):
                    response.render()
                cache.set(key, response, timeout)
            response["X-Cache"] = "MISS"
        return response

    @staticmethod
    def is_cacheable_request(request):
        return (
            request.method in ("GET", "HEAD")
            and not request.path.startswith(UNCACHED_PREFIXES)
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
        )

    @staticmethod
    def is_cacheable_response(response):
        cache_control = response.get("Cache-Control", "")
        return (
            response.status_code in CACHEABLE_STATUSES
            and not response.streaming
            and not response.cookies
            and "private" not in cache_control
            and "no-cache" not in cache_control
            and "no-store" not in cache_control
        )
