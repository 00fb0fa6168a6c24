"""Opening the archive and writing articles and crawl runs to it, one transaction each."""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import shlex
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import sqlite_utils

from newsarchive.linking.queue import queue_links
from newsarchive.model import MEDIA_FIELDS, Article, ListingRead
from newsarchive.schema import migrate
from newsarchive.search import index_article, search_key

Outcome = Literal["new", "updated", "unchanged"]

logger = logging.getLogger(__name__)

# How long a statement waits for another connection's lock (SQLite's busy timeout), and how
# many such waits a write makes for the write lock before it gives up: 20 x 30 s, 10 minutes.
BUSY_TIMEOUT = 30.0
WRITE_ATTEMPTS = 20

_CHILDREN = {
    "images": (
        "photos",
        ("url", "thumbnail_url", "caption", "name", "size_label", "size_bytes", *MEDIA_FIELDS),
    ),
    "attachments": ("attachments", ("url", "title", *MEDIA_FIELDS)),
    "videos": ("videos", ("url", "title")),
    "related_links": ("related", ("url", "title")),
}


class ArchiveError(Exception):
    """The archive cannot be opened or written; the message names the path and the reason."""


class ArchiveCorrupt(ArchiveError):
    """The archive file is damaged (SQLITE_CORRUPT, SQLITE_NOTADB): nothing more may be written."""


class DiskFull(ArchiveError):
    """The disk (or the archive's page limit) is full: no write can succeed until space is freed."""


# Faults no retry mends and every later write would meet too: they stop a command at once.
DISK_FULL = "disk_full"
CORRUPT = "archive_corrupt"
# SQLite's primary result codes (the low byte of an extended code).
_SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_NOTADB = 11, 13, 26
# What Python's sqlite3 says of stored text that is not UTF-8: bytes from a damaged page.
_UNDECODABLE = "Could not decode to UTF-8 column"
_COLUMN = re.compile(r"column '[^']*'")


def storage_fault(exc: BaseException | None) -> str | None:
    """DISK_FULL or CORRUPT when exc, or an exception it was raised from, is one; else None.

    A full disk is SQLITE_FULL from SQLite, or ENOSPC (or EDQUOT, a full quota) from a file
    write; a damaged archive is SQLITE_CORRUPT or SQLITE_NOTADB, or text that is not UTF-8.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, sqlite3.Error):
            code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
            if code == _SQLITE_FULL:
                return DISK_FULL
            if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB) or str(exc).startswith(_UNDECODABLE):
                return CORRUPT
        elif isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return DISK_FULL
        exc = exc.__cause__ or exc.__context__
    return None


def fault_reason(exc: BaseException) -> str:
    """What SQLite or the system said, in a few words (never the bytes of a damaged page)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    text = str(exc)
    if text.startswith(_UNDECODABLE):
        return "stored text is not UTF-8" + (f" ({m[0]})" if (m := _COLUMN.search(text)) else "")
    return text


def corrupt_message(path: str | Path, reason: str) -> str:
    """One line naming the damaged archive, what is wrong (reason), and how to check it."""
    what = (
        f"{path} is not a SQLite database, or its header is damaged"
        if "not a database" in reason
        else f"the archive {path} is damaged"
    )
    check = shlex.join(["sqlite3", str(path), "PRAGMA integrity_check"])
    return f"{what} ({reason}): nothing more is written to it; check it with: {check}"


def disk_full_message(target: str | Path, exc: BaseException) -> str:
    """One line: the disk is full, and what could not be written."""
    return f"the disk is full: cannot write {target} ({fault_reason(exc)})"


def fault_error(path: str | Path, exc: BaseException) -> ArchiveError | None:
    """ArchiveCorrupt or DiskFull for exc met on the archive at path; None for another error."""
    kind = storage_fault(exc)
    if kind == CORRUPT:
        return ArchiveCorrupt(corrupt_message(path, fault_reason(exc)))
    if kind == DISK_FULL:
        return DiskFull(disk_full_message(path, exc))
    return None


class ArchiveBusy(ArchiveError):
    """Another connection held the archive's write lock for longer than a write waits."""


