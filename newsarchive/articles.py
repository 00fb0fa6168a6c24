"""Articles: storing an item with its media, one transaction each, keeping earlier versions."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlite_utils

from newsarchive.clock import format_hk
from newsarchive.db import write_transaction
from newsarchive.linking.queue import queue_links
from newsarchive.model import (
    FIRST_SEEN,
    MEDIA_FIELDS,
    ROUTES,
    Article,
    content_hash,
    reading_route,
)
from newsarchive.search import index_article, search_key

Outcome = Literal["new", "updated", "unchanged"]


_CHILDREN = {
    "images": (
        "photos",
        ("url", "thumbnail_url", "caption", "name", "size_label", "size_bytes", *MEDIA_FIELDS),
    ),
    "attachments": ("attachments", ("url", "title", *MEDIA_FIELDS)),
    "videos": ("videos", ("url", "title")),
    "related_links": ("related", ("url", "title")),
}


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


# Young items are fetched again at these ages (from first seen) so corrections are caught;
# after the last one an item is only fetched again when asked (--refresh) or listed anew.
REVISIT_AFTER = (timedelta(hours=1), timedelta(days=1), timedelta(days=7))


def next_visit(first_seen_at: str, now: str) -> str | None:
    """When an item first seen at first_seen_at is next due for a revisit, or None."""
    first, current = datetime.fromisoformat(first_seen_at), datetime.fromisoformat(now)
    for delay in REVISIT_AFTER:
        if first + delay > current:
            return (first + delay).isoformat()
    return None


# Then: when the content in the row was last fetched, when it was first stored, and the method
# that read its body (its route).
_STATE_SQL = (
    "SELECT content_hash, first_seen_at, coalesce(visits, 0), title, published_at, body_text, "
    "coalesce(last_fetched_at, last_seen_at), coalesce(last_changed_at, first_seen_at), "
    "json_extract(extraction, '$.body') FROM articles WHERE id = ?"
)


def upsert_article(
    db: sqlite_utils.Database,
    article: Article,
    *,
    seen_at: str,
    run_id: int | None,
    fetched: bool = True,
) -> Outcome:
    """Insert or update one article with its media, atomically.

    An article whose content hash is unchanged only has its fetch state moved
    (``last_seen_at``, validators, next revisit); a changed one first has its previous
    content saved as a version in ``article_versions``. A reading by another route than the
    stored one's (the feed's while the API is down) is compared with that route's last
    reading instead (see _read_another_way). ``fetched=False`` (a reparse of a
    stored response) leaves the fetch state alone: nothing was fetched. An item dated only
    when first seen keeps the date its row has (see _dated_as_stored).
    """
    with write_transaction(db):
        article = _dated_as_stored(db, article, seen_at)
        row = article_row(article)
        existing = db.execute(_STATE_SQL, [article.id]).fetchone()
        first_seen = existing[1] if existing else seen_at
        state: dict[str, Any] = {}
        if fetched or existing is None:
            state = {
                "last_seen_at": seen_at,
                "last_fetched_at": seen_at,
                "last_run_id": run_id,
                "visits": (existing[2] if existing else 0) + 1,
                "next_visit_at": next_visit(first_seen, seen_at),
            }
            # A page that stops sending validators keeps the last ones it gave.
            state |= {k: v for k, v in (("etag", article.etag),
                                        ("last_modified", article.last_modified)) if v}  # fmt: skip
        route = reading_route(article.extraction.get("body"))
        stored_route = reading_route(existing[8]) if existing is not None else route
        if existing is not None and existing[0] == article.content_hash:
            if route != stored_route:  # that route's next reading is compared with this one
                _remember_reading(db, article.id, route, article.content_hash)
            if state:
                _update_article(db, article.id, state)
            _record_media_files(db, article)
            return "unchanged"
        revision = True
        if route != stored_route:
            replaces, revision = _read_another_way(db, article, route, stored_route, existing)
            if not replaces:
                if state:
                    _update_article(db, article.id, state)
                return "unchanged"
        if existing is None:
            # The rowid SQLite would choose, chosen here: the search key is written with the row.
            rowid = db.execute(_NEXT_ROWID_SQL).fetchone()[0]
            row.update(rowid=rowid, first_seen_at=seen_at, first_run_id=run_id)
            outcome: Outcome = "new"
        else:
            rowid = db.execute(_ROWID_SQL, [article.id]).fetchone()[0]
            if revision:
                _save_version(db, article.id, existing, run_id)
            row["last_changed_at"] = seen_at
            outcome = "updated"
        # Written with the row, not updated after it: SQLite rewrites a row whole, body and all.
        row["search_key"] = key = search_key(article.published_at, rowid)
        _upsert_article(db, row | state)
        keep_media_files(db, article)
        _replace_children(db, article)
        index_article(db, key, article.title, article.body_text)
        # With the item, in its transaction: its links are made later, by whichever run links
        # next, so a crawl killed before linking loses none.
        queue_links(db, article.id, at=seen_at, run_id=run_id)
    return outcome


_READING_SQL = "SELECT content_hash FROM article_readings WHERE article_id = ? AND route = ?"


def _read_another_way(
    db: sqlite_utils.Database,
    article: Article,
    route: str,
    stored_route: str,
    existing: tuple[Any, ...],
) -> tuple[bool, bool]:
    """Whether a reading by another route than the stored one's replaces the stored content,
    and whether that is a revision (the stored content kept as a version).

    Routes differ in detail, so a reading is a revision only when its route read something
    else last time. Otherwise it replaces the stored content only when its route is a better
    one (the API's reading, when the API answers again, replaces the feed's it was missing
    from): a post read through the feed while the API is down keeps its API reading. Each
    route's last reading not stored is remembered in ``article_readings``.
    """
    last = db.execute(_READING_SQL, [article.id, route]).fetchone()
    revised = last is not None and last[0] != article.content_hash
    if not revised and ROUTES.index(route) > ROUTES.index(stored_route):
        if last is None:
            _remember_reading(db, article.id, route, article.content_hash)
        return False, False
    db.execute(
        "DELETE FROM article_readings WHERE article_id = ? AND route = ?", [article.id, route]
    )
    _remember_reading(db, article.id, stored_route, existing[0])
    return True, revised


def _remember_reading(
    db: sqlite_utils.Database, article_id: str, route: str, content_hash: str | None
) -> None:
    """Remember a route's last reading of an item (``content_hash``: set by normalize)."""
    db.execute(
        "INSERT OR REPLACE INTO article_readings (article_id, route, content_hash) "
        "VALUES (?, ?, ?)",
        [article_id, route, content_hash],
    )


