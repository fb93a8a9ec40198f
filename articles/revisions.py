"""Read a story's saved versions as editors see them, and compare two of them word by word.

django-reversion stores each save as serialised rows; this module turns one version into
the content an editor recognises (headline, standfirst, paragraphs, bylines, tags, photo)
and marks what changed between two of them, or since a story was last imported.
Restoring lives in ``articles.services``.
"""

from dataclasses import dataclass, field
from datetime import datetime
from difflib import SequenceMatcher

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from reversion.models import Version

from accounts.names import display_name
from articles.html import html_to_text
from articles.importer import ParsedStory
from articles.models import Article, ArticleAuthor, Author, Section, Tag
from photos.models import Photo

# What a restore brings back: the story's words and pictures, never its workflow state
# (status, publication time) or its address (slug), which stay as they are now.
RESTORED_FIELDS = [
    "headline", "dek", "body", "byline", "lead_photo_caption", "seo_title", "seo_description",
]  # fmt: skip


@dataclass
class Content:
    """The parts of one version of a story that a restore brings back."""

    fields: dict[str, str]
    lead_photo_id: int | None
    tag_ids: list[int]
    author_ids: list[int]  # in byline order
    missing: list[str] = field(default_factory=list)  # named in a version, deleted since
    # Filing a pending update also carries (STAGED_ATTRIBUTES); a restore leaves them be.
    attributes: dict = field(default_factory=dict)

    @property
    def paragraphs(self) -> list[str]:
        return html_to_text(self.fields["body"]).split("\n\n") if self.fields["body"] else []


# What a pending update carries besides the restorable content: the story's address and
# filing, which an update may change. Never the publication time or the workflow state.
STAGED_ATTRIBUTES = ("slug", "section_id", "story_type", "language", "featured")


def content_data(content: Content) -> dict:
    """Return ``content`` as JSON-ready data, for a pending update to store."""
    return {
        "fields": content.fields,
        "lead_photo_id": content.lead_photo_id,
        "tag_ids": content.tag_ids,
        "author_ids": content.author_ids,
        "attributes": content.attributes,
    }


def stored_content(data: dict) -> Content:
    """Return the content ``content_data()`` stored, less photos, tags and authors deleted since."""
    lead_photo_id = data.get("lead_photo_id")
    tag_ids = [int(pk) for pk in data.get("tag_ids") or []]
    author_ids = [int(pk) for pk in data.get("author_ids") or []]
    tags = Tag.objects.in_bulk(tag_ids)
    authors = Author.objects.in_bulk(author_ids)
    return Content(
        fields={name: (data.get("fields") or {}).get(name) or "" for name in RESTORED_FIELDS},
        lead_photo_id=(
            lead_photo_id
            if lead_photo_id and Photo.objects.filter(pk=lead_photo_id).exists()
            else None
        ),
        tag_ids=[pk for pk in tag_ids if pk in tags],
        author_ids=[pk for pk in author_ids if pk in authors],
        attributes={
            name: value
            for name, value in (data.get("attributes") or {}).items()
            if name in STAGED_ATTRIBUTES
        },
    )


def article_versions(article: Article):
    """Return the saved versions of ``article``, newest first."""
    return Version.objects.get_for_object(article).select_related("revision__user")


def article_version(article: Article, version_id) -> Version | None:
    """Return the version ``version_id`` if it is one of ``article``'s, else None."""
    try:
        return article_versions(article).filter(pk=int(version_id)).first()
    except (TypeError, ValueError, OverflowError):
        return None


def version_content(version: Version) -> Content:
    """Return the restorable content of ``version``, noting related items deleted since."""
    data = version.field_dict
    byline_type = ContentType.objects.get_for_model(ArticleAuthor)
    bylines = sorted(
        (
            byline.field_dict
            for byline in version.revision.version_set.filter(content_type=byline_type)
        ),
        key=lambda byline: (byline["position"], byline["id"]),
    )
    bylines = [byline for byline in bylines if str(byline["article_id"]) == version.object_id]
    wanted_authors = [byline["author_id"] for byline in bylines]
    authors = Author.objects.in_bulk(wanted_authors)
    wanted_tags = [int(pk) for pk in data.get("tags") or []]
    tags = Tag.objects.in_bulk(wanted_tags)
    photo_id = data.get("lead_photo_id")
    content = Content(
        fields={name: data.get(name) or "" for name in RESTORED_FIELDS},
        lead_photo_id=photo_id if photo_id and Photo.objects.filter(pk=photo_id).exists() else None,
        tag_ids=[pk for pk in wanted_tags if pk in tags],
        author_ids=[pk for pk in wanted_authors if pk in authors],
    )
    if photo_id and content.lead_photo_id is None:
        content.missing.append(f"the lead photo (no. {photo_id}), since deleted from the library")
    deleted_tags = len(wanted_tags) - len(content.tag_ids)
    if deleted_tags:
        content.missing.append(
            f"{deleted_tags} tag{'s' if deleted_tags > 1 else ''}, since deleted"
        )
    deleted_authors = len(wanted_authors) - len(content.author_ids)
    if deleted_authors:
        content.missing.append(
            f"{deleted_authors} byline{'s' if deleted_authors > 1 else ''} "
            "whose author has since been deleted"
        )
    return content


