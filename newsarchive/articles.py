"""Reading archived articles back: whether an item or a source is archived.

The articles are written by newsarchive/archive.py; searching them is newsarchive/search.py.
"""

from __future__ import annotations

import sqlite_utils


def article_exists(db: sqlite_utils.Database, article_id: str) -> bool:
    """Whether the archive has the item article_id."""
    return db.execute("SELECT 1 FROM articles WHERE id = ?", [article_id]).fetchone() is not None


def source_has_articles(db: sqlite_utils.Database, source: str) -> bool:
    """Whether the archive has at least one item of source."""
    found = db.execute("SELECT 1 FROM articles WHERE source = ? LIMIT 1", [source]).fetchone()
    return found is not None
