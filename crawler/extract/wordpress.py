"""WordPress: posts from the REST API (``/wp-json/wp/v2/posts``) and from the site's feed.

Both are the same on every WordPress site whatever its theme, which is why they come before
any page markup. Dates are read from the GMT fields (``date_gmt``, RFC 822 ``pubDate``) and
stored in Hong Kong time.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from crawler.extract import ExtractionError
from crawler.extract.parts import (
    body_from_fragment,
    first_words,
    native_id,
    photo_key,
    plain_text,
)
from crawler.sources.config import SourceConfig
from newsarchive.clock import HKT, format_hk
from newsarchive.model import FIRST_WORDS, Article, Photo
from newsarchive.urls import absolute_url

API_PATH = "/wp-json/wp/v2/posts"


def api_page_url(config: SourceConfig, page: int) -> str:
    """One page of the posts API, newest first, with embedded media and terms."""
    query = f"_embed=1&orderby=date&order=desc&page={page}&per_page={config.per_page}"
    return f"{config.base_url}{API_PATH}?{query}"


def feed_url(config: SourceConfig) -> str:
    """The site's RSS feed."""
    return config.feed_url or f"{config.base_url}/feed/"


def _gmt(value: str | None) -> str | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return format_hk(parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed)


def _local(value: str | None) -> str | None:
    """A post's local date, for sites whose API gives no GMT date (the site's zone is HK's)."""
    try:
        return format_hk(datetime.fromisoformat(value).replace(tzinfo=HKT)) if value else None
    except ValueError:
        return None


def article_from_api(post: dict[str, Any], config: SourceConfig) -> Article:
    """An Article from one post of the REST API."""
    link = post.get("link")
    if not isinstance(link, str) or not link:
        raise ExtractionError(f"API post {post.get('id')!r} has no link")
    title = plain_text(_rendered(post.get("title")))
    published = _gmt(post.get("date_gmt")) or _local(post.get("date"))
    if not title or not published:
        raise ExtractionError(f"API post {link} lacks a title or date")
    body_html, body_text, photos = body_from_fragment(_rendered(post.get("content")), link)
    embedded = post.get("_embedded") or {}
    featured = list(_featured(embedded, link))
    return Article(
        source=config.name,
        native_id=native_id(link, config),
        url=link,
        lang=config.languages[0],
        title=title,
        published_at=published,
        body_text=body_text,
        body_html=body_html,
        photos=_merge(featured, photos),
        category=_categories(embedded),
        extraction={
            "title": "wp-api",
            "published_at": "wp-api:date_gmt" if post.get("date_gmt") else "wp-api:date",
            "body": "wp-api",
            "images": "wp-api" if featured or photos else "none",
            "category": "wp-api" if _categories(embedded) else "none",
            "lang": "config",
        },
    )


def _rendered(field: Any) -> str:
    if isinstance(field, dict):
        return str(field.get("rendered") or "")
    return str(field or "")


def _featured(embedded: dict[str, Any], base: str) -> Iterator[Photo]:
    for media in embedded.get("wp:featuredmedia") or []:
        if not isinstance(media, dict):
            continue
        url = absolute_url(base, media.get("source_url"))
        if url:
            caption = plain_text(_rendered(media.get("caption"))) or str(
                media.get("alt_text") or ""
            )
            yield Photo(url=url, caption=caption.strip())


def _categories(embedded: dict[str, Any]) -> str | None:
    names = [
        plain_text(str(term.get("name", "")))
        for group in embedded.get("wp:term") or []
        for term in group or []
        if isinstance(term, dict) and term.get("taxonomy") == "category"
    ]
    return ", ".join(n for n in names if n) or None


def _merge(first: list[Photo], then: list[Photo]) -> list[Photo]:
    merged, seen = list(first), {photo_key(p.url) for p in first}
    for photo in then:
        if photo_key(photo.url) not in seen:
            seen.add(photo_key(photo.url))
            merged.append(photo)
    return merged


_FEED_ROOT = re.compile(r"<(?:rss|channel|feed|rdf:RDF)\b")


def looks_like_feed(text: str) -> bool:
    """Whether a document is a feed of any flavour (an RSS channel, RSS 1.0, Atom), not a page
    a site serves where its feed would be."""
    return _FEED_ROOT.search(text[:5000]) is not None


def articles_from_feed(
    text: str, config: SourceConfig, url: str | None = None
) -> Iterator[Article | ExtractionError]:
    """Articles from a feed with full content, whatever its flavour (RSS 0.9x to 2.0, RSS 1.0,
    Atom), read by feedparser; relative links are resolved against the feed's URL (``url``,
    default the source's feed).

    An item without a title takes the first words of its body (``first-words``). An item that
    cannot be read is yielded as its ExtractionError, so one bad item does not hide the others.
    """
    import feedparser  # type: ignore[import-untyped]  # here: only feed pages need it

    parsed = feedparser.parse(text, sanitize_html=False, resolve_relative_uris=False)
    flavour = "atom" if str(parsed.get("version", "")).startswith("atom") else "rss"
    for entry in parsed.entries:
        try:
            yield _feed_item(entry, config, url or feed_url(config), flavour)
        except ExtractionError as exc:
            yield exc


def entry_date(entry: Any, flavour: str = "rss") -> tuple[str, str]:
    """A feedparser entry's date as stored, with the field it came from: the published date,
    else the updated one (an Atom entry may give only that); ("", "") when it has neither."""
    if entry.get("published_parsed"):
        moment, field = entry["published_parsed"], "pubDate" if flavour == "rss" else "published"
    elif entry.get("updated_parsed"):
        moment, field = entry["updated_parsed"], "updated"
    else:
        return "", ""
    return format_hk(datetime.fromtimestamp(calendar.timegm(moment), UTC)), field


def _feed_item(entry: Any, config: SourceConfig, base: str, flavour: str) -> Article:
    link = absolute_url(base, (entry.get("link") or "").strip()) or ""
    published, date_field = entry_date(entry, flavour)
    if not link or not published:
        raise ExtractionError(f"feed item {link or entry.get('title')!r} lacks a link or date")
    contents = entry.get("content") or []
    content = contents[0].get("value") if contents else entry.get("summary")
    body_html, body_text, photos = body_from_fragment(content or "", link)
    title, title_method = plain_text(entry.get("title") or ""), flavour
    if not title:
        title, title_method = first_words(body_text), FIRST_WORDS
    if not title:
        raise ExtractionError(f"feed item {link!r} has neither a title nor a body")
    categories = [t.get("term", "").strip() for t in entry.get("tags") or []]
    categories = [c for c in categories if c]
    return Article(
        source=config.name,
        native_id=native_id(link, config),
        url=link,
        lang=config.languages[0],
        title=title,
        published_at=published,
        body_text=body_text,
        body_html=body_html,
        photos=photos,
        category=", ".join(categories) or None,
        extraction={
            "title": title_method,
            "published_at": f"{flavour}:{date_field}",
            "body": f"{flavour}:content" if contents else f"{flavour}:description",
            "images": flavour if photos else "none",
            "category": flavour if categories else "none",
            "lang": "config",
        },
    )
