"""Runs: the crawl_runs row a crawl or reparse starts, marks and finishes, and index pages read."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from newsarchive.clock import hk_now
from newsarchive.db import placeholders, write_transaction
from newsarchive.model import ListingRead


@dataclass(frozen=True)
class StartedRun:
    """A run just begun: its id, and the runs found killed (now marked interrupted)."""

    id: int
    interrupted: list[int]


def begin_run(
    db: sqlite_utils.Database, spider: str, arguments: dict[str, Any], *, pid: int
) -> StartedRun:
    """Begin a run of a crawl or a reparse (the one place either starts): its row, running,
    with the PID of the process doing it; then runs another process left running, which the
    caller's lock says were killed, marked interrupted. Their stored items wait in the link
    queue and are linked when this run links, before finish_run records its end."""
    run_id = start_run(db, spider, arguments, hk_now().isoformat())
    record_run_pid(db, run_id, pid)
    return StartedRun(run_id, mark_interrupted(db, pid))


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
            db.execute(
                f"UPDATE crawl_runs SET status = 'interrupted' WHERE id IN ({placeholders(runs)})",
                runs,
            )
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
