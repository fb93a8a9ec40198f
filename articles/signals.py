"""Model-layer upkeep that every save path must get, whoever saves.

The stored search vector (``articles.search``) follows every change to what it is made
of: the story's own text, its bylines, its tags, and the names of its authors and tags.
Each receiver recomputes the affected stories with one UPDATE, in the same transaction
as the change, and only on PostgreSQL. ``QuerySet.update()`` and ``bulk_create()`` send
no signals: code using them calls ``articles.search.update_search_vectors`` itself.
Bulk tools that delete many stories at once pause the upkeep with
``search_vector_upkeep_paused()``.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django.db.models.signals import m2m_changed, post_delete, post_init, post_save, pre_delete
from django.dispatch import receiver

from articles.models import Article, ArticleAuthor, Author, Tag
from articles.search import full_text_search_available, update_search_vectors

SEARCHED_ARTICLE_FIELDS = {"headline", "dek", "body", "byline"}
upkeep_paused = ContextVar("search_vector_upkeep_paused", default=False)


@contextmanager
def search_vector_upkeep_paused():
    """Skip the search vector's upkeep inside the block, in this thread or task only.

    For bulk tools that delete stories with their bylines and tags, where each byline
    deleted would otherwise rewrite its doomed story's vector (one UPDATE a byline), or
    that change stories in bulk and then call ``update_search_vectors`` on them once.
    Whatever the block changes and keeps is left with a stale vector until then.
    """
    token = upkeep_paused.set(True)
    try:
        yield
    finally:
        upkeep_paused.reset(token)


def update_stories(using, **filters):
    if upkeep_paused.get():
        return
    update_search_vectors(Article.objects.using(using).filter(**filters))


@receiver(post_save, sender=Article, dispatch_uid="search-vector-article-saved")
def article_saved(sender, instance, using, update_fields=None, **kwargs):
    if not full_text_search_available(using):
        return
    if update_fields is not None and not SEARCHED_ARTICLE_FIELDS.intersection(update_fields):
        return
    update_stories(using, pk=instance.pk)


@receiver(post_save, sender=ArticleAuthor, dispatch_uid="search-vector-byline-saved")
@receiver(post_delete, sender=ArticleAuthor, dispatch_uid="search-vector-byline-deleted")
def byline_changed(sender, instance, using, **kwargs):
    if full_text_search_available(using):
        update_stories(using, pk=instance.article_id)


@receiver(m2m_changed, sender=Article.tags.through, dispatch_uid="search-vector-tags-changed")
def tags_changed(sender, instance, action, reverse, pk_set, using, **kwargs):
    if not full_text_search_available(using):
        return
    if not reverse:
        if action in ("post_add", "post_remove", "post_clear"):
            update_stories(using, pk=instance.pk)
    elif action == "pre_clear":
        # tag.articles.clear() does not say which stories it leaves: note them first.
        instance._stories_losing_tag = list(
            instance.articles.using(using).values_list("pk", flat=True)
        )
    elif action == "post_clear":
        update_stories(using, pk__in=instance.__dict__.pop("_stories_losing_tag", []))
    elif action in ("post_add", "post_remove") and pk_set:
        update_stories(using, pk__in=pk_set)


@receiver(post_init, sender=Author, dispatch_uid="search-vector-author-loaded")
@receiver(post_init, sender=Tag, dispatch_uid="search-vector-tag-loaded")
def remember_name(sender, instance, **kwargs):
    # Read from __dict__: touching a deferred name here would cost a query per instance.
    instance._name_when_loaded = instance.__dict__.get("name")


@receiver(post_save, sender=Author, dispatch_uid="search-vector-author-saved")
def author_saved(sender, instance, created, using, **kwargs):
    if created or not full_text_search_available(using):
        return
    # Saving a bio or a photo need not rewrite the vector of every story the author wrote.
    if instance.name != instance._name_when_loaded:
        update_stories(using, bylines__author=instance)
    instance._name_when_loaded = instance.name


@receiver(post_save, sender=Tag, dispatch_uid="search-vector-tag-saved")
def tag_saved(sender, instance, created, using, **kwargs):
    if created or not full_text_search_available(using):
        return
    if instance.name != instance._name_when_loaded:
        update_stories(using, tags=instance)
    instance._name_when_loaded = instance.name


@receiver(pre_delete, sender=Tag, dispatch_uid="search-vector-tag-deleting")
def tag_deleting(sender, instance, using, **kwargs):
    # Deleting a tag removes its links without an m2m_changed signal.
    if full_text_search_available(using):
        instance._stories_losing_tag = list(
            instance.articles.using(using).values_list("pk", flat=True)
        )


@receiver(post_delete, sender=Tag, dispatch_uid="search-vector-tag-deleted")
def tag_deleted(sender, instance, using, **kwargs):
    if full_text_search_available(using):
        update_stories(using, pk__in=instance.__dict__.pop("_stories_losing_tag", []))
