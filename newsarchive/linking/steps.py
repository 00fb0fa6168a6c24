"""After items are stored: link them into stories and pair them with their translations."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import sqlite_utils

from newsarchive.linking.pairs import pair_releases
from newsarchive.linking.queue import dequeue, queued
from newsarchive.linking.stories import link_stories


@dataclass
class Linked:
    """What linking did: rows in the archive afterwards, and each step that failed."""

    story_links: int | None = None
    translation_pairs: int | None = None
    failures: list[tuple[str, Exception]] = field(default_factory=list)


def link_queued(db: sqlite_utils.Database) -> Linked:
    """Link every item waiting in the link queue, whichever run stored it; a failing step is
    reported, never raised, and leaves its items queued for the next run.

    The items themselves are already stored: `hkarchive story --relink` and
    `hkarchive pairs --relink` can redo what failed.
    """
    linked = Linked()
    steps: list[tuple[str, str, Callable[[Sequence[str]], int]]] = [
        ("stories", "linking stories failed", lambda ids: link_stories(db, ids).links),
        ("pairs", "pairing translations failed", lambda ids: pair_releases(db, ids).pairs),
    ]
    for step, message, link in steps:
        ids = queued(db, step)
        if not ids:
            continue
        try:
            rows = link(ids)
            # Dequeued only once linked; a failed dequeue (a full disk) leaves them queued, and
            # linking them again is idempotent.
            dequeue(db, step, ids)
        except Exception as exc:  # reported to the caller, who counts it as an error
            linked.failures.append((message, exc))
            continue
        if step == "stories":
            linked.story_links = rows
        else:
            linked.translation_pairs = rows
    return linked
