"""The search index (articles_search): its table, its keys by minute of publication, its rows.

The table is contentless (``content=''``): it holds the index and no copy of the text. FTS5
before SQLite 3.43 removes a contentless row only by its ``'delete'`` command given the very
values that were indexed, and a wrong one corrupts the index silently. Those values are a pure
function of the article's title and body (`index_row`), so they are computed again from the
article as it was indexed: triggers on ``articles`` (schema 12) keep the title and body of
every indexed row that an UPDATE or DELETE changes, in ``articles_search_stale``, which
`index_article` (or `reindex`) then applies. Any connection may so change or delete
articles, plain SQL included. Changing `index_form` changes the values: it needs a migration
that runs `reindex`.
"""

from __future__ import annotations

import re
import sqlite3
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import sqlite_utils

from newsarchive.db import placeholders
from newsarchive.search.tokens import CJK, index_form

TABLE = "articles_search"
COLUMNS = ("title", "body", "title_chars", "body_chars")
# Weights in COLUMNS order: a word in the title counts five times one in the body.
RANK = "bm25(5.0, 1.0, 5.0, 1.0)"
_CREATE_SQL = (
    f"CREATE VIRTUAL TABLE {TABLE} USING fts5({', '.join(COLUMNS)}, "
    "content='', tokenize = 'porter unicode61')"
)
# The title and body of each index row that no longer matches its article, by key.
STALE_TABLE = f"{TABLE}_stale"


def index_row(title: str | None, body: str | None) -> tuple[str, str, str, str]:
    """The index's columns for a title and body, in COLUMNS order."""
    title_words, title_chars = index_form(title or "")
    body_words, body_chars = index_form(body or "")
    return title_words, body_words, title_chars, body_chars


_INSERT_SQL = f"INSERT INTO {TABLE} (rowid, {', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?)"
_DELETE_SQL = (
    f"INSERT INTO {TABLE} ({TABLE}, rowid, {', '.join(COLUMNS)}) VALUES ('delete', ?, ?, ?, ?, ?)"
)
_INDEXED_SQL = f"SELECT 1 FROM {TABLE} WHERE rowid = ?"
_ARTICLES_BY_KEY_SQL = "SELECT search_key, title, body_text FROM articles WHERE search_key IN "

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


def index_article(db: sqlite_utils.Database, key: int, title: str | None, body: str | None) -> None:
    """Index an article under its key once its row is written (inside the caller's
    transaction; articles.search_key is the caller's to set).

    Its row under its old key, if its title, body or key changed, was recorded stale by the
    triggers when the article's row was written: it is removed here with every other.
    """
    mend_index(db)
    if db.execute(_INDEXED_SQL, [key]).fetchone() is None:
        db.execute(_INSERT_SQL, [key, *index_row(title, body)])


def mend_index(db: sqlite_utils.Database, *, batch: int = 1000) -> int:
    """Remove every stale row of the index and index the articles now under those keys
    (inside the caller's transaction); returns how many rows were stale."""
    stale = db.execute(f"SELECT key, title, body FROM {STALE_TABLE}").fetchall()
    if not stale:
        return 0
    db.conn.executemany(_DELETE_SQL, [(key, *index_row(t, b)) for key, t, b in stale])
    db.execute(f"DELETE FROM {STALE_TABLE}")
    _index_articles(db, [key for key, _, _ in stale], batch)
    return len(stale)


def _index_articles(db: sqlite_utils.Database, keys: Sequence[int], batch: int) -> None:
    """Index the articles now under these keys, in key order (FTS5 starts a new segment
    whenever a rowid is lower than the one before), batch keys per query."""
    for start in range(0, len(keys), batch):
        chunk = list(keys[start : start + batch])
        rows = db.conn.execute(
            f"{_ARTICLES_BY_KEY_SQL} ({placeholders(chunk)}) ORDER BY search_key", chunk
        )
        db.conn.executemany(_INSERT_SQL, [(key, *index_row(t, b)) for key, t, b in rows])


# Kept by the triggers of schema 12: the title and body an index row was made from, when an
# UPDATE or DELETE of its article changes them (or the key). The first change is the one
# indexed: later ones are not recorded (by NOT EXISTS, not INSERT OR IGNORE: an upsert's
# ON CONFLICT overrides that of the triggers it fires).
_INDEXED_OLD = f"EXISTS (SELECT 1 FROM {TABLE} WHERE rowid = old.search_key)"
_RECORD_STALE = f"""BEGIN
  INSERT INTO {STALE_TABLE} (key, title, body)
    SELECT old.search_key, old.title, old.body_text
    WHERE NOT EXISTS (SELECT 1 FROM {STALE_TABLE} WHERE key = old.search_key);
END"""
STALE_SCHEMA_SQL = (
    f"CREATE TABLE {STALE_TABLE} (key INTEGER PRIMARY KEY, title TEXT, body TEXT)",
    f"CREATE TRIGGER articles_search_ad AFTER DELETE ON articles\n"
    f"WHEN {_INDEXED_OLD} {_RECORD_STALE}",
    f"""CREATE TRIGGER articles_search_au AFTER UPDATE OF title, body_text, search_key ON articles
WHEN (old.title IS NOT new.title OR old.body_text IS NOT new.body_text
      OR old.search_key IS NOT new.search_key)
  AND {_INDEXED_OLD} {_RECORD_STALE}""",
)


