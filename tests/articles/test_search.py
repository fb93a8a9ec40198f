"""Reader and editor search: ranked, highlighted, current, leak-free and unbreakable."""

import importlib
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from articles.models import Article, ArticleAuthor
from articles.search import (
    MAX_QUERY_LENGTH,
    clean_query,
    fallback_search,
    highlight_fallback_results,
    parse_query,
    search_articles,
    update_search_vectors,
)
from articles.signals import search_vector_upkeep_paused
from tests.factories import (
    ArticleFactory,
    AuthorFactory,
    PhotoFactory,
    SectionFactory,
    TagFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

requires_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="REQUIRE_POSTGRES: full-text search needs PostgreSQL",
)


def headlines(query, **kwargs):
    return [article.headline for article in search_articles(query, **kwargs)]


def story(headline, body="<p>Nothing to see.</p>", **fields):
    return ArticleFactory(headline=headline, dek=fields.pop("dek", ""), body=body, **fields)


def stored_vector(article):
    article.refresh_from_db(fields=["search_vector"])
    return article.search_vector or ""


# Ranking and query syntax (PostgreSQL) -------------------------------------------------


@requires_postgres
def test_headline_match_outranks_body_only_match():
    story("Council approves budget", body="<p>The vote was close on the harbour.</p>")
    story("Harbour reopens after storm", body="<p>Ships returned.</p>")

    assert headlines("harbour") == ["Harbour reopens after storm", "Council approves budget"]


@requires_postgres
def test_equally_good_matches_are_listed_newest_first():
    older = story("Harbour news", published_at=timezone.now() - timedelta(days=2))
    newer = story("Harbour news", published_at=timezone.now() - timedelta(hours=1))

    assert [article.pk for article in search_articles("harbour")] == [newer.pk, older.pk]


@requires_postgres
def test_quoted_phrase_finds_only_the_words_together():
    story("Aleppo residents tweet harrowing goodbyes")
    story("Goodbyes were harrowing for residents")

    assert headlines('"harrowing goodbyes"') == ["Aleppo residents tweet harrowing goodbyes"]
    assert len(headlines("harrowing goodbyes")) == 2


@requires_postgres
def test_minus_excludes_stories_with_the_word():
    story("Aleppo residents leave")
    story("Aleppo ceasefire holds")

    assert headlines("aleppo -ceasefire") == ["Aleppo residents leave"]


@requires_postgres
def test_or_finds_either_word():
    story("Storm hits the harbour")
    story("Flood closes the bridge")
    story("Council meets")

    assert sorted(headlines("storm or flood")) == [
        "Flood closes the bridge",
        "Storm hits the harbour",
    ]


@requires_postgres
def test_english_words_are_found_by_their_stem():
    story("Protesters gather at the square")

    assert headlines("protest") == ["Protesters gather at the square"]


@requires_postgres
def test_stories_are_found_by_author_free_text_byline_and_tag():
    author = AuthorFactory(name="Zeina Haddad")
    tag = TagFactory(name="Refugees")
    story("By a named author", authors=[author])
    story("By the agency", byline="Reuters")
    story("Tagged story", tags=[tag])

    assert headlines("haddad") == ["By a named author"]
    assert headlines("reuters") == ["By the agency"]
    assert headlines("refugees") == ["Tagged story"]


@requires_postgres
def test_arabic_text_is_found():
    story("سكان حلب يودعون المدينة", body="<p>غرد سكان حلب بوداع مؤلم.</p>")
    story("English only")

    assert headlines("حلب") == ["سكان حلب يودعون المدينة"]
    assert headlines("مؤلم") == ["سكان حلب يودعون المدينة"]


@requires_postgres
def test_a_common_word_ranks_only_the_newest_matches(client, monkeypatch):
    monkeypatch.setattr("articles.search.SEARCH_CANDIDATES", 3)
    for days in range(5):
        story(f"Council story {days} days old", published_at=timezone.now() - timedelta(days=days))

    response = client.get("/search/", {"q": "council"})

    assert [article.headline for article in response.context["articles"]] == [
        "Council story 0 days old",
        "Council story 1 days old",
        "Council story 2 days old",
    ]
    assert "3 or more stories found" in response.content.decode()


