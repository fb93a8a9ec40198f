from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class NewsroomConfig(AppConfig):
    name = "newsroom"
    verbose_name = "Site"
    default = True

    def ready(self):
        from newsroom.page_cache import connect_invalidation

        connect_invalidation()


class NewsroomAdminConfig(admin_apps.AdminConfig):
    """The Django admin, with the newsroom dashboard as its home page."""

    default = False
    default_site = "newsroom.sites.NewsroomAdminSite"
