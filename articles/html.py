"""Server-side sanitising of story HTML.

Whatever a browser, an importer or the shell sends, only this allow-list reaches the
database. nh3 (the Rust ammonia sanitiser) parses the HTML as a browser would, so
malformed markup cannot smuggle anything past the list.
"""

from html import unescape

import nh3

ALLOWED_TAGS = {
    "p", "br", "h2", "h3", "h4", "strong", "b", "em", "i", "u", "s", "sub", "sup",
    "a", "ul", "ol", "li", "blockquote", "figure", "figcaption", "img", "hr",
    "table", "thead", "tbody", "tr", "th", "td", "caption", "code", "pre", "span",
}  # fmt: skip

ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height", "data-photo-id"},
    "figure": {"class", "data-embed-url"},
    "th": {"scope", "colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
    "ol": {"start", "reversed"},
    "blockquote": {"cite"},
    "span": {"lang", "dir"},
    "p": {"lang", "dir"},
}

ALLOWED_URL_SCHEMES = {"http", "https", "mailto", "tel"}


def sanitize_html(html):
    """Return ``html`` reduced to the story allow-list, with safe links."""
    if not html:
        return ""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    ).strip()


def html_to_text(html):
    """Return the visible text of sanitised HTML, paragraphs separated by blank lines."""
    if not html:
        return ""
    with_breaks = html.replace("</p>", "</p>\n\n").replace("<br>", "\n")
    text = unescape(nh3.clean(with_breaks, tags=set(), attributes={}))
    return "\n\n".join(part.strip() for part in text.split("\n\n") if part.strip())
