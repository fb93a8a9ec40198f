"""The quick reading of story tags agrees with the HTML parser, whatever the markup."""

import random

import feedparser
import pytest

from articles.html import absolute_html, sanitize_html, scan_start_tags, scan_tags
from articles.models import Article
from tests.articles.xss_payloads import XSS_PAYLOADS
from tests.factories import ArticleFactory

URL_ATTRIBUTES = ("href", "src", "cite")

# Pieces of markup a body may hold: what the sanitiser writes, and what it never writes
# but a story saved around it (QuerySet.update, an old import) might.
PIECES = [
    "<p>", "</p>", "text ", "&amp;", "&quot;", '"', "'", "=", " ", "\t", "\n", "\u00a0",
    "\x0b", "<", ">", "/", '<a href="/local/path">', '<a href="https://example.org/?a=1&amp;b=2">',
    "</a>", '<img src="/media/x.jpg" alt="">', "<img src=/bare.jpg>", "<img src='/single.jpg'>",
    '<IMG SRC="/UPPER.JPG">', "<br>", "<br/>", "<br />", '<a href="a" href="b">', "<a href>",
    '<a title="x&gt;y" href="relative.html">', '<blockquote cite="../up">', "<!-- note -->",
    "<script>", "</script>", "<style>", "<title>", "<textarea>", "<?pi?>", "<!doctype html>",
    "</ a>", "</3>", '<a\u00a0href="/nbsp">', '<a href="/q"\u00a0rel="x">', '<a href = "/s">',
    '<figure class="media" data-embed-url="https://x.com/a/status/1">', "</figure>",
    '<x-card data-x="1">', "<p\n>", '<a\nhref="/newline">',
]  # fmt: skip


def start_tags_as_parsed(html, with_any_of=None):
    return [
        tag
        for tag in scan_tags(html)
        if not tag.closing
        and (with_any_of is None or any(name in tag.attributes for name in with_any_of))
    ]


def documents():
    yield from XSS_PAYLOADS.values()
    yield from (sanitize_html(payload) for payload in XSS_PAYLOADS.values())
    generator = random.Random(7)
    for _ in range(3000):
        yield "".join(generator.choice(PIECES) for _ in range(generator.randint(1, 14)))


@pytest.mark.parametrize("with_any_of", [None, URL_ATTRIBUTES])
def test_start_tags_are_read_as_the_parser_reads_them(with_any_of):
    for html in documents():
        assert scan_start_tags(html, with_any_of=with_any_of) == start_tags_as_parsed(
            html, with_any_of
        ), html


def test_sanitised_story_is_read_without_the_parser(monkeypatch):
    """Guard against the feed parsing every body again on every render."""
    body = sanitize_html(
        '<p>See <a href="/2016/12/13/aleppo/" title="Aleppo &amp; after">the story</a>.</p>'
        '<figure class="image"><img src="/media/inline.jpg" alt="A street"></figure>'
    )

    def no_parser(html):
        raise AssertionError("parsed")

    monkeypatch.setattr("articles.html.scan_tags", no_parser)
    tags = scan_start_tags(body, with_any_of=URL_ATTRIBUTES)

    assert [(tag.name, tag.attributes.get("href") or tag.attributes["src"]) for tag in tags] == [
        ("a", "/2016/12/13/aleppo/"),
        ("img", "/media/inline.jpg"),
    ]


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (
            '<p><a href="/local/" rel="noopener noreferrer">x</a></p>',
            '<p><a href="https://site.example/local/" rel="noopener noreferrer">x</a></p>',
        ),
        ("<p><img src='pic.jpg'/></p>", '<p><img src="https://site.example/a/pic.jpg"></p>'),
        ("<!-- <a href='/no'> --><a HREF=/yes>", '<!-- <a href=\'/no\'> --><a href="https://site.example/yes">'),
        ('<a href="https://example.org/">kept</a>', '<a href="https://example.org/">kept</a>'),
    ],
)  # fmt: skip
def test_feed_makes_relative_addresses_absolute_in_any_markup(html, expected):
    assert absolute_html(html, "https://site.example/a/b") == expected


@pytest.mark.django_db
def test_feed_links_of_a_body_that_skipped_the_sanitiser_are_absolute(client):
    story = ArticleFactory()
    # QuerySet.update() skips save(), and with it the sanitiser's canonical quoting.
    Article.objects.filter(pk=story.pk).update(
        body="<p><a href='/elsewhere/'>single quotes</a> <img src=/media/bare.jpg></p>"
    )

    entry = feedparser.parse(client.get("/feeds/latest/").content).entries[0]

    content = entry.content[0].value
    assert 'href="http://testserver/elsewhere/"' in content
    assert 'src="http://testserver/media/bare.jpg"' in content
