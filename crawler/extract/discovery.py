"""Discovery: how a site offers its articles, read from what it serves (nothing is fetched here).

A source of kind ``auto`` is crawled by asking, in order: the WordPress REST API; the feeds its
home page links (``<link rel="alternate" type="application/rss+xml">`` and Atom), else the
usual feed paths; its sitemaps (robots.txt's ``Sitemap:`` lines, else the usual sitemap paths;
sitemap indexes, Google News sitemaps, ``lastmod``); and last its own listing pages, whose
article links are told apart by the shape of their URLs (a dated path, ``/news/<item>``,
``?id=123``), learned from the links the site shows. Each function here reads one answer; the
spider (crawler/spiders/auto.py) fetches them through Scrapy, so discovery obeys robots.txt and
the per-site limits like every other request.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from courlan import is_navigation_page, is_not_crawlable
from lxml import etree, html
from scrapy.http import Response, TextResponse, XmlResponse
from scrapy.utils._compression import _DecompressionMaxSizeExceeded
from scrapy.utils.gz import gunzip, gzip_magic_number
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from crawler.extract.parts import parse_published
from crawler.extract.text import declared_language, squash
from crawler.extract.wordpress import entry_date, looks_like_feed
from newsarchive.urls import absolute_url

# --- Platforms and feeds ---------------------------------------------------------------------

FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml")
# Where sites without a feed link usually serve one (WordPress, static generators, Drupal).
USUAL_FEEDS = ("feed/", "rss.xml", "feed.xml", "atom.xml", "index.xml", "rss/")
USUAL_SITEMAPS = ("sitemap.xml", "sitemap_index.xml", "wp-sitemap.xml")


def platform(root: html.HtmlElement) -> str | None:
    """``wordpress`` when the page says it is served by WordPress, else None."""
    generator = " ".join(root.xpath('//meta[@name="generator"]/@content'))
    if root.xpath('//link[@rel="https://api.w.org/"]') or generator.startswith("WordPress"):
        return "wordpress"
    assets = root.xpath("//link/@href | //script/@src | //img/@src")
    if any("/wp-content/" in url or "/wp-includes/" in url for url in assets):
        return "wordpress"
    return None


def feed_links(root: html.HtmlElement, base: str) -> list[str]:
    """The feeds a page links in its head (RSS, Atom, RSS 1.0), comment feeds left out."""
    found: list[str] = []
    for link in root.xpath('//link[@href][contains(concat(" ", @rel, " "), " alternate ")]'):
        if (link.get("type") or "").strip().lower() not in FEED_TYPES:
            continue
        url = absolute_url(base, link.get("href"))
        if url and "/comments/" not in url and url not in found:
            found.append(url)
    return found


def is_feed(response: Response) -> bool:
    """Whether an answer is a feed of any flavour, not a page served where a feed would be."""
    return response.status == 200 and looks_like_feed(response.body[:5000].decode("latin-1"))


@dataclass(frozen=True)
class Listed:
    """An article URL as a feed, a sitemap or a listing page names it, with what it says of it:
    the date (ISO, as stored) and where the date came from (``feed`` or ``sitemap``)."""

    url: str
    published: str | None = None
    method: str | None = None
    exact: bool = True  # False for a sitemap's lastmod: a change, not the publication


def feed_items(response: Response) -> list[Listed]:
    """The items of a feed (RSS 0.9x to 2.0, RSS 1.0, Atom, read by feedparser), links resolved
    against the feed's own URL, each with its published (else updated) date."""
    import feedparser  # type: ignore[import-untyped]  # here: only feeds need it

    parsed = feedparser.parse(response.body, sanitize_html=False, resolve_relative_uris=False)
    items: list[Listed] = []
    for entry in parsed.entries:
        url = absolute_url(response.url, (entry.get("link") or "").strip())
        if not url:
            continue
        published = entry_date(entry)[0] or None
        items.append(Listed(url.split("#", 1)[0], published, "feed" if published else None))
    return items


# --- Sitemaps --------------------------------------------------------------------------------

_NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
# What a sitemap's file name says it lists (Yoast's post-sitemap.xml, WordPress's own
# wp-sitemap-posts-post-1.xml, news-sitemap.xml; page-, category-, tag-, author- sitemaps).
_ARTICLE_SITEMAP = re.compile(r"post|news|article|blog|stor(?:y|ies)|press", re.IGNORECASE)
_OTHER_SITEMAP = re.compile(
    r"page|categor|tag|author|user|taxonom|product|attachment|image|video|event", re.IGNORECASE
)


class SitemapTooLarge(ValueError):
    """A sitemap whose body, once decompressed, is over the size a crawl accepts."""


def robots_sitemaps(response: Response) -> list[str]:
    """The sitemaps robots.txt names on its ``Sitemap:`` lines (Scrapy's reader)."""
    if response.status != 200:
        return []
    return list(dict.fromkeys(sitemap_urls_from_robots(response.body, base_url=response.url)))


def sitemap_body(response: Response, max_size: int) -> bytes | None:
    """The XML of a sitemap answer, gzip or not; None when it is not one (an HTML page, gzip
    garbage); SitemapTooLarge when it decompresses past `max_size` bytes."""
    if response.status != 200:
        return None
    body = response.body
    if gzip_magic_number(response):
        try:
            body = gunzip(body, max_size=max_size)
        except _DecompressionMaxSizeExceeded:
            raise SitemapTooLarge(f"{response.url}: over {max_size} bytes decompressed") from None
        except (OSError, EOFError, ValueError, zlib.error):  # not gzip after all: garbage
            return None
    if len(body) > max_size:
        raise SitemapTooLarge(f"{response.url}: over {max_size} bytes")
    head = body[:2000].lstrip()
    if isinstance(response, XmlResponse) or head.startswith(b"<?xml") or b"<urlset" in head:
        return body
    return body if b"<sitemapindex" in head else None


@dataclass(frozen=True)
class SitemapDoc:
    """A sitemap read: an ``index`` of sitemaps or a ``urlset``, its entries, and whether it
    is a Google News sitemap."""

    kind: str
    entries: list[dict[str, Any]]
    news: bool = False


def read_sitemap(body: bytes) -> SitemapDoc | None:
    """A sitemap's type and entries (Scrapy's reader), with each news entry's
    ``publication_date`` (which Scrapy's reader flattens away); None for what is not one."""
    try:
        sitemap = Sitemap(body)
        entries = list(sitemap)
    except (etree.XMLSyntaxError, StopIteration):
        return None
    if sitemap.type not in ("sitemapindex", "urlset"):
        return None
    news = any("news" in entry for entry in entries)
    if news:
        dates = _news_dates(body)
        entries = [{**e, "news_date": dates.get(e.get("loc", ""))} for e in entries]
    return SitemapDoc("index" if sitemap.type == "sitemapindex" else "urlset", entries, news)


def _news_dates(body: bytes) -> dict[str, str]:
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True)
    root = etree.fromstring(body, parser)
    dates: dict[str, str] = {}
    for url in root.iter("{*}url") if root is not None else ():
        loc = url.findtext("{*}loc")
        day = url.findtext(f".//{_NEWS}publication_date")
        if loc and day:
            dates[loc.strip()] = day.strip()
    return dates


def sitemap_lists_articles(url: str) -> bool | None:
    """What a sitemap's name says of its entries: articles (True), other pages (False), or
    nothing (None: its entries are told apart by their URLs' shape)."""
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    if _ARTICLE_SITEMAP.search(name):
        return True
    if _OTHER_SITEMAP.search(name):
        return False
    return None


def sitemap_items(doc: SitemapDoc, url: str, site: str) -> Iterator[Listed]:
    """The article URLs of a urlset on the site, each with its date: a news entry's
    publication date, else the ``lastmod`` (not exact: the last change)."""
    lists = True if doc.news else sitemap_lists_articles(url)
    if lists is False:
        return
    for entry in doc.entries:
        loc = absolute_url(url, entry.get("loc"))
        if not loc or not same_site(loc, site) or urlsplit(loc).path.strip("/") == "":
            continue
        if lists is None and not article_like(loc):
            continue
        news_day = parse_published(entry.get("news_date"))
        if news_day:
            yield Listed(loc, news_day, "sitemap")
        else:
            lastmod = parse_published(entry.get("lastmod"))
            yield Listed(loc, lastmod, "sitemap" if lastmod else None, exact=False)


