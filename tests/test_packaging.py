"""Install and first-run hygiene (issue 17 #11, #12): no setuptools license warning, a Typer
that prints flags without ``<bool>``, and an installer that does not start the daemon twice."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pyproject() -> dict:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


def test_license_is_an_spdx_string_with_a_setuptools_that_reads_it() -> None:
    """A ``{text = ...}`` table makes setuptools >= 77 print a long deprecation warning on
    every build; an SPDX string needs setuptools >= 77 (PEP 639)."""
    data = pyproject()
    assert data["project"]["license"] == "MIT"
    [setuptools] = [r for r in data["build-system"]["requires"] if r.startswith("setuptools")]
    floor = re.search(r">=\s*(\d+)", setuptools)
    assert floor and int(floor.group(1)) >= 77, setuptools


def test_typer_is_pinned_below_0_29() -> None:
    """Typer 0.29 prints ``<bool>`` after every flag; the range stops below it."""
    [typer] = [d for d in pyproject()["project"]["dependencies"] if d.startswith("typer")]
    assert "<0.29" in typer.replace(" ", "")


def test_installer_starts_the_daemon_once() -> None:
    """``setup --yes`` starts the daemon; a ``start --detach`` after it only said "already
    running". The installer also tells how to call the command that is not on PATH."""
    script = (ROOT / "setup" / "install.sh").read_text()
    commands = [line.strip() for line in script.splitlines()
                if line.strip() and not line.strip().startswith(("#", "echo", "step"))]
    assert any(c.startswith(".venv/bin/agenticmail setup --yes") for c in commands)
    assert not any("agenticmail start" in c for c in commands)
    assert "export PATH=" in script
