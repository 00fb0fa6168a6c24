"""The archive's schema, built and upgraded in place by numbered migrations.

``PRAGMA user_version`` holds the number of migrations applied. Each migration runs in one
transaction with its version bump (a new archive's all in one), so an archive is always at a
whole version. Never edit a released migration: append a new one. `read_layout` reads what a
file holds without migrating it.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

logger = logging.getLogger(__name__)

Migration = Callable[[sqlite_utils.Database], None]

CHILD_TABLES = ("images", "attachments", "videos", "related_links")


def _v1_initial(db: sqlite_utils.Database) -> None:
    db.table("articles").create(
        {
            "id": str,
            "source": str,
            "native_id": str,
            "url": str,
            "lang": str,
            "title": str,
            "published_at": str,
            "body_text": str,
            "body_html": str,
            "category": str,
            "content_hash": str,
            "extraction": str,
            "first_seen_at": str,
            "last_seen_at": str,
            "last_changed_at": str,
            "first_run_id": int,
            "last_run_id": int,
        },
        pk="id",
        not_null={"source", "native_id", "url", "lang", "title", "body_text", "content_hash"},
    )
    db.table("articles").create_index(["source", "published_at"])
    db.table("articles").create_index(["published_at"])
    db.table("articles").create_index(["lang", "published_at"])
    _child(db, "images", {"url": str, "thumbnail_url": str, "caption": str})
    _child(db, "attachments", {"url": str, "title": str})
    _child(db, "videos", {"url": str, "title": str})
    _child(db, "related_links", {"url": str, "title": str})
    db.table("crawl_runs").create(
        {
            "id": int,
            "spider": str,
            "arguments": str,
            "started_at": str,
            "finished_at": str,
            "status": str,
            "finish_reason": str,
            "pages_fetched": int,
            "index_pages_missing": int,
            "items_new": int,
            "items_updated": int,
            "items_unchanged": int,
            "items_dropped": int,
            "errors": int,
            "stats": str,
        },
        pk="id",
    )
    # English full text with stemming. The FTS table is separate from the data, so a
    # Chinese-aware index (issue-level work) can be added beside it by a later migration.
    db.table("articles").enable_fts(
        ["title", "body_text"],
        fts_version="FTS5",
        tokenize="porter unicode61",
        create_triggers=True,
    )


def _child(db: sqlite_utils.Database, name: str, columns: dict[str, type]) -> None:
    db.table(name).create(
        {"article_id": str, "position": int, **columns},
        pk=("article_id", "position"),
        foreign_keys=[("article_id", "articles", "id")],
        not_null={"url"},
    )


def _v2_image_files_and_body_hash(db: sqlite_utils.Database) -> None:
    images = db.table("images")
    images.add_column("name", str)
    images.add_column("size_label", str)
    images.add_column("size_bytes", int)
    articles = db.table("articles")
    articles.add_column("body_hash", str)
    articles.create_index(["body_hash"])


def _v3_stories(db: sqlite_utils.Database) -> None:
    # Signatures are kept so that linking new items never re-reads old bodies; the band keys
    # are the LSH index, looked up by (band, key) within a window of days
    # (newsarchive/linking/stories.py).
    db.table("article_minhash").create(
        {"article_id": str, "body_hash": str, "day": str, "params": str, "signature": bytes},
        pk="article_id",
        foreign_keys=[("article_id", "articles", "id")],
        not_null={"params"},
    )
    db.table("article_minhash").create_index(["body_hash", "day"])
    db.table("minhash_bands").create(
        {"article_id": str, "band": int, "key": int, "day": str, "source": str},
        pk=("article_id", "band"),
        foreign_keys=[("article_id", "article_minhash", "article_id")],
        not_null={"key", "day", "source"},
    )
    db.table("minhash_bands").create_index(["band", "key", "day"])
    db.table("stories").create(
        {"id": int, "original_id": str, "first_published_at": str, "members": int, "sources": str},
        pk="id",
        foreign_keys=[("original_id", "articles", "id")],
        not_null={"original_id", "members", "sources"},
    )
    db.table("story_links").create(
        {
            "article_id": str,
            "story_id": int,
            "role": str,
            "linked_to": str,
            "similarity": float,
            "method": str,
            "linked_at": str,
        },
        pk="article_id",
        foreign_keys=[
            ("article_id", "articles", "id"),
            ("story_id", "stories", "id"),
            ("linked_to", "articles", "id"),
        ],
        not_null={"story_id", "role", "linked_at"},
    )
    db.table("story_links").create_index(["story_id"])


def _v4_scheduled_crawling(db: sqlite_utils.Database) -> None:
    # Seen-state lives in the archive itself: validators for conditional requests and the
    # revisit schedule, per item.
    articles = db.table("articles")
    for column, kind in (
        ("etag", str),
        ("last_modified", str),
        ("last_fetched_at", str),
        ("next_visit_at", str),
        ("visits", int),
    ):
        articles.add_column(column, kind)
    articles.create_index(["next_visit_at"])
    db.table("article_versions").create(
        {
            "id": int,
            "article_id": str,
            "version": int,
            "fetched_at": str,
            "title": str,
            "published_at": str,
            "body_text": str,
            "content_hash": str,
            "run_id": int,
        },
        pk="id",
        foreign_keys=[("article_id", "articles", "id")],
        not_null={"article_id", "version", "content_hash"},
    )
    db.table("article_versions").create_index(["article_id", "version"], unique=True)
    # Raw responses are kept in WARC files; this indexes every capture so reparse finds a
    # URL's latest one without scanning the files.
    db.table("raw_captures").create(
        {
            "id": int,
            "run_id": int,
            "source": str,
            "url": str,
            "status": int,
            "content_type": str,
            "fetched_at": str,
            "warc_file": str,
            "warc_offset": int,
            "warc_length": int,
        },
        pk="id",
        not_null={"url", "status", "fetched_at", "warc_file", "warc_offset"},
    )
    db.table("raw_captures").create_index(["url", "fetched_at"])
    db.table("raw_captures").create_index(["source", "fetched_at"])
    for table in ("images", "attachments"):
        for column, kind in (("local_path", str), ("checksum", str), ("file_size", int)):
            db.table(table).add_column(column, kind)
    runs = db.table("crawl_runs")
    for column, kind in (
        ("requests", int),
        ("responses_not_modified", int),
        ("failures", int),
        ("coverage", str),
        ("pid", int),
    ):
        runs.add_column(column, kind)


def _v5_listing_pages(db: sqlite_utils.Database) -> None:
    # Daily index pages read, so that a backfill need not read a settled day's list again.
    db.table("listing_pages").create(
        {"url": str, "source": str, "status": int, "items": int, "fetched_at": str, "run_id": int},
        pk="url",
        not_null={"source", "status", "fetched_at"},
    )


def _v6_translation_pairs(db: sqlite_utils.Database) -> None:
    # A GovHK release exists in English and Chinese under two ids and no page links the twins.
    db.table("translation_pairs").create(
        {
            "en_id": str,
            "zh_id": str,
            "confidence": float,
            "evidence": str,
            "paired_at": str,
        },
        pk="en_id",
        foreign_keys=[("en_id", "articles", "id"), ("zh_id", "articles", "id")],
        not_null={"zh_id", "confidence", "paired_at"},
    )
    db.table("translation_pairs").create_index(["zh_id"], unique=True)


def _v7_search_index(db: sqlite_utils.Database) -> None:
    # articles_fts finds no Chinese word inside a sentence; articles_search (beside it) holds a
    # Chinese-aware form of every title and body. v9 builds it from the rows already archived,
    # with the keys it introduced.
    from newsarchive.search import create_search_table  # here: only this migration needs it

    create_search_table(db)


def _v8_failures(db: sqlite_utils.Database) -> None:
    # Pages a run could not archive, one row per URL: not fetched after the run's retries, or
    # fetched and quarantined (kind 'parse') because it could not be extracted or validated.
    # Later runs of the source ask for them again until `attempts` reaches a cap; archiving
    # the page deletes its row (newsarchive/failures.py).
    db.table("failures").create(
        {
            "url": str,
            "source": str,
            "role": str,
            "item_id": str,
            "kind": str,
            "error": str,
            "attempts": int,
            "first_failed_at": str,
            "last_tried_at": str,
            "run_id": int,
        },
        pk="url",
        not_null={"source", "role", "kind", "error", "attempts", "last_tried_at"},
    )
    db.table("failures").create_index(["source", "attempts"])
    db.table("failures").create_index(["item_id"])


_SLOW_REINDEX = 20_000  # articles: more take long enough to say so


def _v9_search_by_date(db: sqlite_utils.Database) -> None:
    # articles_search is keyed by minute of publication (articles.search_key), so that newest
    # first is FTS5's own order and stops at the first page of hits (newsarchive/search.py).
    from newsarchive.search import reindex  # here, not above: only this migration needs it

    count = int(db.execute("SELECT count(*) FROM articles").fetchone()[0])
    if count > _SLOW_REINDEX:
        logger.warning(
            "Upgrading the archive: rebuilding the search index of %d articles "
            "(about %d min; the archive is locked until it is done)",
            count, max(1, count // 75_000),
        )  # fmt: skip
    db.table("articles").add_column("search_key", int)
    db.table("articles").create_index(["search_key"], unique=True)
    # articles_fts indexes the title and body: an update of another column (last_seen_at on
    # every revisit, search_key here) has nothing to re-index there.
    db.execute("DROP TRIGGER IF EXISTS articles_au")
    db.execute(
        """CREATE TRIGGER articles_au AFTER UPDATE OF title, body_text ON articles BEGIN
  INSERT INTO articles_fts (articles_fts, rowid, title, body_text)
    VALUES('delete', old.rowid, old.title, old.body_text);
  INSERT INTO articles_fts (rowid, title, body_text) VALUES (new.rowid, new.title, new.body_text);
