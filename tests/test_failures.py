"""The failures table's own functions: a page archived later forgets its failure."""

from __future__ import annotations

import time
from pathlib import Path

from newsarchive.archive import open_archive
from newsarchive.failures import clear_failure, record_failure
from newsarchive.model import FetchFailed

AT = "2026-01-01T00:00:00+08:00"


def _failed(db_path: Path) -> None:
    db = open_archive(db_path)
    for n in (1, 2):
        failed = FetchFailed(
            source="govhk", url=f"https://example.org/{n}", kind="http", error="HTTP 500",
            item_id=f"govhk:P{n}",
        )  # fmt: skip
        record_failure(db, failed, at=AT, run_id=None)
    db.close()


def _urls(db_path: Path) -> list[str]:
    db = open_archive(db_path)
    try:
        return [row[0] for row in db.execute("SELECT url FROM failures ORDER BY url")]
    finally:
        db.close()


def test_a_failure_is_cleared_by_its_url_or_its_item(tmp_path: Path) -> None:
    db_path = tmp_path / "archive.db"
    _failed(db_path)
    db = open_archive(db_path)
    clear_failure(db, url="https://example.org/1", item_id=None)
    assert _urls(db_path) == ["https://example.org/2"]
    clear_failure(db, url=None, item_id="govhk:P2")
    clear_failure(db, url="https://example.org/3", item_id="govhk:P3")
    db.close()
    assert _urls(db_path) == []


def test_nothing_to_clear_does_not_wait_for_the_write_lock(tmp_path: Path) -> None:
    # Nearly every page stored has no failure: forgetting none must not queue behind another
    # writer (it used to take the write lock and commit an empty transaction every time).
    db_path = tmp_path / "archive.db"
    _failed(db_path)
    writer = open_archive(db_path)
    writer.execute("BEGIN IMMEDIATE")
    db = open_archive(db_path, busy_timeout=0.2)
    try:
        started = time.monotonic()
        clear_failure(db, url="https://example.org/9", item_id="govhk:P9")
        assert time.monotonic() - started < 0.2
    finally:
        writer.conn.rollback()
        writer.close()
    clear_failure(db, url="https://example.org/2", item_id=None)
    db.close()
    assert _urls(db_path) == ["https://example.org/1"]
