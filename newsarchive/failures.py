"""The failures table: pages a run could not archive, kept until a later run archives them."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from newsarchive.db import write_transaction
from newsarchive.model import FetchFailed

if TYPE_CHECKING:
    import sqlite_utils


@dataclass(frozen=True)
class Failure:
    """A failures row, as a spider needs it to ask for the page again."""

    url: str
    role: str
    item_id: str | None
    attempts: int


def record_failure(
    db: sqlite_utils.Database, failed: FetchFailed, *, at: str, run_id: int | None
) -> int:
    """Record (or count again) a page this run could not archive; returns its attempts.

    A URL counts one attempt per run, however often the run retried it.
    """
    with write_transaction(db):
        row = db.execute(
            "SELECT attempts, first_failed_at, run_id FROM failures WHERE url = ?", [failed.url]
        ).fetchone()
        attempts = 1 if row is None else int(row[0]) + (row[2] != run_id)
        db.table("failures").upsert(
            {
                "url": failed.url,
                "source": failed.source,
                "role": failed.role,
                "item_id": failed.item_id,
                "kind": failed.kind,
                "error": failed.error,
                "attempts": attempts,
                "first_failed_at": at if row is None else row[1],
                "last_tried_at": at,
                "run_id": run_id,
            },
            pk="url",
        )
    return attempts


_MATCH = "FROM failures WHERE url = ? OR item_id = ?"


def clear_failure(db: sqlite_utils.Database, *, url: str | None, item_id: str | None) -> None:
    """Forget the failure of a page now archived (by its URL or its item's id).

    Nearly every page stored has no failure to forget: that is found by a read, without
    waiting for the write lock or committing an empty transaction. Only the crawl holding
    the archive's lock records failures of its source, so none appears between the two.
    """
    match = [url or "", item_id or ""]
    if db.execute(f"SELECT 1 {_MATCH} LIMIT 1", match).fetchone() is None:
        return
    with write_transaction(db):
        db.execute(f"DELETE {_MATCH}", match)


def failures_to_retry(conn: sqlite3.Connection, source: str, max_attempts: int) -> list[Failure]:
    """A source's recorded failures that have had fewer than `max_attempts` runs, oldest first.

    `conn` may be a read-only connection to an archive older than the failures table.
    """
    try:
        rows = conn.execute(
            "SELECT url, role, item_id, attempts FROM failures "
            "WHERE source = ? AND attempts < ? ORDER BY last_tried_at",
            [source, max_attempts],
        ).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):  # an archive not yet migrated to the failures table
            return []
        raise
    return [Failure(*row) for row in rows]
