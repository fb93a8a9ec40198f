"""Reader and admin search: PostgreSQL full-text search, with a plain fallback on SQLite.

Each story stores a weighted ``tsvector`` in ``Article.search_vector``: headline (A),
standfirst (B), body text (C), and bylines, free-text byline and tags (D). The receivers
in ``articles/signals.py`` recompute it whenever any of those change, and migration 0005
creates its GIN index and fills it for existing stories. Queries use websearch syntax
(``"exact phrase"``, ``-word``, ``or``), so whatever a reader types is valid input.

On SQLite (``make run``) there is no vector: every term is an ``icontains`` over
headline, standfirst and body, newest first.
"""

import re
from dataclasses import dataclass
from html import unescape

from django.contrib.postgres.aggregates import StringAgg
from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVector
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import F, OuterRef, Q, Subquery, TextField
from django.shortcuts import render
from django.utils.html import escape
from django.utils.safestring import mark_safe

from articles.models import Article, ArticleAuthor

# "english" rather than "simple": the site writes en-gb, and stemming lets "protests"
# find "protesters" and "elections" find "election". Arabic loses nothing by it: the
# English Snowball stemmer only rewrites Latin suffixes, so an Arabic word is indexed
# exactly as "simple" would index it (checked on PostgreSQL 15:
# to_tsvector('english', 'سكان حلب') = 'حلب':2 'سكان':1). The cost is English stop
# words ("the", "am") that cannot be searched alone. Vector, query and snippets must
# all use the same configuration, or stems will not meet.
SEARCH_CONFIG = "english"

# ts_rank weights for D, C, B, A: a headline hit counts ten times a byline or tag hit.
RANK_WEIGHTS = [0.1, 0.2, 0.4, 1.0]
# Divide by 1 + log(length), so a long story mentioning a word once does not beat a
# short one about it, without punishing length as hard as normalisation 2 would.
RANK_NORMALIZATION = 1

MAX_QUERY_LENGTH = 200
RESULTS_PER_PAGE = 20
# Ranking reads every candidate's vector, so a word found in most of 100,000 stories
# would cost seconds. Only the newest SEARCH_CANDIDATES matches are ranked (and
# counted): all of them for a specific search, the recent ones for a common word,
# which is what a news reader wants. Measured on 100,000 generated stories.
SEARCH_CANDIDATES = 500

# PostgreSQL marks matches with these; the text is escaped and only then are they made
# into <mark> elements, so nothing in a story can become markup. They are private-use
# characters, which no story should contain; if one did, the worst it could do is
# misplace a highlight, as unpaired markers are dropped.
MATCH_START = "\ue000"
MATCH_STOP = "\ue001"
MARKED_MATCH = re.compile(f"{MATCH_START}([^{MATCH_START}{MATCH_STOP}]*){MATCH_STOP}")

SNIPPET_CONTEXT = 90
SNIPPET_LENGTH = 240


def full_text_search_available(using="default"):
    """Return whether the database behind ``using`` has PostgreSQL full-text search."""
    return connections[using].vendor == "postgresql"


# Queries ------------------------------------------------------------------------------


def clean_query(text):
    """Return ``text`` as a search query, and whether it had to be cut to MAX_QUERY_LENGTH.

    NUL bytes are dropped (PostgreSQL refuses them in text) and runs of whitespace,
    newlines included, become one space.
    """
    query = " ".join((text or "").replace("\x00", "").split())
    if len(query) <= MAX_QUERY_LENGTH:
        return query, False
    return query[:MAX_QUERY_LENGTH].rstrip(), True


@dataclass(frozen=True)
class Term:
    text: str
    excluded: bool = False
    phrase: bool = False


TOKEN = re.compile(r'(?P<minus>-?)"(?P<phrase>[^"]*)"?|(?P<word>\S+)')
EDGE_PUNCTUATION = re.compile(r"^[\W_]+|[\W_]+$")


def parse_query(query):
    """Return the query's alternatives (lists of required terms) and its excluded terms.

    Reads websearch syntax as PostgreSQL does: ``"a phrase"``, ``-word``, ``a or b``.
    Terms without a letter or digit are dropped: they match nothing PostgreSQL indexes.
    """
    alternatives, excluded = [[]], []
    for match in TOKEN.finditer(query):
        if match["word"] and match["word"].lower() == "or":
            alternatives.append([])
            continue
        if match["word"] is not None:
            word = match["word"]
            minus = word.startswith("-")
            term = Term(EDGE_PUNCTUATION.sub("", word), excluded=minus)
        else:
            term = Term(match["phrase"].strip(), excluded=bool(match["minus"]), phrase=True)
        if not re.search(r"\w", term.text):
            continue
        (excluded if term.excluded else alternatives[-1]).append(term)
    return [terms for terms in alternatives if terms], excluded


