"""Which extractor reads a stored response: the spiders' routing, decided by source and URL alone.

Used to extract items again from raw captures (``hkarchive reparse``), where there is no
spider callback to say what a page was fetched as.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

from scrapy.http import TextResponse

from crawler.extract import ExtractionError
from crawler.extract.discovery import article_like
from crawler.extract.generic import extract_detail
from crawler.extract.govhk import SOURCE as GOVHK
from crawler.extract.govhk import extract_release
from crawler.extract.wordpress import (
    API_PATH,
    article_from_api,
    articles_from_feed,
    feed_url,
    looks_like_feed,
)
from crawler.sources import configs, known_sources
from crawler.sources.config import SourceConfig
from newsarchive.model import Article
from newsarchive.urls import release_ref

logger = logging.getLogger(__name__)


def extract_items(
    source: str, response: TextResponse, errors: list[ExtractionError] | None = None
) -> list[Article]:
    """The items a stored response of a source holds, not yet normalised; [] for other pages.

    GovHK release pages give their release and index pages nothing; a centre's REST API page
    gives each post, its feed each entry, and a page matching its ``detail_pattern`` its item.
    A page that cannot be extracted raises ExtractionError; an API post or feed entry that
    cannot be read is appended to ``errors`` (or logged when none is given) so the others
    still count. ValueError for an unknown source.
    """
    if source == GOVHK:
        return [extract_release(response)] if release_ref(response.url) else []
    config = configs().get(source)
    if config is None:
        raise ValueError(f"unknown source {source!r} (known: {', '.join(known_sources())})")
    parts = urlsplit(response.url)
    if config.kind == "wordpress":
        if _same_place(response.url, f"{config.base_url}{API_PATH}", config):
            return _from_api(response, config, errors)
        if _same_place(response.url, feed_url(config), config):
            return _from_feed(response, config, errors)
    on_site = (parts.hostname or "").lower() in config.domains
    if on_site and config.detail_pattern and config.detail_pattern.search(response.url):
        return [extract_detail(response, config)]
    if config.kind in DISCOVERING and on_site:
        # Its own discovery found the articles; afterwards their pages are told by the
        # shape of their URLs (its REST API's pages by their path).
        if _same_place(response.url, f"{config.base_url}{API_PATH}", config):
            return _from_api(response, config, errors)
        if config.detail_pattern is None and article_like(response.url):
            return [extract_detail(response, config)]
    return []


# The kinds whose crawls find their articles themselves (crawler/spiders/discovering.py).
DISCOVERING = ("auto", "feed", "sitemap")


def _same_place(url: str, target: str, config: SourceConfig) -> bool:
    """Same path, and the host is the target's or one of the source's (with or without www)."""
    got, want = urlsplit(url), urlsplit(target)
    host = (got.hostname or "").lower()
    hosts = {(want.hostname or "").lower(), *config.domains}
    return host in hosts and got.path.rstrip("/") == want.path.rstrip("/")


def _from_api(
    response: TextResponse, config: SourceConfig, errors: list[ExtractionError] | None
) -> list[Article]:
    try:
        posts = json.loads(response.body)
    except ValueError:
        posts = None
    if not isinstance(posts, list):
        # The spider read this as the API refusing, and fell back to the feed.
        return []
    items = []
    for post in posts:
        if not isinstance(post, dict):
            continue
        try:
            items.append(article_from_api(post, config))
        except ExtractionError as exc:
            _entry_failed(exc, errors)
    return items


def _from_feed(
    response: TextResponse, config: SourceConfig, errors: list[ExtractionError] | None
) -> list[Article]:
    if not looks_like_feed(response.text):
        # Not a feed: the spider fell back to the listing pages.
        return []
    items = []
    for entry in articles_from_feed(response.text, config, response.url):
        if isinstance(entry, ExtractionError):
            _entry_failed(entry, errors)
        else:
            items.append(entry)
    return items


def _entry_failed(exc: ExtractionError, errors: list[ExtractionError] | None) -> None:
    if errors is None:
        logger.error("Cannot read an entry: %s", exc)
    else:
        errors.append(exc)
