import io

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.test import override_settings
from django_tasks_db.models import DBTaskResult
from PIL import Image, ImageDraw

from photos.models import Photo, Rendition
from photos.services import photo_build_renditions
from photos.tasks import photo_generate_renditions
from tests.photos import samples

pytestmark = pytest.mark.django_db

ALL_WIDTHS = {320, 480, 640, 960, 1280, 1600, 1920}


def new_photo(content: bytes, capture, **fields) -> Photo:
    """Save a photo as the admin would, running what it queues on commit (immediate backend)."""
    with capture(execute=True):
        photo = Photo.objects.create(image=ContentFile(content, name="upload.jpg"), **fields)
    photo.refresh_from_db()
    return photo


def rendition_files(photo):
    """Return {spec: Pillow image} of the stored renditions of ``photo``."""
    opened = {}
    for rendition in photo.renditions.all():
        with rendition.file.open("rb") as file:
            opened[rendition.spec] = Image.open(io.BytesIO(file.read()))
    return opened


def test_saving_a_photo_queues_its_renditions_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        photo = Photo.objects.create(image=ContentFile(samples.jpeg(), name="a.jpg"))

    queued = [callback for callback in callbacks if getattr(callback, "args", None) == (photo.pk,)]
    assert [callback.func for callback in queued] == [photo_generate_renditions.enqueue]
    assert not photo.renditions.exists()


def test_the_task_draws_every_width_and_card_crop_in_webp_and_jpeg(
    django_capture_on_commit_callbacks,
):
    photo = new_photo(samples.jpeg(width=2400, height=1350), django_capture_on_commit_callbacks)

    files = rendition_files(photo)
    widths = {int(spec[1:].split(".")[0]) for spec in files if spec.startswith("w")}
    assert widths == ALL_WIDTHS
    assert {spec for spec in files if spec.startswith("fill")} == {
        "fill-16x9-w480.webp", "fill-16x9-w480.jpeg", "fill-16x9-w960.webp", "fill-16x9-w960.jpeg",
    }  # fmt: skip
    for rendition in photo.renditions.all():
        image = files[rendition.spec]
        assert image.format == ("WEBP" if rendition.spec.endswith(".webp") else "JPEG")
        assert image.size == (rendition.width, rendition.height)
    assert files["w640.jpeg"].size == (640, 360)
    assert files["fill-16x9-w960.webp"].size == (960, 540)
    assert photo.picture_renditions_ready and photo.card_renditions_ready


def test_nothing_is_drawn_wider_than_the_original(django_capture_on_commit_callbacks):
    photo = new_photo(samples.jpeg(width=700, height=700), django_capture_on_commit_callbacks)

    sizes = {(r.spec, r.width, r.height) for r in photo.renditions.all()}
    assert max(width for _, width, _ in sizes) == 700
    assert {spec for spec, _, _ in sizes if spec.endswith(".webp")} == {
        "w320.webp", "w480.webp", "w640.webp", "w700.webp", "fill-16x9-w480.webp",
        "fill-16x9-w700.webp",
    }  # fmt: skip
    assert ("fill-16x9-w700.jpeg", 700, 394) in sizes


def test_a_photo_narrower_than_every_width_gets_one_at_its_own_size(
    django_capture_on_commit_callbacks,
):
    photo = new_photo(samples.jpeg(width=200, height=150), django_capture_on_commit_callbacks)

    assert sorted(photo.renditions.values_list("spec", "width", "height")) == [
        ("fill-16x9-w200.jpeg", 200, 112),
        ("fill-16x9-w200.webp", 200, 112),
        ("w200.jpeg", 200, 150),
        ("w200.webp", 200, 150),
    ]


def test_running_the_task_again_draws_nothing_and_changes_nothing(
    django_capture_on_commit_callbacks,
):
    photo = new_photo(samples.jpeg(width=1000, height=600), django_capture_on_commit_callbacks)
    before = sorted(photo.renditions.values_list("pk", "file"))
    bytes_before = {r.spec: r.file.open("rb").read() for r in photo.renditions.all()}

    assert photo_generate_renditions.call(photo.pk) == 0

    assert sorted(photo.renditions.values_list("pk", "file")) == before
    assert {r.spec: r.file.open("rb").read() for r in photo.renditions.all()} == bytes_before


