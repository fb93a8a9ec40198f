"""Server-side sanitising of story HTML.

Whatever a browser, an importer or the shell sends, only this allow-list reaches the
database. nh3 (the Rust ammonia sanitiser) parses the HTML as a browser would, so
malformed markup cannot smuggle anything past the list, and it writes the result back
out in one canonical form.

Embeds are stored as ``<figure class="media" data-embed-url="https://…"></figure>``.
CKEditor 5 writes them as ``<figure class="media"><oembed url="…"></oembed></figure>``,
so the sanitiser converts that form on the way in and ``body_for_editor`` converts it
back on the way out to the admin widget. The public site never loads the provider's
script: ``{{ article.body|render_embeds }}`` (``articles/templatetags/story.py``)
shows each embed as a link card.
"""

import re
from dataclasses import dataclass
from functools import lru_cache
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urljoin

import nh3
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.html import escape

ALLOWED_TAGS = {
    "p", "br", "h2", "h3", "h4", "strong", "b", "em", "i", "u", "s", "sub", "sup",
    "a", "ul", "ol", "li", "blockquote", "figure", "figcaption", "img", "hr",
    "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "code", "pre", "span",
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

# CKEditor 5 marks its block widgets with these classes; anything else an editor pastes
# would be styling the site's CSS does not know.
ALLOWED_FIGURE_CLASSES = {"image", "media", "table", "embed"}

ALLOWED_URL_SCHEMES = {"http", "https", "mailto", "tel"}

# These go with everything inside them: their content is script, styles, a foreign
# document or form chrome, never story text, and keeping it as text would only show
# readers the remains of an attack.
REMOVED_WITH_CONTENT = {
    "script", "style", "iframe", "object", "embed", "applet", "svg", "math", "template",
    "noscript", "noembed", "noframes", "frameset", "textarea", "title", "xmp", "select",
}  # fmt: skip

NUMERIC_ATTRIBUTES = {"width", "height", "data-photo-id", "colspan", "rowspan", "start"}

TEXT_DIRECTIONS = {"ltr", "rtl", "auto"}

# Browsers drop leading and trailing C0 controls and spaces from a URL and ignore tab
# and newline anywhere in it, so "\tjava\nscript:" is still javascript: to them.
URL_PADDING = "".join(chr(code) for code in range(0x21))
URL_IGNORED = str.maketrans("", "", "\t\n\r")
URL_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.\-]*):")

validate_web_url = URLValidator(schemes=["http", "https"])


