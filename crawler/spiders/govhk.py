"""The GovHK press-release spider: daily index pages, then every release they link to."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

import scrapy
from scrapy.http import Request, Response, TextResponse
from twisted.python.failure import Failure

from crawler.args import crawl_window
from crawler.extract import ExtractionError
from crawler.extract.govhk import extract_release, release_links
from crawler.items import Article
from crawler.urls import govhk_index_url

logger = logging.getLogger(__name__)


class GovhkSpider(scrapy.Spider):
    """Hong Kong Government press releases (www.info.gov.hk/gia/general/), English and Chinese.

    Arguments: ``since``/``until`` (YYYY-MM-DD; default yesterday and today in Hong Kong),
    ``lang`` (en, zh or all), or ``days`` (comma-separated days instead of a range).
    """

    name = "govhk"
    allowed_domains: ClassVar[list[str]] = ["www.info.gov.hk", "info.gov.hk"]

    def __init__(
        self,
        since: str | None = None,
        until: str | None = None,
        lang: str | None = None,
        days: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.window = crawl_window(since=since, until=until, lang=lang, days=days)
        self.arguments = self.window.arguments()
        self.requested: set[str] = set()

    async def start(self) -> AsyncIterator[Request]:
        # Newest day first: an interrupted backfill has archived the most recent news.
        for day in reversed(self.window.days):
            for lang in self.window.langs:
                yield Request(
                    govhk_index_url(day, lang),
                    callback=self.parse_index,
                    errback=self.index_failed,
                    meta={"handle_httpstatus_list": [404], "lang": lang},
                )

    def parse_index(self, response: Response) -> Iterator[Request]:
        """Follow every release linked from a daily index page (found by URL pattern)."""
        stats = self._stats
        if response.status == 404:
            logger.warning("No index page at %s (404)", response.url)
            stats.inc_value("hkarchive/index_missing")
            return
        if not isinstance(response, TextResponse):
            logger.error("Index page %s is not text", response.url)
            return
        stats.inc_value("hkarchive/index_pages")
        found = 0
        for ref in release_links(response):
            found += 1
            if ref.native_id in self.requested:
                continue
            self.requested.add(ref.native_id)
            yield Request(
                ref.url,
                callback=self.parse_release,
                errback=self.release_failed,
                meta={"lang": response.meta.get("lang")},
            )
        stats.inc_value("hkarchive/releases_listed", found)
        if not found:
            logger.warning("Index page %s links to no release", response.url)
            stats.inc_value("hkarchive/index_empty")

    def parse_release(self, response: Response) -> Iterator[Article]:
        """Extract one release; a page that cannot be extracted is logged and counted."""
        if not isinstance(response, TextResponse):
            logger.error("Release %s is not text", response.url)
            return
        try:
            yield extract_release(response)
        except ExtractionError as exc:
            logger.error("Cannot extract %s: %s", response.url, exc)
            self._stats.inc_value("hkarchive/extract_failed")

    def index_failed(self, failure: Failure) -> None:
        logger.error("Index page failed: %s", failure.getErrorMessage())
        self._stats.inc_value("hkarchive/index_failed")

    def release_failed(self, failure: Failure) -> None:
        logger.error("Release page failed: %s", failure.getErrorMessage())
        self._stats.inc_value("hkarchive/release_failed")

    @property
    def _stats(self) -> Any:
        assert self.crawler.stats is not None
        return self.crawler.stats
