"""hubserving.vision.images: what clients send becomes the pixels they meant, or a message saying why not."""

from __future__ import annotations

import base64
import io
import struct
import zlib

import pytest

np = pytest.importorskip("numpy")
Image = pytest.importorskip("PIL.Image", reason='Pillow is not installed: pip install -e ".[cv]"')
pytest.importorskip("cv2", reason='OpenCV is not installed: pip install -e ".[cv]"')

from hubserving.errors import RequestError  # noqa: E402  (after the skips)
from hubserving.vision.images import (  # noqa: E402
    DecodeLimits,
    base64_bytes,
    declared_size,
    decode_image,
    decode_images,
    to_bgr,
)

LIMITS = DecodeLimits()


def encoded(image: Image.Image, fmt: str = "PNG", **save_args: object) -> str:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save_args)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def gradient() -> Image.Image:
    """A 40 x 30 RGB image whose every pixel differs, so any flip or channel swap shows."""
    x, y = np.meshgrid(np.arange(40), np.arange(30))
    rgb = np.stack([x * 6, y * 8, (x + y) * 3], axis=-1).astype(np.uint8)
    return Image.fromarray(rgb, "RGB")


def test_a_png_decodes_to_its_pixels_in_bgr_order() -> None:
    image = gradient()
    decoded = decode_image(encoded(image), 0, LIMITS)
    assert decoded.shape == (30, 40, 3) and decoded.dtype == np.uint8
    assert np.array_equal(decoded, np.asarray(image)[:, :, ::-1])
    assert decoded.flags.c_contiguous and decoded.flags.writeable


@pytest.mark.parametrize(
    "spelling",
    [
        lambda text: "data:image/png;base64," + text,
        lambda text: "DATA:image/png;BASE64," + text,
        lambda text: text.rstrip("="),  # padding dropped
        lambda text: "\n".join(text[i : i + 76] for i in range(0, len(text), 76)),  # MIME line breaks
        lambda text: text.replace("+", "-").replace("/", "_"),  # URL-safe alphabet
    ],
)
def test_common_base64_spellings_are_accepted(spelling: object) -> None:
    text = encoded(gradient())
    assert callable(spelling)
    assert np.array_equal(decode_image(spelling(text), 0, LIMITS), decode_image(text, 0, LIMITS))


def test_transparency_is_laid_over_white_and_grey_becomes_three_channels() -> None:
    clear = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    assert (decode_image(encoded(clear), 0, LIMITS) == 255).all()
    grey = Image.new("L", (4, 4), 77)
    assert (decode_image(encoded(grey), 0, LIMITS) == 77).all()
    sixteen_bit = Image.fromarray(np.full((4, 4), 1000, dtype=np.uint16))
    assert decode_image(encoded(sixteen_bit), 0, LIMITS).shape == (4, 4, 3)


def test_exif_orientation_is_applied() -> None:
    """A phone photo stored sideways with "rotate 90" in its EXIF arrives upright."""
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 clockwise to view
    decoded = decode_image(encoded(gradient(), "JPEG", exif=exif, quality=95), 0, LIMITS)
    assert decoded.shape == (40, 30, 3)


def test_opencv_and_pillow_decode_to_the_same_pixels() -> None:
    """Opaque PNGs go through OpenCV, everything else through Pillow: the two must agree."""
    for image in (gradient(), gradient().convert("L"), gradient().quantize(64)):
        text = encoded(image)
        by_pillow = to_bgr(Image.open(io.BytesIO(base64_bytes(text, 0))))
        assert np.array_equal(decode_image(text, 0, LIMITS), by_pillow), image.mode


def test_a_png_without_its_end_chunk_still_decodes() -> None:
    """OpenCV refuses it; Pillow, the fallback, reads every pixel."""
    data = base64_bytes(encoded(gradient()), 0)
    assert data.endswith(b"IEND\xaeB`\x82")
    decoded = decode_image(base64.b64encode(data[:-12]).decode(), 0, LIMITS)
    assert np.array_equal(decoded, np.asarray(gradient())[:, :, ::-1])