_STORED_DATE_SQL = (
    "SELECT published_at, json_extract(extraction, '$.published_at') FROM articles WHERE id = ?"
)


def _dated_as_stored(db: sqlite_utils.Database, article: Article, seen_at: str) -> Article:
    """The item with the date the archive keeps for it, when its page gave none (``first-seen``).

    A new item is dated when it is stored (``seen_at``: a crawl's clock, a reparsed capture's
    fetch time). A stored one keeps its row's date and method, the first time it was seen or
    a date an earlier fetch read (its feed's, say, which a revisit does not carry): a re-crawl
    then hashes the same and is no new version. An item whose page now gives a date is
    stored as it came, a correction like any other.
    """
    if article.extraction.get("published_at") != FIRST_SEEN:
        return article
    stored = db.execute(_STORED_DATE_SQL, [article.id]).fetchone()
    if stored is None:
        published, method = format_hk(datetime.fromisoformat(seen_at)), FIRST_SEEN
    else:
        published, method = stored[0], stored[1] or FIRST_SEEN
    dated = replace(
        article, published_at=published, extraction=article.extraction | {"published_at": method}
    )
    dated.content_hash = content_hash(dated)
    return dated


_NEXT_ROWID_SQL = "SELECT coalesce(max(rowid), 0) + 1 FROM articles"


_ROWID_SQL = "SELECT rowid FROM articles WHERE id = ?"


