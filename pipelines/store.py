"""StorePipeline: upserts items into the SQLite archive and records each crawl in crawl_runs."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import CloseSpider

from crawler.connection import ArchiveConnection
from crawler.faults import crawl_fault, stop_on_fault, stopped
from crawler.seen import crawl_clock
from newsarchive.articles import touch_article, upsert_article
from newsarchive.clock import hk_now
from newsarchive.db import (
    CORRUPT,
    DISK_FULL,
    ArchiveBusy,
    ArchiveCorrupt,
    ArchiveError,
    DiskFull,
    fault_reason,
    storage_fault,
)
from newsarchive.failures import clear_failure, record_failure
from newsarchive.health import CoverageTally, run_health_values
from newsarchive.linking.queue import has_queued
from newsarchive.lock import ArchiveLock, LockError, LockHeld
from newsarchive.model import Article, FetchFailed, ListingRead, NotModified
from newsarchive.runs import begin_run, finish_run, record_listing
from pipelines.validate import InvalidItem

if TYPE_CHECKING:
    from typing import Self

    import sqlite_utils
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.spiders import Spider

logger = logging.getLogger(__name__)


# A run's status by the spider's finish reason: "shutdown" is SIGTERM or Ctrl-C (Scrapy stops
# asking for pages and finishes those in hand); the next crawl fetches the rest.
_RUN_STATUS = {"finished": "finished", "shutdown": "interrupted"}


class StorePipeline:
    """Writes each item in its own transaction, so a crash never leaves half an item behind.

    Counts go to the crawl's stats as ``hkarchive/items_new``, ``…_updated``, ``…_unchanged``;
    when the spider closes they are written with the rest of the run to ``crawl_runs``.
    Pages the run could not archive (``FetchFailed`` items, and items the validator dropped)
    go to the ``failures`` table; archiving a page later deletes its row.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.path: str = crawler.settings.get("HKARCHIVE_DB")
        self.db: sqlite_utils.Database | None = None
        self.run_id: int | None = None
        self.coverage = CoverageTally()
        self.lock: ArchiveLock | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(pipeline.item_dropped, signal=signals.item_dropped)
        # Connected after spider_closed, so the run is recorded before another crawl may start.
        crawler.signals.connect(pipeline.release_lock, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        try:
            self._open()
        except (sqlite3.Error, ArchiveError) as exc:
            if not stop_on_fault(self.crawler, exc, self.path, close=False):
                raise
            raise CloseSpider(str(storage_fault(exc))) from exc

    def _open(self) -> None:
        spider = self.crawler.spider
        assert spider is not None
        self._take_lock()
        arguments = dict(getattr(spider, "arguments", {}))
        mirror = self.crawler.settings.get("HKARCHIVE_MIRROR")
        if mirror:
            arguments["mirror"] = mirror
        try:
            self.db = ArchiveConnection.of(self.crawler).open()
            started = begin_run(self.db, spider.name, arguments, pid=os.getpid())
        except ArchiveError as exc:
            if storage_fault(exc) is not None or isinstance(exc, (ArchiveCorrupt, DiskFull)):
                raise  # a full disk or a damaged archive: open_spider stops the whole crawl
            # Closed like a refused lock, before anything is fetched; the CLI finds no run of
            # this spider and exits 1.
            logger.error("Cannot start a run in the archive %s: %s", self.path, exc)
            if self.db is not None:
                self._close_db()
            raise CloseSpider(
                "archive_busy" if isinstance(exc, ArchiveBusy) else "archive_error"
            ) from exc
        self.run_id = started.id
        self._stats.set_value("hkarchive/run_id", self.run_id)
        if started.interrupted:
            logger.warning(
                "Earlier crawls were interrupted (runs %s): their stored items are linked "
                "at this crawl's end", ", ".join(map(str, started.interrupted)),
            )  # fmt: skip
        logger.info("Archive %s, run %d", self.path, self.run_id)

    def _take_lock(self) -> None:
        """Hold the archive's lock for this crawl (re-entrant: where `hkarchive crawl` holds it
        for the process, this takes it once more, and gives that back when the spider closes).

        A crawl refused the lock is closed before it fetches anything (finish reason
        ``archive_locked``) with one error line naming the holder, and records no run.
        """
        lock = ArchiveLock(self.path)
        try:
            lock.acquire()
        except LockError as exc:
            logger.error("%s", exc)
            reason = "archive_locked" if isinstance(exc, LockHeld) else "archive_lock_failed"
            # Scrapy honours CloseSpider from open_spider: a clean close, no traceback.
            raise CloseSpider(reason) from exc
        self.lock = lock

    def release_lock(self, spider: Spider, reason: str) -> None:
        """Give the archive's lock up once the run is recorded."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    @property
    def _stats(self) -> Any:
        return self.crawler.stats

    def now(self) -> str:
        """The crawl's clock (frozen by HKARCHIVE_NOW in tests)."""
        return crawl_clock(self.crawler.settings)

    def process_item(
        self, item: Article | NotModified | ListingRead | FetchFailed
    ) -> Article | NotModified | ListingRead | FetchFailed:
        """Store the item; once a full disk or a damaged archive has stopped the crawl
        (crawler/faults.py), store nothing more."""
        if stopped(self.crawler):
            return item
        try:
            return self._store(item)
        except (sqlite3.Error, OSError) as exc:
            if not stop_on_fault(self.crawler, exc, self.path):
                raise
            return item

    def _store(
        self, item: Article | NotModified | ListingRead | FetchFailed
    ) -> Article | NotModified | ListingRead | FetchFailed:
        assert self.db is not None
        if isinstance(item, FetchFailed):
            self._record_failure(item)
            return item
        if isinstance(item, ListingRead):
            record_listing(self.db, item, at=self.now(), run_id=self.run_id)
            if item.status < 400:
                clear_failure(self.db, url=item.url, item_id=None)
            return item
        if isinstance(item, NotModified):
            touch_article(self.db, item.id, seen_at=self.now(), run_id=self.run_id)
            clear_failure(self.db, url=None, item_id=item.id)
            self._stats.inc_value("hkarchive/items_not_modified")
            return item
        outcome = upsert_article(self.db, item, seen_at=self.now(), run_id=self.run_id)
        clear_failure(self.db, url=item.url, item_id=item.id)
        self.coverage.add(item)
        self._stats.inc_value(f"hkarchive/items_{outcome}")
        return item

    def _record_failure(self, failed: FetchFailed) -> None:
        assert self.db is not None
        attempts = record_failure(self.db, failed, at=self.now(), run_id=self.run_id)
        self._stats.inc_value("hkarchive/failures_recorded")
        self._stats.inc_value(f"hkarchive/failures_recorded/{failed.kind}")
        logger.warning(
            "Recorded failure of %s (%s, %s), attempt %d", failed.url, failed.kind, failed.error,
            attempts,
        )  # fmt: skip

    def item_dropped(
        self, item: Any, response: Response | None, exception: BaseException, spider: Spider
    ) -> None:
        """Quarantine the page of an item the validator refused: never stored half-filled."""
        if not isinstance(exception, InvalidItem) or not isinstance(item, Article):
            return
        if self.db is None or stopped(self.crawler):
            return
        url = response.url if response is not None else item.url
        self._stats.inc_value("hkarchive/validate_failed")
        try:
            self._record_failure(
                FetchFailed(item.source, url, "parse", str(exception), "item", item.id)
            )
        except (sqlite3.Error, OSError) as exc:
            if not stop_on_fault(self.crawler, exc, self.path):
                raise

    def _link_queued(self) -> None:
        """Link every item waiting in the link queue into stories and translation pairs: this
        run's new and changed items, and any an earlier crawl stored but did not link (killed,
        or its linking failed). A failed step is logged as an error (and so counted); its
        items stay queued for the next run."""
        assert self.db is not None
        if stopped(self.crawler):
            return  # a full disk or a damaged archive: nothing more is written
        if not has_queued(self.db):
            return  # nothing new: a re-crawl need not load the linkers (over a second)
        from newsarchive.linking.steps import link_queued  # here: a re-crawl need not load it

        linked = link_queued(self.db)
        for message, exc in linked.failures:
            if not stop_on_fault(self.crawler, exc, self.path, close=False):
                logger.error("%s", message, exc_info=exc)
        if linked.story_links is not None:
            self._stats.set_value("hkarchive/stories_linked_items", linked.story_links)
        if linked.translation_pairs is not None:
            self._stats.set_value("hkarchive/translation_pairs", linked.translation_pairs)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.db is None or self.run_id is None:
            return
        self._link_queued()
        fault = crawl_fault(self.crawler)
        if fault is not None and fault[0] == CORRUPT:
            # Nothing more goes into a damaged file: the run stays "running" (the first crawl
            # after the archive is repaired marks it interrupted; its items stay queued).
            self._close_db()
            return
        if fault is not None:
            reason = fault[0]
        stats = self._stats.get_stats()
        errors = int(stats.get("log_count/ERROR", 0))
        self._finish_run(
            {
                "finished_at": hk_now().isoformat(),
                "status": _RUN_STATUS.get(reason, "failed"),
                "finish_reason": reason,
                "pages_fetched": int(stats.get("downloader/response_count", 0)),
                "index_pages_missing": int(stats.get("hkarchive/index_missing", 0)),
                "items_new": int(stats.get("hkarchive/items_new", 0)),
                "items_updated": int(stats.get("hkarchive/items_updated", 0)),
                "items_unchanged": int(stats.get("hkarchive/items_unchanged", 0)),
                "items_dropped": int(stats.get("item_dropped_count", 0)),
                "errors": errors,
                "stats": json.dumps(stats, sort_keys=True, default=str),
                # requests, responses_not_modified, failures, coverage, pid
                **run_health_values(stats, self.coverage),
            },
        )
        self._close_db()

    def _finish_run(self, values: dict[str, Any]) -> None:
        """Record the run's end. On a full disk, the status and counts alone may still fit
        where the full stats do not; when nothing fits, the run stays "running" (the CLI says
        so) and the next crawl marks it interrupted."""
        assert self.db is not None and self.run_id is not None
        try:
            finish_run(self.db, self.run_id, values)
            return
        except (sqlite3.Error, OSError) as exc:
            if not stop_on_fault(self.crawler, exc, self.path, close=False):
                raise
            if storage_fault(exc) == CORRUPT:
                return
        essentials = {k: v for k, v in values.items() if k != "stats"}
        essentials |= {"status": "failed", "finish_reason": DISK_FULL}
        try:
            finish_run(self.db, self.run_id, essentials)
        except (sqlite3.Error, OSError) as exc:
            if storage_fault(exc) is None:
                raise
            logger.error("Cannot record the end of run %d: %s", self.run_id, fault_reason(exc))

    def _close_db(self) -> None:
        # The crawl's connection (crawler/connection.py): the run is recorded, nothing more of
        # this crawl writes to the archive.
        self.db = None
        ArchiveConnection.of(self.crawler).close()
