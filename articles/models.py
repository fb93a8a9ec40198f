import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import quote

import reversion
from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.core.cache import cache
from django.core.validators import RegexValidator
from django.db import connection, models
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, Subquery, Value
from django.db.models.functions import Coalesce, Concat, NullIf, Trim
from django.urls import get_resolver, get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.text import slugify

from articles.html import html_to_text, sanitize_html

NAVIGATION_CACHE_KEY = "articles:navigation-sections"
# Languages written right to left (their primary language subtags), as browsers know them.
RIGHT_TO_LEFT_LANGUAGES = {
    "ar", "arc", "ckb", "dv", "fa", "ha", "he", "khw", "ks", "ku", "ps", "sd", "ur", "yi",
}  # fmt: skip

# What a slug may hold, as the story route's pattern and SlugField(allow_unicode) say.
SLUG_PATTERN = re.compile(r"[-\w]+")
SLUG_PLACEHOLDER = "slug-placeholder"
DATE_PLACEHOLDER = {"year": "0000", "month": "00", "day": "00"}
# The characters reverse() leaves unquoted in a path (the "pchar" of RFC 3986).
PATH_SAFE_CHARACTERS = RFC3986_SUBDELIMS + "/~:@"


def slug_path(viewname, slug, date=None):
    """Return the path ``reverse(viewname)`` gives for ``slug`` (and ``date``, if dated).

    Every story card links its story and its authors, and ``reverse()`` costs tens of
    microseconds a call, so each route is reversed once per URLconf and script prefix
    and then filled in. A slug the route might refuse goes through ``reverse()`` itself.
    """
    if not SLUG_PATTERN.fullmatch(slug):
        kwargs = {"slug": slug}
        if date is not None:
            kwargs.update(year=f"{date.year:04d}", month=f"{date.month:02d}", day=f"{date.day:02d}")
        return reverse(viewname, kwargs=kwargs)
    head, tail = slug_route(
        viewname, get_script_prefix(), get_resolver(get_urlconf()), dated=date is not None
    )
    if not slug.isascii():
        slug = quote(slug, safe=PATH_SAFE_CHARACTERS)
    if date is None:
        return f"{head}{slug}{tail}"
    return f"{head}{date.year:04d}/{date.month:02d}/{date.day:02d}/{slug}{tail}"


@lru_cache(maxsize=64)
def slug_route(viewname, script_prefix, resolver, *, dated):
    """Return what ``reverse(viewname)`` writes before and after the (date and) slug."""
    placeholder = SLUG_PLACEHOLDER
    kwargs = {"slug": SLUG_PLACEHOLDER}
    if dated:
        placeholder = "/".join(DATE_PLACEHOLDER.values()) + "/" + SLUG_PLACEHOLDER
        kwargs.update(DATE_PLACEHOLDER)
    head, found, tail = reverse(viewname, kwargs=kwargs).rpartition(placeholder)
    if not found:
        raise ValueError(f"The path of {viewname} does not end in its date and slug.")
    return head, tail


class SectionQuerySet(models.QuerySet):
    def navigation(self):
        """Return the sections for the site navigation as a list, cached until one changes.

        ``frontcache.invalidation`` forgets the cached list when a section changes.
        """
        sections = cache.get(NAVIGATION_CACHE_KEY)
        if sections is None:
            sections = list(self.all())
            cache.set(NAVIGATION_CACHE_KEY, sections, timeout=None)
        return sections


