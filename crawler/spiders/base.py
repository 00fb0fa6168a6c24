"""What every spider of the archive shares: crawl arguments and the archive's fetch state."""

from __future__ import annotations

from typing import Any

import scrapy

from crawler.args import crawl_window, is_flag
from crawler.seen import SeenState


class ArchiveSpider(scrapy.Spider):
    """A spider that archives news: a date window or incremental, and what is already archived.

    Arguments: ``since``/``until`` (YYYY-MM-DD) backfill a window, without them the crawl is
    incremental; ``lang`` (en, zh or all); ``days`` (comma-separated days instead of a range);
    ``refresh`` (fetch archived items again).
    """

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
        self.window = crawl_window(since=since, until=until, lang=lang, days=days)
        self.incremental = not (since or until or days)
        self.refresh = is_flag(refresh)
        self.arguments = self.window.arguments() | {
            "incremental": self.incremental,
            "refresh": self.refresh,
        }
        self.requested: set[str] = set()
        self.seen: SeenState | None = None

    def open_seen_state(self) -> SeenState:
        """The archive's fetch state for this crawl (opened when the crawl starts)."""
        self.seen = SeenState.for_crawl(self.settings, refresh=self.refresh)
        return self.seen

    def closed(self, reason: str) -> None:
        if self.seen is not None:
            self.seen.close()

    @property
    def _stats(self) -> Any:
        assert self.crawler.stats is not None
        return self.crawler.stats