def sanitize_html(html):
    """Return ``html`` reduced to the story allow-list, with safe links and stored embeds."""
    if not html:
        return ""
    cleaned = nh3.clean(
        embeds_from_editor(html),
        tags=ALLOWED_TAGS,
        clean_content_tags=REMOVED_WITH_CONTENT,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=filter_attribute,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    # A figure.media whose embed URL was refused is an empty box; nh3 writes tags in one
    # canonical form and escapes quotes inside attributes, so this text is only ever a tag.
    return cleaned.replace('<figure class="media"></figure>', "").strip()


BLOCK_END = re.compile(r"</(?:p|h[1-6]|li|blockquote|figcaption|pre)>")


def html_to_text(html):
    """Return the visible text of sanitised HTML, paragraphs separated by blank lines."""
    if not html:
        return ""
    with_breaks = BLOCK_END.sub(r"\g<0>\n\n", html).replace("<br>", "\n")
    text = unescape(nh3.clean(with_breaks, tags=set(), attributes={}))
    return "\n\n".join(part.strip() for part in text.split("\n\n") if part.strip())


def filter_attribute(tag, attribute, value):
    """Return ``value`` if it is safe on ``tag``, a narrowed value, or None to drop it."""
    # nh3 already checks the schemes of href, src and cite; checking again here keeps
    # the rules in one readable place and covers src, which must not be mailto: or tel:.
    if attribute in {"href", "cite"}:
        return value if is_safe_link(value) else None
    if attribute == "src":
        return value if is_safe_image_source(value) else None
    if attribute == "data-embed-url":
        return value if is_embed_url(value) else None
    if attribute == "class":
        classes = [name for name in value.split() if name in ALLOWED_FIGURE_CLASSES]
        return " ".join(dict.fromkeys(classes)) or None
    if attribute in NUMERIC_ATTRIBUTES:
        return value if value.isascii() and value.isdigit() else None
    if attribute == "dir":
        return value if value.lower() in TEXT_DIRECTIONS else None
    return value


def url_scheme(url):
    """Return the lower-case scheme a browser would read in ``url``, or "" if it is relative."""
    match = URL_SCHEME.match(url.strip(URL_PADDING).translate(URL_IGNORED))
    return match.group(1).lower() if match else ""


def is_safe_link(url):
    """Return whether ``url`` is relative or uses a scheme stories may link to."""
    scheme = url_scheme(url)
    return not scheme or scheme in ALLOWED_URL_SCHEMES


def is_safe_image_source(url):
    """Return whether ``url`` is an http(s) address or a path on this site."""
    scheme = url_scheme(url)
    if scheme:
        return scheme in {"http", "https"}
    path = url.strip(URL_PADDING).translate(URL_IGNORED)
    # "//host" and "/\host" are other sites to a browser, not paths on this one.
    return path.startswith("/") and not path.startswith(("//", "/\\"))


def is_embed_url(url):
    """Return whether ``url`` is an absolute http(s) address an embed may point to."""
    if not url or any(character <= " " or character == "\x7f" for character in url):
        return False
    try:
        validate_web_url(url)
    except ValidationError:
        return False
    return url_scheme(url) in {"http", "https"}


def stored_embed(url):
    """Return the stored form of an embed of ``url``."""
    return f'<figure class="media" data-embed-url="{escape(url)}"></figure>'


def editor_embed(url):
    """Return the CKEditor 5 media-embed form of an embed of ``url``."""
    return f'<figure class="media"><oembed url="{escape(url)}"></oembed></figure>'


def embeds_from_editor(html):
    """Return ``html`` with CKEditor ``<oembed url>`` embeds in their stored form.

    An embed whose URL is not an absolute http(s) address is removed with its figure.
    Everything else is left exactly as it was, for nh3 to sanitise.
    """
    if "oembed" not in html.lower():
        return html
    edits = []
    open_figures = []
    for tag in scan_tags(html):
        if tag.name == "figure" and tag.closing:
            if open_figures:
                figure = open_figures.pop()
                if figure.holds_embed:
                    edits += [
                        Edit(figure.tag.start, figure.tag.end, ""),
                        Edit(tag.start, tag.end, ""),
                    ]
        elif tag.name == "figure":
            is_media = "media" in tag.attributes.get("class", "").split()
            open_figures.append(OpenFigure(tag, is_media=is_media))
        elif tag.name == "oembed" and tag.closing:
            edits.append(Edit(tag.start, tag.end, ""))
        elif tag.name == "oembed":
            # The oembed becomes the stored figure; the editor's figure.media around
            # it is unwrapped so the embed is not nested in a second figure.
            url = tag.attributes.get("url", "")
            edits.append(Edit(tag.start, tag.end, stored_embed(url) if is_embed_url(url) else ""))
            if open_figures and open_figures[-1].is_media:
                open_figures[-1].holds_embed = True
    edits += [
        Edit(figure.tag.start, figure.tag.end, "") for figure in open_figures if figure.holds_embed
    ]
    return apply_edits(html, edits)


def body_for_editor(html):
    """Return stored story HTML with each embed in the ``<oembed>`` form CKEditor 5 loads."""
    return replace_embeds(html or "", editor_embed)


def replace_embeds(html, render):
    """Return ``html`` with each ``figure[data-embed-url]`` replaced by ``render(url)``.

    An embed whose URL is not an absolute http(s) address is removed: stored HTML may
    predate the sanitiser or have been written by ``QuerySet.update()``, which skips it.
    """
    if "data-embed-url" not in html:
        return html
    edits = []
    open_figures = []
    for tag in scan_tags(html):
        if tag.name != "figure":
            continue
        if not tag.closing:
            open_figures.append(tag)
            continue
        if not open_figures:
            continue
        opening = open_figures.pop()
        if "data-embed-url" in opening.attributes:
            # Anything inside an embed figure goes with it; the sanitiser stores them empty.
            edits = [edit for edit in edits if edit.start < opening.start]
            edits.append(Edit(opening.start, tag.end, render_embed(opening, render)))
    for opening in open_figures:
        if "data-embed-url" in opening.attributes:
            edits.append(Edit(opening.start, opening.end, render_embed(opening, render)))
    return apply_edits(html, edits)


def render_embed(figure, render):
    """Return ``render(url)`` for the embed ``figure`` opens, or "" if its URL is unsafe."""
    url = figure.attributes["data-embed-url"]
    return render(url) if is_embed_url(url) else ""


@dataclass(frozen=True)
class Tag:
    """One start or end tag, with its place in the scanned HTML."""

    name: str
    attributes: dict
    start: int
    end: int
    closing: bool


@dataclass
class OpenFigure:
    tag: Tag
    is_media: bool
    holds_embed: bool = False


@dataclass(frozen=True)
class Edit:
    start: int
    end: int
    replacement: str


class TagScanner(HTMLParser):
    """Collect the tags of an HTML string with their character offsets."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.html = html
        self.line_starts = [0] + [match.end() for match in re.finditer("\n", html)]
        self.tags = []

    def current_index(self):
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def handle_starttag(self, name, attributes):
        start = self.current_index()
        # A browser keeps the first of two attributes with the same name.
        values = {}
        for attribute, value in attributes:
            values.setdefault(attribute, value or "")
        end = start + len(self.get_starttag_text())
        self.tags.append(Tag(name, values, start, end, closing=False))

    # HTML ignores the slash of <figure/>: it opens an element like any start tag.
    handle_startendtag = handle_starttag

    def handle_endtag(self, name):
        start = self.current_index()
        end = self.html.find(">", start) + 1 or len(self.html)
        self.tags.append(Tag(name, {}, start, end, closing=True))


def scan_tags(html):
    """Return the start and end tags of ``html`` in document order."""
    scanner = TagScanner(html)
    scanner.feed(html)
    scanner.close()
    return scanner.tags


# Tags as the sanitiser writes them: a name, then attributes whose values are in double
# quotes with "<", ">" and '"' escaped, and no raw-text element (whose content is not
# markup). HTML made of nothing but such tags and text without "<" can be read only one
# way, so a regular expression finds its tags exactly where HTMLParser does, many times
# faster. Anything else (comments, other quoting, markup that predates the sanitiser)
# goes through the parser.
PLAIN_SPACE = r"[ \t\n\r\f]"
PLAIN_TAG_NAME = r"[a-zA-Z][-a-zA-Z0-9]*"
PLAIN_ATTRIBUTE_NAME = r"[a-zA-Z_:][-a-zA-Z0-9_:.]*"
PLAIN_ATTRIBUTE_VALUE = r'"[^"<>]*"'
RAW_TEXT_ELEMENT = (
    r"(?i:script|style|textarea|title|xmp|iframe|noembed|noframes|noscript|plaintext)"
    r"(?![-a-zA-Z0-9])"
)
PLAIN_ATTRIBUTES = rf"(?:{PLAIN_SPACE}+{PLAIN_ATTRIBUTE_NAME}(?:={PLAIN_ATTRIBUTE_VALUE})?)*+"
PLAIN_TAG_END = rf"{PLAIN_SPACE}*/?>"
# Without capturing groups: Python 3.11's re fails on them inside possessive repeats.
PLAIN_HTML = re.compile(
    rf"(?:[^<]++|<(?!{RAW_TEXT_ELEMENT}){PLAIN_TAG_NAME}{PLAIN_ATTRIBUTES}{PLAIN_TAG_END}"
    rf"|</{PLAIN_TAG_NAME}>)*+"
)
PLAIN_START_TAG = re.compile(
    rf"<(?P<name>{PLAIN_TAG_NAME})(?P<attributes>{PLAIN_ATTRIBUTES}){PLAIN_TAG_END}"
)
PLAIN_ATTRIBUTE = re.compile(
    rf"{PLAIN_SPACE}+({PLAIN_ATTRIBUTE_NAME})(?:=({PLAIN_ATTRIBUTE_VALUE}))?"
)


def scan_start_tags(html, *, with_any_of=None):
    """Return the start tags of ``html`` in document order, read as ``scan_tags`` reads them.

    With ``with_any_of``, only the tags that have one of those attributes.
    """
    if not PLAIN_HTML.fullmatch(html):
        return [
            tag
            for tag in scan_tags(html)
            if not tag.closing
            and (with_any_of is None or any(name in tag.attributes for name in with_any_of))
        ]
    tags = []
    for match in PLAIN_START_TAG.finditer(html):
        written = match["attributes"]
        if with_any_of is not None:
            written_lower = written.lower()
            if not any(name in written_lower for name in with_any_of):
                continue
        attributes = {}
        for name, value in PLAIN_ATTRIBUTE.findall(written):
            # As in TagScanner: the first of two attributes with the same name wins.
            attributes.setdefault(name.lower(), unescape(value[1:-1]))
        if with_any_of is None or any(name in attributes for name in with_any_of):
            tags.append(
                Tag(match["name"].lower(), attributes, match.start(), match.end(), closing=False)
            )
    return tags


def apply_edits(html, edits):
    """Return ``html`` with each non-overlapping edit's span replaced."""
    pieces = []
    position = 0
    for edit in sorted(edits, key=lambda edit: edit.start):
        pieces += [html[position : edit.start], edit.replacement]
        position = edit.end
    pieces.append(html[position:])
    return "".join(pieces)


URL_ATTRIBUTES = ("href", "src", "cite")


# A pure function, and a feed rewrites the same thirty stories on every render until one
# changes: the last few hundred results are kept rather than worked out again.
@lru_cache(maxsize=256)
def absolute_html(html, base_url):
    """Return ``html`` with every relative ``href``, ``src`` and ``cite`` made absolute."""
    edits = []
    for tag in scan_start_tags(html, with_any_of=URL_ATTRIBUTES):
        attributes = {
            name: urljoin(base_url, value.strip()) if name in URL_ATTRIBUTES else value
            for name, value in tag.attributes.items()
        }
        if attributes != tag.attributes:
            written = "".join(f' {name}="{escape(value)}"' for name, value in attributes.items())
            edits.append(Edit(tag.start, tag.end, f"<{tag.name}{written}>"))
    return apply_edits(html, edits)
