"""Checks every photo passes before anything is stored, with messages an editor can act on.

The admin form, the editor's image upload and the model layer (for the importer) all go
through ``open_image``, by way of ``photos.metadata.clean_original``, so a file is judged
by its content as Pillow reads it, never by its name, and a decompression bomb is refused
from its header before any pixel is decoded.
"""

import struct
import warnings
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from PIL import Image, ImageSequence, UnidentifiedImageError

# Pillow format name -> file extension of the stored original.
ACCEPTED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
ACCEPT_ATTRIBUTE = "image/jpeg,image/png,image/webp,image/gif"
MAX_FILE_SIZE = 25 * 1024 * 1024
MAX_PIXELS = 40_000_000
# An animation is decoded frame by frame, so its budget covers all frames together.
MAX_ANIMATION_PIXELS = 200_000_000
# At 25 frames a second, 40 seconds: longer is a video, and tiny frames by the thousand
# cost seconds of processing whatever their pixel count.
MAX_FRAMES = 1_000

EMPTY_MESSAGE = "The file is empty (0 bytes). Choose the photo again; the upload may have failed."
NOT_AN_IMAGE_MESSAGE = (
    "This file is not an image we can read. Upload a JPEG, PNG, WebP or GIF photo."
)
DAMAGED_MESSAGE = (
    "This image is damaged or incomplete (perhaps the upload was cut off). "
    "Export it again from your photo app and upload the new file."
)
SVG_MESSAGE = (
    "SVG drawings are not accepted, because they can carry scripts. "
    "Export the graphic as a PNG and upload that."
)
OTHER_FORMAT_MESSAGE = (
    "This is a {name} file. Upload a JPEG, PNG, WebP or GIF image instead; "
    "most photo apps can export a JPEG."
)
TOO_MANY_PIXELS_MESSAGE = (
    "This image is {width:,} × {height:,} pixels ({megapixels:.1f} megapixels); "
    "the limit is 40 megapixels. Resize it, for example to 6,000 pixels on the long side, "
    "and try again."
)
BOMB_MESSAGE = (
    "This image claims to be far more than 40 megapixels, so it was not opened. "
    "Resize it, for example to 6,000 pixels on the long side, and try again."
)
TOO_MANY_FRAMES_MESSAGE = (
    "This animation has more than {limit:,} frames, the most we take. Shorten it or "
    "lower its frame rate, or upload a still image."
)
ANIMATION_TOO_LARGE_MESSAGE = (
    "This animation has {frames:,} frames of {width:,} × {height:,} pixels, too much to "
    "process. Shorten it or make it smaller, or upload a still image."
)

