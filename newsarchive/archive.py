"""Opening the archive: creating, checking and upgrading the SQLite file, in WAL mode."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import sqlite_utils

from newsarchive.db import BUSY_TIMEOUT, ArchiveError, NoArchive, fault_error
from newsarchive.schema import migrate


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
        raise NoArchive(f"no archive at {target.absolute()}")
    _check_folder(target)
    if not create and target.stat().st_size == 0:
        raise NoArchive(f"no archive at {target.absolute()}: the file is empty")
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


def limit_sqlite_heap(limit: int) -> None:
    """Cap what SQLite may allocate in this process, all connections together, at limit
    bytes: past it a statement fails "out of memory". A process-wide setting, made through
    a connection of its own."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(f"PRAGMA hard_heap_limit = {limit:d}")
    finally:
        conn.close()
