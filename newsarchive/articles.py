"""Reading archived articles back: whether an item or a source is archived, what the archive
holds per source and language, and the example queries shown to users.

The articles are written by newsarchive/archive.py; searching them is newsarchive/search.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlite_utils


def article_exists(db: sqlite_utils.Database, article_id: str) -> bool:
    """Whether the archive has the item article_id."""
    return db.execute("SELECT 1 FROM articles WHERE id = ?", [article_id]).fetchone() is not None


def source_has_articles(db: sqlite_utils.Database, source: str) -> bool:
    """Whether the archive has at least one item of source."""
    found = db.execute("SELECT 1 FROM articles WHERE source = ? LIMIT 1", [source]).fetchone()
    return found is not None


@dataclass(frozen=True)
class Holding:
    """What the archive holds of one source in one language."""

    source: str
    lang: str
    items: int
    photos: int
    # The earliest and latest publication times (None when no item has one).
    first: str | None
    last: str | None


def holdings(db: sqlite_utils.Database) -> list[Holding]:
    """Per source and language (in that order): items, their photos, and their time span."""
    rows = db.execute(
        "select source, lang, count(*) n, min(published_at) first, max(published_at) last, "
        "(select count(*) from images i where i.article_id in "
        "(select id from articles b where b.source = a.source and b.lang = a.lang)) photos "
        "from articles a group by source, lang order by source, lang"
    ).fetchall()
    return [
        Holding(source, lang, items, photos, first, last)
        for source, lang, items, first, last, photos in rows
    ]


# Queries shown to the user as examples (the demo prints them, and the first one's results).
SAMPLE_QUERY = (
    "select a.published_at, a.lang, a.title from articles_fts "
    "join articles a on a.rowid = articles_fts.rowid "
    "where articles_fts match 'InnoHK' order by a.published_at"
)
LATEST_QUERY = "select published_at, title from articles order by published_at desc limit 10"


def sample_query(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """The rows of SAMPLE_QUERY (published_at, lang, title): the items matching 'InnoHK'."""
    return list(db.query(SAMPLE_QUERY))
