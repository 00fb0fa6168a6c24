"""`hkarchive history`: each version of an item with when it was first and last seen."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from hkarchive.cli import main
from newsarchive.archive import open_archive
from newsarchive.articles import touch_article, upsert_article
from newsarchive.schema import MIGRATIONS, migrate
from newsarchive.versions import article_versions
from tests.conftest import archive_at_schema
from tests.test_archive import make_article

ITEM = make_article().id
A, B, C = "Body A, as first published.", "Body B, corrected.", "Body C, corrected again."
T = [f"2026-01-0{day}T0{day}:00:00+08:00" for day in range(1, 9)]


def store(db: sqlite_utils.Database, body: str, at: str, run_id: int) -> str:
    return upsert_article(db, make_article(body_text=body), seen_at=at, run_id=run_id)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """An item stored as A, refreshed unchanged, changed to B, revisited (304), changed to C,
    refreshed unchanged, then changed back to A."""
    path = tmp_path / "archive.db"
    with open_archive(path) as db:
        assert store(db, A, T[0], 1) == "new"
        assert store(db, A, T[1], 2) == "unchanged"
        assert store(db, B, T[2], 3) == "updated"
        assert touch_article(db, ITEM, seen_at=T[3], run_id=4)
        assert store(db, C, T[4], 5) == "updated"
        assert store(db, C, T[5], 6) == "unchanged"
        assert store(db, A, T[6], 7) == "updated"
    return path


def test_each_version_is_first_seen_when_stored_and_last_seen_at_its_last_fetch(
    db_path: Path,
) -> None:
    with open_archive(db_path, create=False) as db:
        found = article_versions(db, ITEM)
    assert [(v.number, v.body_text, v.first_seen_at, v.last_seen_at, v.current) for v in found] == [
        (1, A, T[0], T[1], False),
        (2, B, T[2], T[3], False),
        (3, C, T[4], T[5], False),
        (4, A, T[6], T[6], True),
    ]


def test_history_prints_first_and_last_seen(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", ITEM, "--db", str(db_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{ITEM}: 4 versions"
    assert lines[1].startswith(f"  version 1            first seen {T[0]}  last seen {T[1]}  ")
    assert lines[4].startswith(f"  version 4 (current)  first seen {T[6]}  last seen {T[6]}  ")
    assert main(["history", ITEM, "--format", "json", "--db", str(db_path)]) == 0
    versions = json.loads(capsys.readouterr().out)
    assert [(v["version"], v["first_seen_at"], v["last_seen_at"]) for v in versions] == [
        (1, T[0], T[1]),
        (2, T[2], T[3]),
        (3, T[4], T[5]),
        (4, T[6], T[6]),
    ]
    assert versions[3]["current"] is True and versions[3]["article_id"] == ITEM


def test_an_older_archive_learns_the_first_version_first_seen(tmp_path: Path) -> None:
    """Schema 11 fills in version 1's first-seen time; a later version's was never kept."""
    path = tmp_path / "old.db"
    old = archive_at_schema(path, 10)
    old.close()
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO articles (id, source, native_id, url, lang, title, body_text, content_hash, "
        "first_seen_at, last_seen_at, last_changed_at) "
        "VALUES (?, 'govhk', 'P1', 'https://x/', 'en', 't', ?, 'h3', ?, ?, ?)",
        [ITEM, C, T[0], T[5], T[4]],
    )
    conn.executemany(
        "INSERT INTO article_versions (article_id, version, fetched_at, title, body_text, "
        "content_hash) VALUES (?, ?, ?, 't', ?, ?)",
        [(ITEM, 1, T[1], A, "h1"), (ITEM, 2, T[3], B, "h2")],
    )
    conn.commit()
    conn.close()
    with open_archive(path) as db:
        assert migrate(db) == len(MIGRATIONS)
        found = article_versions(db, ITEM)
    assert [(v.first_seen_at, v.last_seen_at) for v in found] == [
        (T[0], T[1]),
        (None, T[3]),
        (T[4], T[5]),
    ]
