"""What the archive already holds, as spiders need it: skip what is archived and not yet due.

The state is the archive itself (``articles.next_visit_at``, validators), read through a
read-only connection, so it can never drift from what was stored.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from scrapy.http import Request, Response

from newsarchive.clock import hk_now
from newsarchive.db import chunks, placeholders
from newsarchive.failures import Failure, failures_to_retry
from newsarchive.model import Article
from newsarchive.urls import index_day


@dataclass(frozen=True)
class Seen:
    """An archived item's fetch state."""

    id: str
    url: str
    next_visit_at: str | None
    etag: str | None
    last_modified: str | None

    def due(self, now: str) -> bool:
        """Whether the revisit schedule wants the item fetched again by now."""
        return self.next_visit_at is not None and self.next_visit_at <= now

    def conditional(self) -> dict[str, str]:
        """Headers asking the server to answer 304 when the page has not changed."""
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


# A day's list of releases can still grow on the day and the next.
SETTLED_AFTER = timedelta(days=2)


def _listed_day_settled(url: str, fetched_at: str) -> bool:
    day = index_day(url)
    return day is not None and fetched_at[:10] >= (day + SETTLED_AFTER).isoformat()


def crawl_clock(settings: Any) -> str:
    """The crawl's clock: Hong Kong time, or HKARCHIVE_NOW when a test freezes it."""
    return str(settings.get("HKARCHIVE_NOW") or hk_now().isoformat())


class SeenState:
    """Read-only view of the archive's items for one crawl, at one moment (``now``)."""

    @classmethod
    def for_crawl(cls, settings: Any, *, refresh: bool = False) -> SeenState:
        """The state of the crawl's archive (HKARCHIVE_DB) by the crawl's clock."""
        return cls(settings.get("HKARCHIVE_DB"), crawl_clock(settings), refresh=refresh)

    def __init__(self, db_path: str | Path, now: str, *, refresh: bool = False) -> None:
        self.now = now
        self.refresh = refresh
        path = Path(db_path)
        # A crawl into a new archive has nothing archived yet (the store creates the file).
        self.conn = (
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
            if path.is_file()
            else None
        )

    def lookup(self, ids: Iterable[str]) -> dict[str, Seen]:
        """The archived ones among ids."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, Seen] = {}
        if self.conn is None:
            return found
        for chunk in chunks(wanted):
            rows = self.conn.execute(
                "SELECT id, url, next_visit_at, etag, last_modified FROM articles "
                f"WHERE id IN ({placeholders(chunk)})",
                chunk,
            )
            found.update((row[0], Seen(*row)) for row in rows)
        return found

    def wanted(self, seen: Seen | None) -> bool:
        """Fetch an item: it is new, due for a revisit, or the crawl refreshes everything."""
        return seen is None or self.refresh or seen.due(self.now)

    def settled(self, urls: Iterable[str]) -> set[str]:
        """Listing pages of past days already read in full: by a run that finished without
        errors, at least SETTLED_AFTER days after the day they list (a day's list can still
        grow on the day and the next).

        The caller passes only pages of days that old; a page read earlier is read again.
        """
        wanted = list(urls)
        if self.conn is None or self.refresh or not wanted:
            return set()
        rows = self.conn.execute(
            "SELECT l.url, l.fetched_at FROM listing_pages l JOIN crawl_runs r ON r.id = l.run_id "
            f"WHERE l.url IN ({placeholders(wanted)}) "
            "AND r.status = 'finished' AND coalesce(r.errors, 0) = 0",
            wanted,
        )
        return {url for url, fetched_at in rows if _listed_day_settled(url, fetched_at)}

    def due(self, source: str, langs: Iterable[str]) -> Iterator[Seen]:
        """Archived items of a source due for a revisit now, oldest appointment first."""
        if self.conn is None:
            return
        langs = list(langs)
        rows = self.conn.execute(
            "SELECT id, url, next_visit_at, etag, last_modified FROM articles "
            f"WHERE source = ? AND next_visit_at <= ? AND lang IN ({placeholders(langs)}) "
            "ORDER BY next_visit_at",
            [source, self.now, *langs],
        )
        for row in rows:
            yield Seen(*row)

    def failed(self, source: str, max_attempts: int) -> list[Failure]:
        """The source's pages earlier runs could not archive, to ask for again."""
        if self.conn is None:
            return []
        return failures_to_retry(self.conn, source, max_attempts)

    def close(self) -> None:
        """Release the read connection."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def conditional_request(url: str, seen: Seen | None, **kwargs: Any) -> Request:
    """A request for an item's page, conditional when the archive holds validators for it."""
    meta = kwargs.pop("meta", {})
    meta = {**meta, "handle_httpstatus_list": [*meta.get("handle_httpstatus_list", []), 304]}
    headers = seen.conditional() if seen else {}
    return Request(url, headers=headers, meta=meta, **kwargs)


def with_validators(article: Article, response: Response) -> Article:
    """Keep the response's validators on the item, for conditional requests next time."""
    for header, field in ((b"ETag", "etag"), (b"Last-Modified", "last_modified")):
        value = response.headers.get(header)
        if value:
            setattr(article, field, value.decode("latin-1"))
    return article
