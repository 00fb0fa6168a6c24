"""A full disk and a damaged archive: the first such error stops a command, with one line.

A full disk is simulated: SQLITE_FULL from an archive that may grow by only a few pages
(tests/diskfull.py), ENOSPC from a patched write; a real small file system (tmpfs) is tried
too where this user may mount one. A damaged archive is a real one with some of its b-tree
pages overwritten by random bytes, as a bad disk or a stray write would leave it.
"""

from __future__ import annotations

import random
import re
import sqlite3
from pathlib import Path

import pytest

from crawler.cli import main
from pipelines.archive import open_archive
from tests.test_search import ARTICLES, store


def damage(db: Path, where: str) -> None:
    """Overwrite the root page of each b-tree named by the sqlite_master condition where
    (never page 1, the schema) with random bytes; the page type byte is made invalid."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = [r[0] for r in conn.execute(
            f"SELECT rootpage FROM sqlite_master WHERE rootpage > 1 AND ({where})")]  # fmt: skip
    finally:
        conn.close()
    assert pages
    noise = random.Random(14)
    with db.open("r+b") as file:
        for number in pages:
            file.seek((number - 1) * size)
            file.write(b"\0" + noise.randbytes(size - 1))


@pytest.fixture
def damaged(tmp_path: Path) -> Path:
    """A small archive (four articles) with every b-tree but the schema damaged."""
    path = tmp_path / "archive.db"
    db = open_archive(path)
    store(db, *ARTICLES)
    db.close()
    damage(path, "1")
    return path


COMMANDS = {
    "runs": ["runs"],
    "check": ["check"],
    "search": ["search", "launch"],
    "export": ["export", "--format", "jsonl"],
    "history": ["history", "govhk:P2022052500588"],
    "story": ["story", "govhk:P2022052500588"],
    "story --relink": ["story", "--relink"],
    "pairs": ["pairs"],
    "pairs --relink": ["pairs", "--relink"],
    "reparse": ["reparse"],
}


def damaged_line(db: Path, reason: str = ".+") -> str:
    """A pattern of the one line that names a damaged archive: SQLite's reason, then the check."""
    return (
        rf"hkarchive: error: the archive {re.escape(str(db))} is damaged \({reason}\): nothing "
        rf"more is written to it; check it with: sqlite3 {re.escape(str(db))} "
        r"'PRAGMA integrity_check'"
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_stops_on_a_damaged_archive_with_one_line_naming_the_check(
    command: str, damaged: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = damaged.read_bytes()
    capsys.readouterr()
    code = main([*COMMANDS[command], "--db", str(damaged)])
    err = capsys.readouterr().err
    assert code == 1
    # What SQLite said where it met the damage; check says it was quick_check.
    said = "quick_check: .+" if command == "check" else ".+"
    assert re.fullmatch(damaged_line(damaged, said), err.rstrip("\n")), err
    assert damaged.read_bytes() == before, "nothing is written into a damaged archive"
    wal = damaged.with_name(damaged.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0


def test_check_finds_damage_no_other_check_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "archive.db"
    db = open_archive(path)
    store(db, *ARTICLES)
    db.close()
    # Damage only the full-text index, which no other check reads.
    damage(path, "name = 'articles_search_idx'")
    capsys.readouterr()
    code = main(["check", "--db", str(path)])
    [line] = capsys.readouterr().err.splitlines()
    assert code == 1
    assert line.startswith(f"hkarchive: error: the archive {path} is damaged (quick_check: ")
    assert line.endswith(f"check it with: sqlite3 {path} 'PRAGMA integrity_check'")


def test_a_reparse_that_meets_damage_leaves_its_run_as_it_started(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "archive.db"
    db = open_archive(path)
    store(db, *ARTICLES)
    db.close()
    damage(path, "tbl_name = 'raw_captures'")  # read once the reparse's run is recorded
    capsys.readouterr()
    code = main(["reparse", "--db", str(path)])
    err = capsys.readouterr().err
    assert code == 1
    assert re.fullmatch(damaged_line(path), err.rstrip("\n")), err
    conn = sqlite3.connect(path)
    try:
        runs = conn.execute("SELECT spider, status, finished_at FROM crawl_runs").fetchall()
    finally:
        conn.close()
    assert runs == [("reparse", "running", None)], "its end is not written into the damaged file"
