"""NormalizePipeline: Unicode and whitespace of text fields, canonical URL, content hash."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import asdict
from typing import Any

from crawler.extract.text import clean_text, squash
from newsarchive.model import MEDIA_FIELDS, Article, Attachment, Link, Video
from newsarchive.urls import canonical_url


def _present(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Empty fields are left out, so adding an optional field to an item never changes the hash
    # of items that do not have it (which would look like a revision of every archived row).
    # Where a file was downloaded to is not what the item says either.
    return [
        {k: v for k, v in entry.items() if v not in (None, "") and k not in MEDIA_FIELDS}
        for entry in entries
    ]


def content_hash(article: Article) -> str:
    """SHA-256 of what a reader sees: title, date, body text and media (not the HTML markup).

    Two fetches of a page that differ only in markup or in fetch-time details hash the same,
    so a re-crawl of an unchanged release changes nothing.
    """
    # asdict() of the media lists only: asdict(article) would copy the body HTML and text too.
    content = {
        "title": article.title,
        "published_at": article.published_at,
        "body_text": article.body_text,
        "category": article.category,
        "photos": _present([asdict(photo) for photo in article.photos]),
        "attachments": _present([asdict(attachment) for attachment in article.attachments]),
        "videos": _present([asdict(video) for video in article.videos]),
    }
    encoded = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


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
    article.body_hash = body_hash(article.body_text)
    return article


class NormalizePipeline:
    """Normalises every Article the same way, whatever spider produced it."""

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item  # fetch bookkeeping (ListingRead), not content
        return normalize_article(item)
