"""Uploads over HTTP: the photo library's add form and the story editor's image upload."""

import json

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from photos.models import Photo
from photos.views import editor_image_url
from tests.factories import UserFactory, photo_with_renditions
from tests.photos import samples
from tests.photos.conftest import upload

pytestmark = pytest.mark.django_db

ADMIN_ADD_URL = "admin:photos_photo_add"
EDITOR_UPLOAD_URL = "photos:editor_upload"


def admin_add(client, file, **fields):
    data = {"image": file, "title": "", "caption": "", "credit": "", "alt_text": "",
            "focal_point_x": "", "focal_point_y": "", **fields}  # fmt: skip
    return client.post(reverse(ADMIN_ADD_URL), data)


@pytest.mark.parametrize("case", samples.BAD_UPLOADS)
def test_admin_add_form_refuses_a_bad_file_and_stores_nothing(case, client, editor, stored_files):
    name, make_content, message = samples.BAD_UPLOADS[case]
    client.force_login(editor)

    response = admin_add(client, upload(name, make_content()), caption="Kept for a retry")

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["image"]
    assert message in errors[0]
    assert "Kept for a retry" in response.content.decode()
    assert not Photo.objects.exists()
    assert stored_files() == []


@pytest.mark.parametrize("case", samples.BAD_UPLOADS)
def test_editor_upload_refuses_a_bad_file_with_a_json_message_and_stores_nothing(
    case, client, reporter, stored_files
):
    name, make_content, message = samples.BAD_UPLOADS[case]
    client.force_login(reporter)

    response = client.post(reverse(EDITOR_UPLOAD_URL), {"upload": upload(name, make_content())})

    assert response.status_code == 400
    assert message in response.json()["error"]["message"]
    assert not Photo.objects.exists()
    assert stored_files() == []


def test_admin_add_form_stores_the_photo_for_its_uploader(
    client, editor, django_capture_on_commit_callbacks
):
    client.force_login(editor)
    exif = samples.exif_with_location(ImageDescription="Aleppo at dusk.", Artist="Jane Doe")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_add(client, upload("IMG_0001.jpg", samples.jpeg(exif=exif)))

    assert response.status_code == 302
    photo = Photo.objects.get()
    assert photo.uploaded_by == editor
    assert (photo.caption, photo.credit) == ("Aleppo at dusk.", "Jane Doe")
    assert photo.picture_renditions_ready


def test_admin_add_form_keeps_what_the_editor_typed_over_the_files_metadata(client, editor):
    client.force_login(editor)
    exif = samples.exif_with_location(ImageDescription="From the camera", Artist="Camera")

    admin_add(client, upload("a.jpg", samples.jpeg(exif=exif)), caption="Typed", credit="AFP")

    assert Photo.objects.values_list("caption", "credit").get() == ("Typed", "AFP")


def test_editor_upload_adds_a_library_photo_and_answers_with_its_url(client, reporter):
    client.force_login(reporter)
    packet = samples.xmp_packet(description="A market reopens.", credit="AFP", alt_text="Stalls")

    response = client.post(
        reverse(EDITOR_UPLOAD_URL), {"upload": upload("market.jpg", samples.jpeg(xmp=packet))}
    )

    assert response.status_code == 200
    photo = Photo.objects.get()
    # The test's transaction holds back the renditions task, as a busy worker would.
    assert response.json() == {"url": photo.image.url, "photo_id": photo.pk}
    assert (photo.uploaded_by, photo.caption, photo.credit, photo.alt_text) == (
        reporter, "A market reopens.", "AFP", "Stalls",
    )  # fmt: skip


def test_the_editor_gets_a_1280_wide_jpeg_once_renditions_exist():
    photo = photo_with_renditions(image=ContentFile(samples.jpeg(width=2000), name="a.jpg"))

    assert editor_image_url(photo) == (
        f"/media/photos/renditions/{photo.pk}/{photo.file_hash[:16]}-v1/w1280.jpeg"
    )


def test_editor_upload_stores_a_png_named_jpg_as_png(client, reporter):
    client.force_login(reporter)

    response = client.post(
        reverse(EDITOR_UPLOAD_URL), {"upload": upload("a.jpg", samples.image_file("PNG"))}
    )

    assert response.json()["url"].endswith(".png")


def test_editor_upload_needs_the_add_photo_permission(client, stored_files):
    client.force_login(UserFactory(username="audience", role="Audience"))

    response = client.post(reverse(EDITOR_UPLOAD_URL), {"upload": upload("a.jpg", samples.jpeg())})

    assert response.status_code == 403
    assert "permission" in response.json()["error"]["message"]
    assert not Photo.objects.exists()
    assert stored_files() == []


def test_editor_upload_refuses_an_anonymous_visitor(client):
    response = client.post(reverse(EDITOR_UPLOAD_URL), {"upload": upload("a.jpg", samples.jpeg())})

    assert response.status_code == 403
    assert "Log in again" in response.json()["error"]["message"]
    assert not Photo.objects.exists()


def test_editor_upload_needs_a_csrf_token(reporter):
    client = Client(enforce_csrf_checks=True)
    client.force_login(reporter)

    response = client.post(reverse(EDITOR_UPLOAD_URL), {"upload": upload("a.jpg", samples.jpeg())})

    assert response.status_code == 403
    assert not Photo.objects.exists()


def test_editor_upload_without_a_file_says_so(client, reporter):
    client.force_login(reporter)

    response = client.post(reverse(EDITOR_UPLOAD_URL), {})

    assert response.status_code == 400
    assert json.loads(response.content)["error"]["message"].startswith("No file arrived")


def test_editor_upload_only_takes_posts(client, reporter):
    client.force_login(reporter)

    assert client.get(reverse(EDITOR_UPLOAD_URL)).status_code == 405


@pytest.fixture
def pillow_opens(monkeypatch):
    """Return the list of files Pillow opens from now on."""
    from PIL import Image

    opened = []
    real_open = Image.open

    def counting_open(file, *args, **kwargs):
        opened.append(file)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(Image, "open", counting_open)
    return opened


def test_an_upload_through_the_admin_is_decoded_once(
    client, editor, pillow_opens, django_capture_on_commit_callbacks
):
    """Checking, reading metadata and cleaning share one decode (renditions come later)."""
    client.force_login(editor)

    with django_capture_on_commit_callbacks():
        response = admin_add(client, upload("a.jpg", samples.jpeg(width=800, height=600)))

    assert response.status_code == 302
    assert Photo.objects.get().width == 800
    assert len(pillow_opens) == 1


def test_an_upload_from_the_editor_is_decoded_once(
    client, reporter, pillow_opens, django_capture_on_commit_callbacks
):
    client.force_login(reporter)

    with django_capture_on_commit_callbacks():
        response = client.post(
            reverse(EDITOR_UPLOAD_URL), {"upload": upload("a.png", samples.image_file("PNG"))}
        )

    assert response.status_code == 200
    assert Photo.objects.get().width == 64
    assert len(pillow_opens) == 1
