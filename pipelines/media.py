"""MediaPipeline: with --media, photos and attachments are downloaded under data/media/."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.exceptions import NotConfigured

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


class MediaPipeline:
    """Not written yet: disabled."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> MediaPipeline:
        raise NotConfigured("not implemented yet")