def has_search_terms(query):
    """Return whether ``query`` holds any word to search for, wanted or excluded."""
    alternatives, excluded = parse_query(query)
    return bool(alternatives or excluded)


def highlight_query(query):
    """Return ``query`` without its excluded terms, for highlighting what was found."""
    alternatives, _ = parse_query(query)
    wanted = [term for terms in alternatives for term in terms]
    return " or ".join(f'"{term.text}"' if term.phrase else term.text for term in wanted)


# The stored vector ---------------------------------------------------------------------


def search_vector():
    """Return the expression for a story's weighted search vector, for ``update()``.

    Migration 0005 backfills with the same definition written out as SQL; a test checks
    that the two agree.
    """
    author_names = (
        ArticleAuthor.objects.filter(article=OuterRef("pk"))
        .order_by()
        .values("article")
        .annotate(names=StringAgg("author__name", " ", order_by=("position", "id")))
        .values("names")
    )
    tag_names = (
        Article.tags.through.objects.filter(article=OuterRef("pk"))
        .order_by()
        .values("article")
        .annotate(names=StringAgg("tag__name", " ", order_by=("tag__name",)))
        .values("names")
    )
    return (
        SearchVector("headline", weight="A", config=SEARCH_CONFIG)
        + SearchVector("dek", weight="B", config=SEARCH_CONFIG)
        # PostgreSQL's parser knows HTML: tags (attributes and all) and entities are
        # tokens it never indexes, so the stored body needs no stripping first.
        + SearchVector("body", weight="C", config=SEARCH_CONFIG)
        + SearchVector(
            Subquery(author_names, output_field=TextField()),
            "byline",
            Subquery(tag_names, output_field=TextField()),
            weight="D",
            config=SEARCH_CONFIG,
        )
    )


def update_search_vectors(articles):
    """Recompute the stored search vector of every story in ``articles`` with one UPDATE.

    Does nothing off PostgreSQL. Call it after bulk changes that send no signals
    (``QuerySet.update()``, ``bulk_create()``, raw SQL).
    """
    if not full_text_search_available(articles.db):
        return 0
    return articles.update(search_vector=search_vector())


# Searching -----------------------------------------------------------------------------


def search_articles(query, *, queryset=None, ranked=True):
    """Return the stories in ``queryset`` (public stories by default) that match ``query``.

    Ranked (the default), best match first and newest first among equals, each story
    carrying ``search_rank`` on PostgreSQL; ``highlight_results`` then marks up the page
    shown. Unranked (the admin), the queryset is only filtered and keeps its order.
    """
    query, _ = clean_query(query)
    if queryset is None:
        queryset = Article.objects.published()
    if not query:
        return queryset.none()
    if not full_text_search_available(queryset.db):
        return fallback_search(query, queryset=queryset, ranked=ranked)
    search_query = SearchQuery(query, search_type="websearch", config=SEARCH_CONFIG)
    matches = queryset.filter(search_vector=search_query)
    if not ranked:
        return matches
    newest_matches = matches.order_by("-published_at", "-pk").values("pk")[:SEARCH_CANDIDATES]
    return (
        queryset.filter(pk__in=newest_matches)
        .annotate(
            search_rank=SearchRank(
                F("search_vector"),
                search_query,
                weights=RANK_WEIGHTS,
                normalization=RANK_NORMALIZATION,
            )
        )
        # Snippets stand in for the body, and nothing shows the vector: neither needs
        # to leave the database.
        .defer("body", "search_vector")
        .order_by("-search_rank", "-published_at", "-pk")
    )


def marked_texts(articles, query):
    """Return {pk: (headline, snippet)} for ``articles``, matches between MATCH_START/STOP.

    One query for the page shown: computed in the ranking query instead, ts_headline
    would also run for every row an OFFSET skips, so page 20 would cost 20 times page 1.
    """
    shown_query = SearchQuery(highlight_query(query), search_type="websearch", config=SEARCH_CONFIG)
    marks = {"config": SEARCH_CONFIG, "start_sel": MATCH_START, "stop_sel": MATCH_STOP}
    rows = (
        Article.objects.using(articles[0]._state.db)
        .filter(pk__in=[article.pk for article in articles])
        .annotate(
            marked_headline=SearchHeadline("headline", shown_query, highlight_all=True, **marks),
            # Outside HighlightAll mode ts_headline leaves the body's tags out, so the
            # snippet is the story's text, its entities still to decode.
            marked_snippet=SearchHeadline(
                "body",
                shown_query,
                max_fragments=2,
                min_words=12,
                max_words=28,
                fragment_delimiter=" … ",
                **marks,
            ),
        )
        .values_list("pk", "marked_headline", "marked_snippet")
    )
    return {pk: (headline, snippet) for pk, headline, snippet in rows}


