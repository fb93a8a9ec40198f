"""Images drawn from the site's name, so a fresh install is complete before anyone uploads one.

- The publisher logo that search engines show beside a story: 60 pixels high and at most
  600 wide, as Google News asks, on white.
- The share image of a story without a lead photo (JSON-LD ``image``, ``og:image``):
  1,200 × 675 (16:9), the name over the tagline.

Both are PNGs drawn with Pillow's own font, so every server draws the same pixels; each is
kept in the Django cache under the text it shows, and served at a stable address tagged
only with ``site``, which is purged whenever the site settings change.
"""

import hashlib
import io
from functools import lru_cache

from django.core.cache import cache
from django.http import HttpResponse
from PIL import Image, ImageDraw, ImageFont

from frontcache.keys import tagged_only
from publication.models import SiteSettings

LOGO_HEIGHT = 60
LOGO_MAX_WIDTH = 600
LOGO_FONT_SIZE = 40
LOGO_PADDING = 10
SHARE_IMAGE_SIZE = (1200, 675)
SHARE_NAME_FONT_SIZE = 120
SHARE_TAGLINE_FONT_SIZE = 44
SHARE_MARGIN = 80
INK = (17, 17, 17)
PAPER = (255, 255, 255)
SHARE_GROUND = (26, 26, 26)
SHARE_TAGLINE_INK = (210, 210, 210)
# Part of each cache key: a change to how the images are drawn takes effect at once.
DRAWING_VERSION = 1


@lru_cache(maxsize=16)
def font(size):
    """Return Pillow's bundled sans-serif (Aileron) at ``size`` pixels."""
    return ImageFont.load_default(size)


def fitted_font(text, *, size, max_width):
    """Return the font at ``size`` or, if ``text`` is wider than ``max_width`` then, smaller."""
    width = font(size).getlength(text)
    if width > max_width:
        size = max(int(size * max_width / width), 8)
    return font(size)


def stroke(text_font):
    """Return the outline width that makes Pillow's regular weight read as bold at this size."""
    return int(text_font.size // 30)


@lru_cache(maxsize=16)
def logo_size(site_name):
    """Return (width, height) of the default publisher logo for ``site_name``."""
    text_font = fitted_font(
        site_name, size=LOGO_FONT_SIZE, max_width=LOGO_MAX_WIDTH - 2 * LOGO_PADDING
    )
    width = round(text_font.getlength(site_name)) + 2 * LOGO_PADDING
    return min(width, LOGO_MAX_WIDTH), LOGO_HEIGHT


def png_bytes(image):
    output = io.BytesIO()
    image.save(output, format="PNG", optimize=True)
    return output.getvalue()


def draw_logo(site_name):
    """Return the default publisher logo for ``site_name`` as PNG bytes."""
    size = logo_size(site_name)
    text_font = fitted_font(
        site_name, size=LOGO_FONT_SIZE, max_width=LOGO_MAX_WIDTH - 2 * LOGO_PADDING
    )
    image = Image.new("RGB", size, PAPER)
    ImageDraw.Draw(image).text(
        (size[0] / 2, size[1] / 2),
        site_name,
        font=text_font,
        fill=INK,
        anchor="mm",
        stroke_width=stroke(text_font),
        stroke_fill=INK,
    )
    return png_bytes(image)


def draw_share_image(site_name, tagline):
    """Return the default share image (the name over the tagline) as PNG bytes."""
    width, height = SHARE_IMAGE_SIZE
    text_width = width - 2 * SHARE_MARGIN
    image = Image.new("RGB", SHARE_IMAGE_SIZE, SHARE_GROUND)
    draw = ImageDraw.Draw(image)
    name_font = fitted_font(site_name, size=SHARE_NAME_FONT_SIZE, max_width=text_width)
    middle = height / 2 - (SHARE_TAGLINE_FONT_SIZE if tagline else 0)
    draw.text(
        (width / 2, middle),
        site_name,
        font=name_font,
        fill=PAPER,
        anchor="mm",
        stroke_width=stroke(name_font) + 1,
        stroke_fill=PAPER,
    )
    if tagline:
        tagline_font = fitted_font(tagline, size=SHARE_TAGLINE_FONT_SIZE, max_width=text_width)
        draw.text(
            (width / 2, middle + SHARE_NAME_FONT_SIZE * 0.6 + SHARE_TAGLINE_FONT_SIZE),
            tagline,
            font=tagline_font,
            fill=SHARE_TAGLINE_INK,
            anchor="mm",
        )
    return png_bytes(image)


def cached_png(kind, draw, *texts):
    """Return ``draw(*texts)``, kept in the Django cache under ``kind`` and ``texts``."""
    digest = hashlib.sha256("\0".join((kind, str(DRAWING_VERSION), *texts)).encode()).hexdigest()
    key = f"brand:{kind}:{digest[:32]}"
    png = cache.get(key)
    if png is None:
        png = draw(*texts)
        cache.set(key, png, timeout=None)
    return png


def png_response(png):
    return HttpResponse(png, content_type="image/png")


@tagged_only()
def publisher_logo(request):
    """Serve the default publisher logo, drawn from the site's name."""
    return png_response(cached_png("logo", draw_logo, SiteSettings.load().site_name))


@tagged_only()
def share_image(request):
    """Serve the default share image, drawn from the site's name and tagline."""
    site_settings = SiteSettings.load()
    return png_response(
        cached_png("share", draw_share_image, site_settings.site_name, site_settings.tagline)
    )
