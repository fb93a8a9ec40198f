"""Responsive ``<picture>`` markup for library photos, written without a database query.

``{% load photos %}`` then ``{% photo_picture photo %}`` for a photo at its own shape, or
``{% photo_card photo %}`` for the 16:9 crop around its focal point used on story cards.
Until the renditions task has run (no worker yet), both fall back to the original file,
so a site without a worker still shows its photos.
"""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from photos import renditions

register = template.Library()

DEFAULT_SIZES = "100vw"
CARD_SIZES = "(min-width: 64em) 30vw, (min-width: 40em) 50vw, 100vw"
# The img src for browsers without srcset (and crawlers that read only src).
FALLBACK_WIDTH = 960


@register.simple_tag
def photo_picture(photo, alt=None, sizes=DEFAULT_SIZES, lazy=True, css_class=""):
    """Return a ``<picture>`` of ``photo`` in WebP and JPEG widths, or its original until drawn."""
    if not photo or not photo.image:
        return ""
    if not photo.picture_renditions_ready:
        return original_picture(photo, alt=alt, lazy=lazy, css_class=css_class)
    return rendition_picture(
        photo, crop=False, alt=alt, sizes=sizes, lazy=lazy, css_class=css_class
    )


@register.simple_tag
def photo_card(photo, alt=None, sizes=CARD_SIZES, lazy=True, css_class=""):
    """Return a ``<picture>`` of the 16:9 focal crop of ``photo``, or its original until drawn."""
    if not photo or not photo.image:
        return ""
    if not photo.card_renditions_ready:
        return original_picture(photo, alt=alt, lazy=lazy, css_class=css_class)
    return rendition_picture(photo, crop=True, alt=alt, sizes=sizes, lazy=lazy, css_class=css_class)


@register.simple_tag
def photo_thumbnail(photo, display_width=120):
    """Return a small ``<img>`` of ``photo`` for lists, ``display_width`` CSS pixels wide."""
    return thumbnail_html(photo, display_width=int(display_width))


@register.filter
def photo_alt(photo, caption=""):
    """Return ``photo``'s alt text, else ``caption``; empty for a decorative photo.

    ``{{ photo|photo_alt:caption }}``, for templates: ``Photo.alt_for()`` decides.
    """
    return photo.alt_for(caption or "") if photo else ""


def loading_attributes(lazy):
    if lazy:
        return mark_safe(' loading="lazy" decoding="async"')
    # The lead image is the page's largest paint: fetch it first rather than late.
    return mark_safe(' fetchpriority="high"')


def class_attribute(css_class):
    return format_html(' class="{}"', css_class) if css_class else ""


def original_picture(photo, *, alt, lazy, css_class):
    return format_html(
        '<picture><img src="{}" width="{}" height="{}" alt="{}"{}{}></picture>',
        photo.image.url,
        photo.width,
        photo.height,
        photo.alt_for(override=alt or ""),
        loading_attributes(lazy),
        class_attribute(css_class),
    )


def rendition_picture(photo, *, crop, alt, sizes, lazy, css_class):
    plan = renditions.drawn_plan(photo, crop=crop)
    webp = [item for item in plan if item.format == "webp"]
    jpeg = [item for item in plan if item.format == "jpeg"]
    fallback = renditions.widest_within(photo, width=FALLBACK_WIDTH, format="jpeg", crop=crop)
    largest = jpeg[-1]
    return format_html(
        '<picture><source type="image/webp" srcset="{}" sizes="{}">'
        '<img src="{}" srcset="{}" sizes="{}" width="{}" height="{}" alt="{}"{}{}></picture>',
        srcset(photo, webp),
        sizes,
        fallback.url(photo),
        srcset(photo, jpeg),
        sizes,
        largest.width,
        largest.height,
        photo.alt_for(override=alt or ""),
        loading_attributes(lazy),
        class_attribute(css_class),
    )


def srcset(photo, items) -> str:
    return ", ".join(f"{item.url(photo)} {item.width}w" for item in items)


def thumbnail_source(photo, *, display_width: int) -> tuple[str, int, int]:
    """Return URL, width and height of the smallest file sharp at ``display_width`` on 2x."""
    item = renditions.narrowest_covering(photo, width=display_width * 2, format="webp")
    if item is not None:
        return item.url(photo), item.width, item.height
    return photo.image.url, photo.width, photo.height


def thumbnail_html(photo, *, display_width: int = 120, css_class: str = "photo-thumbnail"):
    """Return an ``<img>`` of ``photo`` shown ``display_width`` CSS pixels wide ("" if no file)."""
    if not photo or not photo.image:
        return ""
    url, width, height = thumbnail_source(photo, display_width=display_width)
    shown_height = max(1, round(display_width * height / width)) if width else display_width
    return format_html(
        '<img src="{}" width="{}" height="{}" alt="" loading="lazy" decoding="async" class="{}">',
        url,
        display_width,
        shown_height,
        css_class,
    )
