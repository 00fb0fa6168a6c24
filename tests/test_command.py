"""The `hkarchive` command's entry point: light to import, the CLI when run."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from hkarchive import command

REPO = Path(__file__).resolve().parent.parent


def in_fresh_python(code: str, *argv: str) -> str:
    """What code prints when run by a new interpreter in the checkout (nothing imported yet)."""
    done = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True, cwd=REPO
    )
    return done.stdout


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
    assert in_fresh_python(probe).strip() == "[]"


def test_the_entry_point_runs_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert command.main(["--help"]) == 0
    assert "crawl" in capsys.readouterr().out


# What a command that only reads the archive must not load: the crawl's stack (about 0.3 s of
# every command's start when the group imported every command's module).
CRAWL_STACK = ("scrapy", "twisted", "parsel", "lxml", "warcio", "w3lib", "trafilatura")

READING_COMMANDS = {
    "search": ["search", "innohk"],
    "check": ["check"],
    "runs": ["runs"],
    "export": ["export", "--format", "jsonl"],
    "query": ["query", "SELECT count(*) FROM articles"],
    "source list": ["source", "list"],
}


@pytest.mark.parametrize("argv", READING_COMMANDS.values(), ids=READING_COMMANDS.keys())
def test_a_command_that_reads_the_archive_loads_no_crawl_stack(
    argv: list[str], tmp_path: Path
) -> None:
    from newsarchive.archive import open_archive

    db = tmp_path / "archive.db"
    open_archive(db).close()
    probe = (
        "import contextlib, io, json, sys\n"
        "from hkarchive.command import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    status = main(json.loads(sys.argv[1]))\n"
        f"loaded = sorted({{m.split('.')[0] for m in sys.modules}} & set({CRAWL_STACK!r}))\n"
        "print(json.dumps([status, loaded]))"
    )
    status, loaded = json.loads(in_fresh_python(probe, json.dumps([*argv, "--db", str(db)])))
    # check exits 1 on an archive no crawl has run on, having run every check.
    assert status == (1 if argv == ["check"] else 0)
    assert loaded == []


def test_a_command_is_looked_up_without_importing_the_others() -> None:
    probe = (
        "import json, sys\n"
        "from hkarchive.cli import cli\n"
        "names = list(cli.commands)\n"
        "found = ['search' in cli.commands, 'nothing' in cli.commands]\n"
        "before = set(sys.modules)\n"
        "name = cli.commands['search'].name\n"
        "imported = sorted(m for m in set(sys.modules) - before if m.startswith('hkarchive.'))\n"
        "print(json.dumps([names, found, name, imported]))"
    )
    names, found, name, imported = json.loads(in_fresh_python(probe))
    assert len(names) == 15 and {"crawl", "search", "source", "mirror"} <= set(names)
    assert found == [True, False]
    assert (name, imported) == ("search", ["hkarchive.cli.search"])
