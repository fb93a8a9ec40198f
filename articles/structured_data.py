"""Schema.org ``NewsArticle`` data for a story page, as search engines read it.

Everything comes from relations ``Article.objects.for_detail()`` has loaded, so building
it costs no query.

Bylines: an ``Author`` is a ``Person`` with a link to their page. A free-text byline
("AM", "Staff", "AFP") becomes an ``Organization`` with just the name: it credits an
agency, a desk or initials the newsroom signs with, none of which is a person a search
engine could identify, and claiming one would be wrong for "AFP" or "Staff".

Complete with no configuration: a site without an uploaded publisher logo names the one
drawn from its name, and a story without a lead photo is shared with the default image
drawn from it too (``articles.brand``).
"""

import mimetypes
from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone

from articles import brand
from photos import renditions
from publication.addresses import absolute_url

# Shared images: search engines and social networks want them large (Google asks for
# 1,200 pixels wide) but not the original, which may be 25 MB; feeds want them small.
SHARED_IMAGE_WIDTH = 1920


def iso_datetime(value):
    """Return an aware datetime as ISO 8601 in the site's time zone, to the second."""
    if value is None:
        return None
    return timezone.localtime(value).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class ImageFile:
    """One file of a photo as other sites fetch it; ``file_size`` is None when unknown."""

    url: str
    width: int
    height: int
    mime_type: str
    file_size: int | None


def image_file(photo, *, max_width=SHARED_IMAGE_WIDTH):
    """Return the widest JPEG rendition of ``photo`` up to ``max_width``, else its original.

    Works from the photo's own fields, so it costs no query; the original is used until
    the renditions task has drawn the copies, and for animations, which have none.
    """
    item = renditions.widest_within(photo, width=max_width, format="jpeg")
    if item is not None:
        return ImageFile(item.url(photo), item.width, item.height, item.media_type, None)
    mime_type = mimetypes.guess_type(photo.image.name)[0] or "application/octet-stream"
    return ImageFile(photo.image.url, photo.width, photo.height, mime_type, photo.file_size)


def default_share_image():
    """Return the image drawn from the site's name, shared for a story without a photo."""
    width, height = brand.SHARE_IMAGE_SIZE
    return ImageFile(reverse("articles:share_image"), width, height, "image/png", None)


def shared_image(photo):
    """Return the file search engines and social networks fetch for a story led by ``photo``.

    The photo's large copy; the site's default share image when there is no photo, or
    while the photo awaits its file.
    """
    if photo is not None and photo.image:
        return image_file(photo)
    return default_share_image()


def image_object(photo, *, site_url, caption=""):
    """Return a schema.org ``ImageObject`` for a story's photo, or the default share image."""
    image = shared_image(photo)
    data = {
        "@type": "ImageObject",
        "url": absolute_url(image.url, site_url),
        "width": image.width,
        "height": image.height,
    }
    if photo is None or not photo.image:
        return data
    if caption:
        data["caption"] = caption
    if photo.credit:
        data["creditText"] = photo.credit
    return data


def author_objects(article, *, site_url):
    """Return one schema.org ``Person`` or ``Organization`` per byline, in byline order."""
    authors = []
    for byline in article.bylines.all():
        author = byline.author
        person = {
            "@type": "Person",
            "name": author.name,
            "url": absolute_url(author.get_absolute_url(), site_url),
        }
        if author.role:
            person["jobTitle"] = author.role
        same_as = [url for url in (author.website, author.twitter, author.facebook) if url]
        if same_as:
            person["sameAs"] = same_as
        authors.append(person)
    if article.byline:
        authors.append({"@type": "Organization", "name": article.byline})
    return authors


def logo_object(*, site_url, site_settings):
    """Return the publisher logo as an ``ImageObject``: the uploaded one, else one drawn."""
    if site_settings.publisher_logo:
        return {
            "@type": "ImageObject",
            "url": absolute_url(site_settings.publisher_logo.url, site_url),
        }
    width, height = brand.logo_size(site_settings.site_name)
    return {
        "@type": "ImageObject",
        "url": absolute_url(reverse("articles:publisher_logo"), site_url),
        "width": width,
        "height": height,
    }


def publisher_object(*, site_url, site_settings):
    """Return the schema.org ``Organization`` that publishes the site, with its logo."""
    publisher = {
        "@type": "Organization",
        "name": site_settings.site_name,
        "url": f"{site_url}/",
        "logo": logo_object(site_url=site_url, site_settings=site_settings),
    }
    same_as = [url for _, url in site_settings.social_links]
    if same_as:
        publisher["sameAs"] = same_as
    return publisher


def article_json_ld(article, *, site_url, site_settings) -> dict:
    """Return the schema.org ``NewsArticle`` describing ``article`` on its canonical page."""
    canonical_url = absolute_url(article.get_absolute_url(), site_url)
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "mainEntityOfPage": {"@type": "WebPage", "@id": canonical_url},
        "url": canonical_url,
        "headline": article.headline,
        "description": article.summary,
        "inLanguage": article.language_code,
        "datePublished": iso_datetime(article.published_at),
        "dateModified": iso_datetime(article.updated_at or article.published_at),
        "author": author_objects(article, site_url=site_url),
        "publisher": publisher_object(site_url=site_url, site_settings=site_settings),
        "image": image_object(article.lead_photo, site_url=site_url, caption=article.lead_caption),
    }
    if article.section:
        data["articleSection"] = article.section.name
    keywords = [tag.name for tag in article.tags.all()]
    if keywords:
        data["keywords"] = keywords
    corrections = [
        {
            "@type": "CorrectionComment",
            "name": correction.get_kind_display(),
            "text": correction.text,
            "datePublished": iso_datetime(correction.published_at),
        }
        for correction in article.corrections.all()
    ]
    if corrections:
        data["correction"] = corrections
    return {key: value for key, value in data.items() if value not in (None, [], "")}
