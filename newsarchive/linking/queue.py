"""The link queue: items stored but not yet linked into stories or translation pairs.

Storing a new or changed item queues it, in the item's own transaction, once per linking step
(``stories``, ``pairs``); a step that finishes takes its items off the queue. So whatever kills
a crawl, and whichever run of it finishes first, every stored item is linked by the next step
that runs: linking never depends on which run stored an item or whether that run finished.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlite_utils

from newsarchive.db import chunks, placeholders, write_transaction

STEPS = ("stories", "pairs")


def queue_links(db: sqlite_utils.Database, article_id: str, *, at: str, run_id: int | None) -> None:
    """Queue one stored item for every linking step (inside the caller's transaction)."""
    db.conn.executemany(
        "INSERT INTO link_queue (article_id, step, queued_at, run_id) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (article_id, step) DO UPDATE SET "
        "queued_at = excluded.queued_at, run_id = excluded.run_id",
        [[article_id, step, at, run_id] for step in STEPS],
    )


def queued(db: sqlite_utils.Database, step: str) -> list[str]:
    """The ids waiting for a step, in id order."""
    sql = "SELECT article_id FROM link_queue WHERE step = ? ORDER BY article_id"
    return [row[0] for row in db.execute(sql, [step])]


def has_queued(db: sqlite_utils.Database) -> bool:
    """Whether any item waits for any step (cheap: no linker need be loaded otherwise)."""
    return db.execute("SELECT 1 FROM link_queue LIMIT 1").fetchone() is not None


def dequeue(db: sqlite_utils.Database, step: str, ids: Sequence[str] | None = None) -> None:
    """Take items a step has linked off its queue (``None``: every item, after a whole pass)."""
    with write_transaction(db):
        if ids is None:
            db.execute("DELETE FROM link_queue WHERE step = ?", [step])
            return
        for chunk in chunks(ids):
            db.execute(
                f"DELETE FROM link_queue WHERE step = ? AND article_id IN ({placeholders(chunk)})",
                [step, *chunk],
            )


def waiting(
    db: sqlite_utils.Database, *, running_runs: Sequence[int] = ()
) -> dict[str, dict[str, int]]:
    """Per source and step, the items left waiting by runs that are not in progress (a crawl
    killed before its links were made, or whose linking failed): the next crawl links them."""
    sql = (
        "SELECT a.source, q.step, count(*) "
        "FROM link_queue q JOIN articles a ON a.id = q.article_id "
        f"WHERE q.run_id IS NULL OR q.run_id NOT IN ({placeholders(running_runs)}) "
        "GROUP BY 1, 2 ORDER BY 1, 2"
    )
    found: dict[str, dict[str, int]] = {}
    for source, step, count in db.execute(sql, list(running_runs)):
        found.setdefault(source, {})[step] = int(count)
    return found


# The day an item's story signature is filed under (newsarchive/linking/stories.py).
SIGNATURE_DAY = "substr(coalesce(a.published_at, a.first_seen_at), 1, 10)"

# An item's story signature (its article_minhash row m) is stale when it is missing or was
# computed from another body or day: every item linked into stories has a current one.
SIGNATURE_STALE = (
    f"m.article_id IS NULL OR m.body_hash IS NOT a.body_hash OR m.day IS NOT {SIGNATURE_DAY}"
)

# One with a stale signature, and not queued, was stored and never linked.
NEVER_LINKED_SQL = f"""
SELECT a.id, a.source FROM articles a LEFT JOIN article_minhash m ON m.article_id = a.id
WHERE ({SIGNATURE_STALE})
  AND NOT EXISTS (SELECT 1 FROM link_queue q WHERE q.article_id = a.id AND q.step = 'stories')
ORDER BY a.id
"""


def never_linked(db: sqlite_utils.Database) -> dict[str, list[str]]:
    """Per source, the items stored, not waiting in the queue, and yet without a current story
    signature: stored and never linked."""
    found: dict[str, list[str]] = {}
    for article_id, source in db.execute(NEVER_LINKED_SQL):
        found.setdefault(source, []).append(article_id)
    return found
