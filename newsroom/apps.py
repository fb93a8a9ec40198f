from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


def site_settings_changed(raw=False, **kwargs):
    from frontcache.invalidation import site_changed
    from newsroom.models import SITE_SETTINGS_CACHE_KEY

    if not raw:
        site_changed(cache_keys=[SITE_SETTINGS_CACHE_KEY])


class NewsroomConfig(AppConfig):
    name = "newsroom"
    verbose_name = "Site"
    default = True

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from newsroom.models import SiteSettings

        # Every page shows the site settings: a change purges them all.
        post_save.connect(site_settings_changed, sender=SiteSettings, dispatch_uid="site-saved")
        post_delete.connect(site_settings_changed, sender=SiteSettings, dispatch_uid="site-deleted")


class NewsroomAdminConfig(admin_apps.AdminConfig):
    """The Django admin, with the newsroom dashboard as its home page."""

    default = False
    default_site = "newsroom.sites.NewsroomAdminSite"
