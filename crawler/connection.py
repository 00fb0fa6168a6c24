"""The crawl's one connection to the archive, shared by the components that write to it.

The store pipeline writes items, runs and failures with it, and the raw-capture middleware
the index rows of the responses it keeps: one writer per crawl, rather than each component
opening the archive itself. Every write is a transaction of its own (write_transaction), and
the reactor runs one callback at a time, so sharing the connection never interleaves writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from scrapy import signals

from newsarchive.archive import open_archive

if TYPE_CHECKING:
    import sqlite_utils
    from scrapy.crawler import Crawler

_BY_CRAWLER: WeakKeyDictionary[Crawler, ArchiveConnection] = WeakKeyDictionary()


class ArchiveConnection:
    """The archive at the crawl's HKARCHIVE_DB, opened by the first component to ask and
    closed by the store when the run is recorded (or when the engine stops)."""

    def __init__(self, crawler: Crawler) -> None:
        self.path = str(crawler.settings.get("HKARCHIVE_DB"))
        self.busy_timeout = crawler.settings.getfloat("HKARCHIVE_BUSY_TIMEOUT")
        self.db: sqlite_utils.Database | None = None
        crawler.signals.connect(self.close, signal=signals.engine_stopped)

    @classmethod
    def of(cls, crawler: Crawler) -> ArchiveConnection:
        """The crawler's connection (made on first use)."""
        if crawler not in _BY_CRAWLER:
            _BY_CRAWLER[crawler] = cls(crawler)
        return _BY_CRAWLER[crawler]

    def open(self) -> sqlite_utils.Database:
        """The open connection (ArchiveError, or sqlite3.Error, when it cannot be had)."""
        if self.db is None:
            self.db = open_archive(self.path, busy_timeout=self.busy_timeout)
        return self.db

    def close(self) -> None:
        """Close the connection; safe to call more than once."""
        if self.db is not None:
            db, self.db = self.db, None
            db.close()
