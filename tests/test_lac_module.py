"""The built-in lac module gives exactly LAC's own words and tags (LAC's code run through
tests/lac_reference.py), on real text, with and without a user dictionary."""

from __future__ import annotations

import importlib.util
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

if importlib.util.find_spec("paddle") is None or importlib.util.find_spec("LAC") is None:
    pytest.skip(
        'the lac module needs paddlepaddle and LAC: pip install "hubserving[lac]" '
        "with PIP_BUILD_CONSTRAINT=build-constraints.txt",
        allow_module_level=True,
    )

from hubserving import RequestError
from hubserving.module.decorators import MODULE_INFO_ATTR, SERVING_ATTR
from hubserving.modules.lac.module import Lac
from tests.lac_reference import load_reference_lac, reference_cut

SENTENCES_FILE = Path(__file__).parent / "data" / "lac_sentences.txt"
BATCH = 32

# Texts a file of lines cannot hold well.
EDGE_TEXTS = [" ", "   ", "\t", "　", "第一行\n第二行", " 前后有空格 ", "a", "Ｚ", "。。。", "1 2 3", "x\ty"]

USER_DICT = "\n".join(
    [
        "春天/SEASON",
        "秋天/SEASON",
        "花 开",
        "长江大桥/LOC",
        "大桥/n",
        "桥上/s",
        "北京/ns 大学/n",
        "人工智能\t机器/n 学习/v",
        "天安门/LOC",
        "Python/nz",
        "GitHub/ORG",
        "好",
        "走/v",
        "",
        "   ",
        "王小二/PER",
        "a/b/TAG",
    ]
)
USER_DICT_TEXTS = [
    "春天的花开得真好看",
    "我喜欢春天，也喜欢秋天。",
    "长江大桥上的车流量比去年增加了15%。",
    "南京市长江大桥",
    "北京大学和清华大学都位于海淀区。",
    "人工智能、机器学习和大数据是当前最热门的技术方向。",
    "我爱北京天安门",
    "我昨天用Python写了一个Web爬虫。",
    "我的GitHub账号已经开通了两步验证。",
    "好好学习，天天向上",
    "走，我们走吧",
    "王小二去超市买了两斤鸡蛋。",
    "花开花落，春天秋天",
    "a/b和a/b/TAG",
]


def read_sentences() -> list[str]:
    return SENTENCES_FILE.read_text(encoding="utf-8").split("\n")[:-1]


def batches(texts: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(texts), BATCH):
        yield texts[start : start + BATCH]


def as_pairs(results: list[dict[str, list[str]]]) -> list[tuple[list[str], list[str]]]:
    return [(result["word"], result["tag"]) for result in results]


def assert_same_as_lac(ours: Lac, theirs: Any, texts: list[str]) -> None:
    """Same words and tags as LAC's own code, batch by batch (the same batches for both)."""
    problems: list[str] = []
    for batch in batches(texts):
        pairs = zip(batch, as_pairs(ours.cut(texts=batch)), reference_cut(theirs, batch), strict=True)
        problems += [f"{text!r}: ours {a} LAC {b}" for text, a, b in pairs if a != b]
    assert not problems, f"{len(problems)} of {len(texts)} differ:\n" + "\n".join(problems[:10])


@pytest.fixture(scope="module")
def lac() -> Lac:
    return Lac()


@pytest.fixture(scope="module")
def reference() -> Any:
    return load_reference_lac()


@pytest.fixture(scope="module")
def user_dict(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lac") / "user_dict.txt"
    path.write_text(USER_DICT + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def custom_lac(user_dict: Path) -> Lac:
    return Lac(user_dict=str(user_dict))


@pytest.fixture(scope="module")
def custom_reference(user_dict: Path) -> Any:
    return load_reference_lac(str(user_dict))


def test_reference_sentences(lac: Lac) -> None:
    results = lac.cut(texts=["今天是个好日子", "天气预报说今天要下雨"])
    assert results == [
        {"word": ["今天", "是", "个", "好日子"], "tag": ["TIME", "v", "q", "n"]},
        {"word": ["天气预报", "说", "今天", "要", "下雨"], "tag": ["n", "v", "TIME", "v", "v"]},
    ]


def test_corpus_is_varied_real_text() -> None:
    sentences = read_sentences()
    assert len(sentences) >= 300
    assert all(sentences)
    assert sum(len(text) > 100 for text in sentences) >= 20
    assert sum(len(text) == 1 for text in sentences) >= 3
    assert any(char.isascii() and char.isalpha() for text in sentences for char in text)
    assert any("０" <= char <= "９" for text in sentences for char in text)


def test_corpus_equals_lac(lac: Lac, reference: Any) -> None:
    texts = read_sentences() + EDGE_TEXTS
    assert_same_as_lac(lac, reference, texts)


def test_corpus_equals_lac_without_onednn(reference: Any) -> None:
    """``onednn=False`` runs Paddle's plain kernels (the lowest latency for one sentence), same answers."""
    texts = read_sentences() + EDGE_TEXTS
    assert_same_as_lac(Lac(onednn=False), reference, texts)


def test_onednn_must_be_true_or_false() -> None:
    with pytest.raises(ValueError, match="onednn must be true or false, got 'false'"):
        Lac(onednn="false")  # type: ignore[arg-type]


def test_results_do_not_depend_on_batching(lac: Lac) -> None:
    texts = read_sentences()[::3]
    together = lac.cut(texts=texts)
    alone = [lac.cut(texts=[text])[0] for text in texts]
    assert together == alone


def test_user_dict_equals_lac(custom_lac: Lac, custom_reference: Any) -> None:
    texts = USER_DICT_TEXTS + read_sentences()
    assert_same_as_lac(custom_lac, custom_reference, texts)


def scrambled_texts(count: int) -> list[str]:
    """Odd inputs built from the corpus's characters, spliced sentences and dictionary words."""
    sentences = read_sentences()
    alphabet = sorted(set("".join(sentences))) + list("abcXYZ0129 \t　ＡＢ１２/-_.@#%")
    pieces = ["春天", "花开", "长江大桥", "桥上", "北京大学", "a/b", "GitHub", " ", "1", "ａ", "的", "好"]
    rng = random.Random(7)
    texts: list[str] = []
    for index in range(count):
        if index % 3 == 0:
            texts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))))
        elif index % 3 == 1:
            first, second = rng.choice(sentences), rng.choice(sentences)
            texts.append(first[rng.randint(0, len(first) - 1) :][:30] + second[: rng.randint(0, 30)])
        else:
            texts.append("".join(rng.choice(pieces) for _ in range(rng.randint(1, 8))))
    return texts