@requires_postgres
def test_text_inside_html_tags_is_searched_but_markup_is_not():
    story("Linked story", body='<p>See <a href="https://example.org/zebra">the report</a>.</p>')

    assert headlines("report") == ["Linked story"]
    assert headlines("zebra") == []


# Keeping the vector current (PostgreSQL) -----------------------------------------------


@requires_postgres
def test_vector_follows_headline_standfirst_and_body_edits():
    # Loaded afresh, as the admin loads it: with the stored vector it must not write back.
    article = Article.objects.get(pk=story("Old headline", body="<p>Old body.</p>").pk)

    article.headline = "Lighthouse keepers strike"
    article.dek = "Ferries wait"
    article.body = "<p>Fishermen cheered.</p>"
    article.save()

    assert headlines("lighthouse") == headlines("ferries") == headlines("fishermen")
    assert headlines("fishermen") == ["Lighthouse keepers strike"]
    assert headlines("old") == []


@requires_postgres
def test_bulk_tools_can_pause_the_vector_upkeep_and_bring_it_up_to_date_after():
    """Bench's story generator deletes thousands of bylines inside the pause."""
    article = story("Story with a byline")
    byline = ArticleAuthor.objects.create(article=article, author=AuthorFactory(name="Kassab"))

    with search_vector_upkeep_paused():
        byline.delete()
    assert headlines("kassab") == ["Story with a byline"]

    update_search_vectors(Article.objects.filter(pk=article.pk))
    assert headlines("kassab") == []
    ArticleAuthor.objects.create(article=article, author=AuthorFactory(name="Sayegh"))
    assert headlines("sayegh") == ["Story with a byline"]


@requires_postgres
def test_vector_follows_bylines_added_changed_and_removed():
    article = story("Story with a byline")
    first, second = AuthorFactory(name="Mariam Kassab"), AuthorFactory(name="Omar Sayegh")

    byline = ArticleAuthor.objects.create(article=article, author=first)
    assert headlines("kassab") == ["Story with a byline"]

    byline.author = second
    byline.save()
    assert headlines("kassab") == []
    assert headlines("sayegh") == ["Story with a byline"]

    byline.delete()
    assert headlines("sayegh") == []


@requires_postgres
def test_vector_follows_tags_added_removed_and_cleared_from_either_side():
    article = story("Tagged later")
    tag = TagFactory(name="Earthquake")

    article.tags.add(tag)
    assert headlines("earthquake") == ["Tagged later"]
    article.tags.remove(tag)
    assert headlines("earthquake") == []
    tag.articles.add(article)
    assert headlines("earthquake") == ["Tagged later"]
    tag.articles.clear()
    assert headlines("earthquake") == []
    article.tags.set([tag])
    article.tags.clear()
    assert headlines("earthquake") == []


@requires_postgres
def test_vector_follows_author_and_tag_renames_and_tag_deletion():
    author = AuthorFactory(name="Lina Farah")
    tag = TagFactory(name="Drought")
    story("Renamed things", authors=[author], tags=[tag])

    author.name = "Lina Nassar"
    author.save()
    tag.name = "Famine"
    tag.save()
    assert headlines("nassar") == headlines("famine") == ["Renamed things"]
    assert headlines("farah") == headlines("drought") == []

    tag.delete()
    assert headlines("famine") == []


@requires_postgres
def test_saving_an_author_without_renaming_leaves_story_vectors_alone(
    django_assert_num_queries,
):
    """Guard against rewriting every vector of a prolific author on each bio edit."""
    author = AuthorFactory(name="Lina Farah")
    story("One", authors=[author])

    author.bio = "Covers the coast."
    with django_assert_num_queries(1):
        author.save()


