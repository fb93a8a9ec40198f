"""Template tags for showing stories to readers: story cards, bylines, dates and bodies.

A home page shows forty story cards, a listing twenty, each with its byline and date,
so they are written here in Python: as included templates they cost ten times as much
and were most of the time a page took to render. The markup is that of
``{% story_card %}`` below, as ``{% photo_card %}`` (photos/templatetags) writes its own.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django import template
from django.utils import timezone, translation
from django.utils.dateformat import DateFormat
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from articles import structured_data
from articles.html import replace_embeds
from articles.models import Author
from photos.templatetags.photos import photo_card, thumbnail_html

register = template.Library()

LINK_TEXT_LENGTH = 60


@dataclass(frozen=True)
class Provider:
    slug: str
    domains: tuple
    label: str
    link_text: str


PROVIDERS = (
    Provider("x", ("x.com", "twitter.com"), "Post on X (Twitter)", "View the post on X"),
    Provider(
        "facebook",
        ("facebook.com", "fb.com", "fb.watch"),
        "Post on Facebook",
        "View the post on Facebook",
    ),
    Provider(
        "instagram",
        ("instagram.com", "instagr.am"),
        "Post on Instagram",
        "View the post on Instagram",
    ),
    Provider(
        "youtube",
        ("youtube.com", "youtu.be", "youtube-nocookie.com"),
        "Video on YouTube",
        "Watch the video on YouTube",
    ),
    Provider("vimeo", ("vimeo.com",), "Video on Vimeo", "Watch the video on Vimeo"),
    Provider("tiktok", ("tiktok.com",), "Video on TikTok", "Watch the video on TikTok"),
)


def listed(names):
    """Return ``names`` as a byline reads them: "A", "A and B", "A, B and C"."""
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


# The width a story card's photo is shown at, for the browser to choose a file from.
CARD_PHOTO_SIZES = {
    "lead": "(min-width: 64em) 46rem, 100vw",
    "card": "(min-width: 64em) 18rem, (min-width: 40em) 45vw, 7rem",
}
BYLINE_PHOTO_WIDTH = 48


@register.simple_tag
def story_language_attributes(article):
    """Return ``lang`` and ``dir`` for an element holding a story in another language, or ""."""
    if not in_other_language(article):
        return ""
    return format_html(' lang="{}" dir="{}"', article.language_code, article.text_direction)


def in_other_language(article):
    """Return whether ``article`` is written in another language than the site's pages."""
    return article.language_code.lower() != translation.get_language().lower()


@register.simple_tag
def site_language_attributes(article):
    """Return ``lang`` and ``dir`` for the site's own words inside such a story, or ""."""
    if not in_other_language(article):
        return ""
    direction = "rtl" if translation.get_language_bidi() else "ltr"
    return format_html(' lang="{}" dir="{}"', translation.get_language(), direction)


@register.simple_tag
def story_card(
    article,
    *,
    heading_level=3,
    lead=False,
    show_photo=False,
    show_section=False,
    show_dek=False,
    show_byline=False,
):
    """Return a story's card: photo, section, label, headline, standfirst, byline and date.

    Reads only what ``ArticleQuerySet.for_card()`` loads, and the bylines of
    ``with_bylines()`` when ``show_byline``. A story in another language than the site's
    carries its own ``lang`` and ``dir``; the section, label and date stay in the site's.
    """
    url = article.get_absolute_url()
    # A queryset that leaves the language out shows its cards in the site's language
    # rather than paying a query per card for it.
    language = story_language_attributes(article) if is_loaded(article, "language") else ""
    site_words = site_language_attributes(article) if language else ""
    parts = [
        format_html(
            '<article class="story-card{}"{}>', " story-card--lead" if lead else "", language
        )
    ]
    if show_photo and (photo := article.lead_photo) is not None and photo.image:
        parts.append(
            format_html(
                '<a href="{}" tabindex="-1" aria-hidden="true" class="card-photo">{}</a>',
                url,
                photo_card(
                    photo,
                    alt="",
                    sizes=CARD_PHOTO_SIZES["lead" if lead else "card"],
                    lazy=not lead,
                ),
            )
        )
    labels = []
    section_name = article.section.name if article.section else ""
    if show_section and section_name:
        labels.append(
            format_html('<span class="section-label"{}>{}</span>', site_words, section_name)
        )
    # "Opinion" once, not twice, for an opinion piece in a section called Opinion.
    if (label := article.story_label) and label.casefold() != section_name.casefold():
        labels.append(format_html('<span class="story-type-label"{}>{}</span>', site_words, label))
    if labels:
        parts.append(format_html('<p class="card-labels">{}</p>', mark_safe(" ".join(labels))))
    parts.append(
        format_html(
            '<h{level} class="card-headline"><a href="{}">{}</a></h{level}>',
            url,
            article.headline,
            level=heading_level,
        )
    )
    if show_dek and article.dek:
        parts.append(format_html('<p class="dek">{}</p>', article.dek))
    if show_byline:
        parts.append(byline(article))
    parts.append(
        format_html(
            '<p class="dateline">{}</p>', time_element(article.published_at, attributes=site_words)
        )
    )
    parts.append(mark_safe("</article>"))
    return mark_safe("\n".join(part for part in parts if part))


def is_loaded(article, field_name):
    """Return whether the queryset loaded ``field_name``, so reading it costs no query."""
    return field_name not in article.get_deferred_fields()


