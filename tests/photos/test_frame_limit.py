"""Animated GIFs are refused above 1,000 frames, before their frames are decoded."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from photos.models import Photo
from photos.validation import validate_image_file
from tests.photos import samples
from tests.photos.conftest import upload

pytestmark = pytest.mark.django_db

TOO_MANY_FRAMES = "more than 1,000 frames"


def tiny_animation(frames: int) -> bytes:
    """Return a GIF of ``frames`` distinct 1×1 frames: a few bytes a frame."""
    return samples.animated_gif(frames=frames, size=(1, 1))


def admin_add(client, content):
    data = {"image": upload("loop.gif", content, "image/gif"), "title": "", "caption": "",
            "credit": "", "alt_text": "", "focal_point_x": "", "focal_point_y": ""}  # fmt: skip
    return client.post(reverse("admin:photos_photo_add"), data)


def test_an_animation_over_1000_frames_is_refused_and_one_of_1000_accepted():
    with pytest.raises(ValidationError) as refused:
        validate_image_file(io.BytesIO(tiny_animation(1001)))

    assert refused.value.code == "too_many_frames"
    assert TOO_MANY_FRAMES in refused.value.messages[0]
    assert validate_image_file(io.BytesIO(tiny_animation(1000))).frames == 1000


def test_a_file_of_a_hundred_thousand_empty_frames_is_refused_on_its_frame_count():
    """Kilobytes a frame would otherwise be parsed and decoded frame by frame."""
    content = samples.gif_claiming(1, 1, frames=100_000)

    with pytest.raises(ValidationError) as refused:
        validate_image_file(io.BytesIO(content))

    assert refused.value.code == "too_many_frames"


def test_admin_add_form_refuses_too_many_frames_and_stores_nothing(client, editor, stored_files):
    client.force_login(editor)

    refused = admin_add(client, tiny_animation(1001))

    assert refused.status_code == 200  # the admin form shown again, with the error
    assert TOO_MANY_FRAMES in refused.context["adminform"].form.errors["image"][0]
    assert not Photo.objects.exists()
    assert stored_files() == []
    assert admin_add(client, tiny_animation(1000)).status_code == 302
    assert Photo.objects.get().is_animated


def test_editor_upload_refuses_too_many_frames_with_a_400(client, reporter, stored_files):
    client.force_login(reporter)

    response = client.post(
        reverse("photos:editor_upload"), {"upload": upload("loop.gif", tiny_animation(1001))}
    )

    assert response.status_code == 400
    assert TOO_MANY_FRAMES in response.json()["error"]["message"]
    assert stored_files() == []


def test_the_upload_form_states_the_frame_limit(client, reporter):
    client.force_login(reporter)

    page = client.get(reverse("admin:photos_photo_add")).content.decode()

    assert "an animated GIF may have up to 1,000 frames" in page
