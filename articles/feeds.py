"""RSS 2.0 feeds of public stories: the latest, one per section and one per author.

Each item carries the full story as ``content:encoded`` and the lead photo as an
enclosure and a Media RSS ``media:content``. The channel's ``<language>`` is the site's;
a story in another language says so in its item with Dublin Core's ``dc:language``.
Django's ``Feed`` sets ``Last-Modified`` from the newest ``item_updateddate``, and
``ConditionalGetMiddleware`` answers a conditional GET with 304 from it (or from the
ETag it computes over the feed).
"""

import io
import re
from urllib.parse import urljoin

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Enclosure, Rss201rev2Feed, rfc3339_date
from django.utils.formats import date_format
from django.utils.html import escape, format_html, format_html_join

from articles.html import absolute_html
from articles.models import Article, Author, Section
from articles.structured_data import image_file
from articles.templatetags.story import listed, render_embeds
from frontcache import keys as surrogate_keys
from publication.models import SiteSettings

FEED_ITEMS = 30
# Wide enough for any feed reader's column, small enough for readers that fetch every
# enclosure; the original may be a 25 MB upload.
FEED_IMAGE_WIDTH = 960

CONTENT_NAMESPACE = "http://purl.org/rss/1.0/modules/content/"
MEDIA_NAMESPACE = "http://search.yahoo.com/mrss/"
DUBLIN_CORE_NAMESPACE = "http://purl.org/dc/elements/1.1/"

# Attributes of sanitised story HTML that hold an address (see articles/html.py).

# XML 1.0 cannot carry these; Django's XML writer refuses them rather than drop them.
XML_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def xml_text(value):
    """Return ``value`` without the control characters XML 1.0 cannot carry."""
    return XML_CONTROL_CHARACTERS.sub("", value) if isinstance(value, str) else value


def content_html(story, image):
    """Return the story as a feed reader shows it: lead photo, standfirst, body, corrections.

    Written here rather than in a template, as the story cards are (articles/templatetags/
    story.py): thirty a feed, the template was the largest part of rendering one.
    """
    figure = ""
    if image is not None:
        photo, caption = story.lead_photo, story.lead_caption
        figcaption = ""
        if caption or photo.credit:
            credit = format_html(" ({})", photo.credit) if photo.credit else ""
            figcaption = format_html("<figcaption>{}{}</figcaption>", caption, credit)
        figure = format_html(
            '<figure><img src="{}" width="{}" height="{}" alt="{}">{}</figure>',
            image.url,
            image.width,
            image.height,
            photo.alt_for(caption),
            figcaption,
        )
    standfirst = format_html("<p><strong>{}</strong></p>", story.dek) if story.dek else ""
    corrections = ""
    if story.ordered_corrections:
        corrections = format_html(
            "<h2>Corrections and clarifications</h2>\n<ul>{}</ul>",
            format_html_join(
                "",
                "<li><strong>{}, {}:</strong> {}</li>",
                (
                    (
                        correction.get_kind_display(),
                        date_format(timezone.localtime(correction.published_at), "F jS, Y"),
                        correction.text,
                    )
                    for correction in story.ordered_corrections
                ),
            ),
        )
    return f"{figure}\n{standfirst}\n{render_embeds(story.body)}\n{corrections}\n"


def feed_image(photo):
    """Return the file of ``photo`` that feeds carry, or None while it awaits its file."""
    return image_file(photo, max_width=FEED_IMAGE_WIDTH) if photo.image else None


class StoryFeedGenerator(Rss201rev2Feed):
    """RSS 2.0 with the full story (content:encoded), its update time, Media RSS and the
    language of a story written in another language than the channel's (dc:language).

    URLs the feed passes as paths (photo files, links inside the story) are made
    absolute against the item's own link, which Django has already made absolute
    from the request.

    RSS 2.0 carries ``<description>`` as entity-encoded HTML, and feed readers render
    it so; the descriptions given here are plain text (a standfirst, a tagline), so
    they are HTML-escaped before the XML writer escapes them once more. Otherwise a
    standfirst such as ``<img src=x onerror=…>`` would reach readers as markup.
    """

    def __init__(self, title, link, description, **kwargs):
        super().__init__(title, link, escape(xml_text(description or "")), **kwargs)

    def write(self, outfile, encoding):
        # The XML writer writes ~2,000 small pieces, each encoded on its own and kept as a
        # chunk of the response; gather them and send one body, encoded as the writer would.
        text = io.StringIO()
        super().write(text, encoding)
        outfile.write(text.getvalue().encode(encoding, "xmlcharrefreplace"))

    def rss_attributes(self):
        return {
            **super().rss_attributes(),
            "xmlns:content": CONTENT_NAMESPACE,
            "xmlns:media": MEDIA_NAMESPACE,
            "xmlns:dc": DUBLIN_CORE_NAMESPACE,
        }

    def add_item(
        self, title, link, description, *, content_html="", media=None, language="", **kwargs
    ):
        kwargs["enclosures"] = [
            Enclosure(urljoin(link, enclosure.url), enclosure.length, enclosure.mime_type)
            for enclosure in kwargs.get("enclosures") or ()
        ]
        if media:
            media = {**media, "url": urljoin(link, media["url"])}
        kwargs["author_name"] = xml_text(kwargs.get("author_name"))
        kwargs["categories"] = [xml_text(category) for category in kwargs.get("categories") or ()]
        super().add_item(
            xml_text(title),
            link,
            escape(xml_text(description)),
            content_encoded=xml_text(absolute_html(content_html, link)),
            media=media,
            language=language,
            **kwargs,
        )

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        if item["updateddate"] is not None:
            handler.addQuickElement("atom:updated", rfc3339_date(item["updateddate"]))
        if item["content_encoded"]:
            handler.addQuickElement("content:encoded", item["content_encoded"])
        if item["language"] and item["language"].lower() != (self.feed["language"] or "").lower():
            handler.addQuickElement("dc:language", item["language"])
        media = item["media"]
        if media:
            attributes = {
                "url": media["url"],
                "type": media["type"],
                "medium": "image",
                "width": str(media["width"]),
                "height": str(media["height"]),
            }
            if media["file_size"]:
                attributes["fileSize"] = str(media["file_size"])
            handler.startElement("media:content", attributes)
            if media["description"]:
                handler.addQuickElement(
                    "media:description", xml_text(media["description"]), {"type": "plain"}
                )
            if media["credit"]:
                handler.addQuickElement("media:credit", xml_text(media["credit"]))
            handler.endElement("media:content")


