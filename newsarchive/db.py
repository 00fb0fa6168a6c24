"""The archive's SQL plumbing: its errors and faults, write transactions that wait for the
write lock, and batching of long id lists."""

from __future__ import annotations

import errno
import logging
import re
import shlex
import sqlite3
import time
from collections.abc import Iterator, Sequence, Sized
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import sqlite_utils

logger = logging.getLogger(__name__)


# How long a statement waits for another connection's lock (SQLite's busy timeout), and how
# many such waits a write makes for the write lock before it gives up: 20 x 30 s, 10 minutes.
BUSY_TIMEOUT = 30.0
WRITE_ATTEMPTS = 20


class ArchiveError(Exception):
    """The archive cannot be opened or written; the message names the path and the reason."""


class NoArchive(ArchiveError):
    """No archive where a command that only reads one looked (no file, or an empty one); the
    message names the path in full, as a relative one depends on where the command ran."""


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


# Ids per statement when a long list is read or written in pieces: below SQLite's limit of
# bound variables (999 in older builds, 32,766 since 3.32), and a transaction per piece stays
# short.
BATCH = 500

T = TypeVar("T")


def chunks(values: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    """The values in pieces of at most size, in order."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def placeholders(values: Sized) -> str:
    """One ``?`` per value, comma-separated: the inside of an ``IN (...)`` list."""
    return ", ".join("?" * len(values))
