"""Pid records: read in one place, and trusted only for a live process that runs ``hub serving``."""

from __future__ import annotations

import sys
from pathlib import Path

import psutil

from hubserving.paths import HubHome
from hubserving.pidrecord import PidRecord, all_records, is_hubserving_server, runs_hubserving, write_record


def test_all_records_reads_every_record_by_port_and_damaged_ones_as_stale(tmp_path: Path) -> None:
    home = HubHome(tmp_path)
    for port in (9002, 8866):
        write_record(home, PidRecord(123, ["lac==2.2.0"], 1.0, port, "0.0.0.0", 2.0))
    home.pid_record(9100).write_text("{not json", encoding="utf-8")
    (home.conf_dir / "serving_other.json").write_text("{}", encoding="utf-8")
    records = all_records(home)
    assert [(r.port, r.pid) for r in records] == [(8866, 123), (9002, 123), (9100, 0)]
    assert records[0].module == ["lac==2.2.0"]
    assert all_records(HubHome(tmp_path / "none")) == []


def test_runs_hubserving_knows_its_own_command_lines() -> None:
    python = sys.executable
    for command in (
        [python, "-m", "hubserving", "serving", "start", "-m", "lac"],
        [python, "/venv/bin/hub", "serving", "start", "-c", "config.json"],
        ["/venv/bin/hub", "serving", "start"],
        [python, "-X", "dev", "-m", "hubserving.cli.main", "serving", "start"],
    ):
        assert runs_hubserving(command), command
    for command in (
        ["sleep", "60"],
        [python, "-m", "http.server", "8866"],
        [python, "-m", "hubserving", "list"],
        ["/usr/bin/nginx", "-g", "daemon off;"],
        [python, "serving.py", "hubserving"],
        [],
    ):
        assert not runs_hubserving(command), command


def test_this_test_process_is_no_hubserving_server() -> None:
    assert not is_hubserving_server(psutil.Process())
