"""``shopmode generate`` through the real CLI: files on success, nothing half-written on error."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from service.cli import app

SMALL = ["--users", "120", "--products", "60", "--days", "3"]


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["generate", *args])
    return result.exit_code, result.output


def test_generates_a_world_that_reports_what_it_wrote(tmp_path: Path) -> None:
    out = tmp_path / "world"
    code, output = _run("--out", str(out), *SMALL, "--seed", "5", "--start", "2026-11-02")
    assert code == 0, output
    summary = json.loads((out / "world.json").read_text())
    events = pd.read_parquet(out / "events.parquet")
    assert summary["config"] == {
        "users": 120,
        "products": 60,
        "days": 3,
        "seed": 5,
        "start": "2026-11-02",
    }
    assert f"{len(events):,} events" in output
    assert pd.Timestamp(events["ts"].min(), unit="s").date().isoformat() >= "2026-11-02"
    assert pd.Timestamp(events["ts"].max(), unit="s").date().isoformat() <= "2026-11-04"
    assert {p.name for p in out.iterdir()} == {
        "catalog.parquet",
        "users.parquet",
        "events.parquet",
        "truth",
        "world.json",
    }


def test_regenerating_replaces_an_old_world(tmp_path: Path) -> None:
    out = tmp_path / "world"
    assert _run("--out", str(out), *SMALL, "--seed", "1")[0] == 0
    assert _run("--out", str(out), *SMALL, "--seed", "2")[0] == 0
    assert json.loads((out / "world.json").read_text())["config"]["seed"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["world"]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--users", "0"], "--users"),
        (["--users", "-5"], "--users"),
        (["--products", "0"], "--products"),
        (["--days", "-1"], "--days"),
        (["--days", "0"], "--days"),
        (["--seed", "-3"], "--seed"),
        (["--start", "2026-13-01"], "--start"),
        (["--start", "yesterday"], "--start"),
        (["--users", "many"], "--users"),
    ],
)
def test_bad_arguments_exit_nonzero_naming_the_argument(
    tmp_path: Path, args: list[str], named: str
) -> None:
    out = tmp_path / "world"
    code, output = _run("--out", str(out), *args)
    assert code != 0
    assert named in output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_output_directory_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    code, output = _run("--out", str(blocker / "world"), *SMALL)
    assert code != 0
    assert "--out" in output
    code, output = _run("--out", str(blocker), *SMALL)
    assert code != 0
    assert "--out" in output
    assert blocker.read_text() == "not a directory"


def test_a_directory_that_is_not_a_world_is_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "photos"
    out.mkdir()
    (out / "holiday.jpg").write_bytes(b"\xff\xd8")
    code, output = _run("--out", str(out), *SMALL)
    assert code != 0
    assert "--out" in output
    assert "not empty" in output
    assert [p.name for p in out.iterdir()] == ["holiday.jpg"]


def _limit_file_size() -> None:
    # Files may not grow past 20 kB: the catalog fits, the event log does not.
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


def test_a_failure_while_writing_leaves_the_previous_world_intact(tmp_path: Path) -> None:
    out = tmp_path / "world"
    assert _run("--out", str(out), *SMALL, "--seed", "1")[0] == 0
    before = {p.name: p.read_bytes() for p in out.glob("*.*")}
    shopmode = [sys.executable, "-c", "from service.cli import main; main()"]
    command = [*shopmode, "generate", "--out", str(out)]
    failed = subprocess.run(
        [*command, "--users", "3000", "--products", "100", "--days", "5", "--seed", "9"],
        capture_output=True,
        text=True,
        preexec_fn=_limit_file_size,
        timeout=120,
        check=False,
    )
    assert failed.returncode != 0
    assert "--out" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert {p.name: p.read_bytes() for p in out.glob("*.*")} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["world"]
