"""StorePipeline: upserts items into the SQLite archive and records each crawl in crawl_runs."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from scrapy import signals

from crawler.dates import hk_now
from crawler.items import Article
from pipelines.archive import finish_run, open_archive, start_run, upsert_article
from pipelines.stories import link_stories

if TYPE_CHECKING:
    from typing import Self

    import sqlite_utils
    from scrapy.crawler import Crawler
    from scrapy.spiders import Spider

logger = logging.getLogger(__name__)


class StorePipeline:
    """Writes each item in its own transaction, so a crash never leaves half an item behind.

    Counts go to the crawl's stats as ``hkarchive/items_new``, ``…_updated``, ``…_unchanged``;
    when the spider closes they are written with the rest of the run to ``crawl_runs``.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.path: str = crawler.settings.get("HKARCHIVE_DB")
        self.db: sqlite_utils.Database | None = None
        self.run_id: int | None = None
        self.changed_ids: list[str] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        spider = self.crawler.spider
        assert spider is not None
        self.db = open_archive(self.path)
        arguments = dict(getattr(spider, "arguments", {}))
        mirror = self.crawler.settings.get("HKARCHIVE_MIRROR")
        if mirror:
            arguments["mirror"] = mirror
        self.run_id = start_run(self.db, spider.name, arguments, hk_now().isoformat())
        self._stats.set_value("hkarchive/run_id", self.run_id)
        logger.info("Archive %s, run %d", self.path, self.run_id)

    @property
    def _stats(self) -> Any:
        return self.crawler.stats

    def process_item(self, item: Article) -> Article:
        assert self.db is not None
        outcome = upsert_article(self.db, item, seen_at=hk_now().isoformat(), run_id=self.run_id)
        self._stats.inc_value(f"hkarchive/items_{outcome}")
        if outcome != "unchanged":
            self.changed_ids.append(item.id)
        return item

    def _link_stories(self) -> None:
        """Link this run's new and changed items into stories; a failure is a counted error."""
        assert self.db is not None
        try:
            report = link_stories(self.db, self.changed_ids)
        except Exception:  # the items are stored; `hkarchive story --relink` can redo this
            logger.exception("Linking stories failed")
            return
        self._stats.set_value("hkarchive/stories_linked_items", report.links)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.db is None or self.run_id is None:
            return
        self._link_stories()
        stats = self._stats.get_stats()
        errors = int(stats.get("log_count/ERROR", 0))
        finish_run(
            self.db,
            self.run_id,
            {
                "finished_at": hk_now().isoformat(),
                "status": "finished" if reason == "finished" else "failed",
                "finish_reason": reason,
                "pages_fetched": int(stats.get("downloader/response_count", 0)),
                "index_pages_missing": int(stats.get("hkarchive/index_missing", 0)),
                "items_new": int(stats.get("hkarchive/items_new", 0)),
                "items_updated": int(stats.get("hkarchive/items_updated", 0)),
                "items_unchanged": int(stats.get("hkarchive/items_unchanged", 0)),
                "items_dropped": int(stats.get("item_dropped_count", 0)),
                "errors": errors,
                "stats": json.dumps(stats, sort_keys=True, default=str),
            },
        )
        self.db.close()
        self.db = None
