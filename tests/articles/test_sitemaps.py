import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from articles.models import Article, Section
from articles.sitemaps import ArticleSitemap, news_language
from frontcache.middleware import seconds_until_next_publication
from publication.models import SiteSettings
from tests.factories import ArticleFactory, AuthorFactory, SectionFactory, TagFactory

pytestmark = pytest.mark.django_db

SERVER = "http://testserver"
NAMESPACES = {
    "sitemap": "http://www.sitemaps.org/schemas/sitemap/0.9",
    "news": "http://www.google.com/schemas/sitemap-news/0.9",
}

UNPUBLISHED_STATES = {
    "draft": {"status": Article.Status.DRAFT, "published_at": None},
    "review": {"status": Article.Status.REVIEW, "published_at": None},
    "scheduled": {
        "status": Article.Status.PUBLISHED,
        "published_at": timezone.now() + timedelta(hours=1),
    },
    "withdrawn": {"status": Article.Status.WITHDRAWN},
}


def read_xml(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"].startswith("application/xml")
    return ET.fromstring(response.content)


def locations(root):
    return [loc.text for loc in root.iterfind(".//sitemap:loc", NAMESPACES)]


def test_sitemap_index_lists_every_child_sitemap_with_its_last_change(client):
    story = ArticleFactory(published_at=datetime(2024, 5, 1, 10, tzinfo=UTC))

    root = read_xml(client, "/sitemap.xml")

    assert root.tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}sitemapindex"
    assert locations(root) == [
        f"{SERVER}/sitemap-articles.xml",
        f"{SERVER}/sitemap-sections.xml",
        f"{SERVER}/sitemap-authors.xml",
        f"{SERVER}/sitemap-tags.xml",
    ]
    lastmod = root.find("sitemap:sitemap/sitemap:lastmod", NAMESPACES).text
    assert datetime.fromisoformat(lastmod) == story.published_at


def test_article_sitemap_lists_public_stories_with_their_last_update(client):
    published = datetime(2024, 5, 1, 10, tzinfo=UTC)
    plain = ArticleFactory(published_at=published)
    updated = ArticleFactory(published_at=published, updated_at=published + timedelta(days=3))

    root = read_xml(client, "/sitemap-articles.xml")

    entries = {
        url.findtext("sitemap:loc", namespaces=NAMESPACES): url.findtext(
            "sitemap:lastmod", namespaces=NAMESPACES
        )
        for url in root.iterfind("sitemap:url", NAMESPACES)
    }
    assert entries == {
        f"{SERVER}{plain.get_absolute_url()}": "2024-05-01",
        f"{SERVER}{updated.get_absolute_url()}": "2024-05-04",
    }


def test_article_sitemap_splits_into_pages_past_its_limit(client, monkeypatch):
    monkeypatch.setattr(ArticleSitemap, "limit", 2)
    now = timezone.now()
    stories = [
        ArticleFactory(published_at=now - timedelta(hours=hours)) for hours in range(5, 0, -1)
    ]

    index = read_xml(client, "/sitemap.xml")
    pages = [read_xml(client, f"/sitemap-articles.xml?p={page}") for page in (1, 2, 3)]

    assert locations(index)[:3] == [
        f"{SERVER}/sitemap-articles.xml",
        f"{SERVER}/sitemap-articles.xml?p=2",
        f"{SERVER}/sitemap-articles.xml?p=3",
    ]
    assert [locations(page) for page in pages] == [
        [f"{SERVER}{story.get_absolute_url()}" for story in stories[0:2]],
        [f"{SERVER}{story.get_absolute_url()}" for story in stories[2:4]],
        [f"{SERVER}{story.get_absolute_url()}" for story in stories[4:5]],
    ]
    assert client.get("/sitemap-articles.xml?p=4").status_code == 404


def test_listing_sitemaps_list_only_pages_with_public_stories(client):
    loop, empty = SectionFactory(slug="loop"), SectionFactory(slug="empty")
    author, silent = AuthorFactory(slug="zeina"), AuthorFactory(slug="silent")
    tag, unused = TagFactory(slug="syria"), TagFactory(slug="unused")
    newest = ArticleFactory(section=loop, authors=[author], tags=[tag])
    ArticleFactory(section=empty, authors=[silent], tags=[unused], status=Article.Status.DRAFT)

    sections = read_xml(client, "/sitemap-sections.xml")
    authors = read_xml(client, "/sitemap-authors.xml")
    tags = read_xml(client, "/sitemap-tags.xml")

    assert locations(sections) == [f"{SERVER}/section/loop/"]
    assert locations(authors) == [f"{SERVER}/author/zeina/"]
    assert locations(tags) == [f"{SERVER}/tag/syria/"]
    lastmod = sections.findtext("sitemap:url/sitemap:lastmod", namespaces=NAMESPACES)
    assert lastmod == newest.published_at.strftime("%Y-%m-%d")
    assert Section.objects.count() == 2