def current_content(article: Article) -> Content:
    """Return ``article`` as it is in the database now, in the shape of a version's content."""
    return Content(
        fields={name: getattr(article, name) or "" for name in RESTORED_FIELDS},
        lead_photo_id=article.lead_photo_id,
        tag_ids=list(article.tags.order_by("name").values_list("pk", flat=True)),
        author_ids=list(
            article.bylines.order_by("position", "id").values_list("author", flat=True)
        ),
        attributes={name: getattr(article, name) for name in STAGED_ATTRIBUTES},
    )


@dataclass
class Change:
    """One line of a comparison: a field's label and its old and new values marked up."""

    label: str
    changed: bool
    html: SafeString


def compare(old: Content, new: Content) -> list[Change]:
    """Return every restorable part of a story, marking what changed from ``old`` to ``new``."""
    authors = Author.objects.in_bulk(old.author_ids + new.author_ids)
    tags = Tag.objects.in_bulk(old.tag_ids + new.tag_ids)
    photos = Photo.objects.in_bulk([pk for pk in (old.lead_photo_id, new.lead_photo_id) if pk])

    def text(name, label):
        before, after = old.fields[name], new.fields[name]
        return Change(label, before != after, word_diff(before, after))

    def photo_name(pk):
        if pk is None:
            return []
        photo = photos.get(pk)
        if photo is None:
            return [f"a photo since deleted (no. {pk})"]
        return [f"{photo.title or photo.caption[:60] or 'Untitled'} (no. {pk})"]

    changes = [
        text("headline", "Headline"),
        text("dek", "Standfirst"),
        Change(
            "Body",
            old.paragraphs != new.paragraphs,
            paragraphs_diff(old.paragraphs, new.paragraphs),
        ),
        list_change(
            "Bylines",
            [str(authors[pk]) for pk in old.author_ids],
            [str(authors[pk]) for pk in new.author_ids],
        ),
        text("byline", "Free-text byline"),
        list_change(
            "Tags", [str(tags[pk]) for pk in old.tag_ids], [str(tags[pk]) for pk in new.tag_ids]
        ),
        list_change("Lead photo", photo_name(old.lead_photo_id), photo_name(new.lead_photo_id)),
        text("lead_photo_caption", "Lead photo caption"),
        text("seo_title", "SEO title"),
        text("seo_description", "SEO description"),
    ]
    if old.attributes and new.attributes:
        changes += attribute_changes(old.attributes, new.attributes)
    return changes


def attribute_changes(old: dict, new: dict) -> list[Change]:
    """Return the comparison of two stories' address and filing (pending updates carry them)."""
    sections = Section.objects.in_bulk(
        [pk for pk in (old.get("section_id"), new.get("section_id")) if pk]
    )

    def section_name(pk):
        return [str(sections[pk])] if pk in sections else []

    def story_type(value):
        return [Article.StoryType(value).label] if value in Article.StoryType.values else []

    changes = {
        "section_id": lambda before, after: list_change(
            "Section", section_name(before), section_name(after)
        ),
        "story_type": lambda before, after: list_change(
            "Story type", story_type(before), story_type(after)
        ),
        "slug": lambda before, after: Change(
            "Address (slug)", before != after, word_diff(before or "", after or "")
        ),
        "featured": lambda before, after: list_change(
            "Featured", ["featured"] if before else [], ["featured"] if after else []
        ),
    }
    # Either side may lack an attribute (a field the form showed read-only): not compared.
    return [
        change(old[name], new[name])
        for name, change in changes.items()
        if name in old and name in new
    ]


def word_diff(old: str, new: str) -> SafeString:
    """Return ``new`` as HTML with words added since ``old`` in ``<ins>``, removed in ``<del>``."""
    old_words, new_words = old.split(), new.split()
    parts = []
    matcher = SequenceMatcher(a=old_words, b=new_words, autojunk=False)
    for operation, old_start, old_end, new_start, new_end in matcher.get_opcodes():
        removed = escape(" ".join(old_words[old_start:old_end]))
        added = escape(" ".join(new_words[new_start:new_end]))
        if operation == "equal":
            parts.append(added)
            continue
        if removed:
            parts.append(f"<del>{removed}</del>")
        if added:
            parts.append(f"<ins>{added}</ins>")
    return mark_safe(" ".join(parts))


