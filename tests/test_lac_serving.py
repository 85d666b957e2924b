"""The real lac model behind a real server.

The seed's request, a config with two workers and a user dictionary, and concurrent (batched)
answers that equal one-sentence-at-a-time answers.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.serverproc import ServerProcess, free_port

pytest.importorskip("paddle", reason="the lac extra is not installed: pip install -e '.[lac]'")

SENTENCES = Path(__file__).parent / "data" / "lac_sentences.txt"
SEED_REQUEST = {"texts": ["今天是个好日子", "天气预报说今天要下雨"], "batch_size": 1}
SEED_RESULTS = [
    {"word": ["今天", "是", "个", "好日子"], "tag": ["TIME", "v", "q", "n"]},
    {"word": ["天气预报", "说", "今天", "要", "下雨"], "tag": ["n", "v", "TIME", "v", "v"]},
]


def test_seed_request_gets_the_seed_answer(hub_home: Path) -> None:
    port = free_port()
    with ServerProcess(["-m", "lac", "-p", str(port)], hub_home, port) as server:
        response = server.post("lac", SEED_REQUEST)
        assert response.status_code == 200
        assert response.json() == {"msg": "", "results": SEED_RESULTS, "status": "0"}
        assert list(response.json()) == ["msg", "results", "status"]
        text_alias = server.post("lac", {"text": ["今天是个好日子"], "return_tag": False})
        assert text_alias.json()["results"] == [{"word": ["今天", "是", "个", "好日子"]}]
        empty = server.post("lac", {"texts": ["今天是个好日子", "", "下雨"]}).json()["results"]
        assert empty[1] == {"word": [""], "tag": [""]} and empty[0] == SEED_RESULTS[0]
        wrong = server.post("lac", {"texts": ["好"], "return_tags": True})
        assert wrong.status_code == 400 and "'return_tags'" in wrong.json()["msg"]
        assert "return_tag" in wrong.json()["msg"]
        assert server.post("lac", {"texts": [1]}).status_code == 400


def test_config_file_two_workers_and_a_user_dictionary(hub_home: Path, tmp_path: Path) -> None:
    port = free_port()
    user_dict = tmp_path / "dict.txt"
    user_dict.write_text("春天/SEASON\n花 开\n秋天的风\n", encoding="utf-8")
    config = {
        "modules_info": {
            "lac": {"init_args": {"user_dict": str(user_dict)}, "predict_args": {"batch_size": 1}}
        },
        "port": port,
        "use_multiprocess": True,
        "workers": 2,
        "timeout": 30,
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    with ServerProcess(["-c", str(path)], hub_home, port) as server:
        assert len(server.family()) == 3
        [result] = server.post("lac", {"texts": ["春天的花开秋天的风以及冬天的落阳"]}).json()["results"]
        assert result["word"][:4] == ["春天", "的", "花", "开"] and result["tag"][0] == "SEASON"
        assert "秋天的风" in result["word"]
        assert server.post("lac", SEED_REQUEST).json()["results"] == SEED_RESULTS


def test_concurrent_requests_equal_one_at_a_time_answers(hub_home: Path) -> None:
    sentences = [line for line in SENTENCES.read_text(encoding="utf-8").splitlines() if line.strip()][:240]
    port = free_port()
    with ServerProcess(
        ["-m", "lac", "-p", str(port), "--use_multiprocess", "--workers", "2"], hub_home, port
    ) as server:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            alone = [client.post("/predict/lac", json={"texts": [s]}).json()["results"][0] for s in sentences]

        def ask(index: int) -> tuple[int, dict]:
            body = {"texts": [sentences[index]]}
            with httpx.Client(base_url=server.url, timeout=60) as client:
                return index, client.post("/predict/lac", json=body).json()

        with ThreadPoolExecutor(32) as pool:
            together = list(pool.map(ask, range(len(sentences))))
        for index, envelope in together:
            assert envelope["status"] == "0", envelope
            assert envelope["results"] == [alone[index]], sentences[index]


def test_a_huge_text_and_a_thousand_texts_leave_the_worker_small(hub_home: Path) -> None:
    """Issue 17: one 20,000-character text without punctuation, then one request of 1,000 texts: both are
    answered, and the worker serving them grows by less than 200 MB."""
    sentences = (Path(__file__).parent / "data" / "lac_sentences.txt").read_text(encoding="utf-8").split("\n")
    letters = "".join(char for char in "".join(sentences) if char.isalnum())
    huge = (letters * (20_000 // len(letters) + 1))[:20_000]
    port = free_port()
    with ServerProcess(["-m", "lac", "-p", str(port)], hub_home, port) as server:
        server.post("lac", {"texts": sentences[:32]})  # warm: the memory an ordinary request needs
        [worker] = server.family()[1:]
        before_mb = worker.memory_info().rss / 2**20
        long_answer = server.post("lac", {"texts": [huge]})
        assert long_answer.status_code == 200 and "".join(long_answer.json()["results"][0]["word"]) == huge
        many = server.post("lac", {"texts": (sentences * 3)[:1000]})
        assert many.status_code == 200 and len(many.json()["results"]) == 1000
        grown_mb = worker.memory_info().rss / 2**20 - before_mb
        assert grown_mb < 200, f"the worker grew by {grown_mb:.0f} MB"