def open_archive(
    path: str | Path, *, create: bool = True, busy_timeout: float = BUSY_TIMEOUT
) -> sqlite_utils.Database:
    """Open (creating and migrating if needed) the SQLite archive at path, in WAL mode.

    A statement waits up to busy_timeout seconds for another connection's lock; a write
    transaction (`write_transaction`) waits WRITE_ATTEMPTS times that in all.
    """
    target = Path(path)
    if target.is_dir():
        raise ArchiveError(f"cannot use {target} as the archive: it is a directory")
    if not create and not target.exists():
        raise ArchiveError(f"no archive at {target}")
    _check_folder(target)
    if not create and target.stat().st_size == 0:
        raise ArchiveError(f"no archive at {target}: the file is empty")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(target, timeout=busy_timeout)
    except (OSError, sqlite3.Error) as exc:
        raise fault_error(target, exc) or ArchiveError(
            f"cannot open the archive at {target}: {_reason(exc)}"
        ) from exc
    try:
        db = sqlite_utils.Database(conn)
        _check_is_archive(db, target)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        migrate(db)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise fault_error(target, exc) or ArchiveError(
            f"cannot use {target} as the archive: {_reason(exc)}"
        ) from exc
    except RuntimeError as exc:
        conn.close()
        raise ArchiveError(f"cannot use {target}: {exc}") from exc
    return db


def limit_sqlite_heap(limit: int) -> None:
    """Cap what SQLite may allocate in this process, all connections together, at limit
    bytes: past it a statement fails "out of memory". A process-wide setting, made through
    a connection of its own."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(f"PRAGMA hard_heap_limit = {limit:d}")
    finally:
        conn.close()


@contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """A transaction that takes the archive's write lock before anything else, waiting for it.

    `db.atomic()` begins a deferred transaction: one that reads first and writes later fails
    at once when another connection holds the write lock (SQLite does not wait to upgrade a
    read), and one that writes first gives up after one busy timeout. This one begins with
    ``BEGIN IMMEDIATE``, so it waits before it reads, and when a busy timeout passes it waits
    again, up to WRITE_ATTEMPTS times, saying once that it waits: a lock held for a while
    delays a write by about as long, and only one held past the limit raises ArchiveBusy.
    Inside another transaction it is a savepoint of it, like `db.atomic()`.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    _begin_immediate(db.conn)
    try:
        yield db
    except BaseException:
        db.conn.rollback()
        raise
    try:
        db.conn.execute("COMMIT")
    except BaseException:
        db.conn.rollback()
        raise


def _begin_immediate(conn: sqlite3.Connection) -> None:
    started = time.monotonic()
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        try:
            conn.execute("BEGIN IMMEDIATE")
            break
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                raise
            if attempt == 1:
                logger.warning(
                    "The archive is locked by another writer: waiting for it (up to %d s)",
                    round(_busy_timeout(conn) * WRITE_ATTEMPTS),
                )
    else:
        raise ArchiveBusy(
            "the archive is locked by another writer: gave up after waiting "
            f"{time.monotonic() - started:.0f} s"
        )
    if attempt > 1:
        logger.info("The archive's write lock was free after %.1f s", time.monotonic() - started)


def _busy_timeout(conn: sqlite3.Connection) -> float:
    return float(conn.execute("PRAGMA busy_timeout").fetchone()[0]) / 1000


def _check_folder(target: Path) -> None:
    """An ArchiveError naming the first parent of target that exists but is not a folder."""
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ArchiveError(
                    f"cannot use {target} as the archive: {parent} is a file, not a folder"
                )
            return


def check_creatable(target: Path) -> None:
    """An ArchiveError unless an archive could be created at target (without creating it)."""
    if target.is_dir():
        raise ArchiveError(f"cannot use {target} as the archive: it is a directory")
    _check_folder(target)
    existing = next(parent for parent in target.absolute().parents if parent.exists())
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ArchiveError(f"cannot create the archive at {target}: {existing} is not writable")


def check_writable(target: Path) -> None:
    """An ArchiveError unless the existing archive at target, and its folder (for the WAL, the
    shared memory and the lock file), can be written by this process."""
    for path in (target, target.absolute().parent):
        if not os.access(path, os.W_OK):
            raise ArchiveError(f"cannot write the archive {target}: {path} is read-only")


def _check_is_archive(db: sqlite_utils.Database, target: Path) -> None:
    """Refuse a SQLite database of something else, before anything is written to it.

    Reading the schema also makes SQLite refuse a file that is not a database at all.
    """
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if tables and "articles" not in tables:
        db.conn.close()
        raise ArchiveError(
            f"cannot use {target} as the archive: it is a SQLite database of something else "
            "(no articles table)"
        )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc)


def article_row(article: Article) -> dict[str, Any]:
    """The articles-table columns of an item (identity and content, no timestamps)."""
    return {
        "id": article.id,
        "source": article.source,
        "native_id": article.native_id,
        "url": article.url,
        "lang": article.lang,
        "title": article.title,
        "published_at": article.published_at,
        "body_text": article.body_text,
        "body_html": article.body_html,
        "category": article.category,
        "content_hash": article.content_hash,
        "body_hash": article.body_hash,
        "extraction": json.dumps(article.extraction, sort_keys=True),
    }


# Young items are fetched again at these ages (from first seen) so corrections are caught;
# after the last one an item is only fetched again when asked (--refresh) or listed anew.
REVISIT_AFTER = (timedelta(hours=1), timedelta(days=1), timedelta(days=7))


