"""The archive's articles read for export: each with its links and media, batch by batch.

Articles are read through one cursor in batches, each batch's media read with it, so a reader
that handles every article before asking for the next holds one batch, whatever the archive's
size. `read_snapshot` keeps a whole export to one state of the archive.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlite_utils

from newsarchive.db import placeholders

BATCH = 500

ARTICLE_COLUMNS = (
    "id",
    "source",
    "native_id",
    "url",
    "lang",
    "title",
    "published_at",
    "category",
    "body_text",
    "body_html",
    "content_hash",
    "first_seen_at",
    "last_seen_at",
    "last_changed_at",
)
# The item's twin in the other language (translation_pairs) and its story (story_links).
LINK_COLUMNS = ("translation_id", "story_id")
MEDIA_FILE = ("local_path", "checksum", "file_size")
CHILDREN: dict[str, tuple[str, ...]] = {
    "images": ("url", "thumbnail_url", "caption", "name", "size_label", "size_bytes", *MEDIA_FILE),
    "attachments": ("url", "title", *MEDIA_FILE),
    "videos": ("url", "title"),
    "related_links": ("url", "title"),
}


@dataclass(frozen=True)
class ExportFilter:
    """Which articles to export: sources, language, and publication days (both included)."""

    sources: tuple[str, ...] = ()
    lang: str | None = None
    since: date | None = None
    until: date | None = None

    def where(self) -> tuple[str, list[Any]]:
        """The SQL condition on articles ``a`` and its bound parameters."""
        clauses = ["1"]
        params: list[Any] = []
        if self.sources:
            clauses.append(f"a.source IN ({placeholders(self.sources)})")
            params.extend(self.sources)
        if self.lang:
            clauses.append("a.lang = ?")
            params.append(self.lang)
        # published_at is ISO 8601 in Hong Kong time (or a bare day), so string order is time
        # order and a day's items all start with its date: the index answers both bounds.
        if self.since:
            clauses.append("a.published_at >= ?")
            params.append(self.since.isoformat())
        if self.until:
            clauses.append("a.published_at < ?")
            params.append((self.until + timedelta(days=1)).isoformat())
        return " AND ".join(clauses), params


_ARTICLES_SQL = """
SELECT {columns}, coalesce(pe.zh_id, pz.en_id), sl.story_id
FROM articles a
LEFT JOIN translation_pairs pe ON pe.en_id = a.id
LEFT JOIN translation_pairs pz ON pz.zh_id = a.id
LEFT JOIN story_links sl ON sl.article_id = a.id
WHERE {where}
ORDER BY a.published_at, a.id
"""


def iter_articles(
    db: sqlite_utils.Database, selection: ExportFilter, batch: int = BATCH
) -> Iterator[dict[str, Any]]:
    """Every selected article as a dict of ARTICLE_COLUMNS and LINK_COLUMNS with its media
    nested (a list per key of CHILDREN), oldest first, batch by batch."""
    where, params = selection.where()
    columns = ", ".join(f"a.{c}" for c in ARTICLE_COLUMNS)
    names = (*ARTICLE_COLUMNS, *LINK_COLUMNS)
    cursor = db.conn.execute(_ARTICLES_SQL.format(columns=columns, where=where), params)
    while rows := cursor.fetchmany(batch):
        articles = [dict(zip(names, row, strict=True)) for row in rows]
        children = _children(db, [a["id"] for a in articles])
        for article in articles:
            for table in CHILDREN:
                article[table] = children[table].get(article["id"], [])
            yield article


def _children(
    db: sqlite_utils.Database, ids: Sequence[str]
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    marks = placeholders(ids)
    found: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for table, columns in CHILDREN.items():
        by_article: dict[str, list[dict[str, Any]]] = {}
        sql = (
            f"SELECT article_id, {', '.join(columns)} FROM {table} "
            f"WHERE article_id IN ({marks}) ORDER BY article_id, position"
        )
        for article_id, *values in db.execute(sql, list(ids)):
            by_article.setdefault(article_id, []).append(dict(zip(columns, values, strict=True)))
        found[table] = by_article
    return found


@contextmanager
def read_snapshot(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """A read transaction: everything read inside it sees one state of the archive, even while
    a crawl writes to it. Nothing is written; it is rolled back at the end."""
    db.execute("BEGIN")
    try:
        yield db
    finally:
        db.execute("ROLLBACK")
