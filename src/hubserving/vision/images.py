"""Base64 images from a request, decoded into OpenCV-style arrays (BGR, uint8, height x width x 3).

Every failure raises ``RequestError`` whose message names the image by its index and says why, so the
server answers 400 and goes on serving. A request's images are all checked (base64, format, size from
the header) before the first is decoded, and decoded one at a time, so a worker holds one decoded image
of a request at a time whatever their number.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import struct
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from hubserving.errors import RequestError

ImageArray = npt.NDArray[np.uint8]

DEFAULT_MAX_PIXELS = 40_000_000  # a 8000 x 5000 photo; decoded, 120 MB
DATA_URL = re.compile(r"data:[^,]*?,", re.IGNORECASE)
WHITESPACE = b" \t\n\r\x0b\x0c"
URLSAFE_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
# Decoded by OpenCV when opaque (it applies their EXIF orientation too, as Pillow's path does).
OPENCV_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "BMP", "TIFF"})


@dataclass(frozen=True)
class DecodeLimits:
    """What an image may be: at most ``max_pixels`` pixels (width x height)."""

    max_pixels: int = DEFAULT_MAX_PIXELS

    def __post_init__(self) -> None:
        if isinstance(self.max_pixels, bool) or not isinstance(self.max_pixels, int) or self.max_pixels < 1:
            raise ValueError(f"max_pixels must be a positive integer, got {self.max_pixels!r}")


@dataclass(frozen=True)
class EncodedImage:
    """One image file of a request, its header checked: a format that can be read, a size within limits."""

    index: int
    data: bytes


def decode_images(texts: Sequence[str], limits: DecodeLimits) -> Iterator[ImageArray]:
    """Check every image of a request (the first bad one raises), then decode them in order as asked."""
    checked = [read_image(text, index, limits) for index, text in enumerate(texts)]
    return (decode(image, limits) for image in checked)


def decode_image(text: str, index: int, limits: DecodeLimits) -> ImageArray:
    """One base64 image (a ``data:image/...;base64,`` prefix is allowed) as a BGR array."""
    return decode(read_image(text, index, limits), limits)


def read_image(text: str, index: int, limits: DecodeLimits) -> EncodedImage:
    """The bytes of a base64 image whose header Pillow reads (format, size: checked, no pixel decoded)."""
    data = base64_bytes(text, index)
    with _open(data, index, limits) as image:
        check_size(image.size, index, limits)
    return EncodedImage(index, data)


def decode(encoded: EncodedImage, limits: DecodeLimits) -> ImageArray:
    """The pixels of a checked image as a BGR array.

    OpenCV decodes the common opaque formats (4 times faster than Pillow plus a copy to numpy); Pillow
    decodes the rest (transparency, GIF, ...) and whatever OpenCV refuses, and says why a broken file is
    broken.
    """
    with _open(encoded.data, encoded.index, limits) as image:
        if image.format in OPENCV_FORMATS and not has_transparency(image):
            decoded = cv2.imdecode(np.frombuffer(encoded.data, dtype=np.uint8), cv2.IMREAD_COLOR)
            if decoded is not None and decoded.size:
                return np.asarray(decoded, dtype=np.uint8)
        try:
            image.load()
            return to_bgr(image)
        except Exception as error:  # Pillow's decoders raise OSError, SyntaxError, ValueError, ...
            raise RequestError(f"images[{encoded.index}] is truncated or corrupt ({error})") from None


def base64_bytes(text: str, index: int) -> bytes:
    """The bytes a base64 string (standard or URL-safe alphabet, padding optional) stands for."""
    prefix = DATA_URL.match(text)
    if prefix:
        if ";base64," not in prefix.group(0).lower():
            raise RequestError(
                f"images[{index}] is a data URL without ';base64,': send the image base64-encoded"
            )
        text = text[prefix.end() :]
    try:
        raw = text.encode("ascii").translate(URLSAFE_TO_STANDARD, WHITESPACE)
    except UnicodeEncodeError:
        raise RequestError(f"images[{index}] is not base64: it holds non-ASCII characters") from None
    if not raw:
        raise RequestError(f"images[{index}] is empty: send the image file's bytes, base64-encoded")
    try:
        return base64.b64decode(raw + b"=" * (-len(raw) % 4), validate=True)
    except binascii.Error as error:
        raise RequestError(
            f"images[{index}] is not base64 ({error}); send the image file's bytes, base64-encoded"
        ) from None


def _open(data: bytes, index: int, limits: DecodeLimits) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit applies
            return Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, UnidentifiedImageError) as error:
        size = declared_size(data)
        if size is not None:
            check_size(size, index, limits)  # the header explains it: empty, or too large
        if isinstance(error, Image.DecompressionBombError):
            raise RequestError(f"images[{index}] has too many pixels: {error}") from None
        raise RequestError(
            f"images[{index}] is not an image that can be read ({len(data)} bytes, starting {data[:8]!r}); "
            "send JPEG, PNG, BMP, GIF, TIFF or WebP"
        ) from None
    except Exception as error:  # broken headers raise several types
        raise RequestError(f"images[{index}] is not an image that can be read ({error})") from None


def check_size(size: tuple[int, int], index: int, limits: DecodeLimits) -> None:
    """Refuse an empty image or one over the pixel limit, before decoding it."""
    width, height = size
    if width <= 0 or height <= 0:
        raise RequestError(f"images[{index}] is empty: {width}x{height} pixels")
    if width * height > limits.max_pixels:
        raise RequestError(
            f"images[{index}] is {width}x{height} = {width * height:,} pixels, over this module's limit of "
            f"{limits.max_pixels:,} (init_args max_pixels); send a smaller image"
        )


def declared_size(data: bytes) -> tuple[int, int] | None:
    """Width and height that a PNG, GIF or BMP header declares (to explain why it cannot be opened)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"BM") and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return abs(int(width)), abs(int(height))
    return None


def has_transparency(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def to_bgr(image: Image.Image) -> ImageArray:
    """Upright (EXIF orientation applied), transparency over white, as a BGR array."""
    upright = ImageOps.exif_transpose(image)
    if has_transparency(upright):
        rgba = upright.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        rgb = Image.alpha_composite(white, rgba).convert("RGB")
    else:
        rgb = upright if upright.mode == "RGB" else upright.convert("RGB")
    return np.asarray(cv2.cvtColor(np.asarray(rgb, dtype=np.uint8), cv2.COLOR_RGB2BGR), dtype=np.uint8)
