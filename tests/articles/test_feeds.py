import html
from datetime import UTC, datetime, timedelta

import feedparser
import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from django.utils.http import http_date

from articles.models import Article
from frontcache.middleware import seconds_until_next_publication
from photos.models import Photo
from publication.models import SiteSettings
from tests.factories import (
    ArticleFactory,
    AuthorFactory,
    CorrectionFactory,
    PhotoFactory,
    SectionFactory,
    TagFactory,
    image_bytes,
)

pytestmark = pytest.mark.django_db

SERVER = "http://testserver"

UNPUBLISHED_STATES = {
    "draft": {"status": Article.Status.DRAFT, "published_at": None},
    "review": {"status": Article.Status.REVIEW, "published_at": None},
    "scheduled": {
        "status": Article.Status.PUBLISHED,
        "published_at": timezone.now() + timedelta(days=1),
    },
    "withdrawn": {"status": Article.Status.WITHDRAWN},
}


def read_feed(client, url, **headers):
    response = client.get(url, **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/rss+xml")
    feed = feedparser.parse(response.content)
    assert feed.bozo == 0, feed.get("bozo_exception")
    return feed


@pytest.fixture
def rich_story():
    """Return a story with two bylines and a free-text one, tags, a photo and a correction."""
    section = SectionFactory(name="The Loop", slug="loop")
    story = ArticleFactory(
        headline="Aleppo residents tweet harrowing goodbyes",
        dek="Residents sent out desperate messages.",
        body=(
            '<p>See <a href="/section/loop/">the Loop</a> and '
            '<a href="https://example.org/report">the report</a>.</p>'
            '<p><img src="/media/inline.jpg" alt="A street"></p>'
        ),
        section=section,
        authors=[AuthorFactory(name="Zeina Haddad"), AuthorFactory(name="Adam Moore")],
        byline="AM",
        tags=[TagFactory(name="Syria"), TagFactory(name="Aleppo")],
        lead_photo=PhotoFactory(caption="Pro-government forces in Aleppo.", credit="AFP/File"),
        published_at=datetime(2016, 12, 13, 12, 12, tzinfo=UTC),
    )
    CorrectionFactory(
        article=story,
        text="An earlier version misnamed the district.",
        published_at=datetime(2016, 12, 14, 9, 0, tzinfo=UTC),
    )
    story.refresh_from_db()
    return story


def test_latest_feed_item_carries_every_field_a_feed_reader_shows(client, rich_story):
    response = client.get("/feeds/latest/")
    feed = feedparser.parse(response.content)

    assert feed.bozo == 0

    (entry,) = feed.entries
    link = f"{SERVER}{rich_story.get_absolute_url()}"
    assert feed.version == "rss20"
    assert entry.title == "Aleppo residents tweet harrowing goodbyes"
    assert entry.link == link
    assert entry.id == link
    assert f'<guid isPermaLink="true">{link}</guid>' in response.content.decode()
    assert entry.published_parsed[:5] == (2016, 12, 13, 12, 12)
    assert entry.updated_parsed[:5] == (2016, 12, 14, 9, 0)
    assert entry.author == "Zeina Haddad, Adam Moore and AM"
    assert entry.summary == "Residents sent out desperate messages."
    assert [tag.term for tag in entry.tags] == ["The Loop", "Aleppo", "Syria"]
    content = entry.content[0].value
    assert "Residents sent out desperate messages." in content
    assert "An earlier version misnamed the district." in content
    photo = rich_story.lead_photo
    (enclosure,) = entry.enclosures
    assert enclosure.href == f"{SERVER}{photo.image.url}"
    assert enclosure.length == str(photo.file_size) and int(enclosure.length) > 0
    assert enclosure.type == "image/jpeg"
    (media,) = entry.media_content
    assert media["url"] == f"{SERVER}{photo.image.url}"
    assert (media["width"], media["height"]) == ("640", "360")
    assert media["medium"] == "image" and media["type"] == "image/jpeg"
    assert entry.media_credit[0]["content"] == "AFP/File"


def test_feed_content_links_and_images_are_absolute(client, rich_story):
    feed = read_feed(client, "/feeds/latest/")

    content = feed.entries[0].content[0].value
    assert f'href="{SERVER}/section/loop/"' in content
    assert 'href="https://example.org/report"' in content
    assert f'src="{SERVER}/media/inline.jpg"' in content
    assert f'src="{SERVER}{rich_story.lead_photo.image.url}"' in content
    assert 'href="/' not in content and 'src="/' not in content


def test_feed_carries_a_mid_size_copy_of_the_photo_once_it_is_drawn(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        photo = PhotoFactory(
            image=ContentFile(image_bytes(width=2400, height=1200), name="large.jpg")
        )
    story = ArticleFactory(lead_photo=photo)

    entry = read_feed(client, "/feeds/latest/").entries[0]

    (enclosure,) = entry.enclosures
    assert enclosure.href.startswith(f"{SERVER}/") and enclosure.href.endswith("/w960.jpeg")
    assert (enclosure.type, enclosure.length) == ("image/jpeg", "0")
    (media,) = entry.media_content
    assert media["url"] == enclosure.href
    assert (media["width"], media["height"]) == ("960", "480")
    assert "filesize" not in media
    assert f'src="{enclosure.href}"' in entry.content[0].value
    assert story.lead_photo.image.url not in entry.content[0].value


def test_feed_title_and_description_come_from_the_site_settings(client):
    SiteSettings.objects.create(site_name="Beirut Daily", tagline="News from the Levant")
    section = SectionFactory(name="The Loop", slug="loop")
    author = AuthorFactory(name="Zeina Haddad", slug="zeina")
    ArticleFactory(section=section, authors=[author])

    latest = read_feed(client, "/feeds/latest/").feed
    by_section = read_feed(client, "/section/loop/feed/").feed
    by_author = read_feed(client, "/author/zeina/feed/").feed

    assert (latest.title, latest.subtitle) == ("Beirut Daily", "News from the Levant")
    assert latest.link == f"{SERVER}/"
    assert by_section.title == "The Loop | Beirut Daily"
    assert by_section.link == f"{SERVER}/section/loop/"
    assert by_author.title == "Zeina Haddad | Beirut Daily"
    assert by_author.subtitle == "The latest stories by Zeina Haddad from Beirut Daily."


def test_headline_with_markup_characters_reads_as_written(client):
    ArticleFactory(headline='Tom & Jerry say "<b>no</b>"')

    feed = read_feed(client, "/feeds/latest/")

    assert feed.entries[0].title == 'Tom & Jerry say "<b>no</b>"'


def test_control_character_pasted_into_a_story_does_not_break_the_feed(client):
    ArticleFactory(headline="Budget\x0b vote delayed", dek="Talks\x08 resume")

    feed = read_feed(client, "/feeds/latest/")

    assert feed.entries[0].title == "Budget vote delayed"
    assert feed.entries[0].summary == "Talks resume"


def test_latest_feed_lists_the_30_newest_stories_newest_first(client):
    now = timezone.now()
    stories = [
        ArticleFactory(published_at=now - timedelta(minutes=minutes)) for minutes in range(1, 33)
    ]

    feed = read_feed(client, "/feeds/latest/")

    assert [entry.title for entry in feed.entries] == [story.headline for story in stories[:30]]


def test_section_feed_lists_only_the_stories_of_its_section(client):
    loop, sport = SectionFactory(slug="loop"), SectionFactory(slug="sport")
    in_loop = ArticleFactory(section=loop)
    ArticleFactory(section=sport)

    feed = read_feed(client, "/section/loop/feed/")

    assert [entry.title for entry in feed.entries] == [in_loop.headline]


def test_author_feed_lists_only_the_stories_they_bylined(client):
    zeina, adam = AuthorFactory(slug="zeina"), AuthorFactory(slug="adam")
    shared = ArticleFactory(authors=[adam, zeina])
    ArticleFactory(authors=[adam])

    feed = read_feed(client, "/author/zeina/feed/")

    assert [entry.title for entry in feed.entries] == [shared.headline]


@pytest.mark.parametrize("url", ["/section/no-such-section/feed/", "/author/nobody/feed/"])
def test_feed_of_an_unknown_section_or_author_is_not_found(client, url):
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("state", UNPUBLISHED_STATES.values(), ids=UNPUBLISHED_STATES.keys())
def test_unpublished_stories_never_appear_in_any_feed(client, state):
    section, author = SectionFactory(slug="loop"), AuthorFactory(slug="zeina")
    ArticleFactory(headline="Secret plans", section=section, authors=[author], **state)
    ArticleFactory(headline="Public story", section=section, authors=[author])

    for url in ("/feeds/latest/", "/section/loop/feed/", "/author/zeina/feed/"):
        feed = read_feed(client, url)
        assert [entry.title for entry in feed.entries] == ["Public story"], url


def test_feed_answers_a_conditional_get_with_not_modified_until_a_story_changes(client):
    story = ArticleFactory(published_at=timezone.now() - timedelta(hours=2))

    first = client.get("/feeds/latest/")
    last_modified = first["Last-Modified"]
    unchanged = client.get("/feeds/latest/", HTTP_IF_MODIFIED_SINCE=last_modified)
    CorrectionFactory(article=story)
    corrected = client.get("/feeds/latest/", HTTP_IF_MODIFIED_SINCE=last_modified)

    assert last_modified == http_date(story.published_at.timestamp())
    assert unchanged.status_code == 304
    assert corrected.status_code == 200
    assert corrected["Last-Modified"] != last_modified


def make_rich_stories(count):
    """Create ``count`` stories, each with two bylines, two tags, a photo and a correction."""
    section = SectionFactory(slug="loop")
    tags = TagFactory.create_batch(3)
    authors = AuthorFactory.create_batch(3)
    photo = PhotoFactory()
    for number in range(count):
        story = ArticleFactory(
            section=section,
            authors=authors[:2],
            tags=tags[:2],
            lead_photo=photo,
            byline="AM" if number % 2 else "",
        )
        CorrectionFactory(article=story)
    return authors[0]


@pytest.mark.parametrize("count", [5, 40])
@pytest.mark.parametrize("kind", ["latest", "section", "author"])
def test_feed_query_count_does_not_grow(client, django_assert_max_num_queries, count, kind):
    """Guard against a query per item for bylines, tags, corrections, section or photo."""
    author = make_rich_stories(count)
    url = {
        "latest": "/feeds/latest/",
        "section": "/section/loop/feed/",
        "author": f"/author/{author.slug}/feed/",
    }[kind]
    # What every request after the first finds in the cache: the site settings and the
    # time of the next scheduled publication, which the front cache's lifetimes need.
    SiteSettings.load()
    seconds_until_next_publication()

    with django_assert_max_num_queries(5):
        response = client.get(url)

    assert response.status_code == 200
    assert len(feedparser.parse(response.content).entries) == min(count, 30)


@pytest.mark.parametrize(
    "standfirst",
    ["'><img src=x onerror=alert(1)>", '<script>alert("x")</script> & more', "Tom &amp; Jerry"],
)
def test_standfirst_with_markup_reaches_feed_readers_as_text(client, standfirst):
    ArticleFactory(dek=standfirst)

    entry = read_feed(client, "/feeds/latest/").entries[0]

    assert "<img" not in entry.summary and "<script" not in entry.summary
    assert html.unescape(entry.summary) == standfirst


def test_section_description_with_markup_reaches_feed_readers_as_text(client):
    SectionFactory(slug="loop", description="Viral <b>news</b> & <img src=x onerror=alert(1)>")

    feed = read_feed(client, "/section/loop/feed/").feed

    assert "<img" not in feed.subtitle and "<b>" not in feed.subtitle
    assert html.unescape(feed.subtitle) == "Viral <b>news</b> & <img src=x onerror=alert(1)>"


def test_lead_photo_awaiting_its_file_is_left_out_of_the_feed(client):
    photo = Photo.objects.create(image="", caption="Awaiting the file.", credit="AFP")
    ArticleFactory(lead_photo=photo)

    entry = read_feed(client, "/feeds/latest/").entries[0]

    assert entry.enclosures == []
    assert "media_content" not in entry
    assert "<img" not in entry.content[0].value


def test_feed_gives_the_site_language_and_marks_a_story_in_another(client, settings):
    settings.LANGUAGE_CODE = "en-gb"
    ArticleFactory(headline="Aleppo residents say goodbye")
    ArticleFactory(language="ar", headline="سكان حلب يودعون مدينتهم")

    feed = read_feed(client, "/feeds/latest/")

    assert feed.feed.language == "en-gb"
    entries = {entry.title: entry for entry in feed.entries}
    assert entries["سكان حلب يودعون مدينتهم"].language == "ar"
    assert "language" not in entries["Aleppo residents say goodbye"]
    assert feed.namespaces["dc"] == "http://purl.org/dc/elements/1.1/"