# A lone CJK character in an FTS5 expression: a term only the *_chars columns can match.
_LONE_CJK = re.compile(f"(?<![{CJK}])[{CJK}](?![{CJK}])")


_HIGHLIGHT_SQL = (
    "SELECT rowid, "
    + ", ".join(f"highlight(hits, {n}, ?, ?)" for n in range(len(COLUMNS)))
    + " FROM hits WHERE hits MATCH ?"
)


def marked_rows(
    match: str, texts: Iterable[tuple[int, str | None, str | None]], marks: tuple[str, str]
) -> dict[int, tuple[str, ...]]:
    """highlight() of each column of the given (key, title, body) that match an FTS5 query,
    by key: the index holds no text, so the hits' rows are indexed again in memory."""
    rows = [(key, *index_row(title, body)) for key, title, body in texts]
    # Indexing is most of the time: the *_chars columns only when the query can match there
    # (otherwise they are returned as they are, unmarked).
    chars = _LONE_CJK.search(match) is not None
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(
            f"CREATE VIRTUAL TABLE hits USING fts5({', '.join(COLUMNS)}, "
            "columnsize=0, tokenize = 'porter unicode61')"
        )
        conn.executemany(
            f"INSERT INTO hits (rowid, {', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?)",
            rows if chars else [(key, title, body, "", "") for key, title, body, _, _ in rows],
        )
        found = conn.execute(_HIGHLIGHT_SQL, [*marks * len(COLUMNS), match]).fetchall()
    finally:
        conn.close()
    if chars:
        return {key: tuple(marked) for key, *marked in found}
    forms = {key: (title_chars, body_chars) for key, _, _, title_chars, body_chars in rows}
    return {key: (title, body, *forms[key]) for key, title, body, _, _ in found}


_BY_ROWID_SQL = (
    "SELECT rowid, published_at, search_key FROM articles WHERE rowid > ? ORDER BY rowid LIMIT ?"
)
_KEY_ORDER_SQL = "SELECT search_key FROM articles ORDER BY search_key"
# Before schema 12 (reindex runs in the migration of schema 9), there is no stale table.
_STALE_EXISTS_SQL = f"SELECT 1 FROM sqlite_master WHERE name = '{STALE_TABLE}'"


@dataclass(frozen=True)
class IndexGaps:
    """Where the search index and the articles disagree (all 0 in a sound archive)."""

    missing: int  # articles with a key and no row of the index: search cannot find them
    orphans: int  # rows of the index under a key no article has, and not waiting in stale
    stale: int  # rows made from a title or body since changed or deleted, waiting to go


# Every row of the index has a row in its docsize shadow table (FTS5's columnsize=1, the
# default): the index's keys, readable in the order of its primary key.
_GAP_SQL = f"""SELECT
  (SELECT count(*) FROM articles a WHERE a.search_key IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM {TABLE}_docsize d WHERE d.id = a.search_key)),
  (SELECT count(*) FROM {TABLE}_docsize d
     WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.search_key = d.id)
       AND NOT EXISTS (SELECT 1 FROM {STALE_TABLE} s WHERE s.key = d.id)),
  (SELECT count(*) FROM {STALE_TABLE})"""


def index_gaps(db: sqlite_utils.Database) -> IndexGaps:
    """How far the search index is from the articles (`hkarchive check` reports any gap).

    Articles written by plain SQL without a search key are not counted: they were never
    meant to be indexed until `reindex`.
    """
    return IndexGaps(*db.execute(_GAP_SQL).fetchone())


def create_search_table(db: sqlite_utils.Database) -> None:
    """Create the empty search index with its ranking."""
    db.execute(_CREATE_SQL)
    db.execute(f"INSERT INTO {TABLE} ({TABLE}, rank) VALUES ('rank', ?)", [RANK])


def reindex(db: sqlite_utils.Database, *, batch: int = 1000) -> int:
    """Rebuild the search index of every article in one transaction; returns how many."""
    with db.atomic():
        # Dropping is far quicker than deleting every row; no row is stale afterwards.
        db.execute(f"DROP TABLE IF EXISTS {TABLE}")
        create_search_table(db)
        if db.execute(_STALE_EXISTS_SQL).fetchone():
            db.execute(f"DELETE FROM {STALE_TABLE}")
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
        # Then the index, in key order (read from the search_key index).
        order = array("q", (k for (k,) in db.conn.execute(_KEY_ORDER_SQL)))
        _index_articles(db, order, batch)
        db.execute(f"INSERT INTO {TABLE} ({TABLE}) VALUES ('optimize')")
    return len(order)
