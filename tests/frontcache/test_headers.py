"""What each public page tells the front cache: which keys it shows, how long to keep it."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from articles.models import Article
from tests.factories import (
    ArticleFactory,
    AuthorFactory,
    CorrectionFactory,
    PhotoFactory,
    SectionFactory,
    TagFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def page_keys(response):
    return set(response["xkey"].split())


def front_seconds(response):
    return int(re.search(r"max-age=(\d+)", response["Surrogate-Control"]).group(1))


@pytest.fixture
def story():
    return ArticleFactory(
        section=SectionFactory(name="The Loop", slug="the-loop"),
        authors=[AuthorFactory()],
        tags=[TagFactory()],
        lead_photo=PhotoFactory(),
    )


def test_a_story_page_names_everything_it_shows(client, story):
    related = ArticleFactory(section=story.section, headline="A related story")
    unrelated = ArticleFactory(section=SectionFactory())
    author = story.bylines.get().author

    response = client.get(story.get_absolute_url())

    assert related.headline in response.content.decode()
    assert page_keys(response) >= {
        "site",
        f"article-{story.pk}",
        f"article-{related.pk}",
        f"author-{author.pk}",
        f"photo-{story.lead_photo_id}",
        f"tag-{story.tags.get().pk}",
    }
    assert f"article-{unrelated.pk}" not in page_keys(response)
    # A story page is not a listing: a new story elsewhere need not purge it.
    assert not {"stories", f"section-{story.section_id}-stories"} & page_keys(response)


@pytest.mark.parametrize(
    "page, listing_key",
    [
        (lambda story: "/", lambda story: "stories"),
        (lambda story: "/feeds/latest/", lambda story: "stories"),
        (
            lambda story: story.section.get_absolute_url(),
            lambda story: f"section-{story.section_id}-stories",
        ),
        (
            lambda story: f"/section/{story.section.slug}/feed/",
            lambda story: f"section-{story.section_id}-stories",
        ),
        (
            lambda story: story.tags.get().get_absolute_url(),
            lambda story: f"tag-{story.tags.get().pk}-stories",
        ),
        (
            lambda story: story.bylines.get().author.get_absolute_url(),
            lambda story: f"author-{story.bylines.get().author_id}-stories",
        ),
        (
            lambda story: f"/author/{story.bylines.get().author.slug}/feed/",
            lambda story: f"author-{story.bylines.get().author_id}-stories",
        ),
    ],
    ids=["home", "latest-feed", "section", "section-feed", "tag", "author", "author-feed"],
)
def test_a_listing_names_its_listing_and_each_story_on_it(client, story, page, listing_key):
    response = client.get(page(story))

    assert response.status_code == 200
    assert {listing_key(story), f"article-{story.pk}", "site"} <= page_keys(response)


def test_the_corrections_page_is_purged_with_any_correction(client):
    correction = CorrectionFactory()

    response = client.get("/corrections/")

    assert {"corrections", f"article-{correction.article_id}"} <= page_keys(response)


def test_sitemaps_carry_one_key_however_many_stories_they_list(client):
    ArticleFactory.create_batch(5)

    for url in ("/sitemap.xml", "/sitemap-articles.xml", "/news-sitemap.xml"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert page_keys(response) == {"site", "sitemaps"}, url


def test_public_pages_are_kept_long_at_the_front_and_briefly_by_browsers(client, story):
    response = client.get(story.get_absolute_url())

    assert response["Cache-Control"] == "public, max-age=60"
    assert response["Surrogate-Control"] == (
        "max-age=86400, stale-while-revalidate=30, stale-if-error=86400"
    )


def test_listings_live_no_longer_than_the_next_scheduled_publication(client, story):
    ArticleFactory(published_at=timezone.now() + timedelta(minutes=5), headline="At six")

    home = client.get("/")
    article = client.get(story.get_absolute_url())

    assert 290 <= front_seconds(home) <= 301
    assert "max-age=60" in home["Cache-Control"]
    assert front_seconds(article) == 86400  # the scheduled story will not appear on it


def test_a_story_scheduled_a_moment_away_keeps_listings_from_being_stored(client, story):
    ArticleFactory(published_at=timezone.now() + timedelta(seconds=2))

    response = client.get("/")

    assert front_seconds(response) <= 3
    assert re.search(r"max-age=[0-3]\b", response["Cache-Control"])


def test_staff_pages_are_private_and_name_no_keys(client, story):
    client.force_login(UserFactory(role="Editor"))

    response = client.get(story.get_absolute_url())

    assert response.status_code == 200
    assert "private" in response["Cache-Control"]
    assert "xkey" not in response
    assert "Surrogate-Control" not in response


@pytest.mark.parametrize("url", ["/no-such-page/", "/section/no-such-section/", "/search/?q=x"])
def test_not_found_pages_and_search_are_never_shared(client, url):
    response = client.get(url)

    assert "private" in response["Cache-Control"]
    assert "xkey" not in response


def test_a_withdrawn_story_answers_gone_under_its_own_key(client, story):
    story.status = Article.Status.WITHDRAWN
    story.save()

    response = client.get(story.get_absolute_url())

    assert response.status_code == 410
    assert f"article-{story.pk}" in page_keys(response)


def test_a_full_listing_page_keeps_its_key_header_small(client):
    section = SectionFactory()
    authors = AuthorFactory.create_batch(3)
    for number in range(25):
        ArticleFactory(section=section, authors=authors[: number % 3 + 1], lead_photo=None)

    response = client.get(section.get_absolute_url())

    assert len(page_keys(response)) <= 30  # 20 stories, 3 authors, the listing, the site
    assert len(response["xkey"]) < 1000


def test_a_photo_file_is_kept_under_its_photo_key(client):
    photo = PhotoFactory()

    response = client.get(photo.image.url)

    assert response.status_code == 200
    assert page_keys(response) == {"site", f"photo-{photo.pk}"}
    assert "public" in response["Cache-Control"]


def test_a_slash_added_to_any_address_is_not_kept(client):
    response = client.get("/section/anything-at-all")

    assert response.status_code == 301
    assert "private" in response["Cache-Control"]
    assert "xkey" not in response