def fallback_search(query, *, queryset, ranked):
    """Return stories containing the query's terms, newest first, for databases without FTS."""
    alternatives, excluded = parse_query(query)
    if not alternatives and not excluded:
        return queryset.none()
    if alternatives:
        wanted = Q()
        for terms in alternatives:
            every_term = Q()
            for term in terms:
                every_term &= term_filter(term)
            wanted |= every_term
        queryset = queryset.filter(wanted)
    for term in excluded:
        queryset = queryset.exclude(term_filter(term))
    if ranked:
        queryset = queryset.defer("search_vector").order_by("-published_at", "-pk")
    return queryset


def term_filter(term):
    return (
        Q(headline__icontains=term.text)
        | Q(dek__icontains=term.text)
        | Q(body__icontains=term.text)
    )


# Highlighting --------------------------------------------------------------------------


def mark_matches(marked_text, *, is_html=False):
    """Return PostgreSQL's marked text as safe HTML: all escaped but the <mark> elements.

    ``is_html`` says the text still holds the story's HTML entities, to decode first.
    """
    text = unescape(marked_text or "") if is_html else marked_text or ""
    escaped = str(escape(" ".join(text.split())))
    highlighted = MARKED_MATCH.sub(r"<mark>\1</mark>", escaped)
    return mark_safe(highlighted.replace(MATCH_START, "").replace(MATCH_STOP, ""))


def mark_terms(text, pattern):
    """Return ``text`` escaped, with each match of ``pattern`` wrapped in <mark>."""
    if pattern is None:
        return escape(text)
    pieces, position = [], 0
    for match in pattern.finditer(text):
        pieces += [escape(text[position : match.start()]), "<mark>", escape(match[0]), "</mark>"]
        position = match.end()
    pieces.append(escape(text[position:]))
    return mark_safe("".join(str(piece) for piece in pieces))


def excerpt(text, pattern):
    """Return about SNIPPET_LENGTH characters of ``text`` around the first match of ``pattern``."""
    match = pattern.search(text) if pattern else None
    start = max(0, match.start() - SNIPPET_CONTEXT) if match else 0
    end = min(len(text), start + SNIPPET_LENGTH)
    if start > 0:
        space = text.find(" ", start, match.start())
        start = space + 1 if space != -1 else start
    if end < len(text):
        space = text.rfind(" ", match.end() if match else start, end)
        end = space if space != -1 else end
    return ("… " if start > 0 else "") + text[start:end].strip() + (" …" if end < len(text) else "")


def highlight_results(articles, query):
    """Give each story ``headline_html`` and ``snippet_html``: escaped, matches in <mark>."""
    articles = list(articles)
    if not articles:
        return articles
    if full_text_search_available(articles[0]._state.db):
        marked = marked_texts(articles, query)
        for article in articles:
            headline, snippet = marked[article.pk]
            article.headline_html = mark_matches(headline)
            article.snippet_html = mark_matches(snippet, is_html=True)
        return articles
    return highlight_fallback_results(articles, query)


def highlight_fallback_results(articles, query):
    """Give each story highlighted HTML as ``highlight_results`` does, in Python alone."""
    articles = list(articles)
    alternatives, _ = parse_query(query)
    texts = sorted({term.text for terms in alternatives for term in terms}, key=len, reverse=True)
    pattern = (
        re.compile("|".join(re.escape(text) for text in texts), re.IGNORECASE) if texts else None
    )
    for article in articles:
        article.headline_html = mark_terms(article.headline, pattern)
        body_text = " ".join(article.body_text.split())
        article.snippet_html = mark_terms(excerpt(body_text, pattern), pattern)
    return articles


# The page ------------------------------------------------------------------------------


def search_view(request):
    """Show the public stories matching ``?q=``, best first, twenty a page, never a 500."""
    query, truncated = clean_query(request.GET.get("q", ""))
    context = {
        "query": query,
        "truncated": truncated,
        "max_query_length": MAX_QUERY_LENGTH,
        "searchable": has_search_terms(query),
    }
    if context["searchable"]:
        stories = search_articles(query, queryset=Article.objects.published().for_listing())
        page = Paginator(stories, RESULTS_PER_PAGE).get_page(request.GET.get("page"))
        page.object_list = highlight_results(page.object_list, query)
        context.update(
            page_obj=page,
            articles=page.object_list,
            result_count=page.paginator.count,
            more_results=full_text_search_available() and page.paginator.count >= SEARCH_CANDIDATES,
        )
    response = render(request, "articles/search.html", context)
    if query:
        # Result pages are endless and thin; search engines should index the stories instead.
        # The empty search page is one ordinary page and stays indexable.
        response["X-Robots-Tag"] = "noindex"
    return response