@requires_postgres
def test_migration_backfill_gives_the_same_vector_as_the_signals():
    author = AuthorFactory(name="Zeina Haddad")
    article = story(
        "Aleppo residents tweet",
        dek="Goodbyes from a city",
        body="<p>Fish &amp; chips &lt;b&gt; here.</p><p>حلب   again</p>",
        byline="AM",
        authors=[author, AuthorFactory(name="Omar Sayegh")],
        tags=[TagFactory(name="Syria"), TagFactory(name="Aleppo")],
    )
    kept_by_signals = stored_vector(article)
    migration = importlib.import_module("articles.migrations.0005_search_vector")

    with connection.cursor() as cursor:
        cursor.execute("UPDATE articles_article SET search_vector = NULL")
        cursor.execute(migration.BACKFILL)

    assert stored_vector(article) == kept_by_signals
    assert "'aleppo':1A" in kept_by_signals and "'haddad'" in kept_by_signals


# What is never found -------------------------------------------------------------------

HIDDEN_STATES = {
    "draft": {"status": Article.Status.DRAFT, "published_at": None},
    "review": {"status": Article.Status.REVIEW, "published_at": None},
    "scheduled": {"published_at": timezone.now() + timedelta(days=1)},
    "withdrawn": {"status": Article.Status.WITHDRAWN},
}


@pytest.mark.parametrize("state", HIDDEN_STATES, ids=list(HIDDEN_STATES))
def test_unpublished_stories_are_never_found(client, state):
    story("Xylophone budget leaked", body="<p>Xylophone.</p>", **HIDDEN_STATES[state])
    story("Xylophone concert reviewed")

    response = client.get("/search/", {"q": "xylophone"})

    assert "<mark>Xylophone</mark> concert reviewed" in response.content.decode()
    assert "leaked" not in response.content.decode()
    assert headlines("xylophone") == ["Xylophone concert reviewed"]


# Snippets ------------------------------------------------------------------------------


RESULT_LIST_ELEMENTS = {"ol", "li", "article", "p", "h2", "a", "mark", "time", "span"}


def result_html(response):
    return re.search(r'<ol class="search-results".*?</ol>', response.content.decode(), re.S)[0]


def test_results_highlight_matches_and_escape_the_story_text(client):
    story(
        "Harbour & <b>bold</b> claims",
        body="<p>Readers wrote &lt;script&gt;alert(1)&lt;/script&gt; about the harbour.</p>",
    )

    html = result_html(client.get("/search/", {"q": "harbour"}))

    assert "<mark>Harbour</mark> &amp; &lt;b&gt;bold&lt;/b&gt; claims" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; about the <mark>harbour</mark>" in html
    assert "<script" not in html and "<b>" not in html
    assert set(re.findall(r"</?(\w+)", html)) <= RESULT_LIST_ELEMENTS


def test_snippet_shows_the_part_of_a_long_story_that_matches(client):
    filler = " ".join(["Nothing happened on this quiet day."] * 40)
    story("Quiet day", body=f"<p>{filler}</p><p>Then a lighthouse flashed across the harbour.</p>")

    html = result_html(client.get("/search/", {"q": "lighthouse"}))

    assert "Then a <mark>lighthouse</mark> flashed across the harbour" in html


# The page ------------------------------------------------------------------------------


def test_search_results_are_noindex_with_a_labelled_form_and_one_heading(client):
    story("Harbour reopens")

    response = client.get("/search/", {"q": "harbour"})
    html = response.content.decode()

    assert response.status_code == 200
    assert response["X-Robots-Tag"] == "noindex"
    assert '<meta name="robots" content="noindex">' in html
    assert html.count("<h1") == 1
    assert '<label for="search-page-q">Search stories</label>' in html
    assert re.search(r'<form class="search-form" role="search"', html)
    assert "1 story found" in html


def test_the_empty_search_page_may_be_indexed(client):
    response = client.get("/search/")
    html = response.content.decode()

    assert response.status_code == 200
    assert "X-Robots-Tag" not in response
    assert 'name="robots"' not in html
    assert '<meta name="description" content="Search the stories of' in html


