"""The GovHK press-release spider: daily index pages and RSS feeds, then the releases they list."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from typing import Any, ClassVar

from scrapy import signals
from scrapy.http import Request, Response, TextResponse
from twisted.python.failure import Failure

from crawler.extract import ExtractionError
from crawler.extract.govhk import SOURCE, extract_release, feed_release_links, release_links
from crawler.seen import Seen, conditional_request, with_validators
from crawler.sources import GOVHK_EARLIEST
from crawler.spiders.base import ArchiveSpider
from newsarchive.model import Article, FetchFailed, ListingRead, NotModified
from newsarchive.urls import ReleaseRef, govhk_feed_url, govhk_index_url, release_ref

logger = logging.getLogger(__name__)


class GovhkSpider(ArchiveSpider):
    """Hong Kong Government press releases (www.info.gov.hk/gia/general/), English and Chinese.

    Arguments: ``since``/``until`` (YYYY-MM-DD) backfill a range; without them the crawl is
    incremental: the RSS feeds, the index pages of yesterday and today, and the archived
    releases due for a revisit. ``lang`` (en, zh or all), ``days`` (comma-separated days
    instead of a range), ``refresh`` (fetch archived releases again). Every run also asks again
    for the pages earlier runs could not archive (the failures table).
    """

    name = "govhk"
    allowed_domains: ClassVar[list[str]] = ["www.info.gov.hk", "info.gov.hk"]
    earliest = GOVHK_EARLIEST

    async def start(self) -> AsyncIterator[Request]:
        self.open_seen_state()
        assert self.seen is not None
        if self.incremental:
            for lang in self.window.langs:
                yield self._listing_request(
                    govhk_feed_url(lang), self.parse_feed, errback=self.feed_failed
                )
        days = self.window.days
        if self.incremental:
            # Yesterday and today by the crawl's clock, which tests may freeze.
            today = date.fromisoformat(self.seen.now[:10])
            days = (today - timedelta(days=1), today)
            self.arguments |= {"since": days[0].isoformat(), "until": today.isoformat()}
        # Newest day first: an interrupted backfill has archived the most recent news.
        urls = [govhk_index_url(day, lang) for day in reversed(days) for lang in self.window.langs]
        settled = self.seen.settled(urls)
        self._stats.inc_value("hkarchive/index_settled_skipped", len(settled))
        for request in self._failed_again(set(urls) - settled):
            yield request
        for url in urls:
            if url not in settled:
                if self.crawler.engine is not None and self.crawler.engine.needs_backout():
                    # Lazily (Scrapy's lazy start requests): the next day's index page waits
                    # until the releases already listed are under way, so a backfill of years
                    # does not hold a request per day in the scheduler (some 2 kB each: 20 MB
                    # for 100,000 releases) before their pages are fetched.
                    await self.crawler.signals.wait_for(signals.scheduler_empty)
                yield self._listing_request(url, self.parse_index)
        if self.incremental:
            for seen in self.seen.due(SOURCE, self.window.langs):
                ref = release_ref(seen.url)
                if ref and ref.native_id not in self.requested:
                    self.requested.add(ref.native_id)
                    self._stats.inc_value("hkarchive/revisits")
                    yield self._release_request(ref, seen)

    def _failed_again(self, listed: set[str]) -> Iterator[Request]:
        """Requests for the pages earlier runs could not archive (under the attempts cap)."""
        assert self.seen is not None
        cap = self.settings.getint("HKARCHIVE_FAILURE_MAX_ATTEMPTS")
        for failed in self.seen.failed(SOURCE, cap):
            ref = release_ref(failed.url)
            if failed.role == "listing" and failed.url not in listed:
                yield self._listing_request(failed.url, self.parse_index)
            elif failed.role == "item" and ref and ref.native_id not in self.requested:
                self.requested.add(ref.native_id)
                yield self._release_request(ref, None)
            else:
                continue
            self._stats.inc_value("hkarchive/failures_retried")

    def _listing_request(self, url: str, callback: Any, errback: Any = None) -> Request:
        return Request(url, callback=callback, errback=errback or self.index_failed,
                       meta={"handle_httpstatus_list": [404]})  # fmt: skip

    def parse_index(self, response: Response) -> Iterator[Request | ListingRead | FetchFailed]:
        """Follow every release linked from a daily index page (found by URL pattern)."""
        missing = response.status == 404
        if missing:
            # A day without releases has no index page: normal, and thousands of them in a
            # long backfill. Counted for the run's summary line; each is named at DEBUG (-v).
            logger.debug("No index page at %s (404)", response.url)
            self._stats.inc_value("hkarchive/index_missing")
        if missing or not isinstance(response, TextResponse):
            yield ListingRead(SOURCE, response.url, response.status, 0)
            return
        self._stats.inc_value("hkarchive/index_pages")
        refs = list(release_links(response))
        refused = self.too_many_links(response.url, len(refs))
        if refused is not None:
            yield refused  # and no ListingRead: the day is not settled
            return
        yield from self._follow(refs, response.url)
        yield ListingRead(SOURCE, response.url, response.status, len(refs))

    def parse_feed(self, response: Response) -> Iterator[Request]:
        """Follow the releases of an RSS feed of the newest releases."""
        if response.status == 404:
            # Unlike a day's index page, the feed is always there: its absence is news.
            logger.warning("No feed at %s (404)", response.url)
            self._stats.inc_value("hkarchive/feed_missing")
            return
        if not isinstance(response, TextResponse):
            return
        self._stats.inc_value("hkarchive/feed_pages")
        yield from self._follow(list(feed_release_links(response.text, response.url)), response.url)

    def _follow(self, refs: list[ReleaseRef], listed_on: str) -> Iterator[Request]:
        """Request the listed releases the archive lacks or wants again, once each."""
        assert self.seen is not None
        self._stats.inc_value("hkarchive/releases_listed", len(refs))
        if not refs:
            logger.warning("%s links to no release", listed_on)
            self._stats.inc_value("hkarchive/index_empty")
        known = self.seen.lookup(f"{SOURCE}:{ref.native_id}" for ref in refs)
        for ref in refs:
            if ref.native_id in self.requested:
                continue
            self.requested.add(ref.native_id)
            seen = known.get(f"{SOURCE}:{ref.native_id}")
            if self.seen.wanted(seen):
                yield self._release_request(ref, seen)
            else:
                self._stats.inc_value("hkarchive/releases_archived_skipped")

    def _release_request(self, ref: ReleaseRef, seen: Seen | None) -> Request:
        # Past the dupefilter: every release is requested once, by id (self.requested), so its
        # fingerprint there would be a second record of it, some 100 bytes a page for the
        # whole crawl (10 MB in a backfill of 100,000 releases). Its URL is built from the id
        # on the site's own host, so the offsite check it also skips has nothing to check.
        return conditional_request(
            ref.url, seen, callback=self.parse_release, errback=self.release_failed,
            dont_filter=True,
        )  # fmt: skip

    async def parse_release(
        self, response: Response
    ) -> AsyncIterator[Article | NotModified | FetchFailed]:
        """Extract one release (in an extraction worker, see crawler/offload.py); a page that
        cannot be extracted is logged, counted and quarantined (a FetchFailed of kind
        ``parse``)."""
        ref = release_ref(response.url)
        if response.status == 304 and ref is not None:
            yield NotModified(SOURCE, ref.native_id)
            return
        item_id = self.item_id(response.url)
        if not isinstance(response, TextResponse):
            logger.error("Release %s is not text", response.url)
            self._stats.inc_value("hkarchive/extract_failed")
            yield FetchFailed(SOURCE, response.url, "parse", "not a text page", "item", item_id)
            return
        try:
            article = await self.extractors.run(extract_release, response)
        except ExtractionError as exc:
            logger.error("Cannot extract %s: %s", response.url, exc)
            self._stats.inc_value("hkarchive/extract_failed")
            yield FetchFailed(SOURCE, response.url, "parse", str(exc), "item", item_id)
            return
        yield with_validators(article, response)

    def feed_failed(self, failure: Failure) -> None:
        """A feed that failed is not recorded: every incremental run reads the feeds anyway."""
        logger.error("Feed failed: %s", failure.getErrorMessage())
        self._stats.inc_value("hkarchive/index_failed")

    def index_failed(self, failure: Failure) -> Iterator[FetchFailed]:
        logger.error("Index page failed: %s", failure.getErrorMessage())
        self._stats.inc_value("hkarchive/index_failed")
        yield from self.failure_to_record(failure, role="listing")

    def release_failed(self, failure: Failure) -> Iterator[FetchFailed]:
        request = getattr(failure, "request", None)
        logger.error("Release %s failed: %s", request.url if request else "?", failure.value)
        self._stats.inc_value("hkarchive/release_failed")
        yield from self.failure_to_record(failure, role="item")

    def item_id(self, url: str) -> str | None:
        ref = release_ref(url)
        return f"{SOURCE}:{ref.native_id}" if ref else None
