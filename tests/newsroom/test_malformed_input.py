"""Hostile addresses on every public route answer 400 or 404, never a server error.

PostgreSQL refuses NUL in text, Python refuses dates past the year 9999, and a crawler
or an attacker will send both. The requests come from an anonymous reader, through
Django's test client with its default of raising any exception the view lets out.
"""

from datetime import UTC, datetime

import pytest

from tests.factories import (
    ArticleFactory,
    AuthorFactory,
    NewsletterFactory,
    SectionFactory,
    TagFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


STORY_URL = "/2016/12/13/aleppo-residents-tweet-goodbyes/"
LONG = "a" * 10_000

# Routes that take a slug or a token in the path, with a real value for {} to replace.
SLUG_ROUTES = [
    "/section/{}/",
    "/section/{}/feed/",
    "/tag/{}/",
    "/author/{}/",
    "/author/{}/feed/",
    "/2016/12/13/{}/",
    "/sitemap-{}.xml",
    "/newsletter/confirm/{}/",
    "/newsletter/unsubscribe/{}/",
    "/newsletter/preferences/{}/",
    "/preview/shared/{}/",
]
BAD_SLUGS = {
    "nul": "%00",
    "nul-inside": "the-loop%00",
    "invalid-utf8": "%ff%fe",
    "overlong": LONG,
    "overlong-nul": LONG + "%00",
}

# Routes that read the query string, and hostile query strings to send them.
QUERY_ROUTES = [
    "/",
    STORY_URL,
    "/section/the-loop/",
    "/section/the-loop/feed/",
    "/tag/syria/",
    "/author/zeina/",
    "/author/zeina/feed/",
    "/feeds/latest/",
    "/search/",
    "/corrections/",
    "/sitemap.xml",
    "/sitemap-articles.xml",
    "/news-sitemap.xml",
    "/robots.txt",
    "/newsletter/",
    "/newsletter/thanks/",
    "/healthz",
]
BAD_QUERIES = {
    "q-nul": "q=%00",
    "q-nul-word": "q=aleppo%00residents",
    "q-invalid-utf8": "q=%ff%fe",
    "q-overlong": f"q={LONG}",
    "page-nul": "page=%00",
    "page-huge": "page=99999999999999999999",
    "page-negative": "page=-1",
    "page-word": "page=abc",
    "sitemap-page-nul": "p=%00",
    "sitemap-page-huge": "p=99999999999999999999",
    "nul-name": "%00=%00",
}

# Paths that are hostile as a whole.
BAD_PATHS = [
    "/2016/13/45/aleppo-residents-tweet-goodbyes/",
    "/2016/02/30/aleppo-residents-tweet-goodbyes/",
    "/0000/00/00/x/",
    "/0001/01/01/x/",
    "/9999/12/31/x/",
    "/9999/12/31/aleppo-residents-tweet-goodbyes/",
    "/2016/12/13/aleppo-residents-tweet-goodbyes%00/",
    "/preview/99999999999999999999/",
    "/preview/0/",
    "/%00/",
    "/%00",
    "/healthz%00",
    "/feeds/latest%00/",
    "/newsletter/%00/",
    "/search/%00/",
]


def hostile_requests():
    for route in SLUG_ROUTES:
        for kind, slug in BAD_SLUGS.items():
            yield pytest.param(route.format(slug), id=f"{route}:{kind}")
    for route in QUERY_ROUTES:
        for kind, query in BAD_QUERIES.items():
            yield pytest.param(f"{route}?{query}", id=f"{route}?{kind}")
    for path in BAD_PATHS:
        yield pytest.param(path, id=path)


@pytest.fixture
def site():
    """Give every slug route above a real object, so only the hostile part can fail."""
    section = SectionFactory(name="The Loop", slug="the-loop")
    ArticleFactory(
        headline="Aleppo residents tweet harrowing goodbyes",
        slug="aleppo-residents-tweet-goodbyes",
        section=section,
        tags=[TagFactory(name="Syria", slug="syria")],
        authors=[AuthorFactory(name="Zeina Haddad", slug="zeina")],
        published_at=datetime(2016, 12, 13, 12, 12, tzinfo=UTC),
    )
    NewsletterFactory(name="Daily Briefing", slug="daily-briefing")


def test_there_are_at_least_eighty_hostile_requests():
    assert len(list(hostile_requests())) >= 80


@pytest.mark.parametrize("url", list(hostile_requests()))
def test_hostile_request_is_refused_without_a_server_error(client, site, url):
    response = client.get(url)

    assert response.status_code < 500, url


@pytest.mark.parametrize(
    "url",
    [
        "/section/%00/",
        "/tag/a%00/",
        "/author/%00/",
        "/section/the-loop%00/feed/",
        "/author/%00/feed/",
        STORY_URL.replace("goodbyes", "goodbyes%00"),
    ],
)
def test_nul_byte_in_a_slug_is_a_bad_request(client, site, url):
    assert client.get(url).status_code == 400


@pytest.mark.parametrize("query", ["q=%00", "q=harb%00our"])
def test_search_for_a_nul_byte_gets_the_search_page(client, site, query):
    response = client.get(f"/search/?{query}")

    assert response.status_code == 200
    assert '<input id="search-page-q"' in response.content.decode()


@pytest.mark.parametrize(
    "url",
    [f"/section/{LONG}/", f"/tag/{LONG}/", f"/author/{LONG}/", f"/2016/12/13/{LONG}/"],
)
def test_ten_thousand_character_slug_is_not_found(client, site, url):
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("url", ["/2016/13/45/x/", "/0000/00/00/x/", "/9999/12/31/x/"])
def test_impossible_or_last_possible_date_is_not_found(client, site, url):
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("query", ["page=abc", "page=-1", "page=99999999999999999999"])
def test_listing_page_that_is_not_a_page_number_is_not_found(client, site, query):
    assert client.get(f"/section/the-loop/?{query}").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/admin/articles/article/?status=%00",
        "/admin/articles/article/?q=harb%00our",
        "/admin/photos/photo/?q=%00",
        "/admin/articles/article/1/history/compare/?version_id1=%00&version_id2=1",
    ],
)
def test_nul_byte_in_an_admin_query_is_no_server_error(client, url):
    """Guards the 500 from filter values the changelist hands to PostgreSQL unchecked."""
    client.force_login(UserFactory(username="ed", role="Editor"))

    assert client.get(url).status_code in (200, 404)
