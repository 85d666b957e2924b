"""hubserving.vision's arguments, drawing and visualization output."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
cv2 = pytest.importorskip("cv2", reason='OpenCV is not installed: pip install -e ".[cv]"')
pytest.importorskip("PIL", reason='Pillow is not installed: pip install -e ".[cv]"')

from hubserving.errors import RequestError  # noqa: E402  (after the skips)
from hubserving.vision.arguments import (  # noqa: E402
    VisionSettings,
    require_count,
    require_fraction,
    require_positive,
)
from hubserving.vision.draw import draw_banner, draw_box, draw_polygon  # noqa: E402
from hubserving.vision.output import Visualizer  # noqa: E402


def test_images_may_be_one_string_or_a_list_within_max_images() -> None:
    settings = VisionSettings.from_init_args("m", max_images=2)
    assert settings.image_list("abc") == ["abc"]
    assert settings.image_list(["a", "b"]) == ["a", "b"]
    message = (
        r"m: the request has 3 images, over this module's limit of 2 images per request "
        r"\(init_args max_images\)"
    )
    with pytest.raises(RequestError, match=message):
        settings.image_list(["a", "b", "c"])


def test_option_checks_refuse_values_out_of_range() -> None:
    """Types are the server's check (the method's hints); ranges are the module's, answered 400."""
    assert require_fraction("m", "t", 1) == 1.0
    for bad in (1.5, -0.1, float("nan")):
        with pytest.raises(RequestError, match="t must be a number from 0 to 1"):
            require_fraction("m", "t", bad)
    assert require_positive("m", "r", 2) == 2.0
    for bad in (0, -1.0, float("inf"), float("nan")):
        with pytest.raises(RequestError, match="r must be a number above 0"):
            require_positive("m", "r", bad)
    assert require_count("m", "top_k", 5, 1000) == 5
    for bad in (0, 1001, -3):
        with pytest.raises(RequestError, match="top_k must be an integer from 1 to 1000"):
            require_count("m", "top_k", bad, 1000)


def test_settings_from_init_args(tmp_path: Path) -> None:
    settings = VisionSettings.from_init_args("m", 2, 1000, str(tmp_path), 7)
    assert (settings.num_threads, settings.limits.max_pixels, settings.output_dir) == (2, 1000, tmp_path)
    assert settings.details() == {"limits": {"max_images": 7, "max_pixels": 1000}}
    assert VisionSettings.from_init_args("m").output_dir is None
    with pytest.raises(ValueError, match="m: init_args num_threads"):
        VisionSettings.from_init_args("m", num_threads=0)
    with pytest.raises(ValueError, match="m: init_args max_pixels must be a positive integer"):
        VisionSettings.from_init_args("m", max_pixels="big")
    with pytest.raises(ValueError, match="m: init_args output_dir must be a folder path"):
        VisionSettings.from_init_args("m", output_dir=3)
    for bad in (0, True, "10", 2.5):
        with pytest.raises(ValueError, match="m: init_args max_images must be a positive integer"):
            VisionSettings.from_init_args("m", max_images=bad)


def test_drawing_marks_the_image_in_place_and_stays_inside_it() -> None:
    image = np.zeros((60, 80, 3), dtype=np.uint8)
    draw_box(image, (10, 10, 50, 40), "face 0.99")
    draw_polygon(image, [[0, 0], [79, 0], [79, 59], [0, 59]], "1")
    draw_banner(image, ["espresso 0.95", "cup 0.01", "ünïcode"])
    assert image.any() and image.shape == (60, 80, 3)
    tiny = np.zeros((5, 5, 3), dtype=np.uint8)
    draw_box(tiny, (0, 0, 4, 4), "a caption much wider than the image")  # clipped, no error
    assert tiny.any()


def test_visualizer_returns_base64_and_writes_only_with_an_output_dir(tmp_path: Path) -> None:
    image = np.full((20, 30, 3), 200, dtype=np.uint8)
    fields = Visualizer("m").publish(image)
    assert set(fields) == {"visualization"}
    decoded = cv2.imdecode(
        np.frombuffer(base64.b64decode(fields["visualization"]), np.uint8), cv2.IMREAD_COLOR
    )
    assert decoded.shape == image.shape
    folder = tmp_path / "out" / "nested"
    written = Visualizer("m", folder).publish(image)
    saved = Path(written["save_path"])
    assert saved.parent == folder and saved.name.startswith("m_") and saved.suffix == ".jpg"
    assert saved.read_bytes() == base64.b64decode(written["visualization"])
    assert Visualizer("m", folder).publish(image)["save_path"] != written["save_path"]
