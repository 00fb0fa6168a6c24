"""The `hkarchive` command's entry point: light to import, the CLI when run."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from hkarchive import command

REPO = Path(__file__).resolve().parent.parent


def test_the_command_script_calls_the_light_entry_point() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"]["hkarchive"] == "hkarchive.command:main"


def test_importing_the_entry_point_loads_neither_the_cli_nor_scrapy() -> None:
    # What an extraction worker spawned by a crawl started from the script imports first.
    probe = (
        "import sys, hkarchive.command\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('scrapy', 'twisted', 'click', 'crawler', 'newsarchive', 'sqlite_utils') "
        "or m.startswith('hkarchive.cli')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert done.stdout.strip() == "[]"


def test_the_entry_point_runs_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert command.main(["--help"]) == 0
    assert "crawl" in capsys.readouterr().out
