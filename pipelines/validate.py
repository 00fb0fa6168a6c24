"""ValidatePipeline: an item lacking a required field is dropped, never stored half-filled."""

from __future__ import annotations

import re
from typing import Any

from scrapy.exceptions import DropItem

from newsarchive.model import NO_BODY, Article

LANGS = frozenset({"en", "zh"})
_PUBLISHED = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}\+08:00)?")


def problems(article: Article) -> list[str]:
    """What is wrong with an item, as short phrases; empty when it can be stored."""
    found = []
    if not article.native_id:
        found.append("no native id")
    if not article.url.startswith("https://"):
        found.append(f"URL not canonical: {article.url!r}")
    if article.lang not in LANGS:
        found.append(f"unknown language {article.lang!r}")
    if not article.title:
        found.append("no title")
    # A page with a title and no text (photos only, say) is kept when its extractor says it
    # found no body (``none``: the generic chain); every other extractor must give one.
    if not article.body_text and article.extraction.get("body") != NO_BODY:
        found.append("no body")
    if article.published_at is None or not _PUBLISHED.fullmatch(article.published_at):
        found.append(f"bad published_at {article.published_at!r}")
    if not article.content_hash:
        found.append("no content hash")
    return found


class InvalidItem(DropItem):
    """An item dropped for failing the archive's invariants: the store quarantines its page."""


class ValidatePipeline:
    """Drops (and so counts) items that fail the archive's invariants."""

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item  # fetch bookkeeping (ListingRead), not content
        found = problems(item)
        if found:
            raise InvalidItem(
                f"invalid item {item.id} ({item.url}): {'; '.join(found)}", log_level="ERROR"
            )
        return item
