"""After items are stored: link them into stories and pair them with their translations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlite_utils

from pipelines.pairs import pair_releases
from pipelines.stories import link_stories


@dataclass
class Linked:
    """What linking did: rows in the archive afterwards, and each step that failed."""

    story_links: int | None = None
    translation_pairs: int | None = None
    failures: list[tuple[str, Exception]] = field(default_factory=list)


def link_changed(db: sqlite_utils.Database, ids: Sequence[str]) -> Linked:
    """Link new and changed items; a failing step is reported, never raised.

    The items themselves are already stored: `hkarchive story --relink` and
    `hkarchive pairs --relink` can redo what failed.
    """
    linked = Linked()
    try:
        linked.story_links = link_stories(db, ids).links
    except Exception as exc:  # reported to the caller, who counts it as an error
        linked.failures.append(("linking stories failed", exc))
    try:
        linked.translation_pairs = pair_releases(db, ids).pairs
    except Exception as exc:  # likewise
        linked.failures.append(("pairing translations failed", exc))
    return linked
