"""Which renditions a photo has, where they are stored, and how they are drawn.

Everything here is worked out from the photo's own fields (primary key, file hash, size
and focal point), so a template can write every ``srcset`` without a database query; the
background task (``photos.tasks``) makes the files and flips ``Photo.renditions_key``
once they all exist.
"""

import io
from dataclasses import dataclass
from itertools import groupby

from PIL import Image, ImageCms

# Bump when the plan or the encoder settings change: every photo then reads as not
# ready, falls back to its original, and is redrawn when its task next runs.
RENDITIONS_VERSION = "1"
PICTURE_WIDTHS = (320, 480, 640, 960, 1280, 1600, 1920)
CARD_WIDTHS = (480, 960)
CARD_RATIO = (16, 9)
FORMATS = ("webp", "jpeg")
MEDIA_TYPES = {"webp": "image/webp", "jpeg": "image/jpeg"}
WEBP_QUALITY = 80
JPEG_QUALITY = 82
RENDITIONS_FOLDER = "photos/renditions"


@dataclass(frozen=True)
class PlannedRendition:
    """One file a photo should have: its spec, focal-point key, output size and crop box."""

    spec: str
    focal_point_key: str
    width: int
    height: int
    format: str
    crop: tuple[int, int, int, int] | None = None

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]

    def path(self, photo) -> str:
        """Return the storage path, fixed by the photo's id and file hash, the spec and focal point.

        The file hash and plan version in the path mean a replaced image or a new plan never
        shares a URL (or a cache entry) with what came before.
        """
        stem, _, extension = self.spec.rpartition(".")
        if self.focal_point_key:
            stem = f"{stem}-f{self.focal_point_key}"
        folder = f"{photo.file_hash[:16]}-v{RENDITIONS_VERSION}"
        return f"{RENDITIONS_FOLDER}/{photo.pk}/{folder}/{stem}.{extension}"

    def url(self, photo) -> str:
        return photo.image.storage.url(self.path(photo))


def focal_point_key(x: float | None, y: float | None) -> str:
    """Return the focal point as whole percentages, "50-50" for the default centre."""
    x = 0.5 if x is None else x
    y = 0.5 if y is None else y
    return f"{round(x * 100)}-{round(y * 100)}"


def renditions_key(file_hash: str, focal_key: str) -> str:
    """Return the value ``Photo.renditions_key`` holds once every rendition of this state exists."""
    return f"v{RENDITIONS_VERSION}:{file_hash[:16]}:{focal_key}"


def target_widths(available: int, widths: tuple[int, ...]) -> list[int]:
    """Return the widths to draw from ``available`` pixels: never wider, and the full width last."""
    if available < 1:
        return []
    chosen = [width for width in widths if width < available]
    widest = min(available, widths[-1])
    if widest not in chosen:
        chosen.append(widest)
    return chosen


def picture_plan(photo) -> list[PlannedRendition]:
    """Return the responsive width renditions of ``photo``, smallest first, WebP then JPEG."""
    plan = []
    for width in target_widths(photo.width, PICTURE_WIDTHS):
        height = max(1, round(photo.height * width / photo.width))
        for image_format in FORMATS:
            plan.append(
                PlannedRendition(
                    spec=f"w{width}.{image_format}",
                    focal_point_key="",
                    width=width,
                    height=height,
                    format=image_format,
                )
            )
    return plan


def card_box(width: int, height: int, x: float | None, y: float | None) -> tuple[int, ...]:
    """Return the largest 16:9 box inside the image, centred on the focal point where it fits."""
    ratio_w, ratio_h = CARD_RATIO
    box_width = min(width, round(height * ratio_w / ratio_h))
    box_height = min(height, round(box_width * ratio_h / ratio_w))
    centre_x = (0.5 if x is None else x) * width
    centre_y = (0.5 if y is None else y) * height
    left = min(max(round(centre_x - box_width / 2), 0), width - box_width)
    top = min(max(round(centre_y - box_height / 2), 0), height - box_height)
    return (left, top, left + box_width, top + box_height)


def card_plan(photo) -> list[PlannedRendition]:
    """Return the 16:9 focal-point crops of ``photo`` for story cards, smallest first."""
    if photo.width < 1 or photo.height < 1:
        return []
    box = card_box(photo.width, photo.height, photo.focal_point_x, photo.focal_point_y)
    key = focal_point_key(photo.focal_point_x, photo.focal_point_y)
    ratio_w, ratio_h = CARD_RATIO
    plan = []
    for width in target_widths(box[2] - box[0], CARD_WIDTHS):
        height = max(1, round(width * ratio_h / ratio_w))
        for image_format in FORMATS:
            plan.append(
                PlannedRendition(
                    spec=f"fill-{ratio_w}x{ratio_h}-w{width}.{image_format}",
                    focal_point_key=key,
                    width=width,
                    height=height,
                    format=image_format,
                    crop=box,
                )
            )
    return plan


