"""The publication's address, and the one way to make a link absolute on it.

Pages, feeds, sitemaps, JSON-LD and emails all link back to the site; ``SITE_URL`` says
where it is (the public HTTPS address in production; HOST and PORT in development).
"""

from django.conf import settings


def absolute_url(url: str, site_url: str | None = None) -> str:
    """Return ``url`` absolute: a path goes after ``site_url`` (``SITE_URL``), a full address
    (or a protocol-relative one) is kept as it is."""
    url = str(url)
    if url.startswith("/") and not url.startswith("//"):
        return f"{settings.SITE_URL if site_url is None else site_url}{url}"
    return url
