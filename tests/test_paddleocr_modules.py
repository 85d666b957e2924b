"""PaddleOCR's hubserving modules (ocr_system, ocr_det, ocr_rec, ocr_cls) behind one real server started
from a config file of PaddleOCR's shape, driven the way PaddleOCR's own client (tools/test_hubserving.py)
drives them: ``requests.post(url, headers=..., data=json.dumps({"images": [b64]}))``, then
``r.json()["results"][0]``. Also: ``"use_gpu": true`` on a machine without a GPU is a clear start-up error.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from hubserving.module.finder import BUILTIN_DIR
from hubserving.module.loader import load_module
from hubserving.ocr.gpu import gpu_problem
from hubserving.runtime.devices import detect_gpus
from tests.serverproc import ServerProcess, free_port, run_hub

cv2 = pytest.importorskip("cv2", reason='the ocr extra is not installed: pip install -e ".[ocr]"')
np = pytest.importorskip("numpy")
pytest.importorskip("onnxruntime", reason='the ocr extra is not installed: pip install -e ".[ocr]"')
pytest.importorskip("rapidocr_onnxruntime", reason='the ocr extra is not installed: pip install -e ".[ocr]"')

IMAGES = Path(__file__).resolve().parent / "data" / "images"  # copies of ../shared/data
OCR_IMAGE = IMAGES / "ocr_zh_en.png"
OCR_EN_IMAGE = IMAGES / "ocr_en.png"
MODULES = ("ocr_system", "ocr_det", "ocr_rec", "ocr_cls")
FIRST_LINE, SECOND_LINE = "欢迎使用飞桨服务", "PaddleHub Serving 2024"
HEADERS = {"Content-type": "application/json"}  # PaddleOCR's client, spelled as it spells it
CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
CORNERS_TEXT = re.compile(r"^(\d+,\d+ +){3}\d+,\d+$")  # how the page lists an ocr_det region


def paddleocr_config(port: int, use_gpu: bool) -> dict[str, Any]:
    """A config like PaddleOCR's deploy/hubserving/*/config.json, the four modules in one (plus ``host``)."""
    modules_info: dict[str, Any] = {
        name: {"init_args": {"version": "1.0.0", "use_gpu": use_gpu}, "predict_args": {}} for name in MODULES
    }
    modules_info["ocr_system"]["predict_args"] = {"visualization": False}  # as its older config had
    return {
        "modules_info": modules_info,
        "port": port,
        "host": "127.0.0.1",
        "use_multiprocess": False,
        "workers": 2,
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for all four modules (loading is the slow part); its working folder stays empty."""
    home, workdir = tmp_path_factory.mktemp("hub_home"), tmp_path_factory.mktemp("cwd")
    port = free_port()
    config = tmp_path_factory.mktemp("config") / "config.json"
    config.write_text(json.dumps(paddleocr_config(port, use_gpu=False)), encoding="utf-8")
    with ServerProcess(["-c", str(config)], home, port, cwd=workdir, ready_timeout_s=180) as running:
        yield running
    assert list(workdir.iterdir()) == [], "the server wrote files into its working folder"


def cv2_to_base64(data: bytes) -> str:
    """PaddleOCR's client helper: the image file's bytes, base64."""
    return base64.b64encode(data).decode("utf8")


def png_base64(image: Any) -> str:
    return cv2_to_base64(cv2.imencode(".png", image)[1].tobytes())


def post(server: ServerProcess, module: str, images: list[str], **extra: Any) -> requests.Response:
    url = f"{server.url}/predict/{module}"
    return requests.post(url=url, headers=HEADERS, data=json.dumps({"images": images, **extra}), timeout=60)


def first_result(server: ServerProcess, module: str, images: list[str]) -> Any:
    """What PaddleOCR's client reads: ``r.json()["results"][0]``, after checking the envelope."""
    r = post(server, module, images)
    assert r.status_code == 200, r.text
    envelope = r.json()
    assert (envelope["status"], envelope["msg"]) == ("0", "")
    return envelope["results"][0]


def is_region(value: Any) -> bool:
    """Four ``[x, y]`` corners, integers."""
    return (
        isinstance(value, list)
        and len(value) == 4
        and all(isinstance(point, list) and len(point) == 2 for point in value)
        and all(type(number) is int for point in value for number in point)
    )


def line_crop(region: list[list[int]]) -> Any:
    """The first test image cut to a text region's bounding rectangle."""
    image = cv2.imread(str(OCR_IMAGE))
    xs, ys = [x for x, _ in region], [y for _, y in region]
    return image[min(ys) : max(ys), min(xs) : max(xs)]


@pytest.fixture(scope="module")
def regions(server: ServerProcess) -> list[list[list[int]]]:
    res = first_result(server, "ocr_det", [cv2_to_base64(OCR_IMAGE.read_bytes())])
    return [item["text_region"] for item in res]


def test_ocr_system_reads_the_lines_in_reading_order(server: ServerProcess) -> None:
    res = first_result(server, "ocr_system", [cv2_to_base64(OCR_IMAGE.read_bytes())])
    assert isinstance(res, list) and len(res) == 3, res
    for item in res:
        assert set(item) == {"text", "confidence", "text_region"}
        assert isinstance(item["text"], str) and isinstance(item["confidence"], float)
        assert 0.5 <= item["confidence"] <= 1.0 and is_region(item["text_region"])
    texts = [item["text"] for item in res]
    assert texts[:2] == [FIRST_LINE, SECOND_LINE]
    assert texts[2].startswith("今天天气很好")  # PP-OCRv4 drops the space in "Hello World"
    tops = [item["text_region"][0][1] for item in res]
    assert tops == sorted(tops)


def test_ocr_system_answers_one_list_per_image(server: ServerProcess) -> None:
    images = [cv2_to_base64(path.read_bytes()) for path in (OCR_IMAGE, OCR_EN_IMAGE)]
    r = post(server, "ocr_system", images)
    assert r.status_code == 200, r.text
    zh_en, en = r.json()["results"]
    assert len(zh_en) == 3
    assert [item["text"] for item in en] == ["Invoice No. 12345", "Total: $99.50"]


def test_ocr_det_gives_the_regions_ocr_system_reads(server: ServerProcess, regions: list[Any]) -> None:
    system = first_result(server, "ocr_system", [cv2_to_base64(OCR_IMAGE.read_bytes())])
    assert len(regions) == 3 and all(is_region(region) for region in regions)
    assert regions == [item["text_region"] for item in system]
    res = first_result(server, "ocr_det", [cv2_to_base64(OCR_IMAGE.read_bytes())])
    assert all(set(item) == {"text_region"} for item in res)


def test_ocr_rec_reads_a_crop_of_the_first_line(server: ServerProcess, regions: list[Any]) -> None:
    res = first_result(server, "ocr_rec", [png_base64(line_crop(regions[0]))])
    assert len(res) == 1 and set(res[0]) == {"text", "confidence"}
    assert res[0]["text"] == FIRST_LINE
    assert isinstance(res[0]["confidence"], float) and 0.5 < res[0]["confidence"] <= 1.0


def test_ocr_rec_answers_one_list_for_all_its_images(server: ServerProcess, regions: list[Any]) -> None:
    """As PaddleOCR's: ``results`` is ``[[reading of image 0, reading of image 1, ...]]``."""
    crops = [png_base64(line_crop(region)) for region in regions[:2]]
    r = post(server, "ocr_rec", crops)
    assert r.status_code == 200, r.text
    [readings] = r.json()["results"]
    assert [reading["text"] for reading in readings] == [FIRST_LINE, SECOND_LINE]


def test_ocr_cls_tells_upright_from_upside_down(server: ServerProcess, regions: list[Any]) -> None:
    crop = line_crop(regions[0])
    res = first_result(server, "ocr_cls", [png_base64(crop), png_base64(cv2.rotate(crop, cv2.ROTATE_180))])
    assert [set(item) for item in res] == [{"angle", "confidence"}] * 2
    assert [item["angle"] for item in res] == ["0", "180"]
    assert all(isinstance(item["confidence"], float) and 0.5 < item["confidence"] <= 1.0 for item in res)


@pytest.mark.parametrize("module", MODULES)
def test_a_bad_image_is_a_400_naming_it(server: ServerProcess, module: str) -> None:
    r = post(server, module, [cv2_to_base64(OCR_IMAGE.read_bytes()), "bm90IGFuIGltYWdl"])
    assert r.status_code == 400
    assert r.json()["msg"].startswith("images[1] is not an image")


def test_visualization_true_is_refused_with_what_to_do(server: ServerProcess) -> None:
    r = post(server, "ocr_system", [cv2_to_base64(OCR_IMAGE.read_bytes())], visualization=True)
    assert r.status_code == 400
    assert "visualization is not available" in r.json()["msg"] and "ch_pp-ocrv4" in r.json()["msg"]


def test_ocr_rec_refuses_an_image_far_wider_than_a_line(server: ServerProcess) -> None:
    strip = np.full((4, 1000, 3), 255, dtype=np.uint8)
    r = post(server, "ocr_rec", [png_base64(strip)])
    assert r.status_code == 400
    assert "images[0] is 1000x4 pixels" in r.json()["msg"]


def test_thresholds_take_paddleocr_params_names(server: ServerProcess) -> None:
    image = cv2_to_base64(OCR_IMAGE.read_bytes())
    assert post(server, "ocr_system", [image], drop_score=1.0).json()["results"] == [[]]
    r = post(server, "ocr_det", [image], det_db_box_thresh=1.5)
    assert r.status_code == 400 and "det_db_box_thresh" in r.json()["msg"]


@pytest.mark.skipif(bool(detect_gpus()), reason="this machine has an NVIDIA GPU")
def test_use_gpu_true_without_a_gpu_is_a_clear_start_up_error(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    settings = paddleocr_config(free_port(), use_gpu=True)
    settings["modules_info"] = {"ocr_system": settings["modules_info"]["ocr_system"]}
    config.write_text(json.dumps(settings), encoding="utf-8")
    result = run_hub(["serving", "start", "-c", str(config)], tmp_path / "home", timeout_s=120)
    assert result.returncode != 0
    assert "no NVIDIA GPU" in result.stderr and '"use_gpu": false' in result.stderr, result.stderr
    assert "Traceback" not in result.stderr  # refused before any worker started


def test_use_gpu_must_be_true_or_false() -> None:
    with pytest.raises(ValueError, match=r"^ocr_cls: init_args use_gpu must be true or false, got 'false'$"):
        load_module(BUILTIN_DIR / "ocr_cls", {"use_gpu": "false"})


def test_gpu_problem_says_what_to_change() -> None:
    runtime = "onnxruntime 1.20"
    no_gpu = gpu_problem("ocr_det", [], ["CPUExecutionProvider"], runtime) or ""
    assert no_gpu.startswith("ocr_det: use_gpu is true, but this machine has no NVIDIA GPU")
    cpu_runtime = gpu_problem("ocr_det", [0], ["CPUExecutionProvider"], runtime) or ""
    assert "onnxruntime 1.20 here runs on the CPU only" in cpu_runtime and "onnxruntime-gpu" in cpu_runtime
    assert gpu_problem("ocr_det", [0], ["CUDAExecutionProvider", "CPUExecutionProvider"], runtime) is None


@pytest.mark.parametrize(
    ("module", "first_row"),
    [("ocr_system", re.compile(f"^{FIRST_LINE}$")), ("ocr_det", CORNERS_TEXT)],
    ids=["ocr_system", "ocr_det"],
)
def test_the_web_page_draws_their_regions(
    server: ServerProcess, module: str, first_row: re.Pattern[str]
) -> None:
    """The page at ``/`` draws PaddleOCR's ``text_region`` items over the uploaded image, and lists them."""
    if not CHROMIUM.is_file():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium: apt-get install -y chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright: pip install -e '.[test]'")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(server.url + "/")
            section = page.locator(f'section[data-module="{module}"]')
            section.locator("input[type=file]").set_input_files(str(OCR_IMAGE))
            section.get_by_role("button", name="Send").click()
            result = section.locator(".result")
            sync_api.expect(result).to_have_attribute("data-view", "ocr", timeout=30_000)
            sync_api.expect(result.locator(".ocr-box")).to_have_count(3)
            sync_api.expect(result.locator(".ocr-text").first).to_have_text(first_row)
        finally:
            browser.close()
