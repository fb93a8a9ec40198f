from django.contrib.admin import apps as admin_apps


class NewsroomAdminConfig(admin_apps.AdminConfig):
    """The Django admin, with the newsroom dashboard as its home page."""

    default = False
    default_site = "newsroom.sites.NewsroomAdminSite"
