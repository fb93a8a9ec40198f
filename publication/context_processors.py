from django.conf import settings
from django.utils import translation

from articles.models import Section
from publication.models import SiteSettings


def site(request):
    """Give every template the site settings, the section navigation and the site's language."""
    return {
        "site_settings": SiteSettings.load(),
        "navigation_sections": Section.objects.navigation(),
        "site_url": settings.SITE_URL,
        "site_language": translation.get_language() or settings.LANGUAGE_CODE,
        "site_direction": "rtl" if translation.get_language_bidi() else "ltr",
    }
