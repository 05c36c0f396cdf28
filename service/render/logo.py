"""Logo images: validate PNG/JPEG bytes and normalise them to a small opaque RGB picture."""

from __future__ import annotations

import io

from domain.errors import InvalidArgument

MAX_LOGO_BYTES = 512 * 1024
MAX_LOGO_PIXELS = 25_000_000  # decoded size limit: a 512 KiB PNG can inflate to gigabytes
BOX_POINTS = (160, 60)  # the logo is scaled to fit this box, keeping its aspect ratio
_PIXELS_PER_POINT = 3  # ~216 dpi
_MAGIC = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG"}


class LogoError(ValueError):
    """The logo bytes are not an acceptable PNG or JPEG image."""


def check_logo(logo: bytes) -> None:
    """Upload-time validation; raises InvalidArgument('logo', ...) for anything unusable."""
    try:
        load_logo(logo)
    except LogoError as error:
        raise InvalidArgument("logo", str(error)) from None


def load_logo(logo: bytes):
    """Return (PIL RGB image, (width_pt, height_pt)); raise LogoError on bad input."""
    kind = _kind(logo)
    from PIL import Image

    try:
        image = Image.open(io.BytesIO(logo), formats=[kind])
        if image.width * image.height > MAX_LOGO_PIXELS:
            raise LogoError(f"logo is {image.width}x{image.height} pixels; at most {MAX_LOGO_PIXELS} pixels")
        image.draft("RGB", (BOX_POINTS[0] * _PIXELS_PER_POINT, BOX_POINTS[1] * _PIXELS_PER_POINT))
        image.load()
        rgb = _flatten(image)
    except LogoError:
        raise
    except Exception as error:  # PIL raises many types for corrupt data
        raise LogoError(f"logo is not a readable {kind} image ({type(error).__name__})") from None
    rgb.thumbnail((BOX_POINTS[0] * _PIXELS_PER_POINT, BOX_POINTS[1] * _PIXELS_PER_POINT))
    return rgb, _fit(rgb.width, rgb.height)


def _kind(logo: bytes) -> str:
    if not isinstance(logo, (bytes, bytearray)) or not logo:
        raise LogoError("logo is empty")
    if len(logo) > MAX_LOGO_BYTES:
        raise LogoError(f"logo is {len(logo)} bytes; at most {MAX_LOGO_BYTES} bytes")
    for magic, kind in _MAGIC.items():
        if bytes(logo[: len(magic)]) == magic:
            return kind
    raise LogoError("logo must be a PNG or JPEG image")


def _flatten(image):
    """Opaque RGB on white: borb's transparency path is a per-pixel Python loop."""
    from PIL import Image

    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return image.convert("RGB")


def _fit(width: int, height: int) -> tuple[int, int]:
    scale = min(BOX_POINTS[0] / width, BOX_POINTS[1] / height)
    return max(1, int(width * scale)), max(1, int(height * scale))