# Plain SQL rather than sqlite-utils' upsert() and update(), which read the schema on every
# call: a third of the time of storing an item.
def _upsert_article(db: sqlite_utils.Database, values: dict[str, Any]) -> None:
    """Insert a row of articles, or update the given columns of the row with its id."""
    columns = list(values)
    kept = ("id", "rowid")
    updates = ", ".join(f"{column} = excluded.{column}" for column in columns if column not in kept)
    db.execute(
        f"INSERT INTO articles ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT(id) DO UPDATE SET {updates}",
        list(values.values()),
    )


def _update_article(db: sqlite_utils.Database, article_id: str, values: dict[str, Any]) -> None:
    """Set the given columns of one row of articles."""
    assignments = ", ".join(f"{column} = ?" for column in values)
    db.execute(f"UPDATE articles SET {assignments} WHERE id = ?", [*values.values(), article_id])


def _save_version(
    db: sqlite_utils.Database, article_id: str, state: tuple[Any, ...], run_id: int | None
) -> None:
    content_hash, _, _, title, published_at, body_text, fetched_at, first_seen_at = state[:8]
    number = db.execute(
        "SELECT coalesce(max(version), 0) + 1 FROM article_versions WHERE article_id = ?",
        [article_id],
    ).fetchone()[0]
    db.table("article_versions").insert(
        {
            "article_id": article_id,
            "version": number,
            "fetched_at": fetched_at,
            "first_seen_at": first_seen_at,
            "title": title,
            "published_at": published_at,
            "body_text": body_text,
            "content_hash": content_hash,
            "run_id": run_id,
        }
    )


def touch_article(
    db: sqlite_utils.Database, article_id: str, *, seen_at: str, run_id: int | None
) -> bool:
    """Record a revisit the server answered 304 Not Modified; False if the item is unknown."""
    with write_transaction(db):
        state = db.execute(_STATE_SQL, [article_id]).fetchone()
        if state is None:
            return False
        _update_article(
            db,
            article_id,
            {
                "last_seen_at": seen_at,
                "last_fetched_at": seen_at,
                "last_run_id": run_id,
                "visits": state[2] + 1,
                "next_visit_at": next_visit(state[1], seen_at),
            },
        )
    return True


def _media_entries(article: Article) -> list[tuple[str, list[Any]]]:
    return [("images", list(article.photos)), ("attachments", list(article.attachments))]


def _record_media_files(db: sqlite_utils.Database, article: Article) -> None:
    """Record files downloaded for an unchanged item (its media rows are not rewritten)."""
    for table, entries in _media_entries(article):
        for position, entry in enumerate(entries, start=1):
            if entry.local_path:
                db.execute(
                    f"UPDATE {table} SET local_path = ?, checksum = ?, file_size = ? "
                    "WHERE article_id = ? AND position = ?",
                    [entry.local_path, entry.checksum, entry.file_size, article.id, position],
                )


def keep_media_files(db: sqlite_utils.Database, article: Article) -> None:
    """Carry downloaded files over to a new extraction of the same URLs.

    A changed item's media rows are replaced; the files on disk are still there.
    """
    for table, entries in _media_entries(article):
        kept = {
            row[0]: row[1:]
            for row in db.execute(
                f"SELECT url, {', '.join(MEDIA_FIELDS)} FROM {table} "
                "WHERE article_id = ? AND local_path IS NOT NULL",
                [article.id],
            ).fetchall()
        }
        for entry in entries:
            if entry.local_path is None and entry.url in kept:
                entry.local_path, entry.checksum, entry.file_size = kept[entry.url]


def _replace_children(db: sqlite_utils.Database, article: Article) -> None:
    # Read the media lists directly: asdict() would copy the whole item, body HTML included.
    for table, (field, columns) in _CHILDREN.items():
        db.execute(f"DELETE FROM {table} WHERE article_id = ?", [article.id])
        rows = [
            [article.id, n, *(getattr(entry, c) for c in columns)]
            for n, entry in enumerate(getattr(article, field), start=1)
        ]
        if rows:
            names = ", ".join(("article_id", "position", *columns))
            db.conn.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * (len(columns) + 2))})",
                rows,
            )


# --- reading articles back ---------------------------------------------------------------


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
