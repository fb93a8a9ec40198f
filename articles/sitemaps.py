"""Sitemaps, the Google News sitemap and robots.txt: what crawlers may fetch and where.

``/sitemap.xml`` is Django's sitemap index over ``SITEMAPS``; each entry is served as
``/sitemap-<name>.xml`` and split into pages of ``limit`` URLs (``?p=2`` …).
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps import views as sitemap_views
from django.db.models import Max, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone

from articles.models import Article, Author, Section, Tag
from frontcache import keys as surrogate_keys
from publication.models import SiteSettings

# Google News reads only stories published in the last two days, at most 1,000 of them.
# https://developers.google.com/search/docs/crawling-indexing/sitemaps/news-sitemap
NEWS_WINDOW = timedelta(hours=48)
NEWS_LIMIT = 1000

# Chinese is the one language Google News wants with its script as a region code.
NEWS_LANGUAGE_EXCEPTIONS = {
    "zh-cn": "zh-cn",
    "zh-hans": "zh-cn",
    "zh-tw": "zh-tw",
    "zh-hant": "zh-tw",
}

ROBOTS_DISALLOWED = ("/admin/", "/preview/")


class ArticleSitemap(Sitemap):
    """Every public story, oldest first so that earlier pages keep their content."""

    limit = 5000

    def items(self):
        return (
            Article.objects.published()
            .only("slug", "published_at", "updated_at")
            .order_by("published_at", "id")
        )

    def lastmod(self, item):
        return item.updated_at or item.published_at

    def get_latest_lastmod(self):
        # The default reads every story; the index needs only the newest time.
        return Article.objects.published().aggregate(
            latest=Max(Coalesce("updated_at", "published_at"))
        )["latest"]


class ListingSitemap(Sitemap):
    """Listing pages that have public stories, each last modified by its newest story."""

    model = None
    story_lookup = None

    def items(self):
        newest_story = (
            Article.objects.published()
            .filter(**{self.story_lookup: OuterRef("pk")})
            .order_by("-published_at")
            .values("published_at")[:1]
        )
        return (
            self.model.objects.annotate(newest_story_at=Subquery(newest_story))
            .filter(newest_story_at__isnull=False)
            .order_by("pk")
        )

    def lastmod(self, item):
        return item.newest_story_at


class SectionSitemap(ListingSitemap):
    model = Section
    story_lookup = "section"


class AuthorSitemap(ListingSitemap):
    model = Author
    story_lookup = "bylines__author"


class TagSitemap(ListingSitemap):
    model = Tag
    story_lookup = "tags"


SITEMAPS = {
    "articles": ArticleSitemap,
    "sections": SectionSitemap,
    "authors": AuthorSitemap,
    "tags": TagSitemap,
}


class NewsSitemap(Sitemap):
    """Public stories of the last 48 hours, newest first, at most 1,000."""

    limit = NEWS_LIMIT

    def items(self):
        return (
            Article.objects.published()
            .filter(published_at__gte=timezone.now() - NEWS_WINDOW)
            .only("headline", "slug", "published_at", "updated_at")
            .order_by("-published_at", "-id")[:NEWS_LIMIT]
        )

    def lastmod(self, item):
        return item.updated_at or item.published_at


def news_language(language_code):
    """Return the ISO 639 code Google News expects for a Django language code."""
    language_code = language_code.lower().replace("_", "-")
    if language_code in NEWS_LANGUAGE_EXCEPTIONS:
        return NEWS_LANGUAGE_EXCEPTIONS[language_code]
    return language_code.split("-")[0]


def news_sitemap(request):
    """Return the Google News sitemap of the stories published in the last two days."""
    surrogate_keys.only(surrogate_keys.SITEMAPS)
    response = sitemap_views.sitemap(
        request, sitemaps={"news": NewsSitemap}, template_name="sitemaps/news.xml"
    )
    response.context_data.update(
        publication_name=SiteSettings.load().site_name,
        publication_language=news_language(settings.LANGUAGE_CODE),
    )
    return response


def robots_txt(request):
    """Return robots.txt: crawl everything public, nothing of the admin or previews."""
    lines = ["User-agent: *", "Allow: /"]
    lines += [f"Disallow: {path}" for path in ROBOTS_DISALLOWED]
    lines.append("")
    lines += [
        f"Sitemap: {request.build_absolute_uri(reverse(name))}"
        for name in ("sitemap", "news_sitemap")
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
