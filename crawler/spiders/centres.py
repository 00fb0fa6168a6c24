"""Spiders built from source configs (crawler/sources/*.toml): one class per file, made at import.

``wordpress`` sources read the REST API, fall back to the RSS feed when it is refused or absent,
then to the configured listing pages. ``html`` sources walk their listing pages (with
pagination) and extract each detail page generically. Items outside the crawl's date window
are skipped, and listing pages stop being followed once they hold only older items.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

import scrapy
from scrapy.http import Request, Response, TextResponse
from twisted.python.failure import Failure

from crawler.args import crawl_window
from crawler.config import SourceConfig, load_sources
from crawler.extract import ExtractionError
from crawler.extract.generic import extract_detail
from crawler.extract.listing import detail_links, next_page
from crawler.extract.wordpress import api_page_url, article_from_api, articles_from_feed, feed_url
from crawler.items import Article

logger = logging.getLogger(__name__)

API_REFUSED = [400, 401, 403, 404, 405, 410, 500, 501, 502, 503]


class CentreSpider(scrapy.Spider):
    """Base of the config-built spiders: date window, listing pages, detail pages."""

    config: ClassVar[SourceConfig]

    def __init__(
        self,
        since: str | None = None,
        until: str | None = None,
        lang: str | None = None,
        days: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        window = crawl_window(since=since, until=until, lang=lang, days=days)
        self.days = {d.isoformat() for d in window.days}
        self.first_day, self.last_day = window.days[0], window.days[-1]
        self.langs = window.langs
        self.arguments = window.arguments()
        self.requested: set[str] = set()

    @property
    def _stats(self) -> Any:
        assert self.crawler.stats is not None
        return self.crawler.stats

    def emit(self, article: Article) -> Iterator[Article]:
        """Yield an item when it falls in the window; count how each field was extracted."""
        day = (article.published_at or "")[:10]
        if day not in self.days or article.lang not in self.langs:
            self._stats.inc_value("hkarchive/items_outside_window")
            return
        for field, method in article.extraction.items():
            self._stats.inc_value(f"hkarchive/fields/{field}/{method}")
        yield article

    def listing_requests(self) -> Iterator[Request]:
        for url in self.config.listing_urls:
            yield Request(url, callback=self.parse_listing, errback=self.failed, meta={"page": 1})

    def parse_listing(self, response: Response) -> Iterator[Request]:
        """Follow detail links in the window, then the next listing page while it can help."""
        if not isinstance(response, TextResponse):
            logger.error("Listing page %s is not text", response.url)
            return
        self._stats.inc_value("hkarchive/listing_pages")
        dated_older = dated = 0
        for url, listed in detail_links(response, self.config):
            if listed is not None:
                dated += 1
                if listed < self.first_day:
                    dated_older += 1
                    continue
                if listed > self.last_day:
                    continue
            if url not in self.requested:
                self.requested.add(url)
                yield Request(url, callback=self.parse_detail, errback=self.failed)
        page = int(response.meta.get("page", 1))
        next_url = next_page(response, self.config)
        if next_url and page < self.config.max_pages and not (dated and dated_older == dated):
            yield Request(next_url, callback=self.parse_listing, errback=self.failed,
                          meta={"page": page + 1})  # fmt: skip

    def parse_detail(self, response: Response) -> Iterator[Article]:
        if not isinstance(response, TextResponse):
            logger.error("Detail page %s is not text", response.url)
            return
        try:
            article = extract_detail(response, self.config)
        except ExtractionError as exc:
            logger.error("Cannot extract %s: %s", response.url, exc)
            self._stats.inc_value("hkarchive/extract_failed")
            return
        yield from self.emit(article)

    def failed(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        logger.error("%s failed: %s", request.url if request else "request", failure.value)
        self._stats.inc_value("hkarchive/request_failed")


class HtmlSpider(CentreSpider):
    """A plain server-rendered site: listing pages and detail pages."""

    async def start(self) -> AsyncIterator[Request]:
        for request in self.listing_requests():
            yield request


class WordpressSpider(CentreSpider):
    """A WordPress site: REST API, else RSS feed, else listing pages."""

    async def start(self) -> AsyncIterator[Request]:
        if self.config.api:
            yield self.api_request(1)
        else:
            yield self.feed_request()

    def api_request(self, page: int) -> Request:
        return Request(
            api_page_url(self.config, page),
            callback=self.parse_api,
            errback=self.api_failed,
            meta={"page": page, "handle_httpstatus_list": API_REFUSED},
        )

    def feed_request(self) -> Request:
        return Request(
            feed_url(self.config),
            callback=self.parse_feed,
            errback=self.feed_failed,
            meta={"handle_httpstatus_list": API_REFUSED},
        )

    def parse_api(self, response: Response) -> Iterator[Article | Request]:
        page = int(response.meta["page"])
        posts = _json_list(response) if response.status == 200 else None
        if posts is None:
            if page == 1:
                logger.warning("REST API refused at %s (%s): reading the RSS feed", response.url,
                               response.status)  # fmt: skip
                self._stats.inc_value("hkarchive/fallback/feed")
                yield self.feed_request()
            return  # past the last page WordPress answers 400
        self._stats.inc_value("hkarchive/api_pages")
        dates = []
        for post in posts:
            try:
                article = article_from_api(post, self.config)
            except ExtractionError as exc:
                logger.error("Cannot read API post: %s", exc)
                self._stats.inc_value("hkarchive/extract_failed")
                continue
            dates.append((article.published_at or "")[:10])
            yield from self.emit(article)
        # Newest first: once a page reaches back before the window, older pages cannot help.
        reaches_back = bool(dates) and min(dates) < self.first_day.isoformat()
        if len(posts) >= self.config.per_page and not reaches_back and page < self.config.max_pages:
            yield self.api_request(page + 1)

    def api_failed(self, failure: Failure) -> Iterator[Request]:
        logger.warning("REST API failed (%s): reading the RSS feed", failure.value)
        self._stats.inc_value("hkarchive/fallback/feed")
        yield self.feed_request()

    def parse_feed(self, response: Response) -> Iterator[Article | Request]:
        text = response.text if isinstance(response, TextResponse) else ""
        if response.status != 200 or "<channel" not in text[:5000]:
            yield from self.fall_back_to_listing(
                f"no RSS feed at {response.url} ({response.status})"
            )
            return
        self._stats.inc_value("hkarchive/feed_pages")
        for entry in articles_from_feed(text, self.config):
            if isinstance(entry, ExtractionError):
                logger.error("Cannot read feed item: %s", entry)
                self._stats.inc_value("hkarchive/extract_failed")
            else:
                yield from self.emit(entry)

    def feed_failed(self, failure: Failure) -> Iterator[Request]:
        yield from self.fall_back_to_listing(f"RSS feed failed ({failure.value})")

    def fall_back_to_listing(self, reason: str) -> Iterator[Request]:
        if not self.config.listing_urls:
            logger.error("%s: %s, and no listing_urls are configured", self.name, reason)
            return
        logger.warning("%s: reading the listing pages", reason)
        self._stats.inc_value("hkarchive/fallback/listing")
        yield from self.listing_requests()


def _json_list(response: Response) -> list[dict[str, Any]] | None:
    try:
        data = json.loads(response.body)
    except ValueError:
        return None
    return [p for p in data if isinstance(p, dict)] if isinstance(data, list) else None


def spider_class(config: SourceConfig) -> type[CentreSpider]:
    """A spider class for one source config."""
    base = WordpressSpider if config.kind == "wordpress" else HtmlSpider
    return type(
        f"{config.name.title().replace('_', '')}Spider",
        (base,),
        {
            "name": config.name,
            "config": config,
            "allowed_domains": config.domains,
            "__module__": __name__,
            "__doc__": f"{config.title} ({config.kind} source, {config.name}.toml).",
        },
    )


def _register() -> None:
    # Scrapy's spider loader finds spider classes among this module's names.
    for config in load_sources().values():
        spider = spider_class(config)
        globals()[spider.__name__] = spider


_register()
