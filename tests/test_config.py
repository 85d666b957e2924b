from __future__ import annotations

import json
from pathlib import Path

import pytest
from packaging.version import Version

from hubserving.config import config_from_json, load_config_file, modules_from_requirements, parse_gpu
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
    for bad in ("", "1,1", "-1", True, 1.5):
        with pytest.raises(ConfigError):
            parse_gpu(bad)


def test_cli_modules() -> None:
    modules = modules_from_requirements(["lac", "senta_bilstm==1.2.0"])
    assert [str(m.requirement) for m in modules] == ["lac", "senta_bilstm==1.2.0"]
    with pytest.raises(ConfigError, match="twice"):
        modules_from_requirements(["lac", "lac==1.0.0"])
    with pytest.raises(ConfigError, match="not a module name"):
        modules_from_requirements(["lac!"])
    [folder] = modules_from_requirements(["./exported/senta"])
    assert folder.name == "senta" and folder.directory == Path("exported/senta")
    [named] = modules_from_requirements(["/srv/my model"], name="mine")
    assert named.name == "mine"
    with pytest.raises(ConfigError, match="--name"):
        modules_from_requirements(["/srv/my model"])
    with pytest.raises(ConfigError, match="exactly one folder"):
        modules_from_requirements(["lac"], name="x")