@pytest.mark.parametrize("with_dict", [False, True], ids=["plain", "user_dict"])
def test_scrambled_text_equals_lac(with_dict: bool, request: pytest.FixtureRequest) -> None:
    ours: Lac = request.getfixturevalue("custom_lac" if with_dict else "lac")
    theirs = request.getfixturevalue("custom_reference" if with_dict else "reference")
    texts = scrambled_texts(600)
    assert_same_as_lac(ours, theirs, texts)


def test_user_dict_changes_output(custom_lac: Lac, lac: Lac) -> None:
    texts = ["春天的花开得真好看", "北京大学和清华大学都位于海淀区。", "长江大桥上的车"]
    plain = lac.cut(texts=texts)
    assert plain[1]["word"][0] == "北京大学"
    spring, university, bridge = custom_lac.cut(texts=texts)
    assert (spring["word"][:4], spring["tag"][:4]) == (["春天", "的", "花", "开"], ["SEASON", "u", "a", "a"])
    assert (university["word"][:2], university["tag"][:2]) == (["北京", "大学"], ["ns", "n"])
    # LAC's quirk, kept: overlapping entries (长江大桥, 桥上) both apply, the later one wins the overlap.
    assert (bridge["word"][:2], bridge["tag"][:2]) == (["长江大", "桥上"], ["LOC", "s"])


def test_missing_user_dict_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_dict.txt"
    with pytest.raises(FileNotFoundError, match=r"no_such_dict\.txt"):
        Lac(user_dict=str(missing))


def test_user_dict_that_is_not_utf8_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "gbk_dict.txt"
    path.write_bytes("春天/SEASON\n".encode("gbk"))
    with pytest.raises(ValueError, match=r"gbk_dict\.txt is not UTF-8"):
        Lac(user_dict=str(path))


def test_return_tag_false_drops_tags(lac: Lac) -> None:
    assert lac.cut(texts=["今天是个好日子"], return_tag=False) == [{"word": ["今天", "是", "个", "好日子"]}]


def test_text_and_texts_and_single_string_agree(lac: Lac) -> None:
    texts = ["今天是个好日子", "天气预报说今天要下雨"]
    assert lac.cut(text=texts) == lac.cut(texts=texts)
    assert lac.cut(texts="今天是个好日子") == lac.cut(texts=["今天是个好日子"])
    assert lac.cut(text="今天是个好日子", batch_size=8, use_gpu=False) == lac.cut(texts=texts[:1])


def test_empty_strings_keep_their_position(lac: Lac) -> None:
    empty = {"word": [""], "tag": [""]}
    results = lac.cut(texts=["", "", "今天是个好日子", "", "天气预报说今天要下雨"])
    assert [result == empty for result in results] == [True, True, False, True, False]
    assert results[2]["word"] == ["今天", "是", "个", "好日子"]
    assert lac.cut(texts=[""]) == [empty]
    assert lac.cut(texts=[]) == []
    assert lac.cut(texts=[""], return_tag=False) == [{"word": [""]}]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "needs `texts`"),
        ({"text": ["a"], "texts": ["b"]}, "not both"),
        ({"texts": ["好"], "batch_size": 0}, "batch_size must be a positive integer"),
    ],
)
def test_bad_input_is_explained(lac: Lac, kwargs: dict[str, Any], message: str) -> None:
    """Values the module refuses are ``RequestError`` (400); wrong types are refused by the server
    from ``cut``'s type hints before it runs (tests/test_module_hints.py)."""
    with pytest.raises(RequestError, match=message):
        lac.cut(**kwargs)


def test_use_gpu_on_a_cpu_build_is_explained() -> None:
    import paddle

    if paddle.device.is_compiled_with_cuda():
        pytest.skip("this paddlepaddle has CUDA")
    with pytest.raises(RuntimeError, match="CPU build"):
        Lac(use_gpu=True)


def test_module_metadata() -> None:
    info = getattr(Lac, MODULE_INFO_ATTR)
    assert (info.name, info.version, info.category) == ("lac", "2.2.0", "nlp")
    spec = getattr(Lac.cut, SERVING_ATTR)
    assert (spec.batch_arg, dict(spec.aliases), spec.input, spec.input_argument) == (
        "texts",
        {"text": "texts"},
        "text",
        "texts",
    )
