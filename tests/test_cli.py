"""The command line: help everywhere, and bad input answered in one line with nothing written."""

from __future__ import annotations

import socket
from pathlib import Path

import click
import pytest

from hkarchive.cli import cli, main, mirror_days
from tests.conftest import MIRROR, run_cli


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found.extend(_commands(command, (*prefix, name)))
    return found


COMMANDS = _commands(cli)
# Groups (mirror, source) only name their commands; the commands take the options.
GROUPS = {c for c in COMMANDS if isinstance(cli.commands[c[0]], click.Group) and len(c) == 1}


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_command_has_help_with_an_example(
    command: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "Usage: " in out
    if command not in GROUPS:
        assert "Example:" in out


@pytest.mark.parametrize("command", [c for c in COMMANDS if c not in GROUPS])
def test_every_command_takes_db(
    command: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    main([*command, "--help"])
    out = capsys.readouterr().out
    assert "--db" in out
    assert "HKARCHIVE_DB" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert "hkarchive, version" in capsys.readouterr().out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


BAD_ARGS = {
    "unparseable date": (["crawl", "govhk", "--since", "2022-13-45"], "invalid date"),
    "nonsense date": (["crawl", "govhk", "--until", "someday soon"], "invalid date"),
    "since after until": (
        ["crawl", "govhk", "--since", "2022-05-26", "--until", "2022-05-25"],
        "is after",
    ),
    "unknown source": (["crawl", "nosuchsite"], "unknown source 'nosuchsite'"),
    "bad language": (["crawl", "govhk", "--lang", "fr"], "--lang"),
    "bad mirror URL": (["crawl", "govhk", "--mirror", "ftp://x"], "invalid mirror URL"),
    "unknown option": (["crawl", "--nope"], "No such option"),
    "unknown command": (["frobnicate"], "No such command"),
}


@pytest.mark.parametrize(("args", "message"), BAD_ARGS.values(), ids=BAD_ARGS.keys())
def test_bad_arguments_exit_2_with_one_line_and_write_nothing(
    args: list[str], message: str, tmp_path: Path
) -> None:
    result = run_cli(*args, cwd=tmp_path)
    assert result.code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hkarchive: error:")
    assert message in lines[0]
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == [], "nothing may be written"


@pytest.mark.parametrize("kind", ["under a file", "a directory"])
def test_unwritable_archive_path_exits_2_and_writes_nothing(kind: str, tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    if kind == "under a file":
        blocker.write_text("not a folder")
        db = blocker / "archive.db"
    else:
        blocker.mkdir()
        db = blocker
    before = sorted(p.name for p in tmp_path.rglob("*"))
    result = run_cli("crawl", "govhk", "--db", str(db), cwd=tmp_path)
    assert result.code == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "archive" in result.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_archive_path_from_environment_is_checked(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    result = run_cli("crawl", "govhk", env={"HKARCHIVE_DB": str(tmp_path / "file" / "a.db")})
    assert result.code == 2
    assert str(tmp_path / "file" / "a.db") in result.stderr


def test_file_that_is_not_a_database_is_refused_untouched(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    db.write_bytes(b"this is not sqlite" * 100)
    result = run_cli("crawl", "govhk", "--db", str(db), cwd=tmp_path)
    # SQLITE_NOTADB: the file, not the argument, is at fault (a runtime error).
    assert result.code == 1
    assert "not a database" in result.stderr
    assert "PRAGMA integrity_check" in result.stderr
    assert db.read_bytes() == b"this is not sqlite" * 100


def test_mirror_refusing_connections_is_a_runtime_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    result = run_cli("crawl", "govhk", "--mirror", url, "--db", str(tmp_path / "a.db"))
    assert result.code == 1, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "cannot connect to the mirror" in result.stderr


def test_mirror_serve_rejects_a_missing_directory(tmp_path: Path) -> None:
    result = run_cli("mirror", "serve", str(tmp_path / "missing"))
    assert result.code == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_demo_mirror_days_come_from_its_index_pages() -> None:
    days = mirror_days(MIRROR)
    assert "2022-05-25" in days
    assert days == sorted(set(days))
