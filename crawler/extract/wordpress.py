"""WordPress: posts from the REST API (``/wp-json/wp/v2/posts``) and from the RSS feed.

Both are the same on every WordPress site whatever its theme, which is why they come before
any page markup. Dates are read from the GMT fields (``date_gmt``, RFC 822 ``pubDate``) and
stored in Hong Kong time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from parsel import Selector

from crawler.extract import ExtractionError
from crawler.extract.parts import body_from_fragment, native_id, photo_key, plain_text
from crawler.sources.config import SourceConfig
from newsarchive.clock import HKT, format_hk
from newsarchive.model import Article, Photo
from newsarchive.urls import absolute_url

API_PATH = "/wp-json/wp/v2/posts"
_RSS_NS = {"content": "http://purl.org/rss/1.0/modules/content/"}


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


def articles_from_feed(text: str, config: SourceConfig) -> Iterator[Article | ExtractionError]:
    """Articles from an RSS 2.0 feed with full content (``content:encoded``).

    An item that cannot be read is yielded as its ExtractionError, so one bad item does not
    hide the others.
    """
    feed = Selector(text=text, type="xml")
    feed.register_namespace("content", _RSS_NS["content"])
    for item in feed.xpath("//channel/item"):
        try:
            yield _feed_item(item, config)
        except ExtractionError as exc:
            yield exc


def _feed_item(item: Selector, config: SourceConfig) -> Article:
    link = (item.xpath("link/text()").get() or "").strip()
    title = plain_text(item.xpath("title/text()").get() or "")
    try:
        published = format_hk(parsedate_to_datetime(item.xpath("pubDate/text()").get() or ""))
    except (TypeError, ValueError):
        published = ""
    if not link or not title or not published:
        raise ExtractionError(f"feed item {link or title!r} lacks a link, title or date")
    content = item.xpath("content:encoded/text()").get() or item.xpath("description/text()").get()
    body_html, body_text, photos = body_from_fragment(content or "", link)
    categories = [c.strip() for c in item.xpath("category/text()").getall() if c.strip()]
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
            "title": "rss",
            "published_at": "rss:pubDate",
            "body": "rss:content" if item.xpath("content:encoded") else "rss:description",
            "images": "rss" if photos else "none",
            "category": "rss" if categories else "none",
            "lang": "config",
        },
    )
