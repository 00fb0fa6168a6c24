"""The search index (articles_search): its table, its keys by minute of publication, its rows."""

from __future__ import annotations

from array import array
from datetime import date

import sqlite_utils

from newsarchive.db import placeholders
from newsarchive.search.tokens import index_form

TABLE = "articles_search"
COLUMNS = ("title", "body", "title_chars", "body_chars")
# Weights in COLUMNS order: a word in the title counts five times one in the body.
RANK = "bm25(5.0, 1.0, 5.0, 1.0)"
_CREATE_SQL = (
    f"CREATE VIRTUAL TABLE {TABLE} USING fts5({', '.join(COLUMNS)}, tokenize = 'porter unicode61')"
)


def _row(title: str | None, body: str | None) -> tuple[str, str, str, str]:
    """The index's columns for a title and body, in COLUMNS order."""
    title_words, title_chars = index_form(title or "")
    body_words, body_chars = index_form(body or "")
    return title_words, body_words, title_chars, body_chars


_INSERT_SQL = f"INSERT INTO {TABLE} (rowid, {', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?)"

# The search key: minutes since 1900-01-01 00:00 (Hong Kong time, as published_at is written),
# then the article's rowid. Keys stay below 2**63 until the year 10000.
ROWID_BITS = 31
ROWID_MASK = (1 << ROWID_BITS) - 1
_EPOCH = date(1900, 1, 1).toordinal()


def publication_minute(published_at: str | None) -> int:
    """Minutes from 1900-01-01 00:00 to an ISO 8601 publication time (0 when there is none).

    A bare day counts from its midnight; seconds and the offset (always +08:00 in the archive)
    are not read.
    """
    if not published_at:
        return 0
    try:
        day = date.fromisoformat(published_at[:10])
    except ValueError:
        return 0
    minutes = (day.toordinal() - _EPOCH) * 1440
    clock = published_at[11:16]
    if published_at[10:11] == "T" and clock[2:3] == ":" and clock.replace(":", "").isdigit():
        hour, minute = int(clock[:2]), int(clock[3:])
        if hour < 24 and minute < 60:
            minutes += hour * 60 + minute
    return max(0, minutes)


def search_key(published_at: str | None, rowid: int) -> int:
    """The index rowid of the article with this rowid and publication time."""
    if not 0 < rowid <= ROWID_MASK:
        raise ValueError(f"article rowid {rowid} is beyond the search index's {ROWID_BITS} bits")
    return publication_minute(published_at) << ROWID_BITS | rowid


def day_key(day: date) -> int:
    """The first search key of a day."""
    return publication_minute(day.isoformat()) << ROWID_BITS


def index_article(
    db: sqlite_utils.Database, old_key: int | None, key: int, title: str | None, body: str | None
) -> None:
    """Write an article's row of the index under its key, replacing its row under old_key
    (inside the caller's transaction; articles.search_key is the caller's to set)."""
    # The new key's row too: one left by an article deleted without its index row.
    for stale in {old_key, key} - {None}:
        db.execute(f"DELETE FROM {TABLE} WHERE rowid = ?", [stale])
    db.execute(_INSERT_SQL, [key, *_row(title, body)])


_BY_ROWID_SQL = (
    "SELECT rowid, published_at, search_key FROM articles WHERE rowid > ? ORDER BY rowid LIMIT ?"
)
_KEY_ORDER_SQL = "SELECT search_key FROM articles ORDER BY search_key"


def create_search_table(db: sqlite_utils.Database) -> None:
    """Create the empty search index with its ranking."""
    db.execute(_CREATE_SQL)
    db.execute(f"INSERT INTO {TABLE} ({TABLE}, rank) VALUES ('rank', ?)", [RANK])


def reindex(db: sqlite_utils.Database, *, batch: int = 1000) -> int:
    """Rebuild the search index of every article in one transaction; returns how many."""
    with db.atomic():
        # Dropping is far quicker than deleting: FTS5 deletes a stored row by re-reading it.
        db.execute(f"DROP TABLE IF EXISTS {TABLE}")
        create_search_table(db)
        # Every key at once, in rowid order: a row is rewritten whole when a column changes,
        # so one pass in storage order is far quicker than updates in any other order.
        last = 0
        while page := db.conn.execute(_BY_ROWID_SQL, [last, batch]).fetchall():
            keys = ((search_key(published, rowid), rowid, old) for rowid, published, old in page)
            db.conn.executemany(
                "UPDATE articles SET search_key = ? WHERE rowid = ?",
                [(key, rowid) for key, rowid, old in keys if key != old],
            )
            last = page[-1][0]
        # Then the index in key order (read from the search_key index): FTS5 starts a new
        # segment whenever a rowid is lower than the one before.
        order = array("q", (k for (k,) in db.conn.execute(_KEY_ORDER_SQL)))
        for start in range(0, len(order), batch):
            chunk = order[start : start + batch]
            rows = db.conn.execute(
                "SELECT search_key, title, body_text FROM articles "
                f"WHERE search_key IN ({placeholders(chunk)}) ORDER BY search_key",
                list(chunk),
            )
            db.conn.executemany(_INSERT_SQL, [(key, *_row(t, b)) for key, t, b in rows])
        db.execute(f"INSERT INTO {TABLE} ({TABLE}) VALUES ('optimize')")
    return len(order)
