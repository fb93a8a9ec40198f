from django.conf import settings
from django.contrib import admin
from django.contrib.sitemaps import views as sitemap_views
from django.urls import include, path, re_path

from articles import sitemaps
from frontcache.keys import SITEMAPS, tagged_only
from newsroom import views
from photos.views import media_file

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("robots.txt", sitemaps.robots_txt, name="robots_txt"),
    path(
        "sitemap.xml",
        tagged_only(SITEMAPS)(sitemap_views.index),
        {"sitemaps": sitemaps.SITEMAPS, "sitemap_url_name": "sitemap_section"},
        name="sitemap",
    ),
    path(
        "sitemap-<section>.xml",
        tagged_only(SITEMAPS)(sitemap_views.sitemap),
        {"sitemaps": sitemaps.SITEMAPS},
        name="sitemap_section",
    ),
    path("news-sitemap.xml", sitemaps.news_sitemap, name="news_sitemap"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("ckeditor5/", include("django_ckeditor_5.urls")),
    path("photos/", include("photos.urls")),
    # The email providers' bounce and complaint webhooks (django-anymail), refused unless
    # authenticated; under /newsletter/, which no cache keeps.
    path("newsletter/webhooks/", include("newsletter.webhooks")),
    path("newsletter/", include("newsletter.urls")),
    path("", include("frontpage.urls")),
    path("", include("articles.urls")),
]

if settings.SERVE_MEDIA:
    # Uploaded media straight from Django, for a single small server; a fleet puts
    # MEDIA_ROOT behind the web server or object storage and sets SERVE_MEDIA=0.
    media_prefix = settings.MEDIA_URL.lstrip("/")
    urlpatterns += [re_path(rf"^{media_prefix}(?P<path>.*)$", media_file)]