def test_rendition_files_have_fixed_names_even_when_redrawn(django_capture_on_commit_callbacks):
    """Two workers drawing the same photo write the same paths, never name_abc123.webp."""
    photo = new_photo(samples.jpeg(width=900, height=600), django_capture_on_commit_callbacks)
    paths = sorted(photo.renditions.values_list("file", flat=True))
    Rendition.objects.filter(photo=photo).delete()  # rows gone, files kept until commit

    photo_build_renditions(photo=photo)

    assert sorted(photo.renditions.values_list("file", flat=True)) == paths


def focal_test_image() -> bytes:
    """Return an 800x800 white photo with a red patch near the bottom-left corner."""
    image = Image.new("RGB", (800, 800), (255, 255, 255))
    ImageDraw.Draw(image).rectangle((50, 725, 150, 795), fill=(255, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def red_pixels(image: Image.Image) -> int:
    colours = image.convert("RGB").getcolors(maxcolors=image.width * image.height)
    return sum(count for count, (red, green, _) in colours if red > 200 and green < 80)


def test_the_card_crop_keeps_the_focal_point_in_view(django_capture_on_commit_callbacks):
    centred = new_photo(focal_test_image(), django_capture_on_commit_callbacks)
    focused = new_photo(
        focal_test_image(),
        django_capture_on_commit_callbacks,
        focal_point_x=0.125,
        focal_point_y=0.95,
    )

    centre_crop = rendition_files(centred)["fill-16x9-w480.jpeg"]
    focal_crop = rendition_files(focused)["fill-16x9-w480.jpeg"]
    assert red_pixels(centre_crop) == 0
    assert focal_crop.size == (480, 270)
    assert focal_crop.convert("RGB").getpixel((60, 246))[:2] == pytest.approx((255, 0), abs=40)


def test_moving_the_focal_point_redraws_only_the_crops(
    django_capture_on_commit_callbacks, stored_files
):
    photo = new_photo(samples.jpeg(width=1200, height=900), django_capture_on_commit_callbacks)
    widths_before = sorted(photo.renditions.filter(focal_point_key="").values_list("pk", "file"))
    old_crops = list(photo.renditions.exclude(focal_point_key="").values_list("file", flat=True))

    photo.focal_point_x, photo.focal_point_y = 0.2, 0.3
    with django_capture_on_commit_callbacks(execute=True):
        photo.save()

    photo.refresh_from_db()
    assert photo.card_renditions_ready
    assert set(photo.renditions.exclude(focal_point_key="").values_list(
        "focal_point_key", flat=True
    )) == {"20-30"}  # fmt: skip
    assert sorted(photo.renditions.filter(focal_point_key="").values_list("pk", "file")) == (
        widths_before
    )
    assert not set(old_crops) & set(stored_files())


def test_a_new_file_replaces_every_rendition(django_capture_on_commit_callbacks, stored_files):
    photo = new_photo(samples.jpeg(width=800, height=600), django_capture_on_commit_callbacks)
    old_files = set(photo.renditions.values_list("file", flat=True))

    photo.image = ContentFile(samples.jpeg(width=1000, height=500, color=(9, 9, 9)), name="b.jpg")
    with django_capture_on_commit_callbacks(execute=True):
        photo.save()

    photo.refresh_from_db()
    assert photo.picture_renditions_ready
    assert photo.renditions.get(spec="w960.jpeg").height == 480
    assert not old_files & set(stored_files())


def test_a_photo_changed_while_drawing_is_not_marked_ready(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        photo = Photo.objects.create(image=ContentFile(samples.jpeg(), name="a.jpg"))
    stale = Photo.objects.get(pk=photo.pk)
    Photo.objects.filter(pk=photo.pk).update(focal_point_x=0.9, focal_point_y=0.9)

    photo_build_renditions(photo=stale)

    assert Photo.objects.get(pk=photo.pk).renditions_key == ""


def test_a_save_does_not_undo_the_workers_ready_mark(django_capture_on_commit_callbacks):
    """The admin form loaded the photo before the worker finished; saving it keeps the mark."""
    with django_capture_on_commit_callbacks():
        photo = Photo.objects.create(image=ContentFile(samples.jpeg(), name="a.jpg"))
    loaded_by_the_admin = Photo.objects.get(pk=photo.pk)
    photo_build_renditions(photo=photo)

    loaded_by_the_admin.caption = "A caption typed meanwhile."
    loaded_by_the_admin.save()

    assert Photo.objects.get(pk=photo.pk).card_renditions_ready


def test_an_animation_is_served_as_uploaded(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        photo = Photo.objects.create(image=ContentFile(samples.animated_gif(), name="a.gif"))

    assert not photo.renditions.exists()
    assert not Photo.objects.get(pk=photo.pk).picture_renditions_ready


def test_the_task_for_a_deleted_photo_does_nothing():
    assert photo_generate_renditions.call(123456) == 0


def test_deleting_a_photo_deletes_its_files(django_capture_on_commit_callbacks, stored_files):
    photo = new_photo(samples.jpeg(width=700, height=400), django_capture_on_commit_callbacks)
    assert len(stored_files()) == 13

    with django_capture_on_commit_callbacks(execute=True):
        photo.delete()

    assert stored_files() == []


DATABASE_TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "photos", "newsletter"],
    }
}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@override_settings(TASKS=DATABASE_TASKS)
def test_the_database_worker_draws_what_a_save_queued():
    """Transactional: the worker closes and reopens connections, as in production."""
    photo = Photo.objects.create(image=ContentFile(samples.jpeg(width=1000), name="a.jpg"))
    task_result = DBTaskResult.objects.get()
    assert task_result.queue_name == "photos"
    assert not photo.renditions.exists()

    call_command(
        "db_worker", queue_name="photos", batch=True, reload=False, startup_delay=False,
        verbosity=0,
    )  # fmt: skip

    task_result.refresh_from_db()
    assert task_result.status == "SUCCESSFUL"
    assert task_result.return_value == 14
    photo.refresh_from_db()
    assert photo.picture_renditions_ready and photo.card_renditions_ready


def test_the_queue_command_catches_up_photos_saved_without_a_worker(
    django_capture_on_commit_callbacks, capsys
):
    with django_capture_on_commit_callbacks():  # saved, but the worker never ran
        waiting = Photo.objects.create(image=ContentFile(samples.jpeg(), name="a.jpg"))
    ready = new_photo(samples.jpeg(), django_capture_on_commit_callbacks)

    call_command("queue_photo_renditions")

    assert 'Queued 1 photo(s) on the "photos" queue.' in capsys.readouterr().out
    waiting.refresh_from_db()
    assert waiting.card_renditions_ready
    assert ready.renditions.count() == waiting.renditions.count()


def image_in_mode(mode: str, image_format: str) -> bytes:
    buffer = io.BytesIO()
    image = Image.new(mode, (400, 300))
    if mode == "P":
        image.info["transparency"] = 0
    image.save(buffer, image_format)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("mode", "image_format"),
    [("RGBA", "PNG"), ("LA", "PNG"), ("P", "GIF"), ("L", "JPEG"), ("CMYK", "JPEG"),
     ("I;16", "PNG"), ("RGBA", "WEBP")],
)  # fmt: skip
def test_renditions_are_drawn_from_every_kind_of_accepted_image(
    mode, image_format, django_capture_on_commit_callbacks
):
    photo = new_photo(image_in_mode(mode, image_format), django_capture_on_commit_callbacks)

    files = rendition_files(photo)
    assert files["w400.jpeg"].mode == "RGB"
    assert files["w400.webp"].mode in ("RGB", "RGBA")
    assert photo.card_renditions_ready
