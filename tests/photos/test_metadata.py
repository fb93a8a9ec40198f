import hashlib
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

from photos.metadata import PhotoMetadata
from photos.models import Photo
from tests.photos import samples

pytestmark = pytest.mark.django_db


def save_photo(content: bytes, name="upload.jpg", **fields) -> Photo:
    photo = Photo(image=ContentFile(content, name=name), **fields)
    photo.save()
    return photo


def stored_image(photo: Photo) -> Image.Image:
    with photo.image.open("rb") as file:
        image = Image.open(io.BytesIO(file.read()))
    image.load()
    return image


def test_exif_description_and_artist_fill_caption_and_credit_and_location_is_gone():
    exif = samples.exif_with_location(
        ImageDescription="Residents leave eastern Aleppo.", Artist="Jane Doe"
    )
    photo = save_photo(samples.jpeg(exif=exif))

    assert photo.caption == "Residents leave eastern Aleppo."
    assert photo.credit == "Jane Doe"
    stored = stored_image(photo)
    assert "exif" not in stored.info
    assert not stored.getexif()
    assert stored.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert b"Aleppo" not in photo.image.open("rb").read()


def test_iptc_caption_and_credit_are_read_and_not_served():
    iptc = samples.iptc_segment(
        {
            (2, 120): "Syrian pro-government forces in Aleppo.",
            (2, 80): "Louai Beshara",
            (2, 110): "AFP",
            (2, 116): "© AFP 2016",
        }
    )
    photo = save_photo(samples.jpeg(extra=iptc))

    assert photo.caption == "Syrian pro-government forces in Aleppo."
    assert photo.credit == "Louai Beshara/AFP"
    stored = stored_image(photo)
    assert [marker for marker, _ in stored.applist] == ["APP0"]


def test_xmp_fills_caption_credit_and_alt_text_in_the_default_language():
    packet = samples.xmp_packet(
        description="Smoke rises over the old city.",
        credit="Reuters",
        creator="Omar Sanadiki",
        alt_text="A column of grey smoke above low stone houses.",
    )
    photo = save_photo(samples.jpeg(xmp=packet))

    assert photo.caption == "Smoke rises over the old city."
    assert photo.credit == "Omar Sanadiki/Reuters"
    assert photo.alt_text == "A column of grey smoke above low stone houses."
    assert "xmp" not in stored_image(photo).info


def test_xmp_is_preferred_to_iptc_and_exif():
    exif = samples.exif_with_location(ImageDescription="EXIF caption")
    content = samples.jpeg(
        exif=exif,
        extra=samples.iptc_segment({(2, 120): "IPTC caption"}),
        xmp=samples.xmp_packet(description="XMP caption"),
    )

    assert save_photo(content).caption == "XMP caption"


def test_what_the_editor_typed_is_never_overwritten():
    exif = samples.exif_with_location(ImageDescription="From the file", Artist="File Artist")

    photo = save_photo(samples.jpeg(exif=exif), caption="Typed caption", credit="AFP/File")

    assert (photo.caption, photo.credit) == ("Typed caption", "AFP/File")


def test_camera_placeholder_descriptions_are_not_captions():
    photo = save_photo(samples.jpeg(exif=samples.exif_with_location(
        ImageDescription="OLYMPUS DIGITAL CAMERA"
    )))  # fmt: skip

    assert photo.caption == ""


def test_malformed_xmp_does_not_stop_the_upload():
    photo = save_photo(samples.jpeg(xmp=b"<x:xmpmeta><unclosed>"))

    assert photo.pk and photo.caption == ""


def test_xmp_with_an_entity_bomb_is_not_expanded():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        b"&b;</x:xmpmeta>"
    )

    photo = save_photo(samples.jpeg(xmp=bomb))

    assert photo.caption == ""


def test_copyright_stands_in_for_a_missing_credit():
    assert PhotoMetadata(copyright="© 2016 Agence France-Presse").credit_line == (
        "Agence France-Presse"
    )


