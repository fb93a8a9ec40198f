from django.apps import AppConfig


def site_settings_changed(raw=False, **kwargs):
    from frontcache.invalidation import site_changed
    from publication.models import SITE_SETTINGS_CACHE_KEY

    if not raw:
        site_changed(cache_keys=[SITE_SETTINGS_CACHE_KEY])


class PublicationConfig(AppConfig):
    """The publication's identity: its name, logo, colour, social links and address."""

    name = "publication"
    verbose_name = "Site"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from publication.models import SiteSettings

        # Every page shows the site settings: a change purges them all.
        post_save.connect(site_settings_changed, sender=SiteSettings, dispatch_uid="site-saved")
        post_delete.connect(site_settings_changed, sender=SiteSettings, dispatch_uid="site-deleted")
