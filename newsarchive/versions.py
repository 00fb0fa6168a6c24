"""The versions of an archived item, read back: the earlier ones kept in article_versions when
its content changed (newsarchive/articles.py writes them), and its current row."""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils


@dataclass(frozen=True)
class Version:
    """One state of an item: an archived earlier version, or the current row.

    first_seen_at is when this content was first stored (None for a later version kept by an
    archive older than schema 11, which did not record it); last_seen_at is the last fetch that
    found this same content.
    """

    number: int
    first_seen_at: str | None
    last_seen_at: str
    title: str
    published_at: str | None
    body_text: str
    content_hash: str
    current: bool = False


_CURRENT_SQL = (
    "SELECT title, published_at, body_text, content_hash, "
    "coalesce(last_changed_at, first_seen_at), coalesce(last_fetched_at, last_seen_at) "
    "FROM articles WHERE id = ?"
)
_EARLIER_SQL = (
    "SELECT version, first_seen_at, fetched_at, title, published_at, body_text, content_hash "
    "FROM article_versions WHERE article_id = ? ORDER BY version"
)


def article_versions(db: sqlite_utils.Database, article_id: str) -> list[Version]:
    """Every version of an item, oldest first, ending with the current one (numbered after the
    earlier ones); empty if the archive has no such item."""
    current = db.execute(_CURRENT_SQL, [article_id]).fetchone()
    if current is None:
        return []
    earlier = [
        Version(number, first, last or "", title or "", published, body or "", digest)
        for number, first, last, title, published, body, digest in db.execute(
            _EARLIER_SQL, [article_id]
        )
    ]
    title, published, body, digest, first, last = current
    return [
        *earlier,
        Version(len(earlier) + 1, first, last or "", title, published, body, digest, True),
    ]