def next_visit(first_seen_at: str, now: str) -> str | None:
    """When an item first seen at first_seen_at is next due for a revisit, or None."""
    first, current = datetime.fromisoformat(first_seen_at), datetime.fromisoformat(now)
    for delay in REVISIT_AFTER:
        if first + delay > current:
            return (first + delay).isoformat()
    return None


_STATE_SQL = (
    "SELECT content_hash, first_seen_at, coalesce(visits, 0), title, published_at, body_text, "
    "coalesce(last_fetched_at, last_seen_at) FROM articles WHERE id = ?"
)


def upsert_article(
    db: sqlite_utils.Database,
    article: Article,
    *,
    seen_at: str,
    run_id: int | None,
    fetched: bool = True,
) -> Outcome:
    """Insert or update one article with its media, atomically.

    An article whose content hash is unchanged only has its fetch state moved
    (``last_seen_at``, validators, next revisit); a changed one first has its previous
    content saved as a version in ``article_versions``. ``fetched=False`` (a reparse of a
    stored response) leaves the fetch state alone: nothing was fetched.
    """
    row = article_row(article)
    with write_transaction(db):
        existing = db.execute(_STATE_SQL, [article.id]).fetchone()
        first_seen = existing[1] if existing else seen_at
        state: dict[str, Any] = {}
        if fetched or existing is None:
            state = {
                "last_seen_at": seen_at,
                "last_fetched_at": seen_at,
                "last_run_id": run_id,
                "visits": (existing[2] if existing else 0) + 1,
                "next_visit_at": next_visit(first_seen, seen_at),
            }
            # A page that stops sending validators keeps the last ones it gave.
            state |= {k: v for k, v in (("etag", article.etag),
                                        ("last_modified", article.last_modified)) if v}  # fmt: skip
        if existing is not None and existing[0] == article.content_hash:
            if state:
                _update_article(db, article.id, state)
            _record_media_files(db, article)
            return "unchanged"
        if existing is None:
            # The rowid SQLite would choose, chosen here: the search key is written with the row.
            rowid, old_key = db.execute(_NEXT_ROWID_SQL).fetchone()[0], None
            row.update(rowid=rowid, first_seen_at=seen_at, first_run_id=run_id)
            outcome: Outcome = "new"
        else:
            rowid, old_key = db.execute(_KEY_SQL, [article.id]).fetchone()
            _save_version(db, article.id, existing, run_id)
            row["last_changed_at"] = seen_at
            outcome = "updated"
        # Written with the row, not updated after it: SQLite rewrites a row whole, body and all.
        row["search_key"] = key = search_key(article.published_at, rowid)
        _upsert_article(db, row | state)
        keep_media_files(db, article)
        _replace_children(db, article)
        index_article(db, old_key, key, article.title, article.body_text)
        # With the item, in its transaction: its links are made later, by whichever run links
        # next, so a crawl killed before linking loses none.
        queue_links(db, article.id, at=seen_at, run_id=run_id)
    return outcome


_NEXT_ROWID_SQL = "SELECT coalesce(max(rowid), 0) + 1 FROM articles"
_KEY_SQL = "SELECT rowid, search_key FROM articles WHERE id = ?"


# Plain SQL rather than sqlite-utils' upsert() and update(), which read the schema on every
# call: a third of the time of storing an item.
def _upsert_article(db: sqlite_utils.Database, values: dict[str, Any]) -> None:
    """Insert a row of articles, or update the given columns of the row with its id."""
    columns = list(values)
    kept = ("id", "rowid")
    updates = ", ".join(f"{column} = excluded.{column}" for column in columns if column not in kept)
    db.execute(
        f"INSERT INTO articles ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT(id) DO UPDATE SET {updates}",
        list(values.values()),
    )


def _update_article(db: sqlite_utils.Database, article_id: str, values: dict[str, Any]) -> None:
    """Set the given columns of one row of articles."""
    assignments = ", ".join(f"{column} = ?" for column in values)
    db.execute(f"UPDATE articles SET {assignments} WHERE id = ?", [*values.values(), article_id])


def _save_version(
    db: sqlite_utils.Database, article_id: str, state: tuple[Any, ...], run_id: int | None
) -> None:
    content_hash, _, _, title, published_at, body_text, fetched_at = state
    number = db.execute(
        "SELECT coalesce(max(version), 0) + 1 FROM article_versions WHERE article_id = ?",
        [article_id],
    ).fetchone()[0]
    db.table("article_versions").insert(
        {
            "article_id": article_id,
            "version": number,
            "fetched_at": fetched_at,
            "title": title,
            "published_at": published_at,
            "body_text": body_text,
            "content_hash": content_hash,
            "run_id": run_id,
        }
    )


