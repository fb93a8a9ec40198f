import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from articles.models import Article, Correction
from publication.models import SiteSettings
from tests.factories import (
    SEED,
    ArticleFactory,
    AuthorFactory,
    CorrectionFactory,
    PhotoFactory,
    TagFactory,
    image_bytes,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def seed_story(tmp_path):
    photo = tmp_path / "lead.jpg"
    photo.write_bytes(image_bytes())
    call_command("import_article", str(SEED), "--publish", "--photo", str(photo))
    return Article.objects.get()


def test_seed_story_page_shows_what_the_reader_saw(client, seed_story):
    SiteSettings.objects.create(
        twitter_url="https://twitter.com/example", facebook_url="https://facebook.com/example"
    )

    response = client.get(seed_story.get_absolute_url())

    assert response.status_code == 200
    assert seed_story.get_absolute_url() == (
        "/2016/12/13/aleppo-residents-tweet-harrowing-goodbyes-as-government-forces-advance/"
    )
    html = response.content.decode()
    assert "<h1>Aleppo residents tweet harrowing goodbyes as government forces advance</h1>" in html
    assert "Published December 13th, 2016 - 12:12 GMT" in html
    figure = re.search(r"<figure class=\"lead-photo\">.*?</figure>", html, re.S).group(0)
    assert re.search(
        r"<figcaption>Syrian pro-government forces in Aleppo\. "
        r"<span class=\"credit\">\(AFP/File\)</span></figcaption>",
        figure,
    )
    body = re.search(r'<div class="story-body">(.*?)</div>', html, re.S).group(1)
    assert body.count("<p>") == 10
    assert '<p class="byline"><span>AM</span></p>' in html
    assert re.search(
        r'<meta name="description" content="Residents of Aleppo have sent out desperate[^"\n]*">',
        html,
    )
    follow = re.search(r'<p class="follow">(.*?)</p>', html).group(1)
    assert re.sub(r"<[^>]+>", "", follow) == "Follow the Loop on Twitter and Facebook"


def test_page_shows_ordered_bylines_then_free_text_byline(client):
    first, second = AuthorFactory(name="Zeina Haddad"), AuthorFactory(name="Adam Moore")
    story = ArticleFactory(authors=[first, second], byline="AFP")

    html = client.get(story.get_absolute_url()).content.decode()

    byline = re.search(r'<p class="byline">(.*?)</p>', html).group(1)
    assert re.sub(r"<[^>]+>", "", byline) == "Zeina Haddad, Adam Moore and AFP"
    assert f'href="{first.get_absolute_url()}"' in byline


def test_caption_override_replaces_the_photo_caption_for_this_story_only(client):
    photo = PhotoFactory(caption="Library caption", credit="Reuters")
    story = ArticleFactory(lead_photo=photo, lead_photo_caption="Caption for this story")

    html = client.get(story.get_absolute_url()).content.decode()

    assert "Caption for this story" in html and "Library caption" not in html
    assert "(Reuters)" in html


def test_corrections_appear_under_the_story(client):
    story = ArticleFactory()
    CorrectionFactory(
        article=story, kind=Correction.Kind.CLARIFICATION, text="The port is in the north."
    )

    html = client.get(story.get_absolute_url()).content.decode()

    assert "Clarification" in html and "The port is in the north." in html


@pytest.mark.parametrize(
    "state",
    [
        {"status": Article.Status.DRAFT, "published_at": None},
        {"status": Article.Status.REVIEW, "published_at": None},
        {"status": Article.Status.DRAFT},
        {"status": Article.Status.PUBLISHED, "published_at": timezone.now() + timedelta(days=1)},
    ],
    ids=["draft", "review", "draft-with-date", "scheduled"],
)
def test_unpublished_stories_are_not_found(client, state):
    story = ArticleFactory(headline="Secret plans for the budget", **state)

    assert client.get(story.get_absolute_url()).status_code == 404
    assert "Secret plans" not in client.get("/").content.decode()


def test_wrong_date_in_the_url_is_not_found(client):
    story = ArticleFactory(slug="budget", published_at=datetime(2024, 5, 1, 10, tzinfo=UTC))

    assert client.get("/2024/05/02/budget/").status_code == 404
    assert client.get(story.get_absolute_url()).status_code == 200


def test_home_lists_published_stories_newest_first(client):
    older = ArticleFactory(headline="Older story", published_at=timezone.now() - timedelta(days=2))
    newer = ArticleFactory(headline="Newer story")

    html = client.get("/").content.decode()

    assert html.index(newer.headline) < html.index(older.headline)


def make_rich_stories(count):
    """Create ``count`` stories, each with two bylines, two tags, a photo and a correction."""
    tags = TagFactory.create_batch(3)
    authors = AuthorFactory.create_batch(3)
    photo = PhotoFactory()
    stories = []
    for number in range(count):
        story = ArticleFactory(
            authors=authors[:2], tags=tags[:2], lead_photo=photo, byline="AM" if number % 2 else ""
        )
        CorrectionFactory(article=story)
        stories.append(story)
    return stories


@pytest.mark.parametrize("count", [5, 40])
def test_article_page_query_count_does_not_grow(client, django_assert_max_num_queries, count):
    """Guard against per-byline, per-tag or per-correction queries on the article page."""
    stories = make_rich_stories(count)
    client.get("/")  # warm the cached site settings and navigation

    with django_assert_max_num_queries(5):
        response = client.get(stories[0].get_absolute_url())
    assert response.status_code == 200


@pytest.mark.parametrize("count", [5, 40])
def test_home_query_count_does_not_grow(client, django_assert_max_num_queries, count):
    """Guard against a query per story card (bylines, section or photo looked up one by one)."""
    make_rich_stories(count)
    client.get("/")

    with django_assert_max_num_queries(6):
        response = client.get("/")
    assert response.content.decode().count('<article class="story-card') == count