def test_empty_search_shows_a_form_without_running_a_search(client, django_assert_num_queries):
    client.get("/")  # the site settings and navigation are cached after the first page

    with django_assert_num_queries(0):
        response = client.get("/search/")

    assert response.status_code == 200
    assert "Type a word, a name or a phrase" in response.content.decode()


def test_no_results_page_helps_the_reader(client):
    story("Harbour reopens")

    html = client.get("/search/", {"q": "xylophone"}).content.decode()

    assert "No stories match “xylophone”" in html
    assert "Check the spelling" in html


ODD_QUERIES = {
    "empty": "",
    "spaces": "   \t\n ",
    "1000 characters": "harbour " * 125,
    "quotes only": '"""',
    "one quote": '"',
    "unbalanced quotes": '"harbour reopens',
    "sql fragment": "'; DROP TABLE articles_article;--",
    "sql comment": "harbour' OR 1=1 --",
    "emoji": "🌊🚢",
    "nul byte": "\x00",
    "nul inside a word": "harb\x00our",
    "lone minus": "-",
    "ampersand": "&",
    "pipe": "|",
    "bang": "!",
    "tsquery syntax": "harbour:* & !(a <-> b) | c",
    "percent and underscore": "%_%",
    "backslash": "\\",
    "or alone": "or",
    "stop words only": "the and of",
    "minus word only": "-harbour",
    "combining marks": "e\u0301\u0301\u0301",
    "right-to-left mark": "\u200f",
}


@pytest.mark.parametrize("query", ODD_QUERIES.values(), ids=list(ODD_QUERIES))
def test_odd_input_gets_a_friendly_page(client, query):
    story("Harbour reopens after storm")

    response = client.get("/search/", {"q": query})

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>" in html and '<input id="search-page-q"' in html
    assert any(
        friendly in html
        for friendly in ("Type a word", "nothing to search for", "No stories match", "found")
    )


def test_overlong_query_is_cut_and_the_reader_told(client):
    response = client.get("/search/", {"q": "harbour " * 125})

    assert response.status_code == 200
    assert f"only its first {MAX_QUERY_LENGTH} characters were used" in response.content.decode()
    assert len(response.context["query"]) <= MAX_QUERY_LENGTH


def test_clean_query_drops_nul_bytes_and_squeezes_whitespace():
    assert clean_query("  harb\x00our \n reopens ") == ("harbour reopens", False)
    assert clean_query("x" * 500) == ("x" * MAX_QUERY_LENGTH, True)


@pytest.mark.parametrize("page", ["2", "999", "abc", "-1", "0"])
def test_any_page_number_gets_a_page(client, page):
    for number in range(25):
        story(f"Harbour story {number}")

    response = client.get("/search/", {"q": "harbour", "page": page})

    assert response.status_code == 200
    assert response.content.decode().count('class="story-card search-result"') in (20, 5)


def test_pagination_links_keep_the_query(client):
    for number in range(25):
        story(f"Harbour story {number}")

    first = client.get("/search/", {"q": "harbour & story"}).content.decode()
    second = client.get("/search/", {"q": "harbour", "page": "2"}).content.decode()

    assert 'href="?q=harbour%20%26%20story&amp;page=2" rel="next"' in first
    assert 'href="?q=harbour&amp;page=1" rel="prev"' in second
    assert "25 stories found, showing 21–25" in second


