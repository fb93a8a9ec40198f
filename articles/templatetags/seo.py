"""Template tags for what search engines and social networks read from a story page."""

import json

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.safestring import mark_safe

from articles import structured_data
from publication import addresses

register = template.Library()

# Inside <script>, "</script>" or "<!--" in a headline would end or confuse the element;
# as JSON escapes they read the same to a JSON parser and mean nothing to the HTML one.
SCRIPT_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"}


@register.filter
def iso_datetime(value):
    """Return an aware datetime as ISO 8601 with the site's UTC offset, or "" for none."""
    return structured_data.iso_datetime(value) or ""


@register.filter
def absolute_url(url, site_url):
    """Return ``url`` as an absolute address on ``site_url``."""
    return addresses.absolute_url(url, site_url)


@register.simple_tag
def shared_image(photo):
    """Return the file search engines and social networks fetch: the photo's, else the default."""
    return structured_data.shared_image(photo)


def json_ld_script(data):
    """Return ``data`` as a JSON-LD script element that no value inside can break out of."""
    serialised = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False).translate(
        SCRIPT_ESCAPES
    )
    return mark_safe(f'<script type="application/ld+json">{serialised}</script>')


@register.simple_tag(takes_context=True)
def article_json_ld(context, article):
    """Return the ``NewsArticle`` JSON-LD script for a public story, or "" for any other."""
    if context.get("is_preview") or not article.is_public:
        return ""
    data = structured_data.article_json_ld(
        article, site_url=context["site_url"], site_settings=context["site_settings"]
    )
    return json_ld_script(data)
