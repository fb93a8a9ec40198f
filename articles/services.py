"""State changes to stories. The admin, the importer and the shell all come through here."""

from datetime import datetime, timedelta
from pathlib import Path

import reversion
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify
from reversion.models import Version

from accounts.names import display_name
from accounts.permissions import require_permission
from articles.importer import ParsedStory
from articles.models import Article, ArticleAuthor, PendingUpdate, Section, unique_slug
from articles.revisions import (
    IMPORT_COMMENT,
    Content,
    StoryEditedError,
    content_data,
    edit_since_import,
    overwritten_fields,
    stored_content,
    version_content,
)
from photos.models import Photo, file_sha256
from photos.services import photo_create_awaiting_file


@transaction.atomic
def article_import(
    *,
    story: ParsedStory,
    import_key: str,
    section: Section | None = None,
    publish: bool = False,
    photo_path: Path | None = None,
    force: bool = False,
) -> tuple[Article, bool]:
    """Create or update the story imported from one source file; return it and whether it is new.

    The same ``import_key`` (the source file's name) always updates the same story, so
    re-running an import never duplicates anything. Raise ``StoryEditedError``, saving
    nothing, when the story was edited since it was last imported, unless ``force``.
    Without ``photo_path``, a caption or credit in the story is kept on a library photo
    awaiting its image file, added once.
    """
    article = Article.objects.filter(import_key=import_key).first()
    created = article is None
    if created:
        article = Article(import_key=import_key)
    elif not force:
        fields = overwritten_fields(story, section=section, photo_path=photo_path)
        edit = edit_since_import(article, fields=fields)
        if edit is not None:
            raise StoryEditedError(edit)
    if section is None and story.section_name:
        section = section_for_name(story.section_name)
    article.headline = story.headline
    article.body = story.body_html
    article.byline = story.byline
    article.published_at = story.published_at
    if section is not None:
        article.section = section
    if publish:
        article.status = Article.Status.PUBLISHED
    if photo_path is not None:
        article.lead_photo = photo_for_file(photo_path, caption=story.caption, credit=story.credit)
    elif article.lead_photo_id is None and (story.caption or story.credit):
        article.lead_photo = photo_create_awaiting_file(caption=story.caption, credit=story.credit)
    with reversion.create_revision():
        article.save()
        reversion.set_comment(IMPORT_COMMENT + import_key)
    return article, created


def section_for_name(name: str) -> Section:
    """Return the section called ``name``, creating it if the newsroom has none yet."""
    section = Section.objects.filter(name__iexact=name).first()
    if section is None:
        section = Section.objects.create(name=name, slug=slugify(name, allow_unicode=True))
    return section


def photo_for_file(path: Path, *, caption: str, credit: str, title: str = "") -> Photo:
    """Return the library photo for the image at ``path``, adding it once however often imported."""
    with path.open("rb") as handle:
        image = File(handle, name=path.name)
        digest = file_sha256(image)
        # A stored file may have been cleaned (metadata stripped, rotated): match either hash.
        photo = Photo.objects.filter(Q(file_hash=digest) | Q(source_hash=digest)).first()
        if photo is None:
            photo = Photo(file_hash=digest, title=title or caption[:255])
            photo.image.save(path.name, image, save=False)
    photo.caption = caption or photo.caption
    photo.credit = credit or photo.credit
    if title:
        photo.title = title
    photo.save()
    return photo


# Workflow ---------------------------------------------------------------------------


class ChecklistError(ValidationError):
    """A story that is not ready to publish; ``problems`` lists everything missing."""

    def __init__(self, problems):
        self.problems = problems
        super().__init__(
            "This story cannot be published yet. Missing: " + "; ".join(problems) + "."
        )


def article_can_edit(*, user, article: Article) -> bool:
    """Return whether ``user`` may change ``article``: editors always, reporters own drafts."""
    if not user.has_perm("articles.change_article"):
        return False
    if user.has_perm("articles.publish_article"):
        return True
    if article.pk is None:
        return True
    is_own = article.created_by_id == user.pk or article.bylines.filter(author__user=user).exists()
    return is_own and article.status in (Article.Status.DRAFT, Article.Status.REVIEW)


def article_can_stage_update(*, user, article: Article) -> bool:
    """Return whether ``user`` may save an update to published ``article`` for later publication.

    Editors may; so may a reporter on their own published story, whose edits to a live
    story can only go this way, for an editor to publish.
    """
    if article.pk is None or article.status != Article.Status.PUBLISHED:
        return False
    if not user.has_perm("articles.change_article"):
        return False
    if user.has_perm("articles.publish_article"):
        return True
    return article.created_by_id == user.pk or article.bylines.filter(author__user=user).exists()


def article_can_work_on(*, user, article: Article) -> bool:
    """Return whether ``user`` may type into ``article``'s form: edit it, or stage an update."""
    return article_can_edit(user=user, article=article) or article_can_stage_update(
        user=user, article=article
    )


