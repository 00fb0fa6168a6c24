"""Opening the archive and writing articles and crawl runs to it, one transaction each."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

import sqlite_utils

from crawler.items import Article
from pipelines.schema import migrate

Outcome = Literal["new", "updated", "unchanged"]

_CHILDREN = {
    "images": ("photos", ("url", "thumbnail_url", "caption", "name", "size_label", "size_bytes")),
    "attachments": ("attachments", ("url", "title")),
    "videos": ("videos", ("url", "title")),
    "related_links": ("related", ("url", "title")),
}


class ArchiveError(Exception):
    """The archive cannot be opened or written; the message names the path and the reason."""


def open_archive(path: str | Path, *, create: bool = True) -> sqlite_utils.Database:
    """Open (creating and migrating if needed) the SQLite archive at path, in WAL mode."""
    target = Path(path)
    if target.is_dir():
        raise ArchiveError(f"cannot use {target} as the archive: it is a directory")
    if not create and not target.exists():
        raise ArchiveError(f"no archive at {target}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(target, timeout=30)
    except (OSError, sqlite3.Error) as exc:
        raise ArchiveError(f"cannot open the archive at {target}: {_reason(exc)}") from exc
    try:
        db = sqlite_utils.Database(conn)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        migrate(db)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise ArchiveError(f"cannot use {target} as the archive: {_reason(exc)}") from exc
    except RuntimeError as exc:
        conn.close()
        raise ArchiveError(f"cannot use {target}: {exc}") from exc
    return db


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc)


def article_row(article: Article) -> dict[str, Any]:
    """The articles-table columns of an item (identity and content, no timestamps)."""
    return {
        "id": article.id,
        "source": article.source,
        "native_id": article.native_id,
        "url": article.url,
        "lang": article.lang,
        "title": article.title,
        "published_at": article.published_at,
        "body_text": article.body_text,
        "body_html": article.body_html,
        "category": article.category,
        "content_hash": article.content_hash,
        "body_hash": article.body_hash,
        "extraction": json.dumps(article.extraction, sort_keys=True),
    }


def upsert_article(
    db: sqlite_utils.Database, article: Article, *, seen_at: str, run_id: int | None
) -> Outcome:
    """Insert or update one article with its media, atomically.

    An article whose content hash is unchanged only has ``last_seen_at`` moved.
    """
    row = article_row(article)
    with db.atomic():
        existing = db.execute(
            "SELECT content_hash FROM articles WHERE id = ?", [article.id]
        ).fetchone()
        if existing is not None and existing[0] == article.content_hash:
            db.execute(
                "UPDATE articles SET last_seen_at = ?, last_run_id = ? WHERE id = ?",
                [seen_at, run_id, article.id],
            )
            return "unchanged"
        if existing is None:
            row.update(first_seen_at=seen_at, first_run_id=run_id)
            outcome: Outcome = "new"
        else:
            row["last_changed_at"] = seen_at
            outcome = "updated"
        row.update(last_seen_at=seen_at, last_run_id=run_id)
        db.table("articles").upsert(row, pk="id")
        _replace_children(db, article)
    return outcome


def _replace_children(db: sqlite_utils.Database, article: Article) -> None:
    data = asdict(article)
    for table, (field, columns) in _CHILDREN.items():
        db.execute(f"DELETE FROM {table} WHERE article_id = ?", [article.id])
        rows = [
            {"article_id": article.id, "position": n, **{c: entry.get(c) for c in columns}}
            for n, entry in enumerate(data[field], start=1)
        ]
        if rows:
            db.table(table).insert_all(rows)


def start_run(db: sqlite_utils.Database, spider: str, arguments: dict[str, Any], at: str) -> int:
    """Record a crawl that has started; returns its run id."""
    with db.atomic():
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


def finish_run(db: sqlite_utils.Database, run_id: int, values: dict[str, Any]) -> None:
    """Record a crawl's end: status, counts and the full Scrapy stats."""
    with db.atomic():
        db.table("crawl_runs").update(run_id, values)