def paragraphs_diff(old: list[str], new: list[str]) -> SafeString:
    """Return the paragraphs of ``new`` as HTML, each marked word by word against ``old``."""
    paragraphs = []
    matcher = SequenceMatcher(a=old, b=new, autojunk=False)
    for operation, old_start, old_end, new_start, new_end in matcher.get_opcodes():
        before, after = old[old_start:old_end], new[new_start:new_end]
        if operation == "equal":
            paragraphs += [(paragraph, "") for paragraph in map(escape, after)]
            continue
        # Changed paragraphs are compared in pairs; extra ones on either side were added
        # or removed whole.
        for index in range(max(len(before), len(after))):
            if index < len(before) and index < len(after):
                paragraphs.append((word_diff(before[index], after[index]), "changed"))
            elif index < len(after):
                paragraphs.append((format_html("<ins>{}</ins>", after[index]), "added"))
            else:
                paragraphs.append((format_html("<del>{}</del>", before[index]), "removed"))
    return format_html_join(
        "\n", '<p class="diff-paragraph {}">{}</p>', ((kind, html) for html, kind in paragraphs)
    )


def list_change(label: str, old: list[str], new: list[str]) -> Change:
    """Return a comparison of two ordered lists of names: kept, added and removed ones."""
    items = []
    matcher = SequenceMatcher(a=old, b=new, autojunk=False)
    for operation, old_start, old_end, new_start, new_end in matcher.get_opcodes():
        if operation == "equal":
            items += [format_html("{}", name) for name in new[new_start:new_end]]
            continue
        items += [format_html("<del>{}</del>", name) for name in old[old_start:old_end]]
        items += [format_html("<ins>{}</ins>", name) for name in new[new_start:new_end]]
    html = format_html_join(", ", "{}", ((item,) for item in items)) if items else "—"
    return Change(label, old != new, html)


# Re-imports ---------------------------------------------------------------------------

IMPORT_COMMENT = "Imported from "
# What every re-import writes over; the section and the lead photo only when it sets them.
OVERWRITTEN_FIELDS = ("headline", "body", "byline", "published_at")


@dataclass(frozen=True)
class EditSinceImport:
    """The last change an editor made to an imported story: who, and when."""

    article: Article
    editor: str
    edited_at: datetime

    def describe(self, source: str) -> str:
        """Return ``source: "headline" edited by <name> at <time>``, for the import's report."""
        when = timezone.localtime(self.edited_at).strftime("%d %b %Y %H:%M %Z")
        return f'{source}: "{self.article.headline}" edited by {self.editor} at {when}'


class StoryEditedError(Exception):
    """A re-import refused because the story was edited since it was last imported."""

    def __init__(self, edit: EditSinceImport):
        super().__init__(edit.describe(edit.article.import_key or str(edit.article.pk)))
        self.edit = edit


def overwritten_fields(story: ParsedStory, *, section, photo_path) -> list[str]:
    """Return the fields (attribute names) importing ``story`` with these options replaces."""
    return [
        *OVERWRITTEN_FIELDS,
        *(["section_id"] if section is not None or story.section_name else []),
        *(["lead_photo_id"] if photo_path is not None else []),
    ]


def edit_since_import(article: Article, *, fields: list[str]) -> EditSinceImport | None:
    """Return the last edit to ``fields`` of ``article`` since its last import, or None.

    What the story holds now is compared with what the last import saved, as its revision
    history records it: a save that changed none of ``fields`` (publishing it, adding a
    tag) is no reason to refuse, and a change saved without a revision (from the shell)
    is still found. The editor named is the author of the newest revision not made by an
    import.
    """
    versions = list(article_versions(article))  # newest first
    imported_at = next(
        (index for index, version in enumerate(versions) if is_import(version.revision)), None
    )
    if imported_at is not None:
        saved = versions[imported_at].field_dict
        if all(getattr(article, name) == saved.get(name) for name in fields):
            return None
        since = versions[:imported_at]
    else:
        # No import on record (its history was pruned): any revision by a person counts.
        since = versions
    edits = [version.revision for version in since if not is_import(version.revision)]
    if edits:
        editor = display_name(edits[0].user, nobody="someone unnamed")
        return EditSinceImport(article=article, editor=editor, edited_at=edits[0].date_created)
    if imported_at is None:
        return None
    return EditSinceImport(
        article=article,
        editor="someone outside the admin (no revision was recorded)",
        edited_at=article.modified_at,
    )


def is_import(revision) -> bool:
    """Return whether ``revision`` was saved by an import rather than by a person."""
    return revision.user_id is None and revision.comment.startswith(IMPORT_COMMENT)