# What the lead photo lacks (Photo.missing_for_publishing), as an editor acts on it.
LEAD_PHOTO_NEEDS = {
    "image": "an image file for the lead photo (upload it, or remove the photo)",
    "credit": "a credit for the lead photo",
    "alt_text": "alt text for the lead photo (or mark it decorative)",
}


def article_publish_problems(article: Article) -> list[str]:
    """Return what stops ``article`` from being published, in words an editor acts on."""
    problems = []
    if not article.headline.strip():
        problems.append("a headline")
    if article.section_id is None:
        problems.append("a section")
    if not article.byline.strip() and not article.bylines.exists():
        problems.append("at least one byline (an author or a free-text byline)")
    if not article.body_text.strip():
        problems.append("body text")
    if article.lead_photo is not None:
        problems += [LEAD_PHOTO_NEEDS[need] for need in article.lead_photo.missing_for_publishing()]
    return problems


def record_revision(user, comment: str) -> None:
    reversion.set_user(user if getattr(user, "is_authenticated", False) else None)
    reversion.set_comment(comment)


@transaction.atomic
def article_submit_for_review(*, article: Article, user) -> Article:
    """Send a draft to the editors; the reporter can still change it while it waits."""
    if not article_can_edit(user=user, article=article):
        raise PermissionDenied("You cannot change this story.")
    if article.status not in (Article.Status.DRAFT, Article.Status.REVIEW):
        raise ValidationError("Only a draft can be submitted for review.")
    with reversion.create_revision():
        article.status = Article.Status.REVIEW
        article.save()
        record_revision(user, "Submitted for review")
    return article


@transaction.atomic
def article_publish(*, article: Article, user, at: datetime | None = None) -> Article:
    """Publish ``article`` now, or schedule it when ``at`` (or its publication time) is ahead.

    The first publication time is kept when a story is republished, so its URL and its
    place in feeds do not change.
    """
    require_permission(user, "articles.publish_article", "publish stories")
    problems = article_publish_problems(article)
    if problems:
        raise ChecklistError(problems)
    with reversion.create_revision():
        if at is not None:
            article.published_at = at
        elif article.published_at is None:
            article.published_at = timezone.now()
        article.status = Article.Status.PUBLISHED
        article.save()
        when = timezone.localtime(article.published_at).strftime("%d %b %Y %H:%M %Z")
        record_revision(user, f"Scheduled for {when}" if article.is_scheduled else "Published")
    return article


@transaction.atomic
def article_withdraw(*, article: Article, user) -> Article:
    """Take a published or scheduled story off the site; its address then answers 410 Gone."""
    require_permission(user, "articles.publish_article", "withdraw stories")
    if article.status != Article.Status.PUBLISHED:
        raise ValidationError("Only a published or scheduled story can be withdrawn.")
    with reversion.create_revision():
        article.status = Article.Status.WITHDRAWN
        article.save()
        record_revision(user, "Withdrawn")
    return article


@transaction.atomic
def article_return_to_draft(*, article: Article, user) -> Article:
    """Send a story in review, scheduled or withdrawn back to draft."""
    require_permission(user, "articles.publish_article", "change a story's status")
    with reversion.create_revision():
        article.status = Article.Status.DRAFT
        if article.published_at and article.published_at > timezone.now():
            article.published_at = None
        article.save()
        record_revision(user, "Returned to draft")
    return article


@transaction.atomic
def article_restore_version(*, article: Article, version: Version, user) -> list[str]:
    """Bring back the wording of ``version`` as a new revision; return what could not come back.

    Only content returns (headline, standfirst, body, bylines, tags, lead photo, caption,
    SEO fields): the status, publication time and address stay as they are, so restoring
    earlier wording never takes a live story off the site. Permission is judged on the
    story as it is in the database now, with the same rule as the change form.
    """
    article = Article.objects.select_for_update().get(pk=article.pk)
    if not article_can_edit(user=user, article=article):
        raise PermissionDenied("You cannot change this story.")
    if version.content_type.model_class() is not Article or version.object_id != str(article.pk):
        raise ValidationError("That version belongs to another story.")
    content = version_content(version)
    with reversion.create_revision():
        for name, value in content.fields.items():
            setattr(article, name, value)
        article.lead_photo_id = content.lead_photo_id
        article.save()
        set_tags_and_bylines(article, content)
        when = timezone.localtime(version.revision.date_created).strftime("%d %b %Y %H:%M %Z")
        record_revision(user, f"Restored the version of {when}")
    return content.missing


