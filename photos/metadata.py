"""Caption and credit hints from a photo's embedded metadata, and the cleaned original we store.

Agencies and photographers write the caption and credit into the file (IPTC, XMP, EXIF);
reading them saves the desk retyping. The same metadata can hold where a photo was taken,
so the stored original is re-encoded without any of it: no file we serve carries a
location.
"""

import hashlib
import io
import logging
import re
import struct
from dataclasses import dataclass

from defusedxml import ElementTree
from django.core.exceptions import ValidationError
from PIL import ExifTags, Image, ImageOps, ImageSequence, IptcImagePlugin, JpegImagePlugin

from photos.validation import ACCEPTED_FORMATS, decode_all_frames, frame_count, open_image

logger = logging.getLogger(__name__)

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
DC = "http://purl.org/dc/elements/1.1/"
PHOTOSHOP = "http://ns.adobe.com/photoshop/1.0/"
IPTC_CORE = "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"

IPTC_OBJECT_NAME = (2, 5)
IPTC_BY_LINE = (2, 80)
IPTC_CREDIT = (2, 110)
IPTC_COPYRIGHT = (2, 116)
IPTC_CAPTION = (2, 120)
IPTC_CODED_CHARACTER_SET = (1, 90)
IPTC_UTF8 = b"\x1b%G"

# Cameras write these into ImageDescription; they describe the camera, not the photo.
CAMERA_PLACEHOLDERS = {
    "olympus digital camera", "sony dsc", "digital camera", "dcim", "default", "samsung",
    "exif_jpeg_picture", "leica digital camera", "kodak digital still camera",
    "minolta digital camera", "untitled", "image", "picture", "photo", "ricoh", "hpim",
}  # fmt: skip

COPYRIGHT_PREFIX = re.compile(r"^\s*(?:©|\(c\)|copyright)\s*(?:\d{4}\s*)?", re.IGNORECASE)

JPEG_QUALITY_FOR_ROTATED = 92
WEBP_QUALITY = 90


@dataclass(frozen=True)
class PhotoMetadata:
    """Descriptive text found in a photo file; empty strings where the file had none."""

    title: str = ""
    caption: str = ""
    creator: str = ""
    credit: str = ""
    copyright: str = ""
    alt_text: str = ""

    @property
    def credit_line(self) -> str:
        """Return the credit as the desk writes it: "Photographer/Agency", else what there is."""
        if self.creator and self.credit and self.creator.lower() not in self.credit.lower():
            return f"{self.creator}/{self.credit}"
        if self.credit or self.creator:
            return self.credit or self.creator
        return COPYRIGHT_PREFIX.sub("", self.copyright).strip()


