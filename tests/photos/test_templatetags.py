from html.parser import HTMLParser

import pytest
from django.core.files.base import ContentFile
from django.template import Context, Template

from photos.models import Photo
from tests.factories import PhotoFactory, photo_with_renditions
from tests.photos import samples

pytestmark = pytest.mark.django_db


class Elements(HTMLParser):
    def __init__(self, html):
        super().__init__()
        self.found = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def render(template: str, **context) -> str:
    return Template("{% load photos %}" + template).render(Context(context))


def tags(html: str) -> dict:
    """Return {tag name: attributes} of the markup (each tag appears once in a picture)."""
    return dict(Elements(html).found)


def wide_photo(width=1000, **fields) -> Photo:
    return photo_with_renditions(
        image=ContentFile(samples.jpeg(width=width, height=width // 2), name="wide.jpg"), **fields
    )


def test_picture_offers_webp_and_jpeg_widths_with_the_photos_size(django_assert_num_queries):
    photo = wide_photo(width=2000, alt_text="Crowds at the border crossing")

    with django_assert_num_queries(0):
        html = render(
            '{% photo_picture photo sizes="(min-width: 50em) 50em, 100vw" %}', photo=photo
        )

    found = tags(html)
    base = f"/media/photos/renditions/{photo.pk}/{photo.file_hash[:16]}-v1/"
    widths = [320, 480, 640, 960, 1280, 1600, 1920]
    assert found["source"] == {
        "type": "image/webp",
        "srcset": ", ".join(f"{base}w{width}.webp {width}w" for width in widths),
        "sizes": "(min-width: 50em) 50em, 100vw",
    }
    assert found["img"] == {
        "src": f"{base}w960.jpeg",
        "srcset": ", ".join(f"{base}w{width}.jpeg {width}w" for width in widths),
        "sizes": "(min-width: 50em) 50em, 100vw",
        "width": "1920",
        "height": "960",
        "alt": "Crowds at the border crossing",
        "loading": "lazy",
        "decoding": "async",
    }


def test_the_lead_picture_is_fetched_first_not_lazily():
    html = render("{% photo_picture photo lazy=False css_class='lead' %}", photo=wide_photo())

    image = tags(html)["img"]
    assert "loading" not in image and "decoding" not in image
    assert image["fetchpriority"] == "high"
    assert image["class"] == "lead"


def test_a_picture_without_renditions_shows_the_original(django_assert_num_queries):
    """A site with no worker running still shows every photo."""
    photo = PhotoFactory(image=ContentFile(samples.jpeg(width=900, height=600), name="a.jpg"))

    with django_assert_num_queries(0):
        html = render("{% photo_picture photo %}", photo=photo)

    assert Elements(html).found == [
        ("picture", {}),
        ("img", {"src": photo.image.url, "width": "900", "height": "600",
                 "alt": photo.alt_text, "loading": "lazy", "decoding": "async"}),
    ]  # fmt: skip


def test_alt_text_is_empty_for_a_decorative_photo_and_can_be_given():
    decorative = wide_photo(is_decorative=True, alt_text="Not read out")
    described = wide_photo(alt_text="From the library")

    assert tags(render("{% photo_picture photo %}", photo=decorative))["img"]["alt"] == ""
    assert tags(render("{% photo_picture photo alt='For this story' %}", photo=described))[
        "img"
    ]["alt"] == "For this story"  # fmt: skip


def test_everything_written_into_the_markup_is_escaped():
    photo = wide_photo(alt_text='"><script>alert(1)</script>')

    html = render(
        "{% photo_picture photo sizes=sizes css_class=css %}",
        photo=photo,
        sizes='100vw" onerror="alert(2)',
        css='x" onload="alert(3)',
    )

    assert "<script>" not in html
    assert 'onerror="' not in html and 'onload="' not in html
    image = tags(html)["img"]
    assert image["alt"] == '"><script>alert(1)</script>'
    assert image["class"] == 'x" onload="alert(3)'


def test_card_shows_the_16_by_9_crop(django_assert_num_queries):
    photo = wide_photo(width=2000, focal_point_x=0.25, focal_point_y=0.5)

    with django_assert_num_queries(0):
        html = render("{% photo_card photo %}", photo=photo)

    found = tags(html)
    base = f"/media/photos/renditions/{photo.pk}/{photo.file_hash[:16]}-v1/"
    assert found["source"]["srcset"] == (
        f"{base}fill-16x9-w480-f25-50.webp 480w, {base}fill-16x9-w960-f25-50.webp 960w"
    )
    assert (found["img"]["width"], found["img"]["height"]) == ("960", "540")
    assert found["img"]["src"] == f"{base}fill-16x9-w960-f25-50.jpeg"


def test_a_card_whose_focal_point_moved_shows_the_original_until_redrawn():
    photo = wide_photo()
    photo.focal_point_x = photo.focal_point_y = 0.1
    photo.save()

    html = render("{% photo_card photo %}", photo=photo)

    assert tags(html)["img"]["src"] == photo.image.url
    assert "srcset" in tags(render("{% photo_picture photo %}", photo=photo))["img"]


def test_an_empty_photo_renders_nothing():
    assert render("{% photo_picture photo %}{% photo_card photo %}", photo=None) == ""


def test_a_page_of_photos_costs_no_query_per_photo(django_assert_num_queries):
    for _ in range(3):
        wide_photo()
    PhotoFactory()
    photos = list(Photo.objects.all())

    with django_assert_num_queries(0):
        html = render(
            "{% for photo in photos %}{% photo_card photo %}{% photo_picture photo %}"
            "{% photo_thumbnail photo 80 %}{% endfor %}",
            photos=photos,
        )

    assert html.count("<picture>") == 8
