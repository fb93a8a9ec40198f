"""Surrogate keys: a name for each thing a public page shows, collected while it renders.

A page carries the keys of every story, author, tag and photo it shows (collected
automatically whenever such a row is loaded during the request), plus the keys of the
listings it is (``stories`` for the home page and everything else that lists the newest
stories site-wide, one key per section, tag and author listing), plus ``site`` for what
every page shows (site settings and navigation). ``frontcache.invalidation`` purges the
same names when a change touches them; Varnish (xkey) or a CDN does the rest.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps

SITE = "site"
STORIES = "stories"
SITEMAPS = "sitemaps"
CORRECTIONS = "corrections"
# The home page's arrangement by editors (frontpage): purged when one is published.
FRONT_PAGE = "front-page"


def article(pk):
    return f"article-{pk}"


def author(pk):
    return f"author-{pk}"


def tag(pk):
    return f"tag-{pk}"


def photo(pk):
    return f"photo-{pk}"


def section_stories(pk):
    return f"section-{pk}-stories"


def tag_stories(pk):
    return f"tag-{pk}-stories"


def author_stories(pk):
    return f"author-{pk}-stories"


LISTING_PREFIXES = (STORIES, SITEMAPS, CORRECTIONS)
LISTING_SUFFIX = "-stories"


def is_listing(key):
    """Return whether ``key`` names a listing, whose content changes when stories are published."""
    return key in LISTING_PREFIXES or key.endswith(LISTING_SUFFIX)


class Collector:
    def __init__(self):
        self.keys = {SITE}
        self.only = None
        self.expires_at = None  # the page shows something that ends then

    def result(self):
        return sorted(self.only if self.only is not None else self.keys)


_collector: ContextVar[Collector | None] = ContextVar("frontcache_collector", default=None)


@contextmanager
def collecting():
    """Collect the keys of what is loaded inside the block; yields the collector."""
    collector = Collector()
    token = _collector.set(collector)
    try:
        yield collector
    finally:
        _collector.reset(token)


def add(*keys):
    """Tag the page being rendered with ``keys`` (a no-op outside a request)."""
    collector = _collector.get()
    if collector is not None:
        collector.keys.update(keys)


def expires(moment):
    """Say that the page being rendered changes by itself at ``moment`` (a strip that ends).

    No purge marks that moment, so the page is kept no longer than until then.
    """
    collector = _collector.get()
    if collector is not None and (collector.expires_at is None or moment < collector.expires_at):
        collector.expires_at = moment


def only(*keys):
    """Tag the page being rendered with exactly ``keys`` and ``site``, whatever it loads.

    For pages that list every story (sitemaps), where one key per row would make a header
    larger than any front accepts; they are purged by their own key instead.
    """
    collector = _collector.get()
    if collector is not None:
        collector.only = {SITE, *keys}


# The models whose rows are tagged when loaded, and the key of each row.
ROW_KEYS = {
    ("articles", "article"): article,
    ("articles", "author"): author,
    ("articles", "tag"): tag,
    ("photos", "photo"): photo,
}


def row_loaded(sender, instance, **kwargs):
    """post_init receiver: tag the current page with the key of the row just loaded."""
    collector = _collector.get()
    if collector is None or collector.only is not None:
        return
    pk = instance.__dict__.get("id")
    if pk is not None:
        collector.keys.add(ROW_KEYS[sender._meta.app_label, sender._meta.model_name](pk))


def tagged_only(*keys):
    """Decorate a view so that its pages carry exactly ``keys`` (see ``only``)."""

    def decorator(view):
        @wraps(view)
        def tagged_view(request, *args, **kwargs):
            only(*keys)
            return view(request, *args, **kwargs)

        return tagged_view

    return decorator
