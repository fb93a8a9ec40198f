"""Template tags for showing stories to readers: story cards, bylines, dates and bodies.

A home page shows forty story cards, a listing twenty, each with its byline and date,
so they are written here in Python: as included templates they cost ten times as much
and were most of the time a page took to render. The markup is that of
``{% story_card %}`` below, as ``{% photo_card %}`` (photos/templatetags) writes its own.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django import template
from django.utils import timezone
from django.utils.dateformat import DateFormat
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from articles.html import replace_embeds
from articles.models import Author
from photos.templatetags.photos import photo_card

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
    ``with_bylines()`` when ``show_byline``.
    """
    url = article.get_absolute_url()
    parts = [format_html('<article class="story-card{}">', " story-card--lead" if lead else "")]
    if show_photo and (photo := article.lead_photo) is not None and photo.image:
        parts.append(
            format_html(
                '<a href="{}" tabindex="-1" aria-hidden="true" class="card-photo">{}</a>',
                url,
                photo_card(photo, alt=""),
            )
        )
    if show_section and article.section:
        parts.append(format_html('<p class="section-label">{}</p>', article.section.name))
    if label := article.story_label:
        parts.append(format_html('<p class="story-type-label">{}</p>', label))
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
    parts.append(format_html('<p class="dateline">{}</p>', time_element(article.published_at)))
    parts.append(mark_safe("</article>"))
    return mark_safe("\n".join(part for part in parts if part))


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
def time_element(value):
    """Return a ``<time>`` element of an aware datetime, as readers see it on a story card."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    return format_html('<time datetime="{}">{}</time>', local.isoformat(), dateline(local))


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
