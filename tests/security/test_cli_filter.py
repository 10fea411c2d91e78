"""``agenticmail filter`` sub-app, driven through Typer's CliRunner."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agenticmail.cli.eml_files import run_each
from agenticmail.cli.filter import app
from agenticmail.services import filters

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "eml" / "inbound"
runner = CliRunner()


def test_score_directory_recursive_one_json_line_per_message(tmp_path: Path) -> None:
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    for i, name in enumerate(
        ["rule.PI_IGNORE_INSTRUCTIONS.hit.eml", "rule.AUTH_NO_RESULTS.miss.eml"]
    ):
        shutil.copy(FIXTURES / name, (tmp_path if i else nested) / name)
    (tmp_path / "notes.txt").write_text("not mail")
    result = runner.invoke(app, ["score", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2
    by_name = {Path(str(d["path"])).name: d for d in lines}
    assert by_name["rule.PI_IGNORE_INSTRUCTIONS.hit.eml"]["score"] >= 20
    assert {"path", "score", "spam", "warning", "category", "rules", "internal", "auth"} <= set(
        lines[0]
    )


def test_sanitize_file() -> None:
    path = FIXTURES / "sanitize.display_none.hit.eml"
    result = runner.invoke(app, ["sanitize", str(path)])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["path"] == str(path) and data["changed"] and "SECRETPAYLOAD" not in data["text"]


def test_unreadable_path_is_one_error_line_and_exit_1(tmp_path: Path) -> None:
    good = FIXTURES / "rule.AUTH_NO_RESULTS.miss.eml"
    result = runner.invoke(app, ["score", str(tmp_path / "missing.eml"), str(good)])
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 1  # the good file was still scored
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error:")
    assert "Traceback" not in result.output


def test_many_files_in_one_process(tmp_path: Path) -> None:
    src = (FIXTURES / "rule.CS_SPAM_WORDS.hit.eml").read_bytes()
    for i in range(300):
        (tmp_path / f"m{i:04d}.eml").write_bytes(src)
    result = runner.invoke(app, ["score", str(tmp_path)])
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 300


def test_scan_exit_code_says_blocked(tmp_path: Path) -> None:
    """0 when every message is clean, 3 (documented) when one would be held."""
    outbound = FIXTURES.parent / "outbound"
    clean = runner.invoke(app, ["scan", str(outbound / "clean.ordinary_prose.eml")])
    assert clean.exit_code == 0, clean.output
    assert json.loads(clean.stdout)["blocked"] is False
    blocked = runner.invoke(app, ["scan", str(outbound / "block.seed_phrase.eml")])
    assert blocked.exit_code == 3, blocked.output
    assert json.loads(blocked.stdout)["blocked"] is True


def test_empty_directory_says_so(tmp_path: Path) -> None:
    """``filter score`` on a folder with no .eml file does not print nothing and exit 0."""
    (tmp_path / "notes.txt").write_text("not mail")
    for command in ("score", "sanitize", "scan"):
        result = runner.invoke(app, [command, str(tmp_path)])
        assert result.exit_code == 1, result.output
        assert result.stdout == ""
        assert result.stderr.strip() == f"error: no .eml messages in {tmp_path}"


def test_worker_processes_print_the_same_lines_in_the_same_order(tmp_path: Path) -> None:
    """``-j 2`` hands the messages after the first to two forked workers: the output is the
    same bytes as one process gives (order included), a path that fails is reported in its
    place, and the exit code still says so."""
    names = sorted(p.name for p in FIXTURES.glob("*.eml"))[:40]
    for i, name in enumerate(names):
        shutil.copy(FIXTURES / name, tmp_path / f"{i:03d}.{name}")
    (tmp_path / "020.broken.eml").symlink_to(tmp_path / "gone")  # listed, then unreadable
    for command in ("score", "sanitize"):
        one = runner.invoke(app, [command, "-j", "1", str(tmp_path)])
        two = runner.invoke(app, [command, "-j", "2", str(tmp_path)])
        assert one.exit_code == two.exit_code == 1, two.output
        assert len(one.stdout.splitlines()) == len(names)
        assert two.stdout == one.stdout and two.stderr == one.stderr
        assert two.stderr.startswith("error: ") and "020.broken.eml" in two.stderr


def test_a_reader_that_stops_early_ends_the_workers(tmp_path: Path) -> None:
    """``filter score DIR | head -1``: the run stops quietly once the reader has gone, workers
    included (no traceback, no process left behind)."""
    src = (FIXTURES / "rule.CS_SPAM_WORDS.hit.eml").read_bytes()
    for i in range(400):
        (tmp_path / f"m{i:04d}.eml").write_bytes(src)
    proc = subprocess.Popen(
        [sys.executable, "-m", "agenticmail", "filter", "score", "-j", "2", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert json.loads(proc.stdout.readline())["path"].endswith("m0000.eml")
    proc.stdout.close()
    assert proc.wait(timeout=60) in (0, 1, -13)
    assert b"Traceback" not in proc.stderr.read()


def test_spawned_workers_give_the_same_lines(tmp_path: Path) -> None:
    """Where forking is unsafe (macOS) the workers are spawned, fresh: the same output."""
    names = sorted(p.name for p in FIXTURES.glob("rule.PI_*.eml"))[:12]
    for copy in range(3):  # 36 messages: more than one batch per worker
        for name in names:
            shutil.copy(FIXTURES / name, tmp_path / f"{copy}.{name}")
    one, two = io.StringIO(), io.StringIO()
    assert run_each([tmp_path], filters.sanitized, jobs=1, out=one) == 0
    assert run_each([tmp_path], filters.sanitized, jobs=2, start_method="spawn", out=two) == 0
    assert two.getvalue() == one.getvalue() and len(one.getvalue().splitlines()) == 3 * len(names)


def _pid(raw: bytes) -> dict[str, int]:
    """A handler that says which process handled the message."""
    return {"pid": os.getpid(), "size": len(raw)}


@pytest.mark.parametrize(("messages", "forked"), [(3, False), (40, True)])
def test_workers_only_for_more_than_a_batch(tmp_path: Path, messages: int, forked: bool) -> None:
    """Fewer messages than one batch per worker stay in the CLI's own process (three files
    start no worker); more are shared with workers."""
    src = (FIXTURES / "rule.AUTH_NO_RESULTS.miss.eml").read_bytes()
    for i in range(messages):
        (tmp_path / f"m{i:03d}.eml").write_bytes(src)
    out = io.StringIO()
    assert run_each([tmp_path], _pid, jobs=8, out=out) == 0
    pids = {json.loads(line)["pid"] for line in out.getvalue().splitlines()}
    assert len(out.getvalue().splitlines()) == messages
    assert (pids != {os.getpid()}) is forked