@register.simple_tag
def byline(article):
    """Return the byline paragraph: each author linked to their page, then the free text."""
    parts = [
        format_html('<a href="{}" rel="author">{}</a>', part.get_absolute_url(), part.name)
        if isinstance(part, Author)
        else format_html("<span>{}</span>", part)
        for part in article.byline_parts()
    ]
    if not parts:
        return ""
    return format_html('<p class="byline">{}</p>', mark_safe(listed(parts)))


@register.simple_tag
def byline_block(article):
    """Return the story page's byline: authors' photos and roles, the byline, the dates.

    Author photos show where ``for_detail()`` loaded them with the bylines; roles are
    the authors' own. The photos repeat the name links, so they are hidden from screen
    readers and skipped by the keyboard.
    """
    authors = [part for part in article.byline_parts() if isinstance(part, Author)]
    faces = [author_face(author) for author in authors]
    with_role = [author for author in authors if author.role]
    if len(authors) == 1 and with_role:
        roles = with_role[0].role
    else:
        roles = "; ".join(f"{author.name}, {author.role}" for author in with_role)
    return format_html(
        '<div class="byline-block">{}<div class="byline-text">{}{}{}</div></div>',
        format_html('<p class="byline-faces">{}</p>', mark_safe("".join(faces))) if faces else "",
        byline(article),
        format_html('<p class="byline-roles">{}</p>', roles) if roles else "",
        story_dateline(article),
    )


def author_face(author):
    """Return an author's photo linked to their page, cropped round its focal point, or initials."""
    # Initials rather than a query per author where the bylines came without photos.
    photo = author.photo if Author.photo.is_cached(author) else None
    focus = ""
    if photo is not None and photo.image:
        face = thumbnail_html(photo, display_width=BYLINE_PHOTO_WIDTH, css_class="author-photo")
        x, y = (
            0.5 if value is None else value for value in (photo.focal_point_x, photo.focal_point_y)
        )
        focus = format_html(' style="--focal-point: {}"', f"{x:.0%} {y:.0%}")
    else:
        initials = author.initials or "".join(word[0] for word in author.name.split()[:2])
        face = format_html('<span class="author-initials">{}</span>', initials.upper())
    return format_html(
        '<a href="{}" tabindex="-1" aria-hidden="true"{}>{}</a>',
        author.get_absolute_url(),
        focus,
        face,
    )


def story_dateline(article):
    """Return the story page's dateline: published, and updated when it was."""
    if not article.published_at:
        return format_html('<p class="dateline">{}</p>', "Not published yet")
    site_words = site_language_attributes(article)
    times = [time_element(article.published_at, prefix="Published", attributes=site_words)]
    if article.updated_at and article.updated_at > article.published_at:
        times.append(time_element(article.updated_at, prefix="Updated", attributes=site_words))
    return format_html('<p class="dateline">{}</p>', mark_safe(" · ".join(times)))


@register.simple_tag
def time_element(value, prefix="", attributes=""):
    """Return a ``<time>`` element of an aware datetime, as readers see it on a story card.

    The machine-readable value is to the second: the HTML checker refuses microseconds.
    """
    if value is None:
        return ""
    local = timezone.localtime(value)
    text = f"{prefix} {dateline(local)}" if prefix else dateline(local)
    return format_html(
        '<time datetime="{}"{}>{}</time>', structured_data.iso_datetime(local), attributes, text
    )


def dateline(value):
    """Return a datetime as a story card's dateline reads: "December 13th, 2016 - 12:12 GMT".

    This is the date filter's "F jS, Y - H:i T" (the seed story's format), each part asked
    of DateFormat directly: parsing the format string cost four times as much, forty times
    a page.
    """
    date = DateFormat(value)
    return f"{date.F()} {date.j()}{date.S()}, {date.Y()} - {date.H()}:{date.i()} {date.T()}"


@register.filter
def render_embeds(body):
    """Return sanitised story HTML, marked safe, with each embed shown as a link card.

    The body must come from ``Article.body``, which the model sanitises on save: only
    the embeds are rewritten here, the rest is printed as stored.
    """
    return mark_safe(replace_embeds(str(body or ""), embed_card))


def embed_card(url):
    """Return a link card for an embed of ``url`` that loads nothing from the provider."""
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    provider = provider_for(host)
    if provider:
        slug, label, link_text = provider.slug, provider.label, provider.link_text
    else:
        slug, label, link_text = "link", f"Embedded from {host}", f"Open on {host}"
    return format_html(
        '<figure class="embed embed--{}"><blockquote class="embed-card"><p>{}</p>'
        '<a href="{}" rel="noopener noreferrer">{}: {}</a></blockquote></figure>',
        slug,
        label,
        url,
        link_text,
        shown_address(url, host),
    )


def provider_for(host):
    """Return the known provider serving ``host``, or None."""
    for provider in PROVIDERS:
        if any(host == domain or host.endswith(f".{domain}") for domain in provider.domains):
            return provider
    return None


def shown_address(url, host):
    """Return ``url`` as readers see it in a link: host and path, shortened if long."""
    parts = urlsplit(url)
    address = host + parts.path.rstrip("/") + (f"?{parts.query}" if parts.query else "")
    if len(address) > LINK_TEXT_LENGTH:
        return address[: LINK_TEXT_LENGTH - 1] + "…"
    return address
