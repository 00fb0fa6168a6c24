"""One article as a reader sees it, read from the archive: the row, its photos, attachments and
videos, its translation, its story with the other members, and its earlier versions.

The datasette plugin's article page (hkarchive/datasette_plugin.py) renders it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from newsarchive.linking.pairs import Twin, translation_of
from newsarchive.linking.stories import Member, find_story, story_members
from newsarchive.versions import Version, article_versions

_ARTICLE_COLUMNS = (
    "id", "source", "url", "lang", "title", "published_at", "body_text", "body_html",
    "category", "extraction", "first_seen_at", "last_changed_at",
)  # fmt: skip


@dataclass
class ArticlePage:
    """Everything the article page shows."""

    article: dict[str, Any]
    images: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    videos: list[dict[str, Any]] = field(default_factory=list)
    twin: Twin | None = None
    story_id: int | None = None
    members: list[Member] = field(default_factory=list)
    versions: list[Version] = field(default_factory=list)


def article_page(db: sqlite_utils.Database, article_id: str) -> ArticlePage | None:
    """The page of article_id, or None when the archive has no such item."""
    columns = ", ".join(_ARTICLE_COLUMNS)
    found = list(db.query(f"SELECT {columns} FROM articles WHERE id = ?", [article_id]))
    if not found:
        return None
    page = ArticlePage(article=found[0])
    page.images = list(
        db.query(
            "SELECT url, thumbnail_url, caption, name, size_label, local_path FROM images "
            "WHERE article_id = ? ORDER BY position",
            [article_id],
        )
    )
    page.attachments = list(
        db.query(
            "SELECT url, title, local_path FROM attachments WHERE article_id = ? ORDER BY position",
            [article_id],
        )
    )
    page.videos = list(
        db.query(
            "SELECT url, title FROM videos WHERE article_id = ? ORDER BY position", [article_id]
        )
    )
    page.twin = translation_of(db, article_id)
    page.story_id = find_story(db, article_id)
    if page.story_id is not None:
        page.members = story_members(db, page.story_id)
    page.versions = article_versions(db, article_id)
    return page
