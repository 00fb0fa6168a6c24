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

from scrapy.http import Request, Response, TextResponse
from twisted.python.failure import Failure

from crawler.extract import ExtractionError
from crawler.extract.generic import extract_detail
from crawler.extract.listing import detail_links, next_page
from crawler.extract.parts import native_id
from crawler.extract.wordpress import (
    api_page_url,
    article_from_api,
    articles_from_feed,
    feed_url,
    looks_like_feed,
)
from crawler.seen import Seen, SeenState, conditional_request, with_validators
from crawler.sources.config import LANGS, SourceConfig
from crawler.spiders.base import ArchiveSpider
from newsarchive.model import FIRST_SEEN, Article, FetchFailed, NotModified

logger = logging.getLogger(__name__)

API_REFUSED = [400, 401, 403, 404, 405, 410, 500, 501, 502, 503]


class CentreSpider(ArchiveSpider):
    """Base of the config-built spiders: listing pages, detail pages, what is new.

    Without ``since``/``until`` a crawl is incremental: it reads the newest listing pages (or
    API pages) until one holds only archived items, whatever their dates; with them it keeps
    the items published in that window. Every run also asks again for the pages earlier runs
    could not archive (the failures table), whatever their dates.
    """

    config: ClassVar[SourceConfig]
    allowed_domains: ClassVar[list[str]]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.days = {d.isoformat() for d in self.window.days}
        self.first_day, self.last_day = self.window.days[0], self.window.days[-1]
        self.langs = self.window.langs

    def item_id(self, url: str) -> str:
        """The archive id an item's URL maps to."""
        return f"{self.name}:{native_id(url, self.config)}"

    def emit(self, article: Article, *, anyday: bool = False) -> Iterator[Article]:
        """Yield an item when it is in English or Chinese and falls in the window (or `anyday`,
        or it is dated only by when it was first seen: it cannot be shown outside); count how
        each field was extracted."""
        if article.lang not in LANGS:
            # A page in another language (its <html lang>, its script): no item of the
            # archive's, which holds English and Chinese.
            logger.info("%s is in another language (%s): not archived", article.url, article.lang)
            self._stats.inc_value("hkarchive/items_other_language")
            return
        day = (article.published_at or "")[:10]
        anyday = anyday or article.extraction.get("published_at") == FIRST_SEEN
        outside = not self.incremental and not anyday and day not in self.days
        if outside or article.lang not in self.langs:
            self._stats.inc_value("hkarchive/items_outside_window")
            return
        for field, method in article.extraction.items():
            self._stats.inc_value(f"hkarchive/fields/{field}/{method}")
        yield article

    def revisits(self, seen: SeenState) -> Iterator[Request]:
        """An incremental crawl's requests for archived items due to be read again."""
        if not self.incremental:
            return
        for item in seen.due(self.name, self.langs):
            if item.url not in self.requested:
                self.requested.add(item.url)
                self._stats.inc_value("hkarchive/revisits")
                yield self.detail_request(item.url, item)

    def listing_requests(self) -> Iterator[Request]:
        for url in self.config.listing_urls:
            yield self.listing_request(url, 1)

    def listing_request(self, url: str, page: int) -> Request:
        return Request(url, callback=self.parse_listing, errback=self.listing_failed,
                       meta={"page": page})  # fmt: skip

    def failed_again(self) -> Iterator[Request]:
        """Requests for the pages earlier runs could not archive (under the attempts cap)."""
        assert self.seen is not None
        cap = self.settings.getint("HKARCHIVE_FAILURE_MAX_ATTEMPTS")
        for failed in self.seen.failed(self.name, cap):
            if failed.url in self.requested:
                continue
            self.requested.add(failed.url)
            self._stats.inc_value("hkarchive/failures_retried")
            if failed.role == "listing":
                # Page 1 again would read the pages after it; a listing's later pages are
                # listed anew by the pages before them.
                yield self.listing_request(failed.url, self.config.max_pages)
            else:
                request = self.detail_request(failed.url, None)
                request.meta["anyday"] = True
                yield request

    def parse_listing(self, response: Response) -> Iterator[Request | FetchFailed]:
        """Follow new (or due) detail links, then the next listing page while it can help.

        A backfill stops at a page whose items are all dated before its window; an incremental
        crawl at a page holding nothing new.
        """
        if not isinstance(response, TextResponse):
            logger.error("Listing page %s is not text", response.url)
            return
        assert self.seen is not None
        self._stats.inc_value("hkarchive/listing_pages")
        links = list(detail_links(response, self.config))
        refused = self.too_many_links(response.url, len(links))
        if refused is not None:
            yield refused
            return
        known = self.seen.lookup(self.item_id(url) for url, _ in links)
        dated_older = dated = fresh = 0
        for url, listed in links:
            if self.other_language(url):
                continue
            if not self.incremental and listed is not None:
                dated += 1
                if listed < self.first_day:
                    dated_older += 1
                    continue
                if listed > self.last_day:
                    continue
            seen = known.get(self.item_id(url))
            if not self.seen.wanted(seen):
                self._stats.inc_value("hkarchive/items_archived_skipped")
                continue
            fresh += 1
            if url not in self.requested:
                self.requested.add(url)
                yield self.detail_request(url, seen)
        page = int(response.meta.get("page", 1))
        next_url = next_page(response, self.config)
        exhausted = (dated and dated_older == dated) or (self.incremental and links and not fresh)
        if next_url and page < self.config.max_pages and not exhausted:
            yield self.listing_request(next_url, page + 1)

    def other_language(self, url: str) -> bool:
        """Whether a listed URL lies where the site keeps its versions in languages other than
        English and Chinese: never, for a source its file describes."""
        return False

    def detail_request(self, url: str, seen: Seen | None) -> Request:
        return conditional_request(
            url, seen, callback=self.parse_detail, errback=self.detail_failed
        )

    def parse_detail(self, response: Response) -> Iterator[Article | NotModified | FetchFailed]:
        """Extract one item; a page that cannot be extracted is logged, counted and
        quarantined (a FetchFailed of kind ``parse``)."""
        if response.status == 304:
            yield NotModified(self.name, native_id(response.url, self.config))
            return
        reason = "not a text page"
        if isinstance(response, TextResponse):
            try:
                article = extract_detail(response, self.config)
            except ExtractionError as exc:
                reason = str(exc)
            else:
                anyday = bool(response.meta.get("anyday"))
                yield from self.emit(with_validators(article, response), anyday=anyday)
                return
        logger.error("Cannot extract %s: %s", response.url, reason)
        self._stats.inc_value("hkarchive/extract_failed")
        yield FetchFailed(
            self.name, response.url, "parse", reason, "item", self.item_id(response.url)
        )

    def listing_failed(self, failure: Failure) -> Iterator[FetchFailed]:
        yield from self.failed(failure, role="listing")

    def detail_failed(self, failure: Failure) -> Iterator[FetchFailed]:
        yield from self.failed(failure, role="item")

    def failed(self, failure: Failure, *, role: str = "item") -> Iterator[FetchFailed]:
        request = getattr(failure, "request", None)
        logger.error("%s failed: %s", request.url if request else "request", failure.value)
        self._stats.inc_value("hkarchive/request_failed")
        yield from self.failure_to_record(failure, role=role)


