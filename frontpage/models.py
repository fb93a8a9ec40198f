"""The home page as editors arrange it: a lead story, top stories, the order of the sections,
and a breaking-news strip.

Editors work on one draft arrangement; publishing it makes it the live arrangement and
keeps it as a revision that can be brought back. Readers only ever see a live
arrangement, and only its public stories: a slot whose story is not public (withdrawn,
unpublished, scheduled for later) is filled from the newest public stories instead.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from articles.models import Article, Section

LIVE_CACHE_KEY = "frontpage:live-plan"


def validate_link(value):
    """Accept a full http(s) address or a path on this site ("/2016/12/13/aleppo/")."""
    if value.startswith("/") and not value.startswith("//"):
        return
    URLValidator(schemes=["http", "https"])(value)


@dataclass(frozen=True)
class Plan:
    """What an arrangement asks for, by id: cheap to cache, and all a home page needs."""

    lead_id: int | None = None
    top_ids: list[int] = field(default_factory=list)
    section_ids: list[int] = field(default_factory=list)
    breaking_text: str = ""
    breaking_url: str = ""
    breaking_expires_at: datetime | None = None

    def breaking(self, now):
        """Return the breaking-news strip to show at ``now``, or None."""
        if not self.breaking_text or (
            self.breaking_expires_at is not None and self.breaking_expires_at <= now
        ):
            return None
        return Breaking(self.breaking_text, self.breaking_url, self.breaking_expires_at)


@dataclass(frozen=True)
class Breaking:
    text: str
    url: str
    expires_at: datetime | None


class FrontPageQuerySet(models.QuerySet):
    def published(self):
        """Return the published arrangements, newest first: the live one, then its history."""
        return self.filter(state=FrontPage.State.PUBLISHED).order_by("-published_at", "-pk")


class FrontPage(models.Model):
    """One arrangement of the home page: the draft editors work on, or a published revision."""

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    state = models.CharField(max_length=20, choices=State.choices, default=State.DRAFT)
    lead = models.ForeignKey(
        Article,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="lead story",
        help_text="Leads the home page. Empty: the newest story (featured ones first).",
    )
    breaking_text = models.CharField(
        "breaking news",
        max_length=200,
        blank=True,
        help_text="A strip across the top of the home page. Empty: no strip.",
    )
    breaking_url = models.CharField(
        "breaking news link",
        max_length=500,
        blank=True,
        validators=[validate_link],
        help_text="Where the strip leads: a story's address or a full link.",
    )
    breaking_expires_at = models.DateTimeField(
        "breaking news ends",
        null=True,
        blank=True,
        help_text="The strip disappears by itself at this time. Empty: until removed.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField(auto_now=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)

    objects = FrontPageQuerySet.as_manager()

    class Meta:
        verbose_name = "front page"
        verbose_name_plural = "front page"
        ordering = ["-published_at", "-pk"]
        permissions = [("publish_frontpage", "Can publish the front page")]
        constraints = [
            models.UniqueConstraint(
                fields=["state"], condition=Q(state="draft"), name="frontpage_one_draft"
            ),
            models.CheckConstraint(
                condition=~Q(state="published") | Q(published_at__isnull=False),
                name="frontpage_published_needs_date",
            ),
        ]

    def __str__(self):
        if self.state == self.State.DRAFT:
            return "Front page (draft)"
        when = timezone.localtime(self.published_at).strftime("%d %b %Y, %H:%M")
        return f"Front page published {when}"

    def plan(self) -> Plan:
        """Return what this arrangement asks for (two queries for its ordered lists)."""
        return Plan(
            lead_id=self.lead_id,
            top_ids=list(self.top_stories.values_list("article_id", flat=True)),
            section_ids=list(self.section_order.values_list("section_id", flat=True)),
            breaking_text=self.breaking_text,
            breaking_url=self.breaking_url,
            breaking_expires_at=self.breaking_expires_at,
        )

    @classmethod
    def live_plan(cls) -> Plan:
        """Return the live arrangement's plan, from the cache when possible.

        An empty plan when nothing was ever published: the home page then fills itself
        from the newest stories. Publishing forgets the cached plan.
        """
        plan = cache.get(LIVE_CACHE_KEY)
        if plan is None:
            live = cls.objects.published().first()
            plan = live.plan() if live else Plan()
            cache.set(LIVE_CACHE_KEY, plan, timeout=None)
        return plan


class FrontPageStory(models.Model):
    """A top story of an arrangement, in the order the home page shows them."""

    front_page = models.ForeignKey(FrontPage, on_delete=models.CASCADE, related_name="top_stories")
    article = models.ForeignKey(
        Article, on_delete=models.CASCADE, related_name="+", verbose_name="story"
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "top story"
        verbose_name_plural = "top stories (in order, after the lead)"
        constraints = [
            models.UniqueConstraint(fields=["front_page", "article"], name="frontpage_story_once"),
        ]

    def __str__(self):
        return str(self.article)


class FrontPageSection(models.Model):
    """A section block of an arrangement, in the order the home page shows them."""

    front_page = models.ForeignKey(
        FrontPage, on_delete=models.CASCADE, related_name="section_order"
    )
    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "section block"
        verbose_name_plural = "section blocks (in order; sections not listed follow)"
        constraints = [
            models.UniqueConstraint(
                fields=["front_page", "section"], name="frontpage_section_once"
            ),
        ]

    def __str__(self):
        return str(self.section)
