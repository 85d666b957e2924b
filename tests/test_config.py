from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import pytest
from packaging.version import Version

from hubserving.cli.serving import config_from_args, register
from hubserving.config import (
    ModuleConfig,
    config_from_json,
    load_config_file,
    modules_info_from_texts,
    parse_gpu,
)
from hubserving.errors import ConfigError

SEED_CONFIG = {
    "modules_info": {
        "lac": {
            "init_args": {"version": "2.1.0", "user_dict": "./dict.txt"},
            "predict_args": {"batch_size": 1, "use_gpu": False},
        },
        "yolov3_darknet53_coco2017": {
            "init_args": {"version": "1.0.0"},
            "predict_args": {"batch_size": 1, "use_gpu": False},
        },
    },
    "port": 8866,
    "use_multiprocess": False,
    "workers": 2,
    "use_gpu": False,
    "gpu": "0,1,2",
    "timeout": 30,
}


def test_seed_config_becomes_the_same_object_the_cli_builds() -> None:
    config = config_from_json(SEED_CONFIG)
    lac = config.modules[0]
    assert lac.name == "lac" and lac.requirement.version == Version("2.1.0")
    assert lac.init_args == {"user_dict": "./dict.txt"}
    assert lac.predict_args == {"batch_size": 1, "use_gpu": False}
    assert config.gpu == (0, 1, 2) and config.timeout_s == 30.0 and config.workers == 2
    assert [m.name for m in config.modules] == ["lac", "yolov3_darknet53_coco2017"]


def test_missing_predict_args_means_empty() -> None:
    config = config_from_json({"modules_info": {"lac": {"init_args": {}}}})
    assert config.modules[0].predict_args == {}


