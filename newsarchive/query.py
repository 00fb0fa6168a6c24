"""SQL of the user's own over the archive, read-only: what `hkarchive query` runs.

The archive is opened read-only (SQLite's ``mode=ro``, and ``PRAGMA query_only``), and an
authorizer refuses every statement that would write (INSERT, UPDATE, DELETE, CREATE, DROP,
ALTER, ATTACH, a PRAGMA that sets a value...) before it runs, so the refusal can say what was
refused rather than SQLite's "not authorized".
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from newsarchive.archive import open_archive
from newsarchive.db import BUSY_TIMEOUT, fault_error


class QueryError(Exception):
    """The SQL given cannot be run: a write refused, or an error SQLite found in it."""


# Actions a read needs: reading columns and running a SELECT, its functions, a recursive CTE,
# and a transaction's own statements. Everything else (writes, schema changes, ATTACH) is
# refused.
_READS = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    sqlite3.SQLITE_RECURSIVE,
    sqlite3.SQLITE_TRANSACTION,
    sqlite3.SQLITE_SAVEPOINT,
}
# PRAGMAs that only read, though they take an argument (a table, an index, a limit).
_READ_PRAGMAS = {
    "table_info",
    "table_xinfo",
    "table_list",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
    "foreign_key_check",
    "integrity_check",
    "quick_check",
}
# What a refusal names: the statements that write, by their authorizer action.
_WRITES = (
    "INSERT", "UPDATE", "DELETE", "ALTER_TABLE", "ATTACH", "DETACH", "PRAGMA", "REINDEX",
    "ANALYZE", "CREATE_INDEX", "CREATE_TABLE", "CREATE_TEMP_INDEX", "CREATE_TEMP_TABLE",
    "CREATE_TEMP_TRIGGER", "CREATE_TEMP_VIEW", "CREATE_TRIGGER", "CREATE_VIEW", "CREATE_VTABLE",
    "DROP_INDEX", "DROP_TABLE", "DROP_TEMP_INDEX", "DROP_TEMP_TABLE", "DROP_TEMP_TRIGGER",
    "DROP_TEMP_VIEW", "DROP_TRIGGER", "DROP_VIEW", "DROP_VTABLE",
)  # fmt: skip
_ACTION_NAMES = {
    getattr(sqlite3, f"SQLITE_{name}"): name.replace("_", " ")
    for name in _WRITES
    if hasattr(sqlite3, f"SQLITE_{name}")
}


@dataclass
class _Guard:
    """The authorizer: allows reads, remembers the first action it refused."""

    refused: str | None = None

    def __call__(
        self, action: int, arg1: str | None, arg2: str | None, _db: str | None, _src: str | None
    ) -> int:
        if action in _READS:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_PRAGMA and (arg2 is None or arg1 in _READ_PRAGMAS):
            return sqlite3.SQLITE_OK  # PRAGMA name, or name(argument) of a reading PRAGMA
        if action == sqlite3.SQLITE_UPDATE and arg1 == "sqlite_master":
            # Asked by SQLite itself when FTS5 reads the schema (a MATCH); an UPDATE of the
            # schema by the SQL given still fails: the connection is read-only.
            return sqlite3.SQLITE_OK
        if self.refused is None:
            what = _ACTION_NAMES.get(action, f"action {action}")
            self.refused = f"{what} {arg1}" if arg1 else what
        return sqlite3.SQLITE_DENY


@contextmanager
def read_query(
    path: str | Path, sql: str, params: Mapping[str, Any]
) -> Iterator[tuple[list[str], Iterator[dict[str, Any]]]]:
    """Run sql on the archive at path, read-only, with params bound to its :names; yields its
    column names and its rows (dicts), read as they are iterated.

    ArchiveError (as for every command) when path holds no usable archive; QueryError when the
    SQL would write, or SQLite refuses it.
    """
    open_archive(path, create=False).close()  # the same checks (and upgrade) as any command
    target = Path(path).resolve()
    conn = sqlite3.connect(f"{target.as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT)
    try:
        conn.execute("PRAGMA query_only = ON")
        guard = _Guard()
        conn.set_authorizer(guard)
        cursor = _execute(conn, target, sql, params, guard)
        columns = [d[0] for d in cursor.description or ()]
        yield columns, _rows(cursor, columns, target)
    finally:
        conn.close()


def _execute(
    conn: sqlite3.Connection, target: Path, sql: str, params: Mapping[str, Any], guard: _Guard
) -> sqlite3.Cursor:
    try:
        return conn.execute(sql, dict(params))
    except sqlite3.Error as exc:
        fault = fault_error(target, exc)
        if fault is not None:
            raise fault from exc  # the archive, not the SQL: a runtime error
        if guard.refused is not None:
            raise QueryError(f"only reading is allowed: {guard.refused} refused") from exc
        raise QueryError(f"{exc}") from exc


def _rows(cursor: sqlite3.Cursor, columns: list[str], target: Path) -> Iterator[dict[str, Any]]:
    try:
        for row in cursor:
            yield dict(zip(columns, row, strict=True))
    except sqlite3.Error as exc:
        fault = fault_error(target, exc)
        if fault is not None:
            raise fault from exc
        raise QueryError(f"{exc}") from exc
