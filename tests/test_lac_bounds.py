"""lac's input bounds and bounded memory: a long text is cut into pieces that read as one text, a
request over a bound gets a message naming the bound and its init_arg, and neither a 20,000-character
text nor 1,000 texts in one request grow a worker by much (issue 17, item 2).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from hubserving import RequestError
from hubserving.modules.lac.pieces import split_text

SENTENCES_FILE = Path(__file__).parent / "data" / "lac_sentences.txt"
REPO = Path(__file__).resolve().parents[1]
NEEDS_LAC = pytest.mark.skipif(
    importlib.util.find_spec("paddle") is None or importlib.util.find_spec("LAC") is None,
    reason='the lac module needs paddlepaddle and LAC: pip install "hubserving[lac]"',
)


def read_sentences() -> list[str]:
    return SENTENCES_FILE.read_text(encoding="utf-8").split("\n")[:-1]


def without_punctuation(length: int) -> str:
    """Real Chinese text (the corpus's letters and digits only), ``length`` characters long."""
    letters = "".join(char for char in "".join(read_sentences()) if char.isalnum())
    return (letters * (length // len(letters) + 1))[:length]


def test_a_text_within_the_limit_is_one_piece() -> None:
    assert split_text("今天是个好日子。天气预报说今天要下雨", 18) == ["今天是个好日子。天气预报说今天要下雨"]
    assert split_text("", 5) == []


def test_a_long_text_is_cut_after_its_sentences() -> None:
    text = "".join(read_sentences())
    pieces = split_text(text, 500)
    assert "".join(pieces) == text and len(pieces) > len(text) // 500
    assert all(250 <= len(piece) <= 500 for piece in pieces[:-1])
    assert all(piece[-1] in "。！？!?；;…\n" for piece in pieces[:-1])


def test_clause_breaks_then_a_hard_cut_when_there_is_no_sentence_end() -> None:
    assert split_text("一二三四五，六七八九十", 8) == ["一二三四五，", "六七八九十"]  # "，" in the 2nd half
    assert split_text("一，二三四五六七八九十", 8) == ["一，二三四五六七", "八九十"]  # too early: a hard cut
    letters = without_punctuation(25)
    assert split_text(letters, 10) == [letters[:10], letters[10:20], letters[20:]]


@pytest.fixture(scope="module")
def small_lac() -> object:
    from hubserving.modules.lac.module import Lac

    return Lac(max_texts=3, max_text_chars=10)


@NEEDS_LAC
def test_over_a_bound_the_message_names_it_and_its_init_arg(small_lac: object) -> None:
    from hubserving.modules.lac.module import Lac

    assert isinstance(small_lac, Lac)
    assert len(small_lac.cut(texts=["今天是个好日子"] * 3)) == 3
    with pytest.raises(RequestError) as many:
        small_lac.cut(texts=["今天"] * 4)
    assert "the request has 4 texts, over this module's limit of 3 texts per request" in str(many.value)
    assert "init_args max_texts" in str(many.value)
    assert small_lac.cut(texts=["今天是个好日子天气预"])  # 10 characters: at the limit
    with pytest.raises(RequestError) as long:
        small_lac.cut(texts=["好", "今天是个好日子天气预报"])
    assert "texts[1] has 11 characters, over this module's limit of 10 characters per text" in str(long.value)
    assert "init_args max_text_chars" in str(long.value)


@NEEDS_LAC
def test_bounds_are_shown_and_checked_when_loading(small_lac: object) -> None:
    from hubserving.modules.lac.module import Lac

    assert isinstance(small_lac, Lac)
    assert small_lac.serving_details()["limits"] == {"max_texts": 3, "max_text_chars": 10}
    for bad in (0, -5, True, "100", 2.5):
        with pytest.raises(ValueError, match="lac: init_args max_text_chars must be a positive integer"):
            Lac(max_text_chars=bad)  # type: ignore[arg-type]


@NEEDS_LAC
def test_long_texts_read_as_one_text() -> None:
    from hubserving.modules.lac.analyzer import MAX_PIECE_CHARS
    from hubserving.modules.lac.module import Lac

    lac = Lac()  # the default bounds: 100,000 characters a text
    plain = without_punctuation(20_000)
    [result] = lac.cut(texts=plain)
    assert "".join(result["word"]) == plain and len(result["tag"]) == len(result["word"])
    assert all(result["word"])
    sentences = "".join(read_sentences())[: 3 * MAX_PIECE_CHARS]
    pieces = split_text(sentences, MAX_PIECE_CHARS)
    assert len(pieces) > 1
    [whole] = lac.cut(texts=[sentences])
    one_by_one = lac.cut(texts=pieces)
    assert whole["word"] == [word for result in one_by_one for word in result["word"]]
    assert whole["tag"] == [tag for result in one_by_one for tag in result["tag"]]


MEASURE = """
import json, sys
from pathlib import Path

import psutil

from hubserving import RequestError
from hubserving.modules.lac.module import Lac
from tests.test_lac_bounds import read_sentences, without_punctuation


def answer(lac, texts):
    try:
        return {"results": len(lac.cut(texts=texts))}
    except RequestError as error:
        return {"refused": str(error)}


process = psutil.Process()
sentences = read_sentences()
lac = Lac()
lac.cut(texts=sentences[:32])  # an ordinary request first: the worker as it serves
before = process.memory_info().rss
long_text = answer(lac, [without_punctuation(20_000)])
many_texts = answer(lac, [sentences[index % len(sentences)] for index in range(1_000)])
after = process.memory_info().rss
answers = [long_text, many_texts]
print(json.dumps({"before_mb": before / 2**20, "after_mb": after / 2**20, "answers": answers}))
"""


@NEEDS_LAC
def test_a_long_text_and_a_thousand_texts_grow_a_worker_by_less_than_200_mb() -> None:
    """Measured in a fresh process, as a worker would be (this test process has other models loaded)."""
    pytest.importorskip("psutil")
    result = subprocess.run(
        [sys.executable, "-c", MEASURE], capture_output=True, text=True, timeout=300, cwd=REPO
    )
    assert result.returncode == 0, result.stderr[-3000:]
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    long_text, many_texts = measured["answers"]
    assert long_text == {"results": 1} or "max_text_chars" in long_text["refused"]
    assert many_texts == {"results": 1_000} or "max_texts" in many_texts["refused"]
    growth_mb = measured["after_mb"] - measured["before_mb"]
    assert growth_mb < 200, measured
