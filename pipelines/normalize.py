"""NormalizePipeline: Unicode and whitespace of text fields, canonical URL, content hash.

The content hash itself is the archive's (newsarchive.model.content_hash): storing an item
dated only when first seen computes it again with the date the archive keeps.
"""

from __future__ import annotations

import hashlib
import unicodedata
from typing import Any

from crawler.extract.text import clean_text, squash
from newsarchive.model import Article, Attachment, Link, Video, content_hash
from newsarchive.urls import canonical_url


def body_hash(body_text: str) -> str:
    """SHA-256 of the body alone, case-folded with all whitespace removed.

    Equal for two items whose bodies read the same however they were laid out: the key for
    exact republications across sources.
    """
    folded = "".join(unicodedata.normalize("NFKC", body_text).casefold().split())
    return hashlib.sha256(folded.encode("utf-8")).hexdigest()


def normalize_article(article: Article) -> Article:
    """Normalise an item in place and set its content hash; returns it."""
    article.title = squash(article.title)
    article.body_text = clean_text(article.body_text)
    article.url = canonical_url(article.url)
    for photo in article.photos:
        photo.caption = squash(photo.caption)
    titled: list[Attachment | Video | Link] = [*article.attachments, *article.videos]
    for entry in [*titled, *article.related]:
        entry.title = squash(entry.title)
    article.content_hash = content_hash(article)
    # No body is no republication of another empty one (body_hash links equal bodies).
    article.body_hash = body_hash(article.body_text) if article.body_text else None
    return article


class NormalizePipeline:
    """Normalises every Article the same way, whatever spider produced it."""

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item  # fetch bookkeeping (ListingRead), not content
        return normalize_article(item)