@transaction.atomic
def article_recover(*, version: Version, user) -> tuple[Article, list[str]]:
    """Bring a deleted story back from its last version, as a draft; return it and what is missing.

    A recovered story never reappears on the site by itself: an editor publishes it again.
    """
    require_permission(user, "articles.publish_article", "recover deleted stories")
    if version.content_type.model_class() is not Article:
        raise ValidationError("That version is not a story.")
    if Article.objects.filter(pk=version.object_id).exists():
        raise ValidationError("That story has not been deleted.")
    data = version.field_dict
    content = version_content(version)
    published_at = data.get("published_at")
    article = Article(
        pk=version.object_id,
        slug=unique_slug(data.get("slug") or content.fields["headline"]),
        status=Article.Status.DRAFT,
        # As when returning a story to draft: a past first publication keeps its date.
        published_at=published_at if published_at and published_at <= timezone.now() else None,
        section=Section.objects.filter(pk=data.get("section_id")).first(),
        story_type=data.get("story_type") or Article.StoryType.NEWS,
        lead_photo_id=content.lead_photo_id,
        created_by=get_user_model().objects.filter(pk=data.get("created_by_id")).first(),
        **content.fields,
    )
    with reversion.create_revision():
        article.save(force_insert=True)
        set_tags_and_bylines(article, content)
        record_revision(user, "Recovered after deletion, as a draft")
    return article, content.missing


def set_tags_and_bylines(article: Article, content: Content) -> None:
    """Give the saved ``article`` the tags and ordered bylines of ``content``, in its revision."""
    article.tags.set(content.tag_ids)
    article.bylines.all().delete()
    ArticleAuthor.objects.bulk_create(
        ArticleAuthor(article=article, author_id=author_id, position=position)
        for position, author_id in enumerate(content.author_ids)
    )
    # The revision holds the story as it was when saved, before these relations changed.
    reversion.add_to_revision(article)


# Pending updates to published stories -----------------------------------------------


@transaction.atomic
def article_stage_update(
    *, article: Article, user, content: Content, substantive: bool = False
) -> PendingUpdate:
    """Save ``content`` as the pending update of published ``article``, replacing any earlier one.

    Readers keep seeing the live story, and nothing is purged, until an editor publishes
    the update. The story's record still counts as changed, so that a form opened before
    cannot overwrite the update unseen.
    """
    article = Article.objects.select_for_update().get(pk=article.pk)
    if not article_can_stage_update(user=user, article=article):
        raise PermissionDenied("You cannot update this story.")
    now = timezone.now()
    update, _ = PendingUpdate.objects.update_or_create(
        article=article,
        defaults={
            "content": content_data(content),
            "substantive": substantive,
            "saved_by": user,
            "saved_at": now,
        },
    )
    # QuerySet.update(): no signals, so nothing readers see is purged or reindexed.
    Article.objects.filter(pk=article.pk).update(modified_at=now)
    return update


@transaction.atomic
def article_publish_update(*, article: Article, user) -> Article:
    """Show readers ``article``'s pending update, as a new revision; "Updated …" if substantive."""
    require_permission(user, "articles.publish_article", "publish updates")
    article = Article.objects.select_for_update().get(pk=article.pk)
    update = PendingUpdate.objects.filter(article=article).select_related("saved_by").first()
    if update is None:
        raise ValidationError("This story has no pending update to publish.")
    if article.status != Article.Status.PUBLISHED:
        raise ValidationError(
            "Only a published story's update can be published; this story is "
            f"{article.get_status_display().lower()}."
        )
    content = stored_content(update.content)
    with reversion.create_revision():
        for name, value in content.fields.items():
            setattr(article, name, value)
        for name, value in content.attributes.items():
            setattr(article, name, value)
        article.lead_photo_id = content.lead_photo_id
        if update.substantive:
            article.updated_at = timezone.now()
        article.save()
        set_tags_and_bylines(article, content)
        problems = article_publish_problems(article)
        if problems:
            raise ChecklistError(problems)
        record_revision(user, f"Published the update saved by {display_name(update.saved_by)}")
    update.delete()
    return article


@transaction.atomic
def article_discard_update(*, article: Article, user) -> None:
    """Throw away ``article``'s pending update; editors may, and whoever saved it."""
    update = PendingUpdate.objects.select_for_update().filter(article=article).first()
    if update is None:
        return
    if update.saved_by_id != user.pk:
        require_permission(user, "articles.publish_article", "discard someone else's update")
    update.delete()
    Article.objects.filter(pk=article.pk).update(modified_at=timezone.now())


PREVIEW_SALT = "articles.preview"
PREVIEW_MAX_AGE = timedelta(hours=48)


def article_preview_token(*, article: Article, user) -> str:
    """Return a signed token that shows ``article`` to anyone holding it for 48 hours."""
    require_permission(user, "articles.publish_article", "share previews")
    return signing.dumps({"article": article.pk}, salt=PREVIEW_SALT, compress=True)


def article_for_preview_token(token: str) -> Article:
    """Return the story a preview token points to; raise ``signing.BadSignature`` otherwise.

    ``signing.SignatureExpired`` (a subclass) tells an expired link from a forged one.
    """
    data = signing.loads(token, salt=PREVIEW_SALT, max_age=PREVIEW_MAX_AGE)
    return Article.objects.for_detail().get(pk=data["article"])
