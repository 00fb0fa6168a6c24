"""Downloader middleware: every response kept, compressed, in a WARC file per run (raw_captures)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.exceptions import NotConfigured

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class RawArchiveMiddleware:
    """Not written yet: disabled."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RawArchiveMiddleware:
        raise NotConfigured("not implemented yet")
