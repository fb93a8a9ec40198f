from django.core.cache import cache
from django.db import models

SITE_SETTINGS_CACHE_KEY = "newsroom:site-settings"


class SiteSettings(models.Model):
    """The one row of site-wide settings editors may change without a deploy."""

    site_name = models.CharField(max_length=100, default="Newsroom")
    tagline = models.CharField(max_length=200, blank=True)
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
