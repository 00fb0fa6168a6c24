"""Progress of a crawl: a live line on a terminal, plain log lines otherwise."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.exceptions import NotConfigured

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class ProgressExtension:
    """Not written yet: disabled."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressExtension:
        raise NotConfigured("not implemented yet")
