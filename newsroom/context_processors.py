from django.conf import settings

from articles.models import Section
from newsroom.models import SiteSettings


def site(request):
    """Give every template the site settings and the section navigation."""
    return {
        "site_settings": SiteSettings.load(),
        "navigation_sections": Section.objects.navigation(),
        "site_url": settings.SITE_URL,
    }
