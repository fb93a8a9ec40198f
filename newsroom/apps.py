from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class NewsroomConfig(AppConfig):
    name = "newsroom"
    verbose_name = "Site"
    default = True

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from frontcache.invalidation import site_changed
        from newsroom.models import SITE_SETTINGS_CACHE_KEY, SiteSettings

        def settings_changed(**kwargs):
            if not kwargs.get("raw"):
                site_changed(cache_keys=[SITE_SETTINGS_CACHE_KEY])

        post_save.connect(settings_changed, sender=SiteSettings, dispatch_uid="site-settings-saved")
        post_delete.connect(
            settings_changed, sender=SiteSettings, dispatch_uid="site-settings-deleted"
        )


class NewsroomAdminConfig(admin_apps.AdminConfig):
    """The Django admin, with the newsroom dashboard as its home page."""

    default = False
    default_site = "newsroom.sites.NewsroomAdminSite"
