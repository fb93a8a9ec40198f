"""Real image files for the photo desk's tests, good and bad, made with Pillow in memory."""

import io
import os
import struct
import zlib

from PIL import ExifTags, Image, ImageDraw

MEGABYTE = 1024 * 1024


def jpeg(*, width=640, height=360, color=(120, 130, 140), **save_options) -> bytes:
    """Return a plain JPEG; ``save_options`` go to Pillow (exif=, xmp=, extra=, icc_profile=)."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "JPEG", **save_options)
    return buffer.getvalue()


def image_file(image_format: str, *, width=64, height=48, mode="RGB", **save_options) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), (200, 40, 40)).save(buffer, image_format, **save_options)
    return buffer.getvalue()


def exif_with_location(**tags) -> Image.Exif:
    """Return EXIF holding ``tags`` (by name, e.g. ImageDescription) and a GPS fix in Aleppo."""
    exif = Image.Exif()
    for name, value in tags.items():
        exif[ExifTags.Base[name]] = value
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (36.0, 12.0, 7.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (37.0, 9.0, 41.0),
    }
    return exif


def iptc_segment(records: dict[tuple[int, int], str]) -> bytes:
    """Return a JPEG APP13 segment carrying IPTC-IIM ``records``, as Photoshop writes it."""
    iim = b"\x1c\x01\x5a\x00\x03\x1b%G"  # 1:90 coded character set: UTF-8
    for (record, dataset), text in records.items():
        value = text.encode("utf-8")
        iim += b"\x1c" + bytes([record, dataset]) + struct.pack(">H", len(value)) + value
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(iim))
    resource += iim + (b"\x00" if len(iim) % 2 else b"")
    payload = b"Photoshop 3.0\x00" + resource
    return b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload


def xmp_packet(*, description="", credit="", creator="", alt_text="") -> bytes:
    """Return an XMP packet with the fields agencies fill, in the shapes Photoshop writes."""
    return f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
    xmlns:Iptc4xmpCore="http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"
    photoshop:Credit="{credit}">
   <dc:description><rdf:Alt>
     <rdf:li xml:lang="fr">Version française</rdf:li>
     <rdf:li xml:lang="x-default">{description}</rdf:li>
   </rdf:Alt></dc:description>
   <dc:creator><rdf:Seq><rdf:li>{creator}</rdf:li></rdf:Seq></dc:creator>
   <Iptc4xmpCore:AltTextAccessibility><rdf:Alt>
     <rdf:li xml:lang="x-default">{alt_text}</rdf:li>
   </rdf:Alt></Iptc4xmpCore:AltTextAccessibility>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>""".encode()


def upright_marker_jpeg(*, orientation: int) -> bytes:
    """Return a 120x80 JPEG, as the camera stored it, red in the top-left corner."""
    image = Image.new("RGB", (120, 80), (255, 255, 255))
    ImageDraw.Draw(image).rectangle((0, 0, 29, 19), fill=(255, 0, 0))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=95)
    return buffer.getvalue()


def animated_gif(*, frames=3, size=(40, 30)) -> bytes:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    images = [Image.new("RGB", size, colours[index % 4]) for index in range(frames)]
    buffer = io.BytesIO()
    images[0].save(
        buffer, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0,
        comment=b"Shot at 36.2N 37.1E",
    )  # fmt: skip
    return buffer.getvalue()


def gif_claiming(width: int, height: int, *, frames: int) -> bytes:
    """Return a GIF of ``frames`` frames of ``width`` x ``height`` whose pixel data is one code.

    Kilobytes on disk that would decode to ``frames`` full-size images.
    """
    size = struct.pack("<HH", width, height)
    header = b"GIF89a" + size + b"\x80\x00\x00" + b"\x00\x00\x00\xff\xff\xff"
    # Image descriptor, then LZW data holding only the clear and end codes.
    frame = b"," + b"\x00\x00\x00\x00" + size + b"\x00" + b"\x02\x01\x2c\x00"
    return header + frame * frames + b";"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """Return a tiny PNG whose header claims ``width`` x ``height`` pixels: a decompression bomb."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


def noisy_jpeg(*, width=800, height=600) -> bytes:
    """Return a JPEG of random noise, so that most of its bytes are image data."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(
        buffer, "JPEG", quality=90
    )
    return buffer.getvalue()


def truncated_jpeg() -> bytes:
    data = noisy_jpeg()
    return data[: len(data) // 2]


SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>fetch('/admin/').then(r => alert(document.cookie))</script>"
    b'<rect width="10" height="10"/></svg>'
)


def oversized_file() -> bytes:
    """Return 26 MB that starts like a JPEG: refused on size before any decoding."""
    return b"\xff\xd8\xff\xe0" + b"\x00" * (26 * MEGABYTE - 4)


# name, content, what the editor is told (a fragment of the message)
BAD_UPLOADS = {
    "text renamed .jpg": ("notes.jpg", lambda: b"Notes from the council meeting.\n" * 20,
                          "not an image"),
    "truncated JPEG": ("cut-off.jpg", truncated_jpeg, "damaged or incomplete"),
    "SVG with a script": ("logo.svg", lambda: SVG_WITH_SCRIPT, "SVG drawings are not accepted"),
    "50-megapixel PNG bomb": ("bomb.png", lambda: png_claiming(7100, 7100),
                              "7,100 × 7,100 pixels (50.4 megapixels)"),
    "zero-byte file": ("empty.jpg", lambda: b"", "The file is empty"),
    "26 MB file": ("huge.jpg", oversized_file, "photos can be at most 25 MB"),
}  # fmt: skip