@pytest.mark.parametrize("count", [5, 60])
def test_search_runs_a_constant_number_of_queries(client, django_assert_max_num_queries, count):
    """Guard against a query per result for bylines, sections, photos or snippets.

    On PostgreSQL: count, ranked page, bylines, highlighted snippets for the page.
    """
    section = SectionFactory(name="The Loop", slug="the-loop")
    authors = AuthorFactory.create_batch(2)
    tags = TagFactory.create_batch(2)
    photo = PhotoFactory()
    for number in range(count):
        ArticleFactory(
            section=section,
            authors=authors,
            tags=tags,
            lead_photo=photo,
            published_at=timezone.now() - timedelta(hours=number + 1),
        )
    client.get("/")  # the site settings and navigation are cached after the first page

    for page in ("1", "3"):
        with django_assert_max_num_queries(4):
            response = client.get("/search/", {"q": "story", "page": page})
        assert response.status_code == 200
        assert 'class="story-card search-result"' in response.content.decode()


# The fallback without PostgreSQL (runs on every database) ------------------------------


def fallback_headlines(query):
    return [
        article.headline
        for article in fallback_search(query, queryset=Article.objects.published(), ranked=True)
    ]


def test_fallback_search_matches_terms_phrases_exclusions_and_or_newest_first():
    now = timezone.now()
    story("Harbour reopens", body="<p>Storm damage repaired.</p>", published_at=now - timedelta(2))
    story("Bridge closes", body="<p>Harbour traffic diverted.</p>", published_at=now)
    story("Storm warning", body="<p>Stay indoors.</p>", published_at=now - timedelta(1))
    story("Draft harbour", status=Article.Status.DRAFT, published_at=None)

    assert fallback_headlines("harbour") == ["Bridge closes", "Harbour reopens"]
    assert fallback_headlines('"harbour traffic"') == ["Bridge closes"]
    assert fallback_headlines("harbour -bridge") == ["Harbour reopens"]
    assert fallback_headlines("bridge or warning") == ["Bridge closes", "Storm warning"]
    assert fallback_headlines("'; DROP TABLE--") == []
    assert fallback_headlines('" - & |') == []


def test_fallback_snippet_is_an_escaped_excerpt_around_the_first_match():
    filler = " ".join(["Quiet day &lt;here&gt;."] * 30)
    story("Harbour & <b>bold</b>", body=f"<p>{filler}</p><p>Fish &amp; the harbour.</p>")

    [article] = highlight_fallback_results(
        fallback_search("harbour", queryset=Article.objects.published(), ranked=True), "harbour"
    )

    assert article.headline_html == "<mark>Harbour</mark> &amp; &lt;b&gt;bold&lt;/b&gt;"
    assert article.snippet_html.startswith("… ")
    assert "Fish &amp; the <mark>harbour</mark>." in article.snippet_html
    assert "&lt;here&gt;" in article.snippet_html and "<here>" not in article.snippet_html


def test_parse_query_reads_websearch_syntax():
    alternatives, excluded = parse_query('"harrowing goodbyes" aleppo, -ceasefire or syria -')

    assert [[term.text for term in terms] for terms in alternatives] == [
        ["harrowing goodbyes", "aleppo"],
        ["syria"],
    ]
    assert [term.text for term in excluded] == ["ceasefire"]


# The admin -----------------------------------------------------------------------------


@pytest.fixture
def editor_client(client):
    client.force_login(UserFactory(username="ed", role="Editor"))
    return client


def test_admin_search_finds_stories_by_body_text(editor_client):
    story("Council meets", body="<p>The lighthouse budget was cut.</p>")
    story("Other story")

    response = editor_client.get("/admin/articles/article/", {"q": "lighthouse"})

    assert response.status_code == 200
    assert [article.headline for article in response.context["cl"].result_list] == ["Council meets"]


@requires_postgres
def test_admin_search_uses_full_text_search_over_every_state(editor_client):
    story("Draft about protesters", status=Article.Status.DRAFT, published_at=None)
    story("Scheduled protest", published_at=timezone.now() + timedelta(days=1))
    story("Unrelated")

    response = editor_client.get("/admin/articles/article/", {"q": "protest -scheduled"})
    odd = editor_client.get("/admin/articles/article/", {"q": "\x00'; DROP TABLE--" + "x" * 500})

    assert [article.headline for article in response.context["cl"].result_list] == [
        "Draft about protesters"
    ]
    assert odd.status_code == 200
