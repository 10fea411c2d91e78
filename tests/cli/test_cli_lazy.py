"""The root command loads only the command group it runs; ``--help`` still shows them all.

The laziness is checked on the real entry point in a subprocess (``python -m agenticmail``,
run through ``runpy``, writing ``sys.modules`` to a file when the process exits: every module
the run imported, nothing patched). The table of mounts in
``agenticmail.cli.main`` is the one list of command groups: each entry must resolve to the
commands it names, every Typer app in ``agenticmail/cli`` must be reachable from it, and the
lazy root's help must equal the help of a root built eagerly with ``add_typer``.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import agenticmail.cli
from agenticmail.cli.main import MOUNTS, AgenticMailGroup, app, main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "eml"
GROUP_MODULES = {f"agenticmail.cli.{mount.module}" for mount in MOUNTS}
# what no cheap command needs: container/Cloudflare SDKs, numpy, the search service, the store
HEAVY = {"docker", "cloudflare", "numpy", "sqlite_utils", "agenticmail.services.search",
         "agenticmail.services.audit", "agenticmail.store.db"}


# ``python -m agenticmail ARGS`` that writes the modules it imported to ARGV[1] at exit
PROBE = """
import atexit, json, runpy, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv[0] = "agenticmail"
runpy.run_module("agenticmail", run_name="__main__", alter_sys=True)
"""


def imported_modules(tmp_path: Path, *args: str
                     ) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """Run ``python -m agenticmail ARGS``; every module it imported, and the run."""
    out = tmp_path / "modules.json"
    run = subprocess.run([sys.executable, "-c", PROBE, str(out), *args],
                         capture_output=True, text=True, timeout=120)
    modules = set(json.loads(out.read_text()))
    assert "agenticmail.cli.main" in modules, run.stderr[-2000:]
    return modules, run


def test_version_imports_no_command_group(tmp_path: Path) -> None:
    modules, run = imported_modules(tmp_path, "--version")
    assert run.returncode == 0 and run.stdout.startswith("agenticmail ")
    assert not modules & GROUP_MODULES
    assert not modules & (HEAVY | {"agenticmail.client", "httpx", "pydantic"})


def test_filter_score_imports_only_the_filter_group(tmp_path: Path) -> None:
    eml = FIXTURES / "inbound" / "rule.PI_JAILBREAK.hit.eml"
    modules, run = imported_modules(tmp_path, "filter", "score", str(eml))
    assert run.returncode == 0, run.stderr[-2000:]
    assert '"score"' in run.stdout
    assert modules & GROUP_MODULES == {"agenticmail.cli.filter"}
    # offline: no HTTP client; scoring needs no DLP rules (only ``filter scan`` does)
    assert not modules & (HEAVY | {"agenticmail.client", "agenticmail.security.outbound"})


@pytest.mark.parametrize(("args", "groups"), [
    # mail.py reuses helpers of the manage, outbox and pending groups
    (("inbox", "-a", "x"), ("mail", "manage", "outbox", "pending")),
    (("audit", "list"), ("audit",)),
    (("agents", "list"), ("agents", "keys")),
], ids=" ".join)  # tuples: the same test ids in every process (pytest-xdist compares them)
def test_a_daemon_command_imports_its_group_only(tmp_path: Path, closed_home: Path,
                                                 args: tuple[str, ...], groups: tuple[str, ...]
                                                 ) -> None:
    modules, run = imported_modules(tmp_path, "--home", str(closed_home), *args)
    assert run.returncode == 2 and "error:" in run.stderr  # the daemon is not running
    assert modules & (GROUP_MODULES | {"agenticmail.cli.keys"}) == {
        f"agenticmail.cli.{group}" for group in groups}
    assert not modules & HEAVY


def test_every_mount_serves_the_commands_it_names() -> None:
    for mount in MOUNTS:
        assert list(mount.load(app)) == list(mount.commands), mount
    names = [name for mount in MOUNTS for name in mount.commands]
    assert len(names) == len(set(names))


def _module_apps() -> Iterator[tuple[str, typer.Typer]]:
    for info in pkgutil.iter_modules(agenticmail.cli.__path__):
        module = importlib.import_module(f"agenticmail.cli.{info.name}")
        for attribute, value in vars(module).items():
            if isinstance(value, typer.Typer) and value is not app:
                yield f"{info.name}.{attribute}", value


def test_every_typer_app_in_the_cli_is_mounted() -> None:
    """A new command group module that is not in MOUNTS would be unreachable."""
    reachable: list[typer.Typer] = []
    todo = [mount.typer_app() for mount in MOUNTS]
    while todo:
        sub_app = todo.pop()
        reachable.append(sub_app)
        todo.extend(g.typer_instance for g in sub_app.registered_groups if g.typer_instance)
    unmounted = [name for name, sub_app in _module_apps()
                 if not any(sub_app is seen for seen in reachable)]
    assert unmounted == [], "add them to MOUNTS in agenticmail/cli/main.py"


def eager_root() -> typer.Typer:
    """The root as built before lazy loading: the same callback, every mount ``add_typer``ed."""
    info = app.info
    root = typer.Typer(cls=AgenticMailGroup, name=info.name, help=info.help,
                       no_args_is_help=info.no_args_is_help, add_completion=False,
                       context_settings=info.context_settings)
    root.callback()(main)
    for mount in MOUNTS:
        mount.add_to(root)
    return root


@pytest.mark.parametrize("columns", ["80", "200"])
def test_help_is_that_of_the_eagerly_built_root(columns: str) -> None:
    eager = eager_root()
    runner = CliRunner()
    commands = [name for mount in MOUNTS for name in mount.commands]
    for argv in [[], *([name] for name in commands)]:
        lazy_help = runner.invoke(app, [*argv, "--help"], env={"COLUMNS": columns})
        eager_help = runner.invoke(eager, [*argv, "--help"], env={"COLUMNS": columns})
        assert lazy_help.exit_code == eager_help.exit_code == 0, lazy_help.output
        assert lazy_help.output == eager_help.output, argv
    root_help = runner.invoke(app, ["--help"], env={"COLUMNS": columns}).output
    assert all(f" {name} " in root_help for name in commands)
    for panel in ("Setup and daemon", "Mail", "Organise", "Operations"):
        assert panel in root_help


def test_an_unknown_command_is_suggested_without_loading_anything(tmp_path: Path) -> None:
    modules, run = imported_modules(tmp_path, "sned")
    assert run.returncode == 2 and "Did you mean 'send'?" in run.stderr
    assert not modules & GROUP_MODULES