class HtmlSpider(CentreSpider):
    """A plain server-rendered site: listing pages and detail pages."""

    async def start(self) -> AsyncIterator[Request]:
        seen = self.open_seen_state()
        for request in self.failed_again():
            yield request
        for request in self.listing_requests():
            yield request
        for request in self.revisits(seen):
            yield request


class WordpressSpider(CentreSpider):
    """A WordPress site: REST API, else RSS feed, else listing pages."""

    async def start(self) -> AsyncIterator[Request]:
        # Revisits come through the API's newest pages, which carry every recent post in full:
        # reading a post by another route could differ in detail and look like a revision.
        self.open_seen_state()
        for request in self.failed_again():
            yield request
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
        posts = json_list(response) if response.status == 200 else None
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
        # Newest first: once a page reaches back before the window (or, incrementally, holds
        # only archived posts), older pages cannot help.
        if self.incremental:
            assert self.seen is not None
            ids = [self.item_id(str(p.get("link", ""))) for p in posts]
            done = len(self.seen.lookup(ids)) == len(ids)
        else:
            done = bool(dates) and min(dates) < self.first_day.isoformat()
        if len(posts) >= self.config.per_page and not done and page < self.config.max_pages:
            yield self.api_request(page + 1)

    def api_failed(self, failure: Failure) -> Iterator[Request]:
        logger.warning("REST API failed (%s): reading the RSS feed", failure.value)
        self._stats.inc_value("hkarchive/fallback/feed")
        yield self.feed_request()

    def parse_feed(self, response: Response) -> Iterator[Article | Request]:
        text = response.text if isinstance(response, TextResponse) else ""
        if response.status != 200 or not looks_like_feed(text):
            yield from self.fall_back_to_listing(
                f"no RSS feed at {response.url} ({response.status})"
            )
            return
        self._stats.inc_value("hkarchive/feed_pages")
        for entry in articles_from_feed(text, self.config, response.url):
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


def json_list(response: Response) -> list[dict[str, Any]] | None:
    try:
        data = json.loads(response.body)
    except ValueError:
        return None
    return [p for p in data if isinstance(p, dict)] if isinstance(data, list) else None