# --- URL shapes ------------------------------------------------------------------------------

# Path segments that name a site's news section.
NEWS_WORDS = frozenset(
    {
        "news", "press", "press-releases", "press-release", "pressreleases", "media",
        "media-centre", "media-center", "newsroom", "stories", "story", "article", "articles",
        "blog", "blogs", "posts", "post", "insights", "updates", "announcements",
        "announcement", "notices", "latest-news", "whats-new",
    }
)  # fmt: skip
# First path segments that name a language (the archive's codes: en, zh).
LANG_PREFIXES = {
    "en": "en", "eng": "en", "english": "en", "en-us": "en", "en-gb": "en", "en-hk": "en",
    "tc": "zh", "sc": "zh", "zh": "zh", "cn": "zh", "chi": "zh", "chinese": "zh",
    "zh-hk": "zh", "zh-tw": "zh", "zh-cn": "zh", "zh-hant": "zh", "zh-hans": "zh",
}  # fmt: skip
_DATED = re.compile(r"/(?:19|20)\d{2}/(?:0?[1-9]|1[0-2])/(?:(?:0?[1-9]|[12]\d|3[01])/)?[^/]+")
_ID_KEYS = r"id|p|nid|aid|article_?id|news_?id|post_?id"
_ID_QUERY = re.compile(rf"(?:^|&)(?P<key>{_ID_KEYS})=\d+(?:&|$)", re.IGNORECASE)
# Besides courlan's navigation pages (pagination, tags, categories, authors) and pages not to
# crawl (logins, carts): feeds, the REST API, and files that are no page.
_NOT_ARTICLE = re.compile(
    r"/(?:feed|wp-json|wp-admin|search)(?:/|$)"
    r"|\.(?:pdf|jpe?g|png|gif|webp|svg|zip|docx?|xlsx?|pptx?|mp[34]|css|js|xml|json|rss|txt)$",
    re.IGNORECASE,
)
_INDEX_NAMES = frozenset({"index", "default", "list", "listing", "archive", "archives", "all"})


def same_site(url: str, site: str) -> bool:
    """Whether a URL is on the site's host (with or without ``www.``)."""
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    return bool(host) and host == (urlsplit(site).hostname or "").removeprefix("www.")


def _segments(path: str) -> list[str]:
    return [segment for segment in path.split("/") if segment]


def article_like(url: str) -> bool:
    """Whether a URL has the shape of an article's: an id in the query (``?id=123``), a dated
    path (``/2024/03/15/slug``), or an item under a news section (``/news/slug``)."""
    parts = urlsplit(url)
    if _NOT_ARTICLE.search(parts.path):
        return False
    if _ID_QUERY.search(parts.query):  # ?p=481 is WordPress's post id, not a page number
        return True
    if is_navigation_page(url) or is_not_crawlable(url):
        return False
    if _DATED.search(parts.path):
        return True
    segments = _segments(parts.path)
    if not any(segment.lower() in NEWS_WORDS for segment in segments[:-1]):
        return False
    stem = segments[-1].rsplit(".", 1)[0].lower()
    return stem not in _INDEX_NAMES and stem not in NEWS_WORDS and not stem.isdigit()


def section_like(url: str) -> bool:
    """Whether a URL looks like a page listing articles (``/news/``, ``/en/news/``,
    ``/category/news/``) or a language's home page (``/en/``), worth reading for links."""
    segments = _segments(urlsplit(url).path)
    if not segments or len(segments) > 3:
        return False
    stem = segments[-1].rsplit(".", 1)[0].lower()
    if len(segments) == 1 and stem in LANG_PREFIXES:
        return True
    if stem in _INDEX_NAMES and len(segments) > 1:
        stem = segments[-2].lower()  # /news/index.html
    return stem in NEWS_WORDS


def page_links(response: TextResponse) -> list[str]:
    """Every link of a page on its own site, absolute, without fragments, once, in order."""
    found: dict[str, None] = {}
    for href in response.selector.root.xpath("//a/@href"):
        url = absolute_url(response.url, href)
        if url and same_site(url, response.url):
            found[url.split("#", 1)[0]] = None
    return list(found)


