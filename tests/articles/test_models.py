from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from articles.models import Article
from tests.factories import ArticleFactory

pytestmark = pytest.mark.django_db


def test_published_returns_only_stories_readers_may_see():
    live = ArticleFactory()
    ArticleFactory(status=Article.Status.DRAFT, published_at=None)
    ArticleFactory(status=Article.Status.REVIEW, published_at=None)
    ArticleFactory(status=Article.Status.WITHDRAWN)
    ArticleFactory(published_at=timezone.now() + timedelta(minutes=5))

    assert list(Article.objects.published()) == [live]


def test_scheduled_story_goes_live_at_its_time_without_any_job(time_machine):
    publish_at = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
    time_machine.move_to(publish_at - timedelta(minutes=1))
    story = ArticleFactory(published_at=publish_at)
    assert not Article.objects.published().exists()

    time_machine.move_to(publish_at)

    assert list(Article.objects.published()) == [story]


def test_published_story_needs_a_publication_time():
    with pytest.raises(IntegrityError):
        ArticleFactory(status=Article.Status.PUBLISHED, published_at=None)


def test_url_uses_the_date_in_the_site_time_zone(settings):
    settings.TIME_ZONE = "Asia/Beirut"
    # 23:30 UTC on 13 December is already 14 December in Beirut.
    late_evening = datetime(2016, 12, 13, 23, 30, tzinfo=UTC)
    story = ArticleFactory(slug="late-night", published_at=late_evening)

    assert story.get_absolute_url() == "/2016/12/14/late-night/"


def test_slug_comes_from_the_headline_and_never_collides():
    first = ArticleFactory(headline="Aleppo residents tweet goodbyes", slug="")
    second = ArticleFactory(headline="Aleppo residents tweet goodbyes", slug="")
    arabic = ArticleFactory(headline="سكان حلب يودعون العالم", slug="")

    assert first.slug == "aleppo-residents-tweet-goodbyes"
    assert second.slug == "aleppo-residents-tweet-goodbyes-2"
    assert arabic.slug == "سكان-حلب-يودعون-العالم"


def test_body_is_sanitised_whatever_path_saves_it():
    story = ArticleFactory(
        body='<p onclick="steal()">Hello <script>alert(1)</script><a href="javascript:x">x</a></p>'
    )
    story.refresh_from_db()

    assert "script" not in story.body
    assert "onclick" not in story.body
    assert "javascript:" not in story.body
    assert story.body.startswith("<p>Hello")


def test_external_links_in_the_body_get_safe_rel():
    story = ArticleFactory(body='<p><a href="https://example.org/">source</a></p>')

    assert 'rel="noopener noreferrer"' in story.body