def test_directory_init_arg_loads_from_a_folder() -> None:
    config = config_from_json({"modules_info": {"mine": {"init_args": {"directory": "/srv/mine", "x": 1}}}})
    assert config.modules[0].directory == Path("/srv/mine")
    assert config.modules[0].init_args == {"x": 1}


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({}, "modules_info"),
        ({"modules_info": []}, "modules_info"),
        ({"modules_info": {}}, "nothing to serve"),
        ({"modules_info": {"lac": []}}, "modules_info.lac"),
        ({"modules_info": {"lac": {"predict_args": [1]}}}, "modules_info.lac.predict_args"),
        ({"modules_info": {"lac": {"init_args": {"version": "two"}}}}, "modules_info.lac.init_args.version"),
        ({"modules_info": {"lac": {"oops": 1}}}, "oops"),
        ({"modules_info": {"lac": {}}, "port": "8866"}, "port"),
        ({"modules_info": {"lac": {}}, "port": 70000}, "port"),
        ({"modules_info": {"lac": {}}, "workers": 0}, "workers"),
        ({"modules_info": {"lac": {}}, "timeout": -1}, "timeout"),
        ({"modules_info": {"lac": {}}, "gpu": "0,x"}, "gpu"),
        ({"modules_info": {"lac": {}}, "use_gpu": "yes"}, "use_gpu"),
        ({"modules_info": {"lac": {}}, "prot": 1}, "prot"),
        ({"modules_info": {"lac": {"batching": {"max_batch_size": 0}}}}, "max_batch_size"),
        ({"modules_info": {"lac": {}}, "worker_nice": 20}, "worker_nice must be an integer from 0 to 19"),
        ({"modules_info": {"lac": {}}, "worker_nice": -5}, "worker_nice must be an integer from 0 to 19"),
        ({"modules_info": {"lac": {}}, "worker_nice": "5"}, "worker_nice must be an integer from 0 to 19"),
        ([1, 2], "a JSON object"),
    ],
)
def test_bad_config_names_the_key(data: object, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        config_from_json(data)


def test_batching_config() -> None:
    config = config_from_json(
        {
            "modules_info": {
                "a": {"batching": {"max_batch_size": 16, "max_wait_ms": 2}},
                "b": {"batching": False},
            }
        }
    )
    assert config.modules[0].batching.max_batch_size == 16 and config.modules[0].batching.max_wait_ms == 2
    assert config.modules[1].batching.enabled is False


def test_config_file_errors_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config_file(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"modules_info": {', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"not valid JSON.*line 1"):
        load_config_file(broken)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(SEED_CONFIG), encoding="utf-8")
    assert load_config_file(good).port == 8866


def test_gpu_accepts_string_list_and_int() -> None:
    assert parse_gpu("0,1") == (0, 1)
    assert parse_gpu([2, 3]) == (2, 3)
    assert parse_gpu(1) == (1,)
    assert parse_gpu("1,1") == (1, 1)  # two workers share card 1
    for bad in ("", "-1", True, 1.5):
        with pytest.raises(ConfigError):
            parse_gpu(bad)


def from_texts(texts: list[str], name: str | None = None) -> tuple[ModuleConfig, ...]:
    return config_from_json({"modules_info": modules_info_from_texts(texts, name)}).modules


def test_cli_modules() -> None:
    modules = from_texts(["lac", "senta_bilstm==1.2.0"])
    assert [str(m.requirement) for m in modules] == ["lac", "senta_bilstm==1.2.0"]
    with pytest.raises(ConfigError, match="twice"):
        from_texts(["lac", "lac==1.0.0"])
    with pytest.raises(ConfigError, match="not a module name"):
        from_texts(["lac!"])
    [folder] = from_texts(["./exported/senta"])
    assert folder.name == "senta" and folder.directory == Path("exported/senta")
    [named] = from_texts(["/srv/my model"], name="mine")
    assert named.name == "mine"
    with pytest.raises(ConfigError, match="--name"):
        from_texts(["/srv/my model"])
    with pytest.raises(ConfigError, match="exactly one folder"):
        from_texts(["lac"], name="x")


def start_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["serving", "start", *argv])


def test_the_command_line_and_a_config_file_build_the_same_object(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps(
            {
                "modules_info": {"lac": {"init_args": {"version": "2.2.0"}}},
                "port": 9000,
                "use_multiprocess": True,
                "workers": 3,
                "timeout": 30,
            }
        ),
        encoding="utf-8",
    )
    flags = ["-m", "lac==2.2.0", "-p", "9000", "--use_multiprocess", "--workers", "3", "--timeout", "30"]
    from_flags, _ = config_from_args(start_args(*flags))
    from_file, _ = config_from_args(start_args("-c", str(path)))
    assert from_file.config_file == path.resolve()  # a reload reads the modules' settings again
    assert from_flags == dataclasses.replace(from_file, config_file=None)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-m", "lac", "--timeout", "nan"], "--timeout must be a positive number of seconds, not NaN"),
        (["-m", "lac", "--timeout", "inf"], "--timeout must be a positive number of seconds, not Infinity"),
        (["-m", "lac", "--workers", "1000000000"], "--workers must be a positive integer up to 128"),
        (["-m", "lac", "-p", "0"], "--port must be an integer between 1 and 65535, not 0"),
        (["-m", "lac", "--queue_size", "0"], "--queue_size must be a positive integer"),
    ],
)
def test_bad_flags_are_one_line_naming_the_flag(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        config_from_args(start_args(*argv))
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"modules_info": {"lac": {"init_args": "x"}}}', "modules_info.lac.init_args must be an object"),
        ('{"modules_info": {"lac": {"init_args": [1]}}}', "modules_info.lac.init_args must be an object"),
        ('{"modules_info": {"lac": {}}, "timeout": NaN}', "NaN is not a number JSON allows"),
        ('{"modules_info": {"lac": {}}, "timeout": Infinity}', "Infinity is not a number JSON allows"),
        ('{"modules_info": {"lac": {}}, "max_body_mb": -Infinity}', "-Infinity is not a number JSON allows"),
        ('{"modules_info": {"lac": {}}, "max_body_mb": 1e400}', "max_body_mb must be a positive number"),
        ('{"modules_info": {"lac": {}}, "port": ' + "9" * 5000 + "}", "holds a value that cannot be read"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (
            '{"modules_info": {"lac": {}}, "workers": 1000000000}',
            "workers must be a positive integer up to 128",
        ),
        ('{"modules_info": {"lac": {"batching": {"max_wait_ms": 1e999}}}}', "max_wait_ms must be a number"),
    ],
)
def test_bad_config_files_are_one_clear_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config_file(path)
    assert message in str(raised.value) and "\n" not in str(raised.value)


