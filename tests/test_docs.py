"""The README, the module guide and exported_models.md, run as a user pastes them: documentation that
drifts from the code fails here. How blocks are run and checked: ``tests/doctest_runner.py``."""

from __future__ import annotations

import decimal
import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.doctest_runner import (
    REPOSITORY,
    Block,
    Command,
    DocTestFailure,
    Ports,
    check_output,
    parse_commands,
    read_blocks,
    run_document,
    same_json,
)
from tests.serverproc import free_port

DOCUMENTS = ["README.md", "docs/modules.md", "docs/exported_models.md"]


def two_free_ports() -> tuple[int, int]:
    first = free_port()
    second = free_port()
    while second == first:
        second = free_port()
    return first, second


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A folder with a short path, as /tmp/hub-guide is: ``hub list`` shows paths without wrapping them."""
    folder = Path(tempfile.mkdtemp(prefix="hubdoc-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.skipif(not (REPOSITORY / ".git").exists(), reason="the scratch copy is of the files git lists")
@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_documented_command_works_as_written(document: str, scratch: Path) -> None:
    started = time.monotonic()
    skipped = run_document(REPOSITORY / document, scratch, Ports(*two_free_ports(), scratch / "home"))
    print(f"{document}: ran in {time.monotonic() - started:.0f} s; not run: {skipped}")


def test_a_skipped_block_says_why() -> None:
    for document in DOCUMENTS:
        for block in read_blocks((REPOSITORY / document).read_text(encoding="utf-8")):
            if block.marker and block.marker[0] == "skip":
                assert block.marker[1].startswith("(") and len(block.marker[1]) > 10, (document, block.line)


# --- the runner's own rules -------------------------------------------------------------------------


def test_commands_keep_their_continuations_heredocs_and_shown_output() -> None:
    lines = [
        "hub run x --input_text a   # a comment",
        "# [1, 2]",
        "curl -s url \\",
        "     -d '{}'",
        '# {"a": 1,',
        '#  "b": 2}',
        "                            # a comment's second line",
        "cat > f <<'EOF'",
        "# not output: inside the heredoc",
        "EOF",
        "hub serving start -m lac",
    ]
    commands = parse_commands(Block("bash", 0, lines))
    assert [c.text.splitlines()[0] for c in commands] == [lines[0], lines[2], lines[7], lines[10]]
    assert commands[0].expected == ["[1, 2]"] and commands[1].expected == ['{"a": 1, "b": 2}']
    assert commands[2].text.endswith("EOF") and not commands[2].expected
    assert commands[3].starts_server and not Command("hub serving start -m lac --detach", 0).starts_server


def test_json_numbers_match_to_the_places_shown() -> None:
    shown = json.loads('{"p": 0.94, "n": 3, "t": "x"}', parse_float=decimal.Decimal)
    assert same_json(shown, {"p": 0.9412, "n": 3, "t": "x"})
    assert not same_json(shown, {"p": 0.9612, "n": 3, "t": "x"})
    assert not same_json(shown, {"p": 0.94, "n": 3.0, "t": "x"})
    assert not same_json(shown, {"p": 0.94, "n": 3})


def test_text_lines_match_in_order_with_ellipses_and_any_spacing() -> None:
    command = Command("hub list", 0, ["lac   2.2.0  nlp  Baidu's...built-in", "my_module  1.0.0"])
    listed = "Name Version\nlac      2.2.0     nlp   Baidu's LAC   built-in\nmy_module 1.0.0 x"
    check_output(command, listed, str)
    with pytest.raises(DocTestFailure, match="begins with 'my_module"):
        check_output(command, "my_module 1.0.0\nlac 2.2.0 nlp Baidu's built-in", str)