def _template(url: str) -> str:
    """The regex of an article URL's shape: numbers, the language and the item's own name
    generalised, the section names kept (``/(?:en|tc)/news/detail\\.php\\?id=\\d+``)."""
    parts = urlsplit(url)
    segments = _segments(parts.path)
    out = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment.isdigit():
            out.append(r"\d+")
        elif index == 0 and segment.lower() in LANG_PREFIXES and len(segments) > 1:
            out.append(f"(?:{'|'.join(sorted(map(re.escape, LANG_PREFIXES)))})")
        elif last and not _ID_QUERY.search(parts.query):
            stem, dot, extension = segment.rpartition(".")
            out.append(rf"[^/?#]+\.{re.escape(extension)}" if dot and stem else r"[^/?#]+")
        else:
            out.append(re.escape(segment))
    path = "/" + "/".join(out) + ("/" if parts.path.endswith("/") and segments else "")
    key = _ID_QUERY.search(parts.query)
    query = rf"\?(?:[^#]*&)?{re.escape(key['key'])}=\d+(?:&[^#]*)?" if key else ""
    return path.rstrip("/") + ("/?" if path.endswith("/") or not query else "") + query


def learn_pattern(urls: Iterable[str], site: str) -> re.Pattern[str] | None:
    """The article URLs' shape on a site, learned from the article-like links it shows: the
    shapes two links or more share (or every shape, when no two links share one)."""
    shapes = Counter(_template(url) for url in urls if same_site(url, site) and article_like(url))
    if not shapes:
        return None
    shared = sorted(shape for shape, count in shapes.items() if count >= 2) or sorted(shapes)
    host = re.escape((urlsplit(site).hostname or "").removeprefix("www."))
    return re.compile(rf"^https?://(?:www\.)?{host}(?:{'|'.join(shared)})$")


# --- Languages -------------------------------------------------------------------------------


def language_code(value: str | None) -> str | None:
    """The archive's code (en, zh) for a language tag or path prefix (``zh-Hant-HK``, ``tc``)."""
    tag = (value or "").strip().lower()
    if tag in LANG_PREFIXES:
        return LANG_PREFIXES[tag]
    return tag[:2] if tag[:2] in ("en", "zh") else None


def languages(response: TextResponse, links: Iterable[str]) -> tuple[list[str], dict[str, str]]:
    """The languages a site offers (from ``<html lang>``, hreflang links and language path
    prefixes), and the prefixes that hold them when it keeps them apart by path
    (``{"/en/": "en", "/tc/": "zh"}``)."""
    by_path: dict[str, str] = {}
    for url in links:
        segments = _segments(urlsplit(url).path)
        if len(segments) > 0 and segments[0].lower() in LANG_PREFIXES:
            by_path.setdefault(f"/{segments[0]}/", LANG_PREFIXES[segments[0].lower()])
    root = response.selector.root
    tags = [root.get("lang"), *root.xpath('//link[@rel="alternate"]/@hreflang')]
    codes = {*by_path.values(), *filter(None, map(language_code, tags))}
    return sorted(codes) or ["en"], by_path


def other_language_paths(response: TextResponse) -> list[str]:
    """The path prefixes that hold a site's versions in languages other than English and
    Chinese (``/ja/``, ``/ur/``), as its page's hreflang alternates name them: the first path
    segment of an alternate on the same site, when that segment is itself a language tag and
    no English or Chinese alternate starts with it. Pages under them are no items of the
    archive's, and a crawl need not fetch them."""
    ours: set[str] = set()
    others: set[str] = set()
    for link in response.selector.root.xpath('//link[@rel="alternate"][@hreflang][@href]'):
        lang = declared_language(link.get("hreflang"))
        url = urljoin(response.url, link.get("href"))
        if lang is None or not same_site(url, response.url):
            continue
        first = (_segments(urlsplit(url).path) or [""])[0]
        if lang in ("en", "zh"):
            ours.add(first)
        elif declared_language(first) is not None:
            others.add(first)
    return sorted(f"/{segment}/" for segment in others - ours)


def title_of(response: TextResponse) -> str:
    """A site's name as its home page gives it: ``og:site_name``, else ``<title>``."""
    root = response.selector.root
    named = root.xpath('//meta[@property="og:site_name"]/@content')
    return squash(named[0] if named else " ".join(root.xpath("//title//text()")))
