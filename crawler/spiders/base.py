"""What every spider of the archive shares: crawl arguments and the archive's fetch state."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar

import scrapy

from crawler.args import crawl_window, is_flag
from crawler.failure_kinds import fetch_failed
from crawler.offload import Extractors, extractors_for
from crawler.seen import SeenState
from newsarchive.model import FetchFailed

if TYPE_CHECKING:
    from twisted.python.failure import Failure


class ArchiveSpider(scrapy.Spider):
    """A spider that archives news: a date window or incremental, and what is already archived.

    Arguments: ``since``/``until`` (YYYY-MM-DD) backfill a window, without them the crawl is
    incremental; ``lang`` (en, zh or all); ``days`` (comma-separated days instead of a range);
    ``refresh`` (fetch archived items again). A window reaching back before the source's
    first day (``earliest``) starts on that day instead, with one line in the log saying so.
    """

    # The first day the source has news for (None: not known); set by each source.
    earliest: ClassVar[date | None] = None

    def __init__(
        self,
        since: str | None = None,
        until: str | None = None,
        lang: str | None = None,
        days: str | None = None,
        refresh: str | bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.window = crawl_window(
            since=since, until=until, lang=lang, days=days, earliest=self.earliest
        )
        if self.window.clipped is not None:
            self.logger.warning(
                "%s has no news before %s: crawling from that day, not from %s",
                self.name,
                self.earliest,
                self.window.clipped,
            )
        self.incremental = not (since or until or days)
        self.refresh = is_flag(refresh)
        self.arguments = self.window.arguments() | {
            "incremental": self.incremental,
            "refresh": self.refresh,
        }
        self.requested: set[str] = set()
        self.seen: SeenState | None = None
        self._extractors: Extractors | None = None

    def open_seen_state(self) -> SeenState:
        """The archive's fetch state for this crawl (opened when the crawl starts)."""
        self.seen = SeenState.for_crawl(self.settings, refresh=self.refresh)
        return self.seen

    @property
    def extractors(self) -> Extractors:
        """Where this crawl's pages are extracted (worker processes, started on first use)."""
        if self._extractors is None:
            self._extractors = extractors_for(self.settings)
        return self._extractors

    def item_id(self, url: str) -> str | None:
        """The archive id of the item at a URL (None when the URL names no item)."""
        raise NotImplementedError

    def failure_to_record(self, failure: Failure, *, role: str) -> Iterator[FetchFailed]:
        """The failures-table entry for a request that failed for good (an item's, with the
        item's id, or a listing page's)."""
        failed = fetch_failed(self.name, failure, role=role)
        if failed is not None:
            if role == "item":
                failed.item_id = self.item_id(failed.url)
            yield failed

    def too_many_links(self, url: str, count: int) -> FetchFailed | None:
        """The failure to record for a listing page that links more items than any real one
        (``HKARCHIVE_MAX_LINKS_PER_PAGE``): none of them is followed; None for a normal page."""
        limit = self.settings.getint("HKARCHIVE_MAX_LINKS_PER_PAGE")
        if count <= limit:
            return None
        error = f"links {count} items, more than the {limit} a listing page may: none followed"
        self.logger.error("Listing page %s %s", url, error)
        self._stats.inc_value("hkarchive/listing_oversize")
        return FetchFailed(self.name, url, "oversize", error, role="listing")

    def closed(self, reason: str) -> None:
        if self._extractors is not None:
            self._extractors.close()
        if self.seen is not None:
            self.seen.close()

    @property
    def _stats(self) -> Any:
        assert self.crawler.stats is not None
        return self.crawler.stats