@dataclass(frozen=True)
class CleanedOriginal:
    """An upright original with every piece of embedded metadata but its colour profile removed."""

    content: bytes
    format: str
    width: int
    height: int
    is_animated: bool
    metadata: PhotoMetadata
    source_hash: str

    @property
    def extension(self) -> str:
        return ACCEPTED_FORMATS[self.format]

    @property
    def file_hash(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def clean_original(file) -> CleanedOriginal:
    """Return ``file`` checked, turned upright and stripped of metadata, with the hints it held.

    Raise ``ValidationError`` when the file is not an acceptable image. A file that has
    nothing to strip and needs no turning is kept byte for byte: re-encoding it would
    only cost quality.
    """
    file.seek(0)
    source = file.read()
    file.seek(0)
    with open_image(io.BytesIO(source)) as image:
        metadata = read_metadata(image)
        frames = frame_count(image)
        decode_all_frames(image)
        if frames == 1 and carries_nothing_to_strip(image, source):
            content = source
            width, height = image.size
        else:
            try:
                content, (width, height) = reencode(image, source=source, frames=frames)
            except (OSError, ValueError, SyntaxError, EOFError, struct.error):
                raise ValidationError(
                    "This image could not be processed. Export it again as a JPEG and retry.",
                    code="damaged",
                ) from None
        image_format = image.format
    return CleanedOriginal(
        content=content,
        format=image_format,
        width=width,
        height=height,
        is_animated=frames > 1,
        metadata=metadata,
        source_hash=hashlib.sha256(source).hexdigest(),
    )


def clean_original_once(file) -> CleanedOriginal:
    """Return ``clean_original(file)``, decoding ``file`` only the first time it is asked.

    The upload form checks a file and the model saves it: the result of the check is kept
    on the file, and used again while the file still holds the same bytes.
    """
    kept = getattr(file, "cleaned_original", None)
    if kept is not None and kept.source_hash == content_sha256(file):
        return kept
    cleaned = clean_original(file)
    file.cleaned_original = cleaned
    return cleaned


def content_sha256(file) -> str:
    """Return the SHA-256 hex digest of everything in ``file``, leaving it rewound."""
    file.seek(0)
    digest = hashlib.sha256(file.read()).hexdigest()
    file.seek(0)
    return digest


# Reading -----------------------------------------------------------------------------


def read_metadata(image: Image.Image) -> PhotoMetadata:
    """Return the caption, credit and alt text hints of ``image``: XMP first, then IPTC, then EXIF.

    The Metadata Working Group's guidance puts XMP first: it is the current standard and
    IPTC-IIM its legacy; EXIF's free-text fields come last because cameras fill them
    with placeholders.
    """
    sources = [safely(read_xmp, image), safely(read_iptc, image), safely(read_exif, image)]
    if image.format == "PNG":
        sources.append(safely(read_png_text, image))
    fields = {}
    for name in ("title", "caption", "creator", "credit", "copyright", "alt_text"):
        fields[name] = next((found[name] for found in sources if found.get(name)), "")
    return PhotoMetadata(**fields)


def safely(reader, image) -> dict[str, str]:
    """Return what ``reader`` finds in ``image``, or nothing when its metadata is malformed.

    Metadata only saves typing: a broken block must never stop an upload.
    """
    try:
        return {key: value for key, value in reader(image).items() if value}
    except Exception:
        logger.info("Ignored unreadable %s metadata", reader.__name__, exc_info=True)
        return {}


def read_iptc(image: Image.Image) -> dict[str, str]:
    """Return the IPTC-IIM fields of ``image`` (JPEG only)."""
    if not isinstance(image, JpegImagePlugin.JpegImageFile):
        return {}
    iptc = IptcImagePlugin.getiptcinfo(image) or {}
    utf8 = first_bytes(iptc.get(IPTC_CODED_CHARACTER_SET)) == IPTC_UTF8

    def text(key):
        values = iptc.get(key)
        if values is None:
            return ""
        values = values if isinstance(values, list) else [values]
        return ", ".join(filter(None, (clean_text(decode_bytes(v, utf8)) for v in values)))

    return {
        "title": text(IPTC_OBJECT_NAME),
        "caption": text(IPTC_CAPTION),
        "creator": text(IPTC_BY_LINE),
        "credit": text(IPTC_CREDIT),
        "copyright": text(IPTC_COPYRIGHT),
    }


def read_xmp(image: Image.Image) -> dict[str, str]:
    """Return the Dublin Core, Photoshop and IPTC Core fields of the XMP packet in ``image``."""
    packet = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
    if not packet:
        return {}
    if isinstance(packet, str):
        packet = packet.encode("utf-8")
    # defusedxml refuses entity expansion and external references: XMP is untrusted XML.
    root = ElementTree.fromstring(packet.strip(b"\x00 \t\r\n"), forbid_dtd=True)
    descriptions = list(root.iter(f"{{{RDF}}}Description"))
    return {
        "title": xmp_value(descriptions, DC, "title"),
        "caption": xmp_value(descriptions, DC, "description"),
        "creator": xmp_value(descriptions, DC, "creator"),
        "credit": xmp_value(descriptions, PHOTOSHOP, "Credit"),
        "copyright": xmp_value(descriptions, DC, "rights"),
        "alt_text": xmp_value(descriptions, IPTC_CORE, "AltTextAccessibility"),
    }


def xmp_value(descriptions, namespace: str, name: str) -> str:
    """Return one XMP property, written as an attribute, a simple element or an RDF container."""
    qualified = f"{{{namespace}}}{name}"
    for description in descriptions:
        if qualified in description.attrib:
            return clean_text(description.attrib[qualified])
        element = description.find(qualified)
        if element is None:
            continue
        items = element.findall(f"./*/{{{RDF}}}li")
        if not items:
            return clean_text(element.text or "")
        # Language alternatives: the x-default entry is the one meant for everyone.
        default = [item for item in items if item.get(XML_LANG) == "x-default"]
        if default:
            return clean_text(default[0].text or "")
        return ", ".join(filter(None, (clean_text(item.text or "") for item in items)))
    return ""


def read_exif(image: Image.Image) -> dict[str, str]:
    """Return the ImageDescription, Artist and Copyright tags of ``image``."""
    exif = image.getexif()
    description = clean_text(exif_text(exif.get(ExifTags.Base.ImageDescription)))
    if description.lower() in CAMERA_PLACEHOLDERS:
        description = ""
    return {
        "caption": description,
        "creator": clean_text(exif_text(exif.get(ExifTags.Base.Artist))),
        "copyright": clean_text(exif_text(exif.get(ExifTags.Base.Copyright))),
    }


def read_png_text(image: Image.Image) -> dict[str, str]:
    """Return the standard PNG text keywords (Title, Description, Author, Copyright)."""
    text = image.info
    return {
        "title": clean_text(str(text.get("Title", ""))),
        "caption": clean_text(str(text.get("Description", ""))),
        "creator": clean_text(str(text.get("Author", ""))),
        "copyright": clean_text(str(text.get("Copyright", ""))),
    }


def exif_text(value) -> str:
    """Return an EXIF ASCII value as text, undoing Pillow's Latin-1 reading of UTF-8 bytes."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return decode_bytes(value, utf8=False)
    value = str(value)
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def decode_bytes(value: bytes, utf8: bool) -> str:
    """Return IPTC or EXIF bytes as text: UTF-8 when declared or valid, else Windows-1252."""
    if utf8:
        return value.decode("utf-8", "replace")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("cp1252", "replace")


def first_bytes(value) -> bytes:
    if isinstance(value, list):
        return value[0] if value else b""
    return value or b""


def clean_text(value: str) -> str:
    """Return ``value`` on one line without padding, NUL bytes or control characters."""
    value = value.replace("\x00", "")
    value = re.sub(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]", "", value)
    return re.sub(r"[ \t]+", " ", value).strip()


# Cleaning ----------------------------------------------------------------------------

# Image.info keys that hold no personal or location data, per format.
HARMLESS_INFO = {
    "JPEG": {
        "jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi", "icc_profile",
        "progressive", "progression", "adobe", "adobe_transform",
    },
    "PNG": {"icc_profile", "dpi", "gamma", "transparency", "srgb", "chromaticity", "aspect",
            "interlace"},
    "WEBP": {"icc_profile", "loop", "background", "duration", "timestamp"},
}  # fmt: skip
HARMLESS_JPEG_SEGMENTS = {"APP0": b"JFIF", "APP2": b"ICC_PROFILE", "APP14": b"Adobe"}


def carries_nothing_to_strip(image: Image.Image, source: bytes) -> bool:
    """Return whether ``source`` holds only pixels and a colour profile, and needs no turning.

    Anything unknown counts as something to strip, including bytes after the image's end.
    """
    harmless = HARMLESS_INFO.get(image.format)
    if harmless is None or not set(image.info) <= harmless:
        return False
    if image.getexif():
        return False
    if image.format == "JPEG":
        segments_harmless = all(
            HARMLESS_JPEG_SEGMENTS.get(marker) is not None
            and data.startswith(HARMLESS_JPEG_SEGMENTS[marker])
            for marker, data in image.applist
        )
        return segments_harmless and source.endswith(b"\xff\xd9")
    if image.format == "PNG":
        return source.endswith(b"IEND\xaeB`\x82")
    if image.format == "WEBP":
        (riff_size,) = struct.unpack("<I", source[4:8])
        return len(source) == 8 + riff_size + (riff_size & 1)
    return False


def reencode(image: Image.Image, *, source: bytes, frames: int) -> tuple[bytes, tuple[int, int]]:
    """Return ``image`` encoded afresh, upright, with only its colour profile; and its size."""
    orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    transpose = ORIENTATION_TRANSPOSE.get(orientation)
    icc_profile = image.info.get("icc_profile")
    progressive = bool(image.info.get("progressive"))
    output = io.BytesIO()
    if frames > 1:
        size = save_animation(
            image, output, transpose=transpose, icc_profile=icc_profile, source=source
        )
        return output.getvalue(), size

    upright = ImageOps.exif_transpose(image) if transpose is not None else image
    keep_only_rendering_info(upright)
    if image.format == "JPEG":
        params = {"optimize": True, "progressive": progressive}
        if upright is image:
            # Re-using the file's own quantisation tables keeps the re-encode nearly lossless.
            params.update(quality="keep", subsampling="keep")
        else:
            params.update(
                qtables=image.quantization or None,
                subsampling=JpegImagePlugin.get_sampling(image),
            )
            if not image.quantization:
                params["quality"] = JPEG_QUALITY_FOR_ROTATED
        # Pillow copies a JPEG comment from the source unless told otherwise.
        upright.save(output, "JPEG", icc_profile=icc_profile, comment=b"", **params)
    elif image.format == "PNG":
        upright.save(output, "PNG", icc_profile=icc_profile)
    elif image.format == "WEBP":
        quality = {"lossless": True} if webp_is_lossless(source) else {"quality": WEBP_QUALITY}
        upright.save(output, "WEBP", icc_profile=icc_profile or "", **quality)
    else:
        upright.save(output, image.format)
    return output.getvalue(), upright.size


def save_animation(image, output, *, transpose, icc_profile, source) -> tuple[int, int]:
    """Write every frame of an animated ``image`` to ``output`` and return the frame size."""
    frames, durations = [], []
    for frame in ImageSequence.Iterator(image):
        copy = frame.convert("RGBA")
        if transpose is not None:
            copy = copy.transpose(transpose)
        keep_only_rendering_info(copy)
        frames.append(copy)
        durations.append(int(frame.info.get("duration") or image.info.get("duration") or 100))
    image.seek(0)
    params = {"save_all": True, "append_images": frames[1:], "duration": durations}
    if "loop" in image.info:
        # Absent means "play once"; Pillow would otherwise write "loop forever".
        params["loop"] = int(image.info["loop"])
    if image.format == "WEBP":
        params.update(
            lossless=webp_is_lossless(source), quality=WEBP_QUALITY, icc_profile=icc_profile or ""
        )
    elif image.format == "GIF":
        # Frames arrive fully composed, so each replaces the last rather than drawing over it.
        params.update(disposal=2)
    elif image.format == "PNG":
        params.update(icc_profile=icc_profile)
    frames[0].save(output, image.format, **params)
    return frames[0].size


# Pillow's writers copy some of ``Image.info`` into the new file (the GIF writer copies
# all of the first frame's), so only what drawing the pixels needs may stay there.
RENDERING_INFO = {"transparency", "duration", "loop", "background", "icc_profile"}


def keep_only_rendering_info(image: Image.Image) -> None:
    """Remove from ``image.info`` everything a writer could copy that is not about drawing it."""
    image.info = {key: value for key, value in image.info.items() if key in RENDERING_INFO}


def webp_is_lossless(source: bytes) -> bool:
    """Return whether a WebP file stores its (first) frame losslessly, in a VP8L chunk."""
    offset = 12
    while offset + 8 <= len(source):
        fourcc = source[offset : offset + 4]
        (size,) = struct.unpack("<I", source[offset + 4 : offset + 8])
        if fourcc in (b"VP8L", b"VP8 "):
            return fourcc == b"VP8L"
        if fourcc == b"ANMF":
            # An animation frame's own chunks follow its 16-byte header.
            offset += 8 + 16
            continue
        offset += 8 + size + (size & 1)
    return False


ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
