"""Spiders that find a site's articles themselves: source kinds ``auto``, ``feed``, ``sitemap``.

``auto`` needs only the site's address. When a crawl starts it asks, in order, and records the
route it took (the run's stats, ``hkarchive/route``): the WordPress REST API; the feeds the home
page links, else the usual feed paths; the sitemaps robots.txt names, else the usual sitemap
paths; last the site's listing pages, whose article links it tells apart by the shape of their
URLs (crawler/extract/discovery.py). ``feed`` and ``sitemap`` take that one route.

Discovery requests go through Scrapy's downloader (``engine.download_async``): robots.txt, the
per-site concurrency and delay, retries of 429 and 5xx answers all apply to them. A site that
still answers 429 or 5xx is not declared empty: the run records a failure for it, and the next
run tries again. That failure (role ``listing``, the base URL) is not asked for again as a
listing page: discovery asks for the site anyway, and a later run whose discovery is answered
in full settles it (a ``ListingRead`` of the base URL). Articles are read from their own pages
(generic extraction); the date a feed or sitemap gives an URL goes with its request, for a page
that shows none.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urljoin, urlsplit

from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Request, Response, TextResponse
from scrapy.utils._compression import _DecompressionMaxSizeExceeded
from twisted.internet.defer import CancelledError

from crawler.extract.discovery import (
    USUAL_FEEDS,
    USUAL_SITEMAPS,
    Listed,
    SitemapTooLarge,
    feed_items,
    feed_links,
    is_feed,
    languages,
    learn_pattern,
    other_language_paths,
    page_links,
    platform,
    read_sitemap,
    robots_sitemaps,
    same_site,
    section_like,
    sitemap_body,
    sitemap_items,
    sitemap_lists_articles,
    title_of,
)
from crawler.extract.generic import DATE_HINT
from crawler.extract.parts import parse_published
from crawler.extract.wordpress import api_page_url
from crawler.spiders.centres import WordpressSpider, json_list
from newsarchive.model import FetchFailed, ListingRead

logger = logging.getLogger(__name__)

# How many pages (home, language homes, news sections) discovery reads to learn the listing
# pages, and how many sitemap files it reads through indexes.
MAX_SECTION_PAGES = 20
MAX_SITEMAPS = 200
# What an answer's Content-Type must say for it to be read as an HTML page; an answer that says
# nothing useful is read as one when its first bytes are HTML's.
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_UNDECLARED_TYPES = frozenset({"", "text/plain", "application/octet-stream"})


@dataclass
class Discovery:
    """What a crawl found on a site and the route it took (`hkarchive source add` prints it)."""

    title: str = ""
    platform: str | None = None
    api: bool = False
    feeds: list[str] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    lang_by_path: dict[str, str] = field(default_factory=dict)
    # Where the site keeps its versions in other languages (``/ja/``): not crawled.
    other_paths: list[str] = field(default_factory=list)
    listing_urls: list[str] = field(default_factory=list)
    pattern: str | None = None
    route: str | None = None
    # The home page's trouble, if it could not be read as a page.
    home_problem: str | None = None
    # Requests answered 429 or 5xx, or not at all: the site may hold more than was found.
    unanswered: list[str] = field(default_factory=list)
    oversize: list[str] = field(default_factory=list)
    # Feeds and sitemaps the site names (a feed link, robots.txt) that are not what they claim.
    unreadable: list[str] = field(default_factory=list)


class DiscoveringSpider(WordpressSpider):
    """A site crawled by what it offers: API, feeds, sitemaps or listing pages."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.found = Discovery()
        # Why a discovery request gave no answer to read, by URL ("answered 503").
        self.trouble: dict[str, str] = {}

    @property
    def base(self) -> str:
        return self.config.base_url + "/"

    async def start(self) -> AsyncIterator[Any]:
        seen = self.open_seen_state()
        for request in self.failed_again():
            yield request
        kind = self.config.kind
        routes = {"feed": self.feed_route, "sitemap": self.sitemap_route}
        followed = 0
        async for output in routes.get(kind, self.auto_route)():
            followed += isinstance(output, Request)
            yield output
        if self.settles_failure():
            # Asked and answered in full: the failure an earlier run recorded is settled.
            yield ListingRead(self.name, self.base, 200, followed)
        if self.found.route is None:
            for failed in self.nothing_found():
                yield failed
            return
        self._stats.set_value("hkarchive/route", self.found.route)
        logger.info("%s: articles found through %s", self.name, self.found.route)
        if self.found.route != "wordpress-api":  # the API's newest pages carry recent posts
            for request in self.revisits(seen):
                yield request

    def other_language(self, url: str) -> bool:
        """Whether a URL lies where the site keeps its versions in other languages (its home
        page's hreflang alternates: ``/ja/``); counted, for it is not fetched."""
        path = urlsplit(url).path
        if any(path.startswith(prefix) for prefix in self.found.other_paths):
            self._stats.inc_value("hkarchive/other_language_skipped")
            return True
        return False

    def failed_again(self) -> Iterator[Request]:
        """The earlier runs' failures to ask for again, but the base URL's: that one records a
        discovery left incomplete, and discovery runs anyway (its home page is no listing)."""
        for request in super().failed_again():
            if request.url != self.base:
                yield request

    def settles_failure(self) -> bool:
        """Whether this run's discovery was answered in full while an earlier run's record of
        it as incomplete (the base URL's failure, past the retry cap or not) is still there."""
        if self.found.unanswered or self.found.home_problem or self.seen is None:
            return False
        return any(failed.url == self.base for failed in self.seen.failed(self.name, 2**31))

    async def fetch(self, url: str, **meta: Any) -> Response | None:
        """One discovery request through the downloader; None when it is refused by robots.txt,
        not answered, or answered 429 or 5xx (noted: the site is tried again next run)."""
        request = Request(url, meta=meta, dont_filter=True)
        try:
            response: Response = await self.crawler.engine.download_async(request)
        except IgnoreRequest as exc:
            if isinstance(exc.__cause__, _DecompressionMaxSizeExceeded):  # a gzip bomb
                self.found.oversize.append(url)
                self.trouble[url] = "is too large to read"
                logger.error("%s: not read (%s)", url, exc)
                return None
            robots = not str(exc) or "robots.txt" in str(exc)
            self.trouble[url] = "is refused by robots.txt" if robots else f"was not fetched ({exc})"
            logger.info("%s: not fetched (%s)", url, exc or "robots.txt")
            return None
        except (DownloadCancelledError, CancelledError) as exc:  # over its download size
            self.found.oversize.append(url)
            self.trouble[url] = "is too large to read"
            logger.error("%s: not read (%s)", url, exc)
            return None
        except Exception as exc:
            self.found.unanswered.append(f"{url} ({type(exc).__name__}: {exc})")
            self.trouble[url] = "did not answer"
            logger.warning("%s: no answer during discovery (%s)", url, exc)
            return None
        self._stats.inc_value("hkarchive/discovery_requests")
        if response.status == 429 or response.status >= 500:
            self.found.unanswered.append(f"{url} ({response.status})")
            self.trouble[url] = f"answered {response.status}"
            logger.warning("%s answered %s during discovery", url, response.status)
            return None
        return response

    # --- routes --------------------------------------------------------------------------------

    async def auto_route(self) -> AsyncIterator[Any]:
        home = await self.fetch(self.base)
        if home is None or home.status != 200 or not is_html_page(home):
            self.found.home_problem = _page_problem(home, self.base, self.trouble.get(self.base))
            return
        assert isinstance(home, TextResponse)  # is_html_page
        root = home.selector.root
        self.found.title = title_of(home)
        self.found.platform = platform(root)
        self.found.languages, self.found.lang_by_path = languages(home, page_links(home))
        self.found.other_paths = other_language_paths(home)
        if self.found.platform == "wordpress":
            async for output in self.api_route():
                yield output
        if self.found.route:
            return
        async for output in self.feed_route(feed_links(root, home.url), usual=True):
            yield output
        if self.found.route:
            return
        async for output in self.sitemap_route():
            yield output
        if self.found.route:
            return
        async for output in self.listing_route(home):
            yield output

    async def api_route(self) -> AsyncIterator[Any]:
        response = await self.fetch(api_page_url(self.config, 1), page=1)
        if response is None or response.status != 200 or not json_list(response):
            return
        self.found.api, self.found.platform, self.found.route = True, "wordpress", "wordpress-api"
        for output in self.parse_api(response):
            yield output

    async def feed_route(
        self, linked: Iterable[str] | None = None, *, usual: bool = False
    ) -> AsyncIterator[Any]:
        candidates = [self.config.feed_url] if self.config.feed_url else list(linked or [])
        named = set(candidates)
        if usual:
            candidates += [urljoin(self.base, path) for path in USUAL_FEEDS]
        for url in dict.fromkeys(candidates):
            response = await self.fetch(url)
            if response is None or not is_feed(response):
                if response is not None and response.status == 200 and url in named:
                    kind = _declared_type(response) or "no Content-Type"
                    self.found.unreadable.append(f"the feed {url} is not a feed ({kind})")
                continue
            self.found.feeds.append(url)
            items = [item for item in feed_items(response) if same_site(item.url, self.base)]
            if items:
                self.found.route = "feed"
                for request in self.follow(items):
                    yield request
                return

    async def sitemap_route(self) -> AsyncIterator[Any]:
        named = list(self.config.sitemap_urls)
        if not named:
            robots = await self.fetch(urljoin(self.base, "robots.txt"), dont_obey_robotstxt=True)
            named = robots_sitemaps(robots) if robots is not None else []
        # Without a named sitemap, the usual paths; the first that is a sitemap is the site's.
        usual = [] if named else [urljoin(self.base, path) for path in USUAL_SITEMAPS]
        queue = named or list(usual)
        items: dict[str, Listed] = {}
        read, limit = 0, self.settings.getint("HKARCHIVE_MAX_SITEMAP_BYTES")
        while queue and read < MAX_SITEMAPS:
            url = queue.pop(0)
            response = await self.fetch(url, download_maxsize=limit)
            read += 1
            try:
                body = sitemap_body(response, limit) if response is not None else None
            except SitemapTooLarge as exc:
                logger.error("Sitemap %s", exc)
                self.found.oversize.append(url)
                yield FetchFailed(self.name, url, "oversize", str(exc), role="listing")
                continue
            doc = read_sitemap(body) if body else None
            if doc is None:
                if response is not None and response.status == 200 and not usual:
                    self.found.unreadable.append(f"the sitemap {url} is not a readable sitemap")
                continue
            self.found.sitemaps.append(url)
            if doc.kind == "index":
                queue += [loc for loc in self.children(doc.entries) if loc not in queue]
            else:
                for item in sitemap_items(doc, url, self.base):
                    items.setdefault(item.url, item)
            if usual:
                queue = [loc for loc in queue if loc not in usual]
        if items:
            self.found.route = "sitemap"
            for request in self.follow(items.values()):
                yield request

    def children(self, entries: list[dict[str, Any]]) -> Iterator[str]:
        """The sitemaps of an index worth reading: not those whose name says they list other
        pages, and, in a backfill, not those last changed before the window."""
        for entry in entries:
            loc = urljoin(self.base, entry.get("loc", ""))
            if sitemap_lists_articles(loc) is False:
                continue
            changed = parse_published(entry.get("lastmod"))
            if not self.incremental and changed and changed[:10] < self.first_day.isoformat():
                continue
            yield loc

    async def listing_route(self, home: TextResponse) -> AsyncIterator[Any]:
        pages: dict[str, TextResponse] = {home.url: home}
        queue = [url for url in page_links(home) if section_like(url)]
        while queue and len(pages) < MAX_SECTION_PAGES:
            url = queue.pop(0)
            if url in pages:
                continue
            response = await self.fetch(url)
            if isinstance(response, TextResponse) and response.status == 200:
                pages[url] = response
                more = [link for link in page_links(response) if section_like(link)]
                queue += [link for link in more if link not in pages and link not in queue]
        links = {url: page_links(page) for url, page in pages.items()}
        self.found.languages, self.found.lang_by_path = languages(
            home, [link for found in links.values() for link in found]
        )
        pattern = learn_pattern((link for found in links.values() for link in found), self.base)
        if pattern is None:
            return
        listing = [url for url, found in links.items() if any(map(pattern.search, found))]
        self.found.pattern, self.found.listing_urls = pattern.pattern, listing
        self.found.route = "listing"
        # This crawl's own reading of the site: the class's config stays as declared.
        self.config = replace(  # type: ignore[misc]
            self.config, detail_pattern=pattern, listing_urls=tuple(listing)
        )
        for url in listing:
            for output in self.parse_listing(pages[url]):
                yield output

    # --- following what was found ----------------------------------------------------------

    def follow(self, items: Iterable[Listed]) -> Iterator[Request]:
        """Requests for the listed articles the crawl wants: in its window (a date the route
        gives is trusted, a lastmod only as a bound), not archived or due again."""
        assert self.seen is not None
        listed = list(items)
        known = self.seen.lookup(self.item_id(item.url) for item in listed)
        first, last = self.first_day.isoformat(), self.last_day.isoformat()
        for item in listed:
            if self.other_language(item.url):
                continue
            day = (item.published or "")[:10]
            if not self.incremental and day and (day < first or (item.exact and day > last)):
                continue
            seen = known.get(self.item_id(item.url))
            if not self.seen.wanted(seen):
                self._stats.inc_value("hkarchive/items_archived_skipped")
                continue
            if item.url in self.requested:
                continue
            self.requested.add(item.url)
            request = self.detail_request(item.url, seen)
            if item.published and item.method:
                request.meta[DATE_HINT] = {"date": item.published, "method": item.method}
            yield request

    def nothing_found(self) -> Iterator[FetchFailed]:
        """Why no route was found, in the log; a failure to try again when the site did not
        answer every request (it is not declared empty)."""
        problem = self.found.home_problem
        if self.found.unanswered:
            reason = f"discovery incomplete, tried again next run: {self.found.unanswered[0]}"
            logger.error("%s: %s", self.name, reason)
            yield FetchFailed(self.name, self.base, "http", reason, role="listing")
        elif problem:
            logger.error("%s: %s", self.name, problem)
        else:
            logger.error("%s: no API, feed, sitemap or listing of articles found", self.name)


def _declared_type(response: Response) -> str:
    header = (response.headers.get("Content-Type") or b"").decode("latin-1")
    return header.split(";", 1)[0].strip().lower()


def is_html_page(response: Response) -> bool:
    """Whether an answer is an HTML page: its Content-Type says so, or says nothing useful
    (none, text/plain, octet-stream) and its first bytes are HTML's. A PDF, a JSON document or a
    feed served where a page was asked for is not one, even when Scrapy reads it as text."""
    if not isinstance(response, TextResponse):
        return False
    declared = _declared_type(response)
    if declared in HTML_TYPES:
        return True
    if declared not in _UNDECLARED_TYPES:
        return False
    head = response.body[:1024].removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def _page_problem(response: Response | None, url: str, trouble: str | None) -> str:
    """What is wrong with the home page, in words, for the one line `source add` stops with."""
    if response is None:
        trouble = trouble or "did not answer"
        transient = trouble == "did not answer" or trouble.startswith("answered")
        return f"{url} {trouble}" + (": try again later" if transient else "")
    if response.status != 200:
        return f"{url} answered {response.status}"
    return f"{url} is not an HTML page ({_declared_type(response) or 'no Content-Type'})"