END"""
    )
    # A row deleted from articles takes its row of the search index with it.
    db.execute(
        """CREATE TRIGGER articles_search_ad AFTER DELETE ON articles BEGIN
  DELETE FROM articles_search WHERE rowid = old.search_key;
END"""
    )
    reindex(db)


def _v10_link_queue(db: sqlite_utils.Database) -> None:
    # Items stored and not yet linked into stories or pairs, per step
    # (newsarchive/linking/queue.py).
    # Before it, a killed crawl's items were found again by the run that stored them last, and
    # a later finished run touching an item lost it. Queued here: the items of runs left
    # running, and any item whose story signature is missing or stale (never linked).
    from newsarchive.linking.queue import NEVER_LINKED_SQL, STEPS

    db.execute(
        """CREATE TABLE link_queue (
  article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
  step TEXT NOT NULL,
  queued_at TEXT NOT NULL,
  run_id INTEGER,
  PRIMARY KEY (article_id, step)
) WITHOUT ROWID"""
    )
    pending = db.execute(
        "SELECT a.id, a.last_run_id FROM articles a JOIN crawl_runs r ON r.id = a.last_run_id "
        "WHERE r.status = 'running'"
    ).fetchall()
    pending += [(article_id, None) for article_id, _ in db.execute(NEVER_LINKED_SQL)]
    db.conn.executemany(
        "INSERT OR IGNORE INTO link_queue (article_id, step, queued_at, run_id) "
        "VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%S+08:00', 'now', '+8 hours'), ?)",
        [(article_id, step, run_id) for article_id, run_id in pending for step in STEPS],
    )


def _v11_version_first_seen(db: sqlite_utils.Database) -> None:
    # When each earlier version was first stored; fetched_at says when it was last seen. Only
    # a first version's can be known for rows written before: its item's first_seen_at (a later
    # version was first stored when the one before it changed, a time no row kept).
    db.execute("ALTER TABLE article_versions ADD COLUMN first_seen_at TEXT")
    db.execute(
        "UPDATE article_versions SET first_seen_at = "
        "(SELECT a.first_seen_at FROM articles a WHERE a.id = article_versions.article_id) "
        "WHERE version = 1"
    )


def _v12_contentless_search(db: sqlite_utils.Database) -> None:
    # articles_search kept a second copy of every title and body in its search form (its
    # _content table, a third of the archive): it is rebuilt contentless. A contentless row is
    # removed only given the values it was indexed from, so the triggers keep the title and
    # body of every indexed row an UPDATE or DELETE of articles changes, for the next write
    # (or reindex) to remove it (newsarchive/search/index.py).
    from newsarchive.search.index import STALE_SCHEMA_SQL, reindex

    count = int(db.execute("SELECT count(*) FROM articles").fetchone()[0])
    if count > _SLOW_REINDEX:
        logger.warning(
            "Upgrading the archive: rebuilding the search index of %d articles without its "
            "copy of their text (about %d min; the archive is locked until it is done; "
            "VACUUM afterwards returns the space freed to the disk)",
            count, max(1, count // 75_000),
        )  # fmt: skip
    db.execute("DROP TRIGGER IF EXISTS articles_search_ad")
    for sql in STALE_SCHEMA_SQL:
        db.execute(sql)
    reindex(db)


def _v13_readings_by_route(db: sqlite_utils.Database) -> None:
    # The last reading of an item by a route other than its stored one's (API, feed, page),
    # by its content hash: a reading by another route is a revision only when that route's
    # reading changed (newsarchive/articles.py). Empty until an item is read two ways.
    db.execute(
        """CREATE TABLE article_readings (
  article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
  route TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  PRIMARY KEY (article_id, route)
) WITHOUT ROWID"""
    )


MIGRATIONS: list[Migration] = [
    _v1_initial,
    _v2_image_files_and_body_hash,
    _v3_stories,
    _v4_scheduled_crawling,
    _v5_listing_pages,
    _v6_translation_pairs,
    _v7_search_index,
    _v8_failures,
    _v9_search_by_date,
    _v10_link_queue,
    _v11_version_first_seen,
    _v12_contentless_search,
    _v13_readings_by_route,
]


def schema_version(db: sqlite_utils.Database) -> int:
    """How many migrations this archive has applied."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite_utils.Database) -> int:
    """Apply every pending migration; returns the archive's version afterwards.

    Each step of an upgrade runs in its own transaction, so a long upgrade interrupted keeps
    the steps it finished; a new archive gets all of them in one, so a process killed while
    creating it leaves no schema or all of it, never tables without their search index. The
    write lock is held from before the version is read: two processes opening an older
    archive at once apply each step once. Raises RuntimeError for an archive written by a
    newer version of the project.
    """
    while (current := _checked_version(db)) < len(MIGRATIONS):
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            current = _checked_version(db)  # another process may have upgraded it meanwhile
            steps = len(MIGRATIONS) if current == 0 else min(current + 1, len(MIGRATIONS))
            for step in range(current, steps):
                MIGRATIONS[step](db)
            if steps > current:
                db.execute(f"PRAGMA user_version = {steps:d}")
            db.conn.execute("COMMIT")
        except BaseException:
            db.conn.rollback()
            raise
    return len(MIGRATIONS)


def _checked_version(db: sqlite_utils.Database) -> int:
    current = schema_version(db)
    if current > len(MIGRATIONS):
        raise RuntimeError(
            f"archive schema version {current} is newer than this hkarchive "
            f"(knows {len(MIGRATIONS)}): upgrade hkarchive"
        )
    return current


@dataclass(frozen=True)
class Layout:
    """What an archive file holds, as read without changing it."""

    # Every name in the schema: tables, indexes, triggers, views.
    names: frozenset[str]
    # The columns of the articles table (empty when there is none).
    article_columns: frozenset[str]


def read_layout(path: Path) -> Layout:
    """The names in the schema of the database at path and its articles' columns, read through
    a read-only connection: nothing is written and nothing migrated (reading a WAL archive
    creates its -wal and -shm files, as any reader does). sqlite3.Error when the file cannot
    be read as a database."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        names = frozenset(r[0] for r in conn.execute("SELECT name FROM sqlite_master"))
        columns = frozenset(r[1] for r in conn.execute("PRAGMA table_info(articles)"))
    finally:
        conn.close()
    return Layout(names, columns)
