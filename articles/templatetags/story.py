"""Template filters for showing story bodies to readers."""

from dataclasses import dataclass
from urllib.parse import urlsplit

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from articles.html import replace_embeds

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
