import re

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import models

SITE_SETTINGS_CACHE_KEY = "newsroom:site-settings"
DEFAULT_ACCENT_COLOUR = "#a4161a"
HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
# The grounds on which the accent reads with the least contrast: the tinted boxes of each
# colour scheme (--surface in static/css/site.css; keep the two in step).
LIGHT_SURFACE = "#f5f3ef"
DARK_SURFACE = "#1e1e1e"
# WCAG 2.2 AA for body-size text; the dark scheme's lightened accent is made with a margin
# over it, so that rounding each channel to a whole number cannot take it below.
MINIMUM_CONTRAST = 4.5
DARK_SCHEME_CONTRAST = 5


def relative_luminance(colour):
    """Return the WCAG relative luminance of a "#rrggbb" colour, from 0 (black) to 1 (white)."""
    channels = [int(colour[index : index + 2], 16) / 255 for index in (1, 3, 5)]
    red, green, blue = (
        value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4
        for value in channels
    )
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first, second):
    """Return the WCAG contrast ratio of two "#rrggbb" colours, from 1 to 21."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def mix_with_white(colour, share):
    """Return ``colour`` with ``share`` (0 to 1) of white mixed in, as "#rrggbb"."""
    channels = [int(colour[index : index + 2], 16) for index in (1, 3, 5)]
    return "#" + "".join(f"{round(value + (255 - value) * share):02x}" for value in channels)


def validate_accent_colour(value):
    """Accept a "#rrggbb" colour that text and links can be read in on the page's light ground."""
    if not HEX_COLOUR.fullmatch(value):
        raise ValidationError(
            "Write the colour as # and six hexadecimal digits, e.g. #a4161a.", code="format"
        )
    ratio = contrast_ratio(value, LIGHT_SURFACE)
    if ratio < MINIMUM_CONTRAST:
        raise ValidationError(
            "This colour is too light to read as links and labels on the page "
            "(contrast %(ratio).1f to 1, at least %(minimum).1f needed). Choose a darker shade.",
            code="contrast",
            params={"ratio": ratio, "minimum": MINIMUM_CONTRAST},
        )


class SiteSettings(models.Model):
    """The one row of site-wide settings editors may change without a deploy."""

    site_name = models.CharField(
        max_length=100,
        default="Newsroom",
        help_text="In page titles, and at the top of every page unless there is a logo.",
    )
    tagline = models.CharField(
        max_length=200,
        blank=True,
        help_text="Under the name on every page, and the home page's description for search "
        "engines.",
    )
    logo = models.ImageField(
        upload_to="site/",
        blank=True,
        width_field="logo_width",
        height_field="logo_height",
        help_text="Shown at the top of every page instead of the name in type: a wide PNG or "
        "WebP, at least 96 pixels tall, on a transparent or white ground (in dark mode it is "
        "shown on a white panel).",
    )
    logo_width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    logo_height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    accent_colour = models.CharField(
        "accent colour",
        max_length=7,
        default=DEFAULT_ACCENT_COLOUR,
        validators=[validate_accent_colour],
        help_text="The publication's colour: links, section labels, rules and the breaking-news "
        "strip. It must be dark enough to read on white.",
    )
    publisher_logo = models.ImageField(
        upload_to="site/",
        blank=True,
        help_text="Used by search engines (Google News asks for at most 600×60 pixels).",
    )
    twitter_url = models.URLField("X / Twitter page", blank=True)
    facebook_url = models.URLField("Facebook page", blank=True)
    instagram_url = models.URLField("Instagram page", blank=True)
    newsletter_pitch = models.CharField(
        max_length=200,
        default="Sign up to our newsletter for exclusive updates and enhanced content",
        help_text="The call to action beside newsletter sign-up forms.",
    )

    class Meta:
        # Made by the project package before this app existed; the table kept its name.
        db_table = "newsroom_sitesettings"
        verbose_name = "site settings"
        verbose_name_plural = "site settings"

    def __str__(self):
        return "Site settings"

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls):
        """Return the site settings, from the cache when possible, creating the row if needed.

        ``frontcache.invalidation`` forgets the cached copy when the settings change.
        """
        site_settings = cache.get(SITE_SETTINGS_CACHE_KEY)
        if site_settings is None:
            site_settings, _ = cls.objects.get_or_create(pk=1)
            cache.set(SITE_SETTINGS_CACHE_KEY, site_settings, timeout=None)
        return site_settings

    @property
    def social_links(self):
        """Return (name, url) for each social network the site is on, in display order."""
        links = [
            ("Twitter", self.twitter_url),
            ("Facebook", self.facebook_url),
            ("Instagram", self.instagram_url),
        ]
        return [(name, url) for name, url in links if url]

    @property
    def accent(self):
        """Return the accent colour to draw with: the chosen one if readable, else the default.

        A value saved around the form (the shell, a fixture) is not validated; the pages
        must still be readable.
        """
        try:
            validate_accent_colour(self.accent_colour)
        except ValidationError:
            return DEFAULT_ACCENT_COLOUR
        return self.accent_colour.lower()

    @property
    def accent_on_dark(self):
        """Return the accent lightened until it reads as text on the dark scheme's ground."""
        for percent in range(0, 101, 5):
            colour = mix_with_white(self.accent, percent / 100)
            if contrast_ratio(colour, DARK_SURFACE) >= DARK_SCHEME_CONTRAST:
                return colour
        return "#ffffff"
