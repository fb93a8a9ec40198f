"""State changes to stories. The admin, the importer and the shell all come through here."""

from pathlib import Path

from django.core.files import File
from django.db import transaction
from django.utils.text import slugify

from articles.importer import ParsedStory
from articles.models import Article, Section
from photos.models import Photo, file_sha256


@transaction.atomic
def article_import(
    *,
    story: ParsedStory,
    import_key: str,
    section: Section | None = None,
    publish: bool = False,
    photo_path: Path | None = None,
) -> tuple[Article, bool]:
    """Create or update the story imported from one source file; return it and whether it is new.

    The same ``import_key`` (the source file's name) always updates the same story, so
    re-running an import never duplicates anything.
    """
    if section is None and story.section_name:
        section = section_for_name(story.section_name)
    article = Article.objects.filter(import_key=import_key).first()
    created = article is None
    if created:
        article = Article(import_key=import_key)
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
    article.save()
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
        photo = Photo.objects.filter(file_hash=digest).first()
        if photo is None:
            photo = Photo(file_hash=digest, title=title or caption[:255])
            photo.image.save(path.name, image, save=False)
    photo.caption = caption or photo.caption
    photo.credit = credit or photo.credit
    if title:
        photo.title = title
    photo.save()
    return photo
