"""Which pages a change touches: the one place that decides, for every process that writes.

Signals on stories, bylines, tags, authors, corrections, photos, sections and the site
settings note what changed, with the state before the change. When the transaction
commits, the story's state after it is read once, and the surrogate keys of both states
are purged: a story moved from one section to another purges both section listings, a
tag removed purges that tag's page. A story that leaves the site (withdrawn, unpublished,
put back to a later time, deleted) and a deleted photo are purged *hard*: the cached copy
is gone at once, never served stale. Everything else is a soft purge: readers get the
stale copy for the few milliseconds it takes to render the fresh one.

``QuerySet.update()`` and ``bulk_create()`` send no signals; code that changes what
readers see with them calls ``articles_changing(pks)`` before and ``articles_changed()``
after (or ``rows_changed()``) itself.
Drafts nobody has seen purge nothing, so writing a story costs the front cache nothing.
"""

import threading
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.utils import timezone

from frontcache import keys, purge


@dataclass
class StoryState:
    status: str
    published_at: object
    section_id: int | None
    featured: bool
    slug: str
    updated_at: object
    tag_ids: frozenset = field(default_factory=frozenset)
    author_ids: frozenset = field(default_factory=frozenset)

    def is_public(self, now):
        from articles.models import is_public_at

        return is_public_at(self.status, self.published_at, now)

    def is_scheduled(self, now):
        from articles.models import is_scheduled_at

        return is_scheduled_at(self.status, self.published_at, now)

    def was_seen(self, now):
        """Return whether any page may show this state (public, or a withdrawn story's 410)."""
        return self.is_public(now) or self.status == "withdrawn"

    def listing_keys(self):
        return {
            keys.STORIES,
            keys.SITEMAPS,
            keys.CORRECTIONS,
            *([keys.section_stories(self.section_id)] if self.section_id else []),
            *(keys.tag_stories(pk) for pk in self.tag_ids),
            *(keys.author_stories(pk) for pk in self.author_ids),
        }


class Batch:
    """What one transaction changed: story states before the change, and plain keys."""

    def __init__(self):
        self.stories = {}  # pk → StoryState before the change, or None for a new story
        self.soft = set()
        self.hard = set()
        self.cache_keys = set()
        self.scheduled = False
        self.done = False

    def is_open(self):
        """Return whether changes still belong here: not purged, and not rolled back."""
        if self.done:
            return False
        if not self.scheduled:
            return True
        connection = transaction.get_connection()
        return any(callback == self.flush for _, callback, _ in connection.run_on_commit)

    def schedule(self):
        if not self.scheduled:
            self.scheduled = True
            # At once outside a transaction; after the commit inside one; never after a
            # rollback, which discards the callback (``is_open`` then starts a new batch).
            transaction.on_commit(self.flush, robust=True)

    def flush(self):
        self.done = True
        soft, hard = set(self.soft), set(self.hard)
        cache_keys = set(self.cache_keys)
        if self.stories:
            from frontcache.middleware import refresh_next_publication

            refresh_next_publication()
            now = timezone.now()
            after = story_states(list(self.stories))
            for pk, before in self.stories.items():
                story_soft, story_hard = story_keys(pk, before, after.get(pk), now)
                soft |= story_soft
                hard |= story_hard
        if cache_keys:
            cache.delete_many(list(cache_keys))
        purge.purge(soft - hard, hard=False)
        purge.purge(hard, hard=True)


class Current(threading.local):
    batch = None


current = Current()


def batch():
    """Return the batch of the transaction in progress on this thread."""
    if current.batch is None or not current.batch.is_open():
        current.batch = Batch()
    return current.batch


def story_states(pks):
    """Return {pk: StoryState} for the stories ``pks`` as the database has them now."""
    from articles.models import Article, ArticleAuthor

    states = {
        row["pk"]: StoryState(**{name: value for name, value in row.items() if name != "pk"})
        for row in Article.objects.filter(pk__in=pks).values(
            "pk", "status", "published_at", "section_id", "featured", "slug", "updated_at"
        )
    }
    tags, authors = {}, {}
    links = Article.tags.through.objects.filter(article_id__in=states)
    for article_id, tag_id in links.values_list("article_id", "tag_id"):
        tags.setdefault(article_id, set()).add(tag_id)
    for article_id, author_id in ArticleAuthor.objects.filter(article_id__in=states).values_list(
        "article_id", "author_id"
    ):
        authors.setdefault(article_id, set()).add(author_id)
    for pk, state in states.items():
        state.tag_ids = frozenset(tags.get(pk, ()))
        state.author_ids = frozenset(authors.get(pk, ()))
    return states


def articles_changing(pks):
    """Note stories about to change (call before the change); ``articles_changed`` after it."""
    current_batch = batch()
    new = [pk for pk in pks if pk is not None and pk not in current_batch.stories]
    if new:
        before = story_states(new)
        for pk in new:
            current_batch.stories[pk] = before.get(pk)


def articles_changed(pks=()):
    """Purge what the noted stories (and ``pks``, new ones) show, once committed."""
    current_batch = batch()
    for pk in pks:
        current_batch.stories.setdefault(pk, None)
    current_batch.schedule()


def rows_changed(*page_keys, hard=False, cache_keys=()):
    """Purge ``page_keys`` (and forget ``cache_keys`` in the Django cache) once committed."""
    current_batch = batch()
    (current_batch.hard if hard else current_batch.soft).update(page_keys)
    current_batch.cache_keys.update(cache_keys)
    current_batch.schedule()


