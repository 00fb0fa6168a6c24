"""The versions of an archived item, read back: the earlier ones kept in article_versions when
its content changed (newsarchive/archive.py writes them), and its current row."""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils


@dataclass(frozen=True)
class Version:
    """One state of an item: an archived earlier version, or the current row."""

    number: int
    fetched_at: str
    title: str
    published_at: str | None
    body_text: str
    content_hash: str
    current: bool = False


def article_versions(db: sqlite_utils.Database, article_id: str) -> list[Version]:
    """Every version of an item, oldest first, ending with the current one (numbered after the
    earlier ones, fetched when it last changed); empty if the archive has no such item."""
    current = db.execute(
        "SELECT title, published_at, body_text, content_hash, "
        "coalesce(last_changed_at, first_seen_at) FROM articles WHERE id = ?",
        [article_id],
    ).fetchone()
    if current is None:
        return []
    earlier = [
        Version(number, fetched or "", title or "", published, body or "", digest)
        for number, fetched, title, published, body, digest in db.execute(
            "SELECT version, fetched_at, title, published_at, body_text, content_hash "
            "FROM article_versions WHERE article_id = ? ORDER BY version",
            [article_id],
        )
    ]
    title, published, body, digest, since = current
    return [*earlier, Version(len(earlier) + 1, since, title, published, body, digest, True)]