def test_exif_orientation_is_applied_to_transparent_images_too() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    image = gradient().convert("RGBA")
    assert decode_image(encoded(image, "PNG", exif=exif), 0, LIMITS).shape == (40, 30, 3)


def test_gif_bmp_webp_and_jpeg_decode() -> None:
    for fmt in ("GIF", "BMP", "WEBP", "JPEG", "TIFF"):
        assert decode_image(encoded(gradient(), fmt), 0, LIMITS).shape == (30, 40, 3), fmt


def png_header_only(width: int, height: int, with_data: bool) -> bytes:
    """A PNG that declares its size; its pixels (if any) are an empty stream: nothing to decode."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    rest = chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"") if with_data else b""
    return b"\x89PNG\r\n\x1a\n" + header + rest


def truncated_jpeg() -> str:
    data = base64.b64decode(encoded(gradient().resize((400, 300)), "JPEG"))
    return base64.b64encode(data[: len(data) // 2]).decode()


@pytest.mark.parametrize(
    ("sent", "reason"),
    [
        ("not base64 at all!", "is not base64"),
        ("QUJD" + "é", "non-ASCII"),
        ("", "is empty"),
        ("   \n", "is empty"),
        ("data:image/png,rawbytes", "without ';base64,'"),
        (base64.b64encode(b"hello, world, not a picture").decode(), "not an image"),
        (base64.b64encode(png_header_only(0, 0, with_data=True)).decode(), "0x0"),
        (truncated_jpeg(), "truncated"),
    ],
)
def test_bad_images_name_their_index_and_reason(sent: str, reason: str) -> None:
    """A client's bad image is a ``RequestError`` (the server answers 400 with its message)."""
    good = encoded(gradient())
    with pytest.raises(RequestError) as raised:
        list(decode_images([good, good, sent], LIMITS))
    assert str(raised.value).startswith("images[2] ") and reason in str(raised.value)


def test_every_header_is_checked_before_the_first_image_is_decoded() -> None:
    """A request whose last image is unreadable fails before any work; then images decode one by one."""
    good = encoded(gradient())
    with pytest.raises(RequestError, match=r"images\[2\] is not an image"):
        decode_images([good, good, base64.b64encode(b"not a picture").decode()], LIMITS)
    lazily = decode_images([good, truncated_jpeg()], LIMITS)  # headers fine: nothing decoded yet
    assert next(lazily).shape == (30, 40, 3)
    with pytest.raises(RequestError, match=r"images\[1\] is truncated"):
        next(lazily)


def test_the_pixel_limit_is_checked_before_decoding() -> None:
    image = encoded(Image.new("L", (100, 50)))
    assert decode_image(image, 0, DecodeLimits(max_pixels=5000)).shape == (50, 100, 3)
    with pytest.raises(
        RequestError, match=r"images\[0\] is 100x50 = 5,000 pixels, over this module's limit of 4,999"
    ):
        decode_image(image, 0, DecodeLimits(max_pixels=4999))


@pytest.mark.parametrize("with_data", [True, False])
def test_a_decompression_bomb_is_refused_without_decoding(with_data: bool) -> None:
    bomb = base64.b64encode(png_header_only(30000, 30000, with_data)).decode()
    message = r"images\[0\] is 30000x30000 = 900,000,000 pixels, over this module's limit of 40,000,000"
    with pytest.raises(RequestError, match=message):
        decode_image(bomb, 0, LIMITS)


def test_limits_must_be_positive() -> None:
    for value in (0, -1, True, 2.5, "100"):
        with pytest.raises(ValueError, match="max_pixels must be a positive integer"):
            DecodeLimits(max_pixels=value)  # type: ignore[arg-type]


def test_declared_size_reads_png_gif_and_bmp_headers() -> None:
    for fmt in ("PNG", "GIF", "BMP"):
        assert declared_size(base64_bytes(encoded(gradient(), fmt), 0)) == (40, 30), fmt
    assert declared_size(b"\xff\xd8\xff") is None