@pytest.mark.parametrize("state", UNPUBLISHED_STATES.values(), ids=UNPUBLISHED_STATES.keys())
def test_unpublished_stories_never_appear_in_any_sitemap(client, state):
    hidden = ArticleFactory(slug="secret-plans", headline="Secret plans", **state)
    ArticleFactory(slug="public-story")

    for url in (
        "/sitemap-articles.xml",
        "/sitemap-sections.xml",
        "/sitemap-authors.xml",
        "/sitemap-tags.xml",
        "/news-sitemap.xml",
    ):
        content = client.get(url).content.decode()
        assert "secret-plans" not in content and "Secret plans" not in content, url
    assert "public-story" in client.get("/news-sitemap.xml").content.decode()
    assert hidden.section.slug not in client.get("/sitemap-sections.xml").content.decode()


def test_news_sitemap_describes_each_story_for_google_news(client, settings):
    settings.TIME_ZONE = "Asia/Beirut"
    SiteSettings.objects.create(site_name="Beirut Daily & Co")
    story = ArticleFactory(headline='Talks "resume" <at last> & quickly')

    response = client.get("/news-sitemap.xml")
    root = ET.fromstring(response.content)

    assert response.status_code == 200
    assert root.tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}urlset"
    (url,) = root.iterfind("sitemap:url", NAMESPACES)
    assert url.findtext("sitemap:loc", namespaces=NAMESPACES) == (
        f"{SERVER}{story.get_absolute_url()}"
    )
    news = url.find("news:news", NAMESPACES)
    assert news.findtext("news:publication/news:name", namespaces=NAMESPACES) == (
        "Beirut Daily & Co"
    )
    assert news.findtext("news:publication/news:language", namespaces=NAMESPACES) == "en"
    assert news.findtext("news:title", namespaces=NAMESPACES) == story.headline
    published = news.findtext("news:publication_date", namespaces=NAMESPACES)
    assert published[-6:] in ("+02:00", "+03:00")
    assert datetime.fromisoformat(published) == story.published_at.replace(microsecond=0)


def test_news_sitemap_keeps_only_the_last_48_hours_newest_first(client):
    now = timezone.now()
    older = ArticleFactory(published_at=now - timedelta(hours=47))
    newer = ArticleFactory(published_at=now - timedelta(minutes=5))
    ArticleFactory(published_at=now - timedelta(hours=49))

    root = read_xml(client, "/news-sitemap.xml")

    assert locations(root) == [
        f"{SERVER}{newer.get_absolute_url()}",
        f"{SERVER}{older.get_absolute_url()}",
    ]


def test_news_sitemap_lists_at_most_1000_stories(client, django_assert_max_num_queries):
    now = timezone.now()
    # bulk_create skips Article.save (sanitising, slugs), which these plain stories need not.
    Article.objects.bulk_create(
        Article(
            headline=f"Story {number}",
            slug=f"story-{number}",
            status=Article.Status.PUBLISHED,
            published_at=now - timedelta(seconds=number + 1),
        )
        for number in range(1005)
    )
    SiteSettings.load()  # cached on every request after the first, as is the next publication
    seconds_until_next_publication()

    with django_assert_max_num_queries(3):
        root = read_xml(client, "/news-sitemap.xml")

    urls = locations(root)
    assert len(urls) == 1000
    assert urls[0].endswith("/story-0/") and urls[-1].endswith("/story-999/")
    assert client.get("/news-sitemap.xml?p=2").status_code == 404


def test_news_sitemap_language_follows_the_site_language(client, settings):
    settings.LANGUAGE_CODE = "ar"
    ArticleFactory()

    root = read_xml(client, "/news-sitemap.xml")

    assert root.findtext(".//news:language", namespaces=NAMESPACES) == "ar"


@pytest.mark.parametrize(
    ("language_code", "expected"),
    [("en-gb", "en"), ("en", "en"), ("pt-BR", "pt"), ("zh-hans", "zh-cn"), ("zh-tw", "zh-tw")],
)
def test_news_language_is_the_iso_639_code_google_news_expects(language_code, expected):
    assert news_language(language_code) == expected


def test_robots_txt_allows_all_but_admin_and_previews_and_names_both_sitemaps(client):
    response = client.get("/robots.txt")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    lines = response.content.decode().splitlines()
    assert lines[0] == "User-agent: *"
    assert {"Allow: /", "Disallow: /admin/", "Disallow: /preview/"} <= set(lines)
    assert f"Sitemap: {SERVER}/sitemap.xml" in lines
    assert f"Sitemap: {SERVER}/news-sitemap.xml" in lines
