"""The four reconstructed centre sites: their expected items agree with the mirror, no crawl.

Each site in tests/mirror exposes its articles through one discovery route only, and
tests/fixtures/sites/<host>.json lists the archive items a crawl of it should give. These tests
check that the two agree: every expected URL is served, every feed and sitemap parses, the route
of each site exposes exactly the expected articles, and each title, body start and body end is
in its page. See tests/PROVENANCE.md for what each site stands for.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser  # type: ignore[import-untyped]
import pytest
from lxml import etree, html

from hkarchive.mirror import MirrorServer
from tests.conftest import FIXTURES, MIRROR

SITES = {
    "www.marinelab.example": "feed",
    "www.quantumlab.example": "sitemap",
    "www.biomedlab.example": "listing",
    "www.smartcity.example": "listing",
}
FIELDS = {
    "url",
    "title",
    "published_at",
    "lang",
    "body_starts",
    "body_ends",
    "photos",
    "date_source",
}
SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
NEWS_NS = {**SITEMAP_NS, "news": "http://www.google.com/schemas/sitemap-news/0.9"}
HKT = timedelta(hours=8)


def expected(host: str) -> list[dict[str, Any]]:
    path = FIXTURES / "sites" / f"{host}.json"
    items: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return items


@pytest.fixture(scope="module")
def mirror() -> Any:
    # Only locate() is used: the server maps URLs to files exactly as a crawl would see them.
    server = MirrorServer(MIRROR)
    yield server
    server.server_close()


def target(url: str) -> str:
    parts = urlsplit(url)
    return f"/{parts.netloc}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def fetch(mirror: MirrorServer, url: str) -> bytes | None:
    found = mirror.locate(target(url))
    return None if found is None else found[0].read_bytes()


def page(mirror: MirrorServer, url: str) -> html.HtmlElement:
    body = fetch(mirror, url)
    assert body is not None, f"{url} is not in the mirror"
    return html.fromstring(body, base_url=url)


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ")).strip()


def links(root: html.HtmlElement) -> set[str]:
    root.make_links_absolute()
    return {a.get("href").split("#")[0] for a in root.iter("a") if a.get("href")}


@pytest.mark.parametrize("host", SITES)
def test_expected_items_are_well_formed_and_served(host: str, mirror: MirrorServer) -> None:
    items = expected(host)
    urls = [item["url"] for item in items]
    assert len(urls) == len(set(urls))
    for item in items:
        assert set(item) - {"twin"} == FIELDS, item["url"]
        assert urlsplit(item["url"]).netloc == host
        assert item["date_source"] in {"page", "feed", "sitemap", "url"}
        assert item["lang"] in {"en", "zh"}
        assert date.fromisoformat(item["published_at"]) >= date(2022, 1, 1)
        root = page(mirror, item["url"])
        text = squash(root.text_content())
        assert squash(item["title"]) in text, item["url"]
        assert squash(item["body_starts"]) in text, item["url"]
        assert squash(item["body_ends"]) in text, item["url"]


@pytest.mark.parametrize("host", SITES)
def test_every_feed_and_sitemap_parses(host: str) -> None:
    xml_files = [
        path
        for path in sorted((MIRROR / host).rglob("*"))
        if path.is_file() and path.read_bytes().lstrip()[:5] == b"<?xml"
    ]
    assert xml_files or SITES[host] == "listing"
    for path in xml_files:
        etree.fromstring(path.read_bytes())
        if b"<rss" in path.read_bytes()[:200]:
            parsed = feedparser.parse(path.read_bytes())
            assert not parsed.bozo, (path, parsed.get("bozo_exception"))


def test_marinelab_exposes_its_posts_through_the_feed_only(mirror: MirrorServer) -> None:
    base = "https://www.marinelab.example"
    items = expected("www.marinelab.example")
    assert fetch(mirror, f"{base}/wp-json/wp/v2/posts") is None, "the REST API is refused"
    home = page(mirror, f"{base}/")
    assert home.xpath('//link[@rel="https://api.w.org/"]')
    [feed_url] = home.xpath('//link[@rel="alternate"][@type="application/rss+xml"]/@href')[:1]
    feed = fetch(mirror, feed_url)
    assert feed is not None
    channel = etree.fromstring(feed).find("channel")
    assert channel is not None
    entries = channel.findall("item")
    assert not channel.xpath(
        "item/content:encoded", namespaces={"content": "http://purl.org/rss/1.0/modules/content/"}
    ), "a summary feed: the body is only on the page"
    assert all(e.findtext("description").rstrip().endswith("[&#8230;]") for e in entries)
    assert sum(1 for e in entries if not e.findtext("title")) == 1
    assert sum(1 for e in entries if e.findtext("link").startswith("/")) == 1
    by_url = {urljoin(f"{base}/", e.findtext("link")): e for e in entries}
    assert set(by_url) == {item["url"] for item in items}
    for item in items:
        published = parsedate_to_datetime(by_url[item["url"]].findtext("pubDate"))
        if item["date_source"] == "feed":
            # The page says nothing of its date: the feed's pubDate, read in Hong Kong time.
            assert (published.astimezone(UTC) + HKT).date().isoformat() == item["published_at"]
            source = fetch(mirror, item["url"])
            assert source is not None
            assert b"datetime=" not in source
            assert b"published_time" not in source
            assert b"datePublished" not in source


def sitemap_locs(mirror: MirrorServer, url: str, ns: dict[str, str] = SITEMAP_NS) -> list[str]:
    body = fetch(mirror, url)
    assert body is not None, url
    return [loc.strip() for loc in etree.fromstring(body).xpath("//s:loc/text()", namespaces=ns)]


def test_quantumlab_exposes_its_articles_through_sitemaps_only(mirror: MirrorServer) -> None:
    base = "https://www.quantumlab.example"
    items = expected("www.quantumlab.example")
    assert fetch(mirror, f"{base}/sitemap.xml") is None, "found through robots.txt only"
    robots = fetch(mirror, f"{base}/robots.txt")
    assert robots is not None
    [index_url] = re.findall(r"(?im)^Sitemap:\s*(\S+)", robots.decode())
    children = sitemap_locs(mirror, index_url)
    posts = sitemap_locs(mirror, next(u for u in children if "post-" in u))
    pages = sitemap_locs(mirror, next(u for u in children if "page-" in u))
    news_url = next(u for u in children if "news-" in u)
    news = sitemap_locs(mirror, news_url, NEWS_NS)
    assert set(posts) == {item["url"] for item in items}
    assert set(news) <= set(posts)
    assert not set(pages) & set(posts)
    newest = sorted(items, key=lambda item: item["published_at"])[-3:]
    assert set(news) == {item["url"] for item in newest}
    news_root = etree.fromstring(fetch(mirror, news_url) or b"")
    for item in items:
        if item["date_source"] == "sitemap":
            [when] = news_root.xpath(
                "//s:url[s:loc=$u]//news:publication_date/text()", u=item["url"], namespaces=NEWS_NS
            )
            assert datetime.fromisoformat(when).date().isoformat() == item["published_at"]
            assert b"datePublished" not in (fetch(mirror, item["url"]) or b"")
    for url in (f"{base}/", f"{base}/insights/"):
        root = page(mirror, url)
        assert not root.xpath('//link[@rel="alternate"][contains(@type, "xml")]'), "no feeds"
        assert not {u for u in links(root) if "/insights/" in u and u != f"{base}/insights/"}


def listing_links(mirror: MirrorServer, start: str, pattern: str) -> set[str]:
    """Article links of the listing pages reached from start through rel-less Next links."""
    found: set[str] = set()
    url: str | None = start
    seen: set[str] = set()
    while url and url not in seen:
        seen.add(url)
        root = page(mirror, url)
        found |= {u for u in links(root) if re.search(pattern, u)}
        nxt = root.xpath('//a[starts-with(normalize-space(.), "Next")]/@href')
        url = nxt[0] if nxt else None
    return found


def test_biomedlab_exposes_its_articles_through_listing_pages(mirror: MirrorServer) -> None:
    base = "https://www.biomedlab.example"
    items = expected("www.biomedlab.example")
    robots = fetch(mirror, f"{base}/robots.txt") or b""
    assert b"Sitemap" not in robots
    assert fetch(mirror, f"{base}/sitemap.xml") is None
    assert not page(mirror, f"{base}/").xpath('//link[@rel="alternate"]')
    dated = r"/news/\d{4}/\d{2}/\d{2}/[^/]+\.html$"
    assert listing_links(mirror, f"{base}/news/", dated) == {item["url"] for item in items}
    for item in items:
        y, m, d = re.search(r"/(\d{4})/(\d{2})/(\d{2})/", item["url"]).groups()  # type: ignore[union-attr]
        assert f"{y}-{m}-{d}" == item["published_at"]
    for item in items:
        photos = page(mirror, item["url"]).xpath("//article//figure//img/@src")
        assert len(photos) == item["photos"]
        assert all(fetch(mirror, urljoin(item["url"], src)) for src in photos)
    assert sum(1 for item in items if item["photos"]) >= 3


def test_smartcity_exposes_twin_articles_through_both_listings(mirror: MirrorServer) -> None:
    base = "https://www.smartcity.example"
    items = expected("www.smartcity.example")
    by_url = {item["url"]: item for item in items}
    found = listing_links(mirror, f"{base}/en/news/", r"\?id=\d+$") | listing_links(
        mirror, f"{base}/tc/news/", r"\?id=\d+$"
    )
    assert found == set(by_url)
    for item in items:
        twin = by_url[item["twin"]]
        assert twin["twin"] == item["url"]
        assert twin["lang"] != item["lang"]
        assert twin["published_at"] == item["published_at"]
        assert urlsplit(twin["url"]).query == urlsplit(item["url"]).query
        root = page(mirror, item["url"])
        assert root.get("lang") == ("en" if item["lang"] == "en" else "zh-Hant-HK")
        other = "zh-Hant" if item["lang"] == "en" else "en"
        assert root.xpath(f'//link[@rel="alternate"][@hreflang="{other}"]/@href') == [twin["url"]]
    for path in ("sitemap.xml", "feed", "rss.xml"):
        assert fetch(mirror, f"{base}/{path}") is None


def test_every_site_has_a_provenance_section() -> None:
    text = (Path(__file__).parent / "PROVENANCE.md").read_text(encoding="utf-8")
    for host in SITES:
        assert f"`{host}`" in text
