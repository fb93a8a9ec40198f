"""Template tags for showing stories to readers: bodies, bylines and dates.

The byline and the date are on every story card, so they are written here in Python
rather than as included templates, which cost ten times as much a card.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django import template
from django.utils import dateformat, timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from articles.html import replace_embeds
from articles.models import Author

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


# How a story's date and time read on its card, as in the seed story.
DATELINE_FORMAT = "F jS, Y - H:i T"


def listed(names):
    """Return ``names`` as a byline reads them: "A", "A and B", "A, B and C"."""
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


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
def time_element(value, text_format=DATELINE_FORMAT):
    """Return a ``<time>`` element for an aware datetime, as readers in the site's zone see it."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}">{}</time>', local.isoformat(), dateformat.format(local, text_format)
    )


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