def full_plan(photo) -> list[PlannedRendition]:
    """Return every rendition ``photo`` should have; none for an animation, served as uploaded."""
    if photo.is_animated or not photo.file_hash or photo.width < 1:
        return []
    return picture_plan(photo) + card_plan(photo)


# Choosing -----------------------------------------------------------------------------
# The one place that picks a file of a photo at about a width. Both return None while the
# renditions are not drawn (or for an animation, which has none): the caller then uses the
# original file.


def drawn_plan(photo, *, crop: bool = False) -> list[PlannedRendition]:
    """Return the width renditions of ``photo``, or its 16:9 crops with ``crop``, once drawn."""
    if crop:
        return card_plan(photo) if photo.card_renditions_ready else []
    return picture_plan(photo) if photo.picture_renditions_ready else []


def widest_within(
    photo, *, width: int, format: str = "jpeg", crop: bool = False
) -> PlannedRendition | None:
    """Return the widest rendition of ``photo`` no wider than ``width``, else the narrowest.

    For files that others fetch and show at a size we do not control (JSON-LD, feeds,
    emails, the editor's ``<img>``, the ``src`` for browsers without ``srcset``): never
    more bytes than asked for.
    """
    items = [item for item in drawn_plan(photo, crop=crop) if item.format == format]
    if not items:
        return None
    fitting = [item for item in items if item.width <= width]
    return fitting[-1] if fitting else items[0]


def narrowest_covering(
    photo, *, width: int, format: str = "webp", crop: bool = False
) -> PlannedRendition | None:
    """Return the narrowest rendition of ``photo`` at least ``width`` wide, else the widest.

    For images we show at a known size (thumbnails, previews): pass twice the CSS width
    to be sharp on 2x screens.
    """
    items = [item for item in drawn_plan(photo, crop=crop) if item.format == format]
    if not items:
        return None
    covering = [item for item in items if item.width >= width]
    return covering[0] if covering else items[-1]


# Drawing ------------------------------------------------------------------------------


def prepare_source(image: Image.Image) -> Image.Image:
    """Return ``image`` decoded into RGB or RGBA (sRGB for CMYK), keeping its colour profile."""
    image.load()
    icc_profile = image.info.get("icc_profile")
    if image.mode == "CMYK":
        converted = cmyk_to_srgb(image, icc_profile)
        icc_profile = None
    else:
        has_alpha = image.mode in ("RGBA", "LA", "PA") or (
            image.mode == "P" and "transparency" in image.info
        )
        if image.mode.startswith("I") or image.mode == "F":
            # 16-bit and float greys: scale into 8 bits before Pillow's RGB conversion.
            image = image.point(lambda value: value / 256).convert("L")
        converted = image.convert("RGBA" if has_alpha else "RGB")
    if icc_profile:
        converted.info["icc_profile"] = icc_profile
    return converted


def cmyk_to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """Return a CMYK image in sRGB, through its own colour profile when it has one."""
    if icc_profile:
        try:
            source_profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            return ImageCms.profileToProfile(
                image, source_profile, ImageCms.createProfile("sRGB"), outputMode="RGB"
            )
        except (ImageCms.PyCMSError, OSError):
            pass
    return image.convert("RGB")


def render(source: Image.Image, planned: list[PlannedRendition]) -> dict[PlannedRendition, bytes]:
    """Return the encoded bytes of each planned rendition, resizing once per size and crop."""
    results = {}

    def size_and_crop(item):
        return (item.crop or (), item.width, item.height)

    for (crop, width, height), group in groupby(sorted(planned, key=size_and_crop), size_and_crop):
        region = source.crop(crop) if crop else source
        if region.size != (width, height):
            region = region.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
        for item in group:
            results[item] = encode(region, item.format, source.info.get("icc_profile"))
    return results


def encode(image: Image.Image, image_format: str, icc_profile: bytes | None) -> bytes:
    """Return ``image`` encoded as WebP (alpha kept) or JPEG (alpha flattened onto white)."""
    output = io.BytesIO()
    if image_format == "webp":
        image.save(output, "WEBP", quality=WEBP_QUALITY, method=4, icc_profile=icc_profile or "")
    else:
        if image.mode == "RGBA":
            flattened = Image.new("RGB", image.size, (255, 255, 255))
            flattened.paste(image, mask=image.getchannel("A"))
            image = flattened
        image.save(
            output,
            "JPEG",
            quality=JPEG_QUALITY,
            optimize=True,
            progressive=True,
            icc_profile=icc_profile,
        )
    return output.getvalue()