@pytest.mark.parametrize("orientation", [6, 8])
def test_exif_orientation_is_applied_and_width_and_height_follow(orientation):
    photo = save_photo(samples.upright_marker_jpeg(orientation=orientation))

    assert (photo.width, photo.height) == (80, 120)
    stored = stored_image(photo)
    assert stored.size == (80, 120)
    assert ExifTags.Base.Orientation not in stored.getexif()
    # The camera's top-left corner is now top-right (6: turned clockwise) or bottom-left (8).
    corner = (75, 5) if orientation == 6 else (5, 115)
    red, green, blue = stored.getpixel(corner)
    assert red > 200 and green < 60 and blue < 60


def test_stored_size_and_hash_describe_the_stored_bytes():
    photo = save_photo(samples.jpeg(exif=samples.exif_with_location(Artist="Jane Doe")))

    stored_bytes = photo.image.open("rb").read()
    assert photo.file_size == len(stored_bytes)
    assert photo.file_hash == hashlib.sha256(stored_bytes).hexdigest()
    assert photo.source_hash != photo.file_hash


def test_a_file_with_nothing_to_remove_is_kept_byte_for_byte():
    """Re-importing the same clean file must find the same photo by its hash."""
    content = samples.jpeg()

    photo = save_photo(content)

    assert photo.image.open("rb").read() == content
    assert photo.file_hash == photo.source_hash


def test_the_colour_profile_is_kept():
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    photo = save_photo(samples.jpeg(icc_profile=profile, exif=samples.exif_with_location()))

    assert stored_image(photo).info.get("icc_profile") == profile


def test_an_animated_gif_keeps_its_frames_but_not_its_comment():
    photo = save_photo(samples.animated_gif(frames=3), name="loop.gif")

    stored = stored_image(photo)
    assert photo.is_animated
    assert photo.image.name.endswith(".gif")
    assert stored.n_frames == 3
    assert "comment" not in stored.info


def test_an_animated_webp_keeps_its_frames_and_drops_its_exif():
    frames = [Image.new("RGB", (40, 30), colour) for colour in ("red", "green", "blue")]
    buffer = io.BytesIO()
    frames[0].save(
        buffer, "WEBP", save_all=True, append_images=frames[1:], duration=80,
        exif=samples.exif_with_location(Artist="Jane Doe"),
    )  # fmt: skip

    photo = save_photo(buffer.getvalue(), name="loop.webp")

    stored = stored_image(photo)
    assert stored.n_frames == 3
    assert "exif" not in stored.info
    assert photo.credit == "Jane Doe"


def test_png_text_chunks_are_read_and_dropped():
    text = PngImagePlugin.PngInfo()
    text.add_text("Description", "A chart of rents.")
    text.add_text("Author", "Data desk")
    buffer = io.BytesIO()
    Image.new("RGBA", (50, 40), (0, 0, 0, 0)).save(buffer, "PNG", pnginfo=text)

    photo = save_photo(buffer.getvalue(), name="chart.png")

    assert (photo.caption, photo.credit) == ("A chart of rents.", "Data desk")
    stored = stored_image(photo)
    assert "Description" not in stored.info
    assert stored.mode == "RGBA"


def test_the_stored_name_follows_the_content_not_the_upload_name():
    photo = save_photo(samples.image_file("PNG"), name="holiday.jpg")

    assert photo.image.name.endswith(".png")


def test_a_bad_file_saved_through_the_model_is_refused_and_nothing_is_stored(stored_files):
    with pytest.raises(ValidationError):
        save_photo(samples.SVG_WITH_SCRIPT, name="logo.jpg")

    assert not Photo.objects.exists()
    assert stored_files() == []


def test_a_bad_file_the_importer_already_stored_is_removed_when_refused(stored_files):
    photo = Photo(caption="From the wire")
    photo.image.save("wire.jpg", ContentFile(samples.truncated_jpeg()), save=False)
    assert len(stored_files()) == 1

    with pytest.raises(ValidationError):
        photo.save()

    assert stored_files() == []


def test_a_file_the_importer_already_stored_is_replaced_by_its_clean_copy(stored_files):
    photo = Photo()
    photo.image.save(
        "wire.jpg", ContentFile(samples.jpeg(exif=samples.exif_with_location())), save=False
    )
    raw_name = photo.image.name

    photo.save()

    assert stored_files() == [photo.image.name] and photo.image.name != raw_name
    assert not stored_image(photo).getexif()
