"""The reading site: listings, redirects, caching and the promise that nothing leaks."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from articles.models import Article
from tests.articles.conftest import make_stories
from tests.factories import (
    ArticleFactory,
    CorrectionFactory,
    PhotoFactory,
)

pytestmark = pytest.mark.django_db


# Listings ------------------------------------------------------------------------------


def test_section_page_lists_its_stories_twenty_a_page(client, newsroom):
    make_stories(25, **newsroom)
    ArticleFactory(headline="Elsewhere entirely")

    first = client.get("/section/the-loop/")
    second = client.get("/section/the-loop/?page=2")

    assert first.status_code == 200
    assert first.content.decode().count('<article class="story-card') == 20
    assert second.content.decode().count('<article class="story-card') == 5
    assert "Elsewhere entirely" not in first.content.decode() + second.content.decode()
    assert "Viral news." in first.content.decode()


@pytest.mark.parametrize("url", ["/section/the-loop/?page=3", "/section/the-loop/?page=zero"])
def test_page_past_the_end_is_not_found(client, newsroom, url):
    make_stories(25, **newsroom)

    assert client.get(url).status_code == 404


@pytest.mark.parametrize("url", ["/section/nowhere/", "/tag/nowhere/", "/author/nobody/"])
def test_unknown_listing_is_a_helpful_404(client, url):
    response = client.get(url)

    assert response.status_code == 404
    assert "Go to the home page" in response.content.decode()


def test_tag_page_lists_tagged_stories(client, newsroom):
    tagged = ArticleFactory(tags=[newsroom["tags"][0]], headline="Tagged story")
    ArticleFactory(headline="Untagged story")

    html = client.get(newsroom["tags"][0].get_absolute_url()).content.decode()

    assert tagged.headline in html and "Untagged story" not in html


def test_author_page_shows_bio_photo_and_their_stories(client, newsroom):
    author = newsroom["authors"][0]
    author.photo = PhotoFactory()
    author.save()
    mine = ArticleFactory(authors=[author], headline="By Zeina")
    ArticleFactory(headline="By someone else")

    html = client.get("/author/zeina/").content.decode()

    assert "Covers Syria." in html
    assert author.photo.image.url in html
    assert mine.headline in html and "By someone else" not in html


def test_home_leads_with_the_featured_story_then_sections(client, newsroom):
    ArticleFactory(headline="Newest", published_at=timezone.now() - timedelta(minutes=1))
    featured = ArticleFactory(headline="The big one", featured=True)
    make_stories(10, **newsroom)

    html = client.get("/").content.decode()

    assert html.index(featured.headline) < html.index("Newest")
    assert 'id="section-the-loop"' in html


def test_article_page_shows_related_stories_and_share_links(client, newsroom):
    story, *others = make_stories(6, **newsroom)
    unrelated = ArticleFactory(headline="Nothing in common")

    html = client.get(story.get_absolute_url()).content.decode()

    related = html.split('id="related-heading"')[1]
    assert sum(other.headline in related for other in others) == 4
    assert unrelated.headline not in related
    assert story.headline not in related
    assert "https://www.facebook.com/sharer/sharer.php?u=" in html
    # The only script element is JSON-LD data, which browsers never run.
    assert re.findall(r"<script[^>]*>", html) == ['<script type="application/ld+json">']


def test_story_type_label_is_shown_except_for_news(client):
    analysis = ArticleFactory(story_type=Article.StoryType.ANALYSIS)
    news = ArticleFactory(story_type=Article.StoryType.NEWS)

    assert (
        '<span class="story-type">Analysis</span>'
        in client.get(analysis.get_absolute_url()).content.decode()
    )
    assert 'class="story-type"' not in client.get(news.get_absolute_url()).content.decode()


def test_corrections_page_lists_recent_corrections_newest_first(client):
    older = CorrectionFactory(
        text="Older correction.", published_at=timezone.now() - timedelta(days=2)
    )
    newer = CorrectionFactory(text="Newer clarification.", kind="clarification")
    CorrectionFactory(
        text="On a draft.", article=ArticleFactory(status=Article.Status.DRAFT, published_at=None)
    )

    html = client.get("/corrections/").content.decode()

    assert html.index(newer.text) < html.index(older.text)
    assert "On a draft." not in html


# Moved stories -------------------------------------------------------------------------


def test_old_address_redirects_permanently_after_slug_change(client):
    story = ArticleFactory(slug="first-slug")
    old_url = story.get_absolute_url()

    story.slug = "better-slug"
    story.save()
    response = client.get(old_url)

    assert response.status_code == 301
    assert response["Location"] == story.get_absolute_url()
    assert client.get(story.get_absolute_url()).status_code == 200


def test_old_address_redirects_after_date_change(client):
    story = ArticleFactory(published_at=timezone.now() - timedelta(days=3))
    old_url = story.get_absolute_url()

    story.published_at = timezone.now() - timedelta(hours=1)
    story.save()

    assert client.get(old_url)["Location"] == story.get_absolute_url()


def test_old_address_of_a_withdrawn_story_does_not_redirect(client):
    story = ArticleFactory(slug="first-slug")
    old_url = story.get_absolute_url()
    story.slug = "second-slug"
    story.status = Article.Status.WITHDRAWN
    story.save()

    assert client.get(old_url).status_code == 404


# Speed ---------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [5, 200])
def test_public_pages_run_a_constant_number_of_queries(
    client, newsroom, django_assert_max_num_queries, count
):
    """Guard against N+1 queries on every listing: bylines, sections or photos per story."""
    stories = make_stories(count, **newsroom)
    for story in stories[:3]:
        CorrectionFactory(article=story)
    author = newsroom["authors"][0]
    budgets = {
        "/": 6,
        stories[0].get_absolute_url(): 5,
        newsroom["section"].get_absolute_url(): 6,
        newsroom["tags"][0].get_absolute_url(): 6,
        author.get_absolute_url(): 6,
        "/corrections/": 6,
    }
    client.get("/")  # the site settings and navigation are cached after the first page

    for url, budget in budgets.items():
        with django_assert_max_num_queries(budget, info=url):
            assert client.get(url).status_code == 200


# Caching: headers for the front cache (tests/frontcache/ checks Varnish itself) ---------


def test_anonymous_pages_are_cacheable_by_the_front_cache(client):
    story = ArticleFactory()

    response = client.get(story.get_absolute_url())

    assert "public" in response["Cache-Control"]
    assert "max-age=60" in response["Cache-Control"]
    assert "max-age=86400" in response["Surrogate-Control"]
    assert f"article-{story.pk}" in response["xkey"].split()


def test_conditional_request_gets_304(client):
    story = ArticleFactory()
    etag = client.get(story.get_absolute_url())["ETag"]

    response = client.get(story.get_absolute_url(), HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304