def test_a_config_that_is_not_utf8_says_so(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_bytes('{"modules_info": {"lac": {"init_args": {"user_dict": "词典"}}}}'.encode("gbk"))
    with pytest.raises(ConfigError, match=r"is not UTF-8 text \(byte \d+\); save it as UTF-8"):
        load_config_file(path)


def test_a_relative_directory_starts_from_the_config_files_folder(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "config.json"
    path.parent.mkdir()
    path.write_text(
        '{"modules_info": {"mine": {"init_args": {"directory": "models/mine"}}}}', encoding="utf-8"
    )
    assert load_config_file(path).modules[0].directory == tmp_path / "conf" / "models" / "mine"


def test_relative_init_args_paths_beside_the_config_file_start_from_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """So ``hub serving start -c examples/config.json`` works from any folder."""
    (tmp_path / "conf" / "dicts").mkdir(parents=True)
    (tmp_path / "conf" / "user_dict.txt").write_text("春天/SEASON\n", encoding="utf-8")
    (tmp_path / "conf" / "dicts" / "extra.txt").write_text("花 开\n", encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "here.txt").write_text("", encoding="utf-8")
    init_args = {
        "user_dict": "user_dict.txt",
        "extra": "./dicts/extra.txt",
        "here": "here.txt",  # not beside the config: as written (the current folder's, as in PaddleHub)
        "out": "vis/",  # not there yet: as written
        "absolute": str(tmp_path / "elsewhere" / "here.txt"),
        "lang": "ch",
        "threads": 2,
    }
    path = tmp_path / "conf" / "config.json"
    path.write_text(json.dumps({"modules_info": {"lac": {"init_args": init_args}}}), encoding="utf-8")
    monkeypatch.chdir(tmp_path / "elsewhere")
    resolved = load_config_file(Path("../conf/config.json")).modules[0].init_args
    assert resolved == {
        **init_args,
        "user_dict": str(tmp_path / "conf" / "user_dict.txt"),
        "extra": str(tmp_path / "conf" / "dicts" / "extra.txt"),
    }
    from_data = config_from_json(json.loads(path.read_text()))  # no file, so no folder to start from
    assert from_data.modules[0].init_args == init_args


@pytest.mark.parametrize(
    ("argv", "warned"),
    [
        (["-m", "lac", "--workers", "2"], True),
        (["-m", "lac", "-w", "3"], True),
        (["-m", "lac", "--workers", "2", "--use_multiprocess"], False),
        (["-m", "lac"], False),
        (["-m", "lac", "--use_multiprocess"], False),
    ],
)
def test_workers_without_multiprocess_is_one_worker_and_a_warning(argv: list[str], warned: bool) -> None:
    """PaddleHub's rule, kept: ``--workers`` applies with ``--use_multiprocess`` only; never silently."""
    config, warnings = config_from_args(start_args(*argv))
    workers = [w for w in warnings if "--workers" in w]
    assert bool(workers) == warned
    if warned:
        assert config.worker_count == 1 and config.mode == "single process"
        assert workers == [
            f"--workers {config.workers} applies only with --use_multiprocess (as in PaddleHub): serving one "
            f"worker process per module; add --use_multiprocess to start {config.workers}"
        ]


def test_a_config_with_workers_but_not_multiprocess_warns_too(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    entry = {"modules_info": {"lac": {}, "senta_bilstm": {"workers": 2}}, "workers": 2}
    path.write_text(json.dumps(entry), encoding="utf-8")
    config, warnings = config_from_args(start_args("-c", str(path)))
    assert [w for w in warnings if '"workers" 2 applies only with "use_multiprocess": true' in w]
    assert [config.workers_of(module) for module in config.modules] == [1, 2]  # a module's own count applies
    path.write_text(json.dumps({**entry, "use_multiprocess": True}), encoding="utf-8")
    assert not config_from_args(start_args("-c", str(path)))[1]
