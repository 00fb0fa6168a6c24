"""DedupePipeline: within one run, an item id is stored once."""

from __future__ import annotations

from typing import Any

from scrapy.exceptions import DropItem

from newsarchive.model import Article


class DedupePipeline:
    """Drops a second item with an id already seen in this run.

    The spider already requests each release once; this guards against the same release being
    reached under two URLs the spider could not tell apart (another day folder, say).
    """

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item  # fetch bookkeeping (ListingRead), not content
        if item.id in self.seen:
            raise DropItem(f"duplicate item {item.id} in this run", log_level="DEBUG")
        self.seen.add(item.id)
        return item