def site_changed(*, cache_keys=()):
    """Something every page shows changed (site settings, the sections in the navigation)."""
    rows_changed(keys.SITE, cache_keys=cache_keys)


def story_keys(pk, before, after, now):
    """Return (soft, hard) keys for story ``pk`` changing from ``before`` to ``after``."""
    was = before is not None and before.was_seen(now)
    is_ = after is not None and after.was_seen(now)
    scheduled = set()
    if after is not None and after.is_scheduled(now):
        # The listings a scheduled story will join were stored for a day; rendered again,
        # they live only until its time (frontcache/middleware.py). Those already
        # rendered for the same time need nothing.
        scheduled = after.listing_keys()
        if before is not None and before.published_at == after.published_at:
            scheduled -= before.listing_keys() if before.is_scheduled(now) else set()
    if not was and not is_:
        return scheduled, set()
    was_public = before is not None and before.is_public(now)
    is_public = after is not None and after.is_public(now)
    soft, hard = {keys.article(pk)}, set()
    if was_public != is_public:
        soft |= (before.listing_keys() if was_public else set()) | (
            after.listing_keys() if is_public else set()
        )
        if was_public:
            # Gone from the site: no reader may get the cached copy, not even once.
            hard.add(keys.article(pk))
            soft.discard(keys.article(pk))
    elif is_public:
        soft.add(keys.SITEMAPS)
        if (before.section_id, before.published_at, before.featured) != (
            after.section_id,
            after.published_at,
            after.featured,
        ):
            soft |= before.listing_keys() | after.listing_keys()
        soft |= {keys.tag_stories(pk) for pk in before.tag_ids ^ after.tag_ids}
        soft |= {keys.author_stories(pk) for pk in before.author_ids ^ after.author_ids}
    return soft | scheduled, hard


# Receivers. "Before" receivers note the state before a change (and schedule nothing: a
# model's save() outside a transaction commits only after pre_save); "after" receivers
# schedule the purge, which ``Batch.flush`` decides once committed.


def article_saving(sender, instance, raw=False, **kwargs):
    if not raw and instance.pk is not None:
        articles_changing([instance.pk])


def article_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        articles_changed([instance.pk])


def story_row_changing(sender, instance, raw=False, **kwargs):
    """A byline or correction is about to be saved or deleted: note its story."""
    if not raw:
        articles_changing([instance.article_id])


def story_row_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        articles_changed()
        if sender._meta.model_name == "correction":
            rows_changed(keys.CORRECTIONS)


def story_tags_changing(sender, instance, action, reverse, pk_set, **kwargs):
    if action.startswith("post_"):
        articles_changed()
    elif not reverse:
        articles_changing([instance.pk])
    elif action == "pre_clear":
        articles_changing(list(instance.articles.values_list("pk", flat=True)))
    else:
        articles_changing(list(pk_set or ()))


def tag_deleting(sender, instance, **kwargs):
    # Its links to stories go without an m2m_changed signal.
    articles_changing(list(instance.articles.values_list("pk", flat=True)))


def tag_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        deleted = kwargs.get("signal") is post_delete
        rows_changed(keys.tag(instance.pk), keys.tag_stories(instance.pk), hard=deleted)
        articles_changed()


def author_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        deleted = kwargs.get("signal") is post_delete
        rows_changed(keys.author(instance.pk), keys.author_stories(instance.pk), hard=deleted)


def photo_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        # A deleted photo (a rights problem, say) leaves every page at once.
        rows_changed(keys.photo(instance.pk), hard=kwargs.get("signal") is post_delete)


def renditions_ready(sender, photo_id, **kwargs):
    rows_changed(keys.photo(photo_id))


def section_changed(sender, instance, raw=False, **kwargs):
    from articles.models import NAVIGATION_CACHE_KEY

    if not raw:
        site_changed(cache_keys=[NAVIGATION_CACHE_KEY])


def connect():
    from articles.models import Article, ArticleAuthor, Author, Correction, Section, Tag
    from photos.models import Photo
    from photos.signals import renditions_ready as renditions_ready_signal

    receivers = [
        (pre_save, "pre_save", article_saving, Article),
        (post_save, "post_save", article_saved, Article),
        (pre_delete, "pre_delete", article_saving, Article),
        (post_delete, "post_delete", article_saved, Article),
        (m2m_changed, "m2m_changed", story_tags_changing, Article.tags.through),
        (pre_delete, "pre_delete", tag_deleting, Tag),
        (post_save, "post_save", tag_changed, Tag),
        (post_delete, "post_delete", tag_changed, Tag),
        (post_save, "post_save", author_changed, Author),
        (post_delete, "post_delete", author_changed, Author),
        (post_save, "post_save", photo_changed, Photo),
        (post_delete, "post_delete", photo_changed, Photo),
        (post_save, "post_save", section_changed, Section),
        (post_delete, "post_delete", section_changed, Section),
    ]
    for model in (ArticleAuthor, Correction):
        receivers += [
            (pre_save, "pre_save", story_row_changing, model),
            (pre_delete, "pre_delete", story_row_changing, model),
            (post_save, "post_save", story_row_changed, model),
            (post_delete, "post_delete", story_row_changed, model),
        ]
    for signal, signal_name, receiver, sender in receivers:
        signal.connect(
            receiver,
            sender=sender,
            dispatch_uid=f"frontcache-{signal_name}-{sender._meta.label_lower}",
        )
    renditions_ready_signal.connect(renditions_ready, dispatch_uid="frontcache-renditions-ready")