class Section(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True, allow_unicode=True)
    description = models.TextField(blank=True, help_text="Shown at the top of the section page.")
    order = models.PositiveSmallIntegerField(
        default=0, help_text="Sections are listed in the navigation from low to high."
    )

    objects = SectionQuerySet.as_manager()

    class Meta:
        ordering = ["order", "name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return slug_path("articles:section_detail", self.slug)

    @property
    def name_in_sentence(self):
        """Return the name as it reads mid-sentence: "Follow the Loop", not "Follow The Loop"."""
        first, _, rest = self.name.partition(" ")
        return f"the {rest}" if first == "The" and rest else self.name


class Tag(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True, allow_unicode=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return slug_path("articles:tag_detail", self.slug)


class Author(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True, allow_unicode=True)
    initials = models.CharField(
        max_length=10,
        blank=True,
        help_text='Used where the house style signs off with initials, e.g. "AM".',
    )
    role = models.CharField(
        "role or title", max_length=200, blank=True, help_text='e.g. "Middle East correspondent".'
    )
    bio = models.TextField(blank=True)
    photo = models.ForeignKey(
        "photos.Photo", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    email = models.EmailField(blank=True, help_text="Public contact address, if any.")
    website = models.URLField(blank=True)
    twitter = models.URLField("X / Twitter profile", blank=True)
    facebook = models.URLField("Facebook profile", blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="author",
        help_text="The staff login of this author, if they have one.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return slug_path("articles:author_detail", self.slug)


# What a story card shows ({% story_card %}, articles/templatetags/story.py): headline, standfirst,
# label, date and address, free-text byline, section and photo. Not the body, which is
# most of a story's row.
CARD_FIELDS = (
    "headline", "slug", "dek", "byline", "story_type", "language", "published_at", "section",
    "lead_photo",
)  # fmt: skip
# What a feed item carries besides: the whole story, its summary and its last update.
FEED_FIELDS = (*CARD_FIELDS, "body", "seo_description", "lead_photo_caption", "updated_at")
# What a byline shows of an author: the name, linked to their page.
BYLINE_AUTHOR_FIELDS = ("name", "slug")
RELATED_STORIES = 4
# Enough that the stories sharing the most tags are almost always among them.
RELATED_CANDIDATES_PER_SOURCE = 100


def presence_cutoff(now):
    """Return the time before which a silent story form counts as closed, and its lock as free."""
    return now - timedelta(seconds=settings.EDITING_LOCK_SECONDS)


def is_public_at(status, published_at, now):
    """Return whether a story with this status and publication time is public at ``now``."""
    return status == Article.Status.PUBLISHED and published_at is not None and published_at <= now


def is_scheduled_at(status, published_at, now):
    """Return whether a story with this status and publication time goes live after ``now``."""
    return status == Article.Status.PUBLISHED and published_at is not None and published_at > now


class ArticleQuerySet(models.QuerySet):
    # published() and scheduled() are the queries of is_public_at() and is_scheduled_at().

    def published(self):
        """Return the stories readers may see: published, and not scheduled for later."""
        return self.filter(status=Article.Status.PUBLISHED, published_at__lte=timezone.now())

    def scheduled(self):
        """Return the stories set to go live later: published, with a publication time ahead."""
        return self.filter(status=Article.Status.PUBLISHED, published_at__gt=timezone.now())

    def related_to(self, article):
        """Return these stories ranked by how many tags they share with ``article``, then newest.

        Candidates are the newest stories of each of its tags and of its section, found
        through their indexes; only they are ranked. Ranking every public story that shares
        anything with this one cost a join over the whole archive on every story page.
        ``article.tags.all()`` should be prefetched (``for_detail()``).
        """
        tag_ids = [tag.pk for tag in article.tags.all()]
        others = self.exclude(pk=article.pk).order_by("-published_at")
        sources = [others.filter(tags=tag_id) for tag_id in tag_ids]
        if article.section_id is not None:
            sources.append(others.filter(section_id=article.section_id))
        if not sources:
            return self.none()
        first, *rest = [source.values("pk")[:RELATED_CANDIDATES_PER_SOURCE] for source in sources]
        candidates = first.union(*rest, all=True)
        if rest and not connection.features.supports_slicing_ordering_in_compound:
            # SQLite (make run) refuses LIMIT inside a UNION: one small query per source there.
            candidates = {row["pk"] for source in (first, *rest) for row in source}
        shared_tags = (
            Article.tags.through.objects.filter(article=OuterRef("pk"), tag__in=tag_ids)
            .order_by()
            .values("article")
            .annotate(count=Count("*"))
            .values("count")
        )
        return (
            self.model.objects.filter(pk__in=candidates)
            .annotate(shared_tags=Coalesce(Subquery(shared_tags), 0))
            .order_by("-shared_tags", "-published_at", "-pk")
        )

    def home_candidates(self, count):
        """Return (pk, featured, section_id) of the ``count`` newest stories, newest first.

        What the home page ranks its stories by. Only the newest are candidates: sorting
        every story ever published by featured flag or per section took 200 ms at 100,000
        stories, and a home page shows recent news, so older featured stories no longer lead.
        Three small columns each; the stories shown are then loaded whole.
        """
        oldest_candidate = Coalesce(
            Subquery(self.order_by("-published_at").values("published_at")[count - 1 : count]),
            Value(datetime.min.replace(tzinfo=UTC)),
        )
        return (
            self.filter(published_at__gte=oldest_candidate)
            .order_by("-published_at", "-pk")
            .values_list("pk", "featured", "section_id")
        )

    def with_editing_marks(self):
        """Annotate ``editing_by`` (who holds the lock now) and ``has_pending_update``."""
        holder = EditingSession.objects.filter(
            article=OuterRef("pk"), holds_lock=True, last_seen__gte=presence_cutoff(timezone.now())
        )
        full_name = Trim(Concat("user__first_name", Value(" "), "user__last_name"))
        name = Coalesce(NullIf(full_name, Value("")), "user__username")
        return self.annotate(
            editing_by=Subquery(holder.annotate(name=name).values("name")[:1]),
            has_pending_update=Exists(PendingUpdate.objects.filter(article=OuterRef("pk"))),
        )

    def for_card(self):
        """Return stories with the columns, section and lead photo a story card shows."""
        return self.only(*CARD_FIELDS).select_related("section", "lead_photo")

    def with_bylines(self):
        """Return stories with ``ordered_authors``, their bylined authors in order, in one query.

        The authors as a plain list, each with only what a byline shows: through the
        ``bylines`` manager, a page of forty stories built twice as many objects and filled
        a manager per story, and that cost more than its query.
        """
        authors = Author.objects.only(*BYLINE_AUTHOR_FIELDS).order_by(
            "bylines__position", "bylines__id"
        )
        return self.prefetch_related(
            Prefetch("authors", queryset=authors, to_attr="ordered_authors")
        )

    def for_listing(self):
        """Return whole stories with section, lead photo and bylines, in two queries."""
        # The search vector is only read by the database; don't ship it to every page.
        return self.defer("search_vector").select_related("section", "lead_photo").with_bylines()

    def for_detail(self):
        """Return stories with everything the article page shows, in a fixed number of queries.

        Bylines, tags and corrections fill the related managers (``article.tags.all()``),
        which the page's structured data reads.
        """
        return (
            self.defer("search_vector")
            .select_related("section", "lead_photo")
            .prefetch_related(
                Prefetch("bylines", queryset=bylines_in_order()),
                Prefetch("tags", queryset=Tag.objects.order_by("name")),
                Prefetch("corrections", queryset=Correction.objects.order_by("published_at")),
            )
        )

    def for_feed(self):
        """Return stories with what a feed item carries, each relation as a list.

        ``ordered_authors``, ``ordered_tags`` and ``ordered_corrections``: plain lists, as
        ``with_bylines()`` explains, for thirty stories a request.
        """
        return (
            self.only(*FEED_FIELDS)
            .select_related("section", "lead_photo")
            .with_bylines()
            .prefetch_related(
                Prefetch("tags", queryset=Tag.objects.order_by("name"), to_attr="ordered_tags"),
                Prefetch(
                    "corrections",
                    queryset=Correction.objects.order_by("published_at"),
                    to_attr="ordered_corrections",
                ),
            )
        )


def bylines_in_order():
    """Return bylines with their authors in the order the story shows them."""
    return ArticleAuthor.objects.select_related("author", "author__photo").order_by("position")


@reversion.register(follow=["bylines"], exclude=["search_vector"])
class Article(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        REVIEW = "review", "In review"
        PUBLISHED = "published", "Published"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class StoryType(models.TextChoices):
        NEWS = "news", "News"
        ANALYSIS = "analysis", "Analysis"
        OPINION = "opinion", "Opinion"
        SPONSORED = "sponsored", "Sponsored"

    headline = models.CharField(max_length=255)
    slug = models.SlugField(
        max_length=255,
        unique=True,
        blank=True,
        allow_unicode=True,
        error_messages={
            "unique": "Another story already uses this slug. Change it, e.g. by adding a word."
        },
        help_text="The last part of the story's address. Made from the headline if left empty.",
    )
    dek = models.TextField(
        "standfirst", blank=True, help_text="One or two sentences under the headline."
    )
    body = models.TextField(blank=True, help_text="The story. Unsafe HTML is removed on save.")
    section = models.ForeignKey(
        Section, on_delete=models.PROTECT, null=True, blank=True, related_name="articles"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="articles")
    authors = models.ManyToManyField(
        Author, through="ArticleAuthor", blank=True, related_name="articles"
    )
    byline = models.CharField(
        "free-text byline",
        max_length=200,
        blank=True,
        help_text='Shown as written, after any authors: "AM", "Staff", "AFP".',
    )
    lead_photo = models.ForeignKey(
        "photos.Photo", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    lead_photo_caption = models.TextField(
        "lead photo caption",
        blank=True,
        help_text="Replaces the photo's own caption for this story only.",
    )
    language = models.CharField(
        max_length=35,
        blank=True,
        validators=[
            RegexValidator(
                r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$",
                "Write a language tag such as “ar”, “fr” or “pt-BR”.",
            )
        ],
        help_text="The story's language, if not the site's: “ar” for Arabic, “fr” for French.",
    )
    story_type = models.CharField(
        max_length=20, choices=StoryType.choices, default=StoryType.NEWS,
        help_text="Shown to readers as a label, except for plain news.",
    )  # fmt: skip
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    published_at = models.DateTimeField(
        "published",
        null=True,
        blank=True,
        help_text="First publication. A time in the future schedules the story.",
    )
    updated_at = models.DateTimeField(
        "updated",
        null=True,
        blank=True,
        help_text='Last substantive update, shown to readers as "Updated …".',
    )
    withdrawn_at = models.DateTimeField(
        "withdrawn",
        null=True,
        blank=True,
        editable=False,
        help_text="When the story was taken off the site; empty unless it is withdrawn.",
    )
    featured = models.BooleanField(default=False, help_text="Lead the home page with this story.")
    seo_title = models.CharField(
        "SEO title",
        max_length=200,
        blank=True,
        help_text="For search engines; the headline if empty.",
    )
    seo_description = models.CharField(
        "SEO description",
        max_length=300,
        blank=True,
        help_text="For search engines and social cards; the standfirst if empty.",
    )
    import_key = models.CharField(
        max_length=255, null=True, blank=True, unique=True, editable=False,
        help_text="Identifies the source file of an imported story, so re-imports update it.",
    )  # fmt: skip
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="created_articles",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField(auto_now=True)
    search_vector = SearchVectorField(null=True, editable=False)

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-id"]
        permissions = [
            ("publish_article", "Can publish, schedule and withdraw stories"),
        ]
        indexes = [
            models.Index(fields=["status", "-published_at"], name="article_status_published"),
            models.Index(
                fields=["section", "status", "-published_at"], name="article_section_published"
            ),
            models.Index(fields=["-published_at"], name="article_published_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status__in=["published", "withdrawn"]) | Q(published_at__isnull=False),
                name="article_published_needs_date",
                violation_error_message="A published or withdrawn story needs a publication time.",
            ),
        ]

    def __str__(self):
        return self.headline

    def save(self, *args, **kwargs):
        self.body = sanitize_html(self.body)
        # Kept on every path (services, shell, bulk tools that save): the withdrawn page
        # depends on whether readers ever saw the story.
        if self.status != self.Status.WITHDRAWN:
            self.withdrawn_at = None
        elif self.withdrawn_at is None:
            self.withdrawn_at = timezone.now()
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "withdrawn_at"}
        if not self.slug:
            self.slug = unique_slug(self.headline, exclude_pk=self.pk)
        old_path = self.previous_public_path()
        super().save(*args, **kwargs)
        if old_path and old_path != self.get_absolute_url():
            # Readers, feeds and search engines hold the old address: keep it working.
            ArticleRedirect.objects.update_or_create(old_path=old_path, defaults={"article": self})
        ArticleRedirect.objects.filter(old_path=self.get_absolute_url()).delete()

    def get_absolute_url(self):
        """Return the story's address: its publication date in the site's zone, then its slug."""
        published_at = timezone.localtime(self.published_at or timezone.now())
        return slug_path("articles:article_detail", self.slug, date=published_at)

    def previous_public_path(self):
        """Return the address the story had before this save, if it had been published."""
        if self.pk is None:
            return None
        before = Article.objects.filter(pk=self.pk).only("slug", "published_at", "status").first()
        if (
            before is None
            or before.published_at is None
            or before.status
            not in (
                self.Status.PUBLISHED,
                self.Status.WITHDRAWN,
            )
        ):
            return None
        return before.get_absolute_url()

    def related(self):
        """Return a few public stories sharing the most tags with this one, then the newest."""
        return list(Article.objects.published().related_to(self).for_card()[:RELATED_STORIES])

    @property
    def status_label(self):
        """Return the status as the newsroom says it: Scheduled for a future publication."""
        if self.is_scheduled:
            return "Scheduled"
        return self.get_status_display()

    @property
    def language_code(self):
        """Return the story's language tag: its own, else the site's."""
        return self.language or settings.LANGUAGE_CODE

    @property
    def text_direction(self):
        """Return "rtl" for a story in a language written right to left, else "ltr"."""
        primary = self.language_code.split("-")[0].lower()
        return "rtl" if primary in RIGHT_TO_LEFT_LANGUAGES else "ltr"

    @property
    def is_public(self):
        """Return whether readers may see the story now (``ArticleQuerySet.published()``)."""
        return is_public_at(self.status, self.published_at, timezone.now())

    @property
    def is_scheduled(self):
        """Return whether the story goes live later by itself (``ArticleQuerySet.scheduled()``)."""
        return is_scheduled_at(self.status, self.published_at, timezone.now())

    @property
    def was_public(self):
        """Return whether readers could see the story before it was withdrawn."""
        return (
            self.withdrawn_at is not None
            and self.published_at is not None
            and self.published_at <= self.withdrawn_at
        )

    @property
    def lead_caption(self):
        """Return the caption readers see under the lead photo: the override, else the photo's."""
        if self.lead_photo_caption:
            return self.lead_photo_caption
        return self.lead_photo.caption if self.lead_photo else ""

    @property
    def body_text(self):
        return html_to_text(self.body)

    @property
    def summary(self):
        """Return one line describing the story: SEO description, standfirst or first paragraph."""
        if self.seo_description or self.dek:
            return self.seo_description or self.dek
        first_paragraph, _, _ = self.body_text.partition("\n\n")
        return first_paragraph

    @property
    def story_label(self):
        """Return the label shown to readers, or an empty string for plain news."""
        return "" if self.story_type == self.StoryType.NEWS else self.get_story_type_display()

    def byline_parts(self):
        """Return the byline as shown: ordered authors, then the free-text byline.

        Uses the authors ``with_bylines()`` or the bylines ``for_detail()`` loaded, so that a
        page of stories costs no extra query per story.
        """
        authors = getattr(self, "ordered_authors", None)
        if authors is None:
            authors = [byline.author for byline in self.bylines.all()]
        parts = list(authors)
        if self.byline:
            parts.append(self.byline)
        return parts


class ArticleRedirect(models.Model):
    """An address a published story used to have, answered with a permanent redirect."""

    old_path = models.CharField(max_length=400, unique=True)
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="redirects")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.old_path} → {self.article}"


@reversion.register()
class ArticleAuthor(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="bylines")
    author = models.ForeignKey(Author, on_delete=models.PROTECT, related_name="bylines")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "byline"
        constraints = [
            models.UniqueConstraint(fields=["article", "author"], name="byline_unique_author"),
        ]

    def __str__(self):
        return str(self.author)


class Correction(models.Model):
    class Kind(models.TextChoices):
        CORRECTION = "correction", "Correction"
        CLARIFICATION = "clarification", "Clarification"

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="corrections")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.CORRECTION)
    text = models.TextField(help_text="What was wrong and what is right, in plain words.")
    published_at = models.DateTimeField("date", default=timezone.now)

    class Meta:
        ordering = ["-published_at", "-id"]
        indexes = [models.Index(fields=["-published_at"], name="correction_published_at")]

    def __str__(self):
        return f"{self.get_kind_display()} to {self.article}"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        # A correction is a substantive update: readers see "Updated …" on the story.
        Article.objects.filter(pk=self.article_id).filter(
            Q(updated_at__isnull=True) | Q(updated_at__lt=self.published_at)
        ).update(updated_at=self.published_at, modified_at=timezone.now())


def unique_slug(text, *, exclude_pk=None, max_length=255):
    """Return a slug for ``text`` that no other story uses, adding -2, -3 … on collision."""
    base = slugify(text, allow_unicode=True)[: max_length - 10].strip("-") or "story"
    candidate = base
    taken = Article.objects.filter(slug__startswith=base)
    if exclude_pk:
        taken = taken.exclude(pk=exclude_pk)
    taken_slugs = set(taken.values_list("slug", flat=True))
    suffix = 2
    while candidate in taken_slugs:
        candidate = f"{base}-{suffix}"
        suffix += 1
    return candidate


# Working on a story: unsaved work, who has it open, updates waiting to go live ----------


class WorkingCopy(models.Model):
    """One person's unsaved edits to a story, or to a story not saved yet, kept by autosave.

    Private to that person, one per person and story, replaced by each autosave; readers,
    revisions and the front cache never see it. A story never saved is known by the
    ``draft_key`` its add form carried.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="working_copies"
    )
    article = models.ForeignKey(
        Article, on_delete=models.CASCADE, null=True, blank=True, related_name="working_copies"
    )
    draft_key = models.CharField(max_length=32, blank=True)
    form_data = models.JSONField(help_text="The form's fields as sent: [name, value] pairs.")
    headline = models.CharField(max_length=255, blank=True)
    based_on = models.DateTimeField(
        null=True, blank=True, help_text="When the story was last saved before these edits."
    )
    saved_at = models.DateTimeField()

    class Meta:
        ordering = ["-saved_at"]
        verbose_name_plural = "working copies"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "article"],
                condition=Q(article__isnull=False),
                name="working_copy_one_per_story",
            ),
            models.UniqueConstraint(
                fields=["user", "draft_key"],
                condition=Q(article__isnull=True),
                name="working_copy_one_per_new_story",
            ),
        ]

    def __str__(self):
        return f"Unsaved changes to {self.headline or 'an untitled story'}"


class EditingSession(models.Model):
    """Someone with a story's form open, kept alive by heartbeats; at most one holds its lock."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="editing_sessions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    opened_at = models.DateTimeField()
    last_seen = models.DateTimeField()
    holds_lock = models.BooleanField(default=False)
    locked_since = models.DateTimeField(null=True, blank=True)
    # Set when someone else took the lock from this person, until they take it back.
    taken_over_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    taken_over_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["opened_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["article", "user"], name="editing_one_per_person"),
            models.UniqueConstraint(
                fields=["article"], condition=Q(holds_lock=True), name="editing_one_lock"
            ),
        ]

    def __str__(self):
        return f"{self.user} on {self.article_id}"


class PendingUpdate(models.Model):
    """Changes to a published story, kept from readers until an editor publishes them."""

    article = models.OneToOneField(Article, on_delete=models.CASCADE, related_name="pending_update")
    content = models.JSONField(help_text="The story's words, photo, filing and bylines as updated.")
    substantive = models.BooleanField(
        default=False, help_text='Publishing it tells readers "Updated …" with the time.'
    )
    saved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    saved_at = models.DateTimeField()

    class Meta:
        verbose_name = "pending update"

    def __str__(self):
        return f"Pending update to {self.article}"
