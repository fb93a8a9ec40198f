import io

import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from photos.validation import validate_image_file
from tests.photos import samples


@pytest.mark.parametrize(
    ("image_format", "extension"),
    [("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp"), ("GIF", "gif")],
)
def test_the_four_web_formats_are_accepted(image_format, extension):
    checked = validate_image_file(io.BytesIO(samples.image_file(image_format)))

    assert (checked.format, checked.extension) == (image_format, extension)
    assert (checked.width, checked.height, checked.frames) == (64, 48, 1)


@pytest.mark.parametrize("case", samples.BAD_UPLOADS)
def test_bad_files_are_refused_with_a_plain_message(case):
    _, make_content, message = samples.BAD_UPLOADS[case]

    with pytest.raises(ValidationError) as refused:
        validate_image_file(io.BytesIO(make_content()))

    assert message in refused.value.messages[0]


def test_a_real_50_megapixel_png_is_refused_before_decoding():
    """A 1-bit 7100x7100 PNG is a few kilobytes that would decode to 50 MB of pixels."""
    buffer = io.BytesIO()
    Image.new("1", (7100, 7100)).save(buffer, "PNG")
    assert buffer.tell() < 100_000

    with pytest.raises(ValidationError) as refused:
        validate_image_file(buffer)

    assert refused.value.code == "too_many_pixels"


def test_a_header_beyond_pillows_own_bomb_limit_is_refused():
    with pytest.raises(ValidationError) as refused:
        validate_image_file(io.BytesIO(samples.png_claiming(20_000, 20_000)))

    assert refused.value.code == "too_many_pixels"
    assert "40 megapixels" in refused.value.messages[0]


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (b"II*\x00" + b"\x00" * 100, "TIFF"),
        (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 100, "HEIC (iPhone photo)"),
        (b"%PDF-1.7\n" + b"\x00" * 100, "PDF"),
    ],
)
def test_a_format_we_do_not_take_is_named(content, named):
    with pytest.raises(ValidationError) as refused:
        validate_image_file(io.BytesIO(content))

    assert f"This is a {named} file" in refused.value.messages[0]


def test_a_file_is_judged_by_content_not_name():
    png_named_jpg = io.BytesIO(samples.image_file("PNG"))
    png_named_jpg.name = "holiday.jpg"

    assert validate_image_file(png_named_jpg).format == "PNG"


def test_an_animation_too_long_to_process_is_refused():
    nine_frames_of_25_megapixels = samples.gif_claiming(5000, 5000, frames=9)

    with pytest.raises(ValidationError) as refused:
        validate_image_file(io.BytesIO(nine_frames_of_25_megapixels))

    assert "9 frames of 5,000 × 5,000 pixels" in refused.value.messages[0]