class LatestFeed(Feed):
    """The newest public stories of the whole site."""

    feed_type = StoryFeedGenerator
    item_guid_is_permalink = True

    @property
    def language(self):
        """Return the site's language, not the active translation's: one feed serves all."""
        return settings.LANGUAGE_CODE

    def title(self, obj):
        return SiteSettings.load().site_name

    def description(self, obj):
        site_settings = SiteSettings.load()
        return site_settings.tagline or f"The latest stories from {site_settings.site_name}."

    def link(self, obj):
        return reverse("frontpage:home")

    def items(self, obj):
        surrogate_keys.add(self.listing_key(obj))
        stories = list(self.stories(obj).for_feed()[:FEED_ITEMS])
        # A few library photos lead many stories: choose each photo's file once.
        images = {}
        for story in stories:
            photo = story.lead_photo
            if photo is not None and photo.pk not in images:
                images[photo.pk] = feed_image(photo)
            story.feed_image = images.get(story.lead_photo_id)
        return stories

    def listing_key(self, obj):
        """Return the surrogate key of the listing this feed follows."""
        return surrogate_keys.STORIES

    def stories(self, obj):
        """Return the public stories this feed lists, before eager loading and slicing."""
        return Article.objects.published()

    def item_title(self, item):
        # Plain text, unlike Django's default of escaping the title once more for readers
        # that parse it as HTML (https://code.djangoproject.com/ticket/6533): feedparser
        # and the readers built on it would show "Trade &amp; industry" to everyone.
        return item.headline

    def item_description(self, item):
        return item.summary

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.updated_at or item.published_at

    def item_author_name(self, item):
        names = [getattr(part, "name", part) for part in item.byline_parts()]
        return listed(names) if names else None

    def item_categories(self, item):
        section = [item.section.name] if item.section else []
        return section + [tag.name for tag in item.ordered_tags]

    def item_enclosures(self, item):
        image = self.item_image(item)
        if image is None:
            return []
        # The RSS profile asks for a length of 0 when the size is not known.
        # https://www.rssboard.org/rss-profile#element-channel-item-enclosure
        return [Enclosure(image.url, str(image.file_size or 0), image.mime_type)]

    def item_image(self, item):
        """Return the file of the story's lead photo that the feed carries, or None."""
        return item.feed_image

    def item_extra_kwargs(self, item):
        image = self.item_image(item)
        media = None
        if image is not None:
            media = {
                "url": image.url,
                "type": image.mime_type,
                "width": image.width,
                "height": image.height,
                "file_size": image.file_size,
                "description": item.lead_caption,
                "credit": item.lead_photo.credit,
            }
        return {
            "content_html": content_html(item, image),
            "media": media,
            "language": item.language_code,
        }


class SectionFeed(LatestFeed):
    """The newest public stories of one section; 404 for an unknown section."""

    def get_object(self, request, slug):
        return get_object_or_404(Section, slug=slug)

    def title(self, obj):
        return f"{obj.name} | {SiteSettings.load().site_name}"

    def description(self, obj):
        return (
            obj.description
            or f"The latest {obj.name} stories from {SiteSettings.load().site_name}."
        )

    def link(self, obj):
        return obj.get_absolute_url()

    def stories(self, obj):
        return super().stories(obj).filter(section=obj)

    def listing_key(self, obj):
        return surrogate_keys.section_stories(obj.pk)


class AuthorFeed(LatestFeed):
    """The newest public stories bylined to one author; 404 for an unknown author."""

    def get_object(self, request, slug):
        return get_object_or_404(Author, slug=slug)

    def title(self, obj):
        return f"{obj.name} | {SiteSettings.load().site_name}"

    def description(self, obj):
        return f"The latest stories by {obj.name} from {SiteSettings.load().site_name}."

    def link(self, obj):
        return obj.get_absolute_url()

    def stories(self, obj):
        return super().stories(obj).filter(bylines__author=obj)

    def listing_key(self, obj):
        return surrogate_keys.author_stories(obj.pk)