def touch_article(
    db: sqlite_utils.Database, article_id: str, *, seen_at: str, run_id: int | None
) -> bool:
    """Record a revisit the server answered 304 Not Modified; False if the item is unknown."""
    with write_transaction(db):
        state = db.execute(_STATE_SQL, [article_id]).fetchone()
        if state is None:
            return False
        _update_article(
            db,
            article_id,
            {
                "last_seen_at": seen_at,
                "last_fetched_at": seen_at,
                "last_run_id": run_id,
                "visits": state[2] + 1,
                "next_visit_at": next_visit(state[1], seen_at),
            },
        )
    return True


def _media_entries(article: Article) -> list[tuple[str, list[Any]]]:
    return [("images", list(article.photos)), ("attachments", list(article.attachments))]


def _record_media_files(db: sqlite_utils.Database, article: Article) -> None:
    """Record files downloaded for an unchanged item (its media rows are not rewritten)."""
    for table, entries in _media_entries(article):
        for position, entry in enumerate(entries, start=1):
            if entry.local_path:
                db.execute(
                    f"UPDATE {table} SET local_path = ?, checksum = ?, file_size = ? "
                    "WHERE article_id = ? AND position = ?",
                    [entry.local_path, entry.checksum, entry.file_size, article.id, position],
                )


def keep_media_files(db: sqlite_utils.Database, article: Article) -> None:
    """Carry downloaded files over to a new extraction of the same URLs.

    A changed item's media rows are replaced; the files on disk are still there.
    """
    for table, entries in _media_entries(article):
        kept = {
            row[0]: row[1:]
            for row in db.execute(
                f"SELECT url, {', '.join(MEDIA_FIELDS)} FROM {table} "
                "WHERE article_id = ? AND local_path IS NOT NULL",
                [article.id],
            ).fetchall()
        }
        for entry in entries:
            if entry.local_path is None and entry.url in kept:
                entry.local_path, entry.checksum, entry.file_size = kept[entry.url]


def _replace_children(db: sqlite_utils.Database, article: Article) -> None:
    # Read the media lists directly: asdict() would copy the whole item, body HTML included.
    for table, (field, columns) in _CHILDREN.items():
        db.execute(f"DELETE FROM {table} WHERE article_id = ?", [article.id])
        rows = [
            [article.id, n, *(getattr(entry, c) for c in columns)]
            for n, entry in enumerate(getattr(article, field), start=1)
        ]
        if rows:
            names = ", ".join(("article_id", "position", *columns))
            db.conn.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * (len(columns) + 2))})",
                rows,
            )


def start_run(db: sqlite_utils.Database, spider: str, arguments: dict[str, Any], at: str) -> int:
    """Record a crawl that has started; returns its run id."""
    with write_transaction(db):
        table = db.table("crawl_runs")
        table.insert(
            {
                "spider": spider,
                "arguments": json.dumps(arguments, sort_keys=True, default=str),
                "started_at": at,
                "status": "running",
            }
        )
        return int(table.last_pk or 0)


def record_run_pid(db: sqlite_utils.Database, run_id: int, pid: int) -> None:
    """Put the PID of the process doing a run on its row, so `hkarchive check` can tell a run
    in progress from one that was killed."""
    with write_transaction(db):
        db.table("crawl_runs").update(run_id, {"pid": pid})


def mark_interrupted(db: sqlite_utils.Database, pid: int) -> list[int]:
    """Mark runs left "running" by other processes as interrupted; returns their ids.

    Called by a crawl holding the archive's lock, so any other process's running row is a
    crawl that was killed. Its items were stored one transaction each, and queued for linking
    with them (newsarchive/linking/queue.py): whichever run links next links them.
    """
    with write_transaction(db):
        runs = [
            row[0]
            for row in db.execute(
                "SELECT id FROM crawl_runs WHERE status = 'running' AND coalesce(pid, -1) != ?",
                [pid],
            )
        ]
        if runs:
            marks = ", ".join("?" * len(runs))
            db.execute(f"UPDATE crawl_runs SET status = 'interrupted' WHERE id IN ({marks})", runs)
    return runs


def record_listing(
    db: sqlite_utils.Database, listing: ListingRead, *, at: str, run_id: int | None
) -> None:
    """Remember a listing page read by this run."""
    with write_transaction(db):
        db.table("listing_pages").upsert(
            {
                "url": listing.url,
                "source": listing.source,
                "status": listing.status,
                "items": listing.items,
                "fetched_at": at,
                "run_id": run_id,
            },
            pk="url",
        )


def finish_run(db: sqlite_utils.Database, run_id: int, values: dict[str, Any]) -> None:
    """Record a crawl's end: status, counts and the full Scrapy stats."""
    with write_transaction(db):
        db.table("crawl_runs").update(run_id, values)