# Leading bytes of formats people commonly try, so the message can name what they sent.
KNOWN_SIGNATURES = [
    (b"%PDF", "PDF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
    (b"8BPS", "Photoshop (PSD)"),
    (b"\x00\x00\x01\x00", "Windows icon"),
    (b"PK\x03\x04", "ZIP or Office document"),
]
ISO_MEDIA_BRANDS = {
    b"heic": "HEIC (iPhone photo)",
    b"heix": "HEIC (iPhone photo)",
    b"mif1": "HEIF",
    b"msf1": "HEIF",
    b"avif": "AVIF",
    b"avis": "AVIF",
}


@dataclass(frozen=True)
class CheckedImage:
    """What validation learnt about an accepted file."""

    format: str
    width: int
    height: int
    frames: int

    @property
    def extension(self) -> str:
        return ACCEPTED_FORMATS[self.format]


def open_image(file) -> Image.Image:
    """Return ``file`` opened by Pillow once its size, format and pixel count pass; decode nothing.

    Raise ``ValidationError`` with a plain message otherwise.
    """
    size = file_size(file)
    if not size:
        raise ValidationError(EMPTY_MESSAGE, code="empty")
    if size > MAX_FILE_SIZE:
        raise ValidationError(
            f"The file is {filesizeformat(size)}; photos can be at most 25 MB. "
            "Export a smaller JPEG and try again.",
            code="file_too_large",
        )
    file.seek(0)
    head = file.read(4096)
    file.seek(0)
    try:
        # Pillow only warns between its own limit and twice that; make the warning an
        # error so that nothing huge is ever handed back to be decoded.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(file, formats=list(ACCEPTED_FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(BOMB_MESSAGE, code="too_many_pixels") from None
    except UnidentifiedImageError:
        raise ValidationError(describe_unaccepted(head), code="not_an_image") from None
    except Exception:
        # A recognised signature followed by a broken header raises whatever the plugin
        # trips over (OSError, SyntaxError, struct.error …): to an editor it is damaged.
        raise ValidationError(DAMAGED_MESSAGE, code="damaged") from None

    # On refusal the image is dropped, not closed: Image.close() would also close the
    # caller's file, and a closed temporary upload is a deleted one.
    check_dimensions(image)
    return image


def check_dimensions(image: Image.Image) -> None:
    """Raise ``ValidationError`` unless ``image`` has pixels, within our limits."""
    width, height = image.size
    if width < 1 or height < 1:
        raise ValidationError(DAMAGED_MESSAGE, code="damaged")
    if width * height > MAX_PIXELS:
        raise ValidationError(
            TOO_MANY_PIXELS_MESSAGE.format(
                width=width, height=height, megapixels=width * height / 1_000_000
            ),
            code="too_many_pixels",
        )
    frames = frame_count(image)
    if frames > MAX_FRAMES:
        raise ValidationError(
            TOO_MANY_FRAMES_MESSAGE.format(limit=MAX_FRAMES), code="too_many_frames"
        )
    if frames * width * height > MAX_ANIMATION_PIXELS:
        raise ValidationError(
            ANIMATION_TOO_LARGE_MESSAGE.format(frames=frames, width=width, height=height),
            code="animation_too_large",
        )


def validate_image_file(file) -> CheckedImage:
    """Return what ``file`` is once it is a whole, acceptable JPEG, PNG, WebP or GIF image.

    Raise ``ValidationError`` with a message for the editor otherwise. The file is left
    rewound for whoever stores it.
    """
    try:
        with open_image(file) as image:
            decode_all_frames(image)
            return CheckedImage(
                format=image.format,
                width=image.width,
                height=image.height,
                frames=frame_count(image),
            )
    finally:
        file.seek(0)


def decode_all_frames(image: Image.Image) -> None:
    """Decode every frame of ``image``, raising ``ValidationError`` when the data is cut short."""
    try:
        for frame in ImageSequence.Iterator(image):
            frame.load()
        image.seek(0)
    except (OSError, SyntaxError, ValueError, EOFError, struct.error):
        raise ValidationError(DAMAGED_MESSAGE, code="damaged") from None


def frame_count(image: Image.Image) -> int:
    """Return how many frames ``image`` has (1 for a still image), counting no further than
    one past ``MAX_FRAMES``.
    """
    try:
        if image.format == "GIF":
            return gif_frame_count(image.fp, stop_after=MAX_FRAMES + 1)
        # PNG and WebP state their frame count in a header; no frame is read.
        return max(1, int(getattr(image, "n_frames", 1)))
    except (OSError, SyntaxError, ValueError, EOFError, struct.error):
        raise ValidationError(DAMAGED_MESSAGE, code="damaged") from None


def gif_frame_count(file, *, stop_after: int) -> int:
    """Return how many images a GIF file holds, up to ``stop_after``, walking its blocks only.

    Pillow's ``n_frames`` parses every frame of a GIF, which takes seconds for a file of a
    million tiny frames; skipping the blocks by their lengths stops at the limit.
    Unknown bytes are skipped and a cut-off file ends the count, as Pillow reads them.
    """
    position = file.tell()
    try:
        file.seek(10)
        flags = file.read(1)
        file.seek(13 + (color_table_size(flags[0]) if flags else 0))
        frames = 0
        while frames < stop_after:
            block = file.read(1)
            if block == b",":
                descriptor = file.read(9)
                if len(descriptor) < 9:
                    break
                file.seek(color_table_size(descriptor[8]) + 1, 1)  # + LZW code size
                frames += 1
                skip_sub_blocks(file)
            elif block == b"!":
                file.seek(1, 1)  # extension label
                skip_sub_blocks(file)
            elif block in (b";", b""):
                break
        return max(1, frames)
    finally:
        file.seek(position)


def color_table_size(flags: int) -> int:
    """Return the bytes of the colour table a GIF descriptor's ``flags`` announce."""
    return 3 << ((flags & 7) + 1) if flags & 0x80 else 0


def skip_sub_blocks(file) -> None:
    """Move past a run of GIF data sub-blocks and the empty one ending it."""
    while (length := file.read(1)) and length[0]:
        file.seek(length[0], 1)


def file_size(file) -> int:
    """Return the size of an uploaded, stored or in-memory file in bytes."""
    size = getattr(file, "size", None)
    if size is None:
        position = file.tell()
        file.seek(0, 2)
        size = file.tell()
        file.seek(position)
    return size


def describe_unaccepted(head: bytes) -> str:
    """Return the message for a file Pillow does not accept, naming its format if known."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in text or (text.startswith(b"<?xml") and b"svg" in text):
        return SVG_MESSAGE
    for signature, name in KNOWN_SIGNATURES:
        if head.startswith(signature):
            return OTHER_FORMAT_MESSAGE.format(name=name)
    if head[4:8] == b"ftyp" and head[8:12] in ISO_MEDIA_BRANDS:
        return OTHER_FORMAT_MESSAGE.format(name=ISO_MEDIA_BRANDS[head[8:12]])
    return NOT_AN_IMAGE_MESSAGE
