"""What a photo needs before a story showing it is published, and the alt text it is shown with."""

import pytest

from photos.models import Photo
from tests.factories import PhotoFactory
from tests.photos.test_templatetags import render

pytestmark = pytest.mark.django_db


def test_a_photo_with_file_credit_and_alt_text_is_ready():
    photo = PhotoFactory()

    assert photo.missing_for_publishing() == []
    assert photo.ready_to_publish


def test_a_photo_says_everything_it_lacks_in_order():
    photo = Photo(credit="", alt_text="")

    assert photo.missing_for_publishing() == ["image", "credit", "alt_text"]
    assert not photo.ready_to_publish


def test_spaces_are_no_credit_and_no_alt_text():
    photo = PhotoFactory(credit="  ", alt_text=" \t")

    assert photo.missing_for_publishing() == ["credit", "alt_text"]


def test_a_decorative_photo_needs_no_alt_text():
    assert PhotoFactory(alt_text="", is_decorative=True).missing_for_publishing() == []


def test_the_library_filter_judges_as_the_photo_does():
    photos = [
        PhotoFactory(),
        PhotoFactory(credit=""),
        PhotoFactory(credit="   "),
        PhotoFactory(alt_text=""),
        PhotoFactory(alt_text="  ", is_decorative=False),
        PhotoFactory(alt_text="", is_decorative=True),
        Photo.objects.create(caption="Awaiting its file", credit="AFP"),
    ]

    for need in ("image", "credit", "alt_text"):
        expected = {photo.pk for photo in photos if need in photo.missing_for_publishing()}
        found = set(Photo.objects.missing_for_publishing(need).values_list("pk", flat=True))
        assert found == expected, need


def test_alt_text_is_the_photos_own_else_the_caption():
    described = Photo(alt_text="Soldiers in a ruined street")
    undescribed = Photo(alt_text="")

    assert described.alt_for("Forces in Aleppo.") == "Soldiers in a ruined street"
    assert undescribed.alt_for("Forces in Aleppo.") == "Forces in Aleppo."
    assert undescribed.alt_for() == ""


def test_text_written_for_one_place_comes_before_the_photos_own():
    photo = Photo(alt_text="A portrait")

    assert photo.alt_for("Caption", override="Jane Doe") == "Jane Doe"
    assert photo.alt_for("Caption", override="") == "A portrait"


def test_a_decorative_photo_has_no_alt_text_anywhere():
    photo = Photo(alt_text="Not read out", is_decorative=True)

    assert photo.alt_for("Caption", override="Jane Doe") == ""


def test_templates_get_the_same_alt_text_through_a_filter():
    template = "{{ photo|photo_alt:caption }}"

    assert render(template, photo=Photo(alt_text=""), caption="Forces") == "Forces"
    assert render(template, photo=Photo(alt_text="Soldiers"), caption="Forces") == "Soldiers"
    assert render(template, photo=Photo(is_decorative=True), caption="Forces") == ""
    assert render(template, photo=None, caption="Forces") == ""
