"""Discovery's readers (crawler/extract/discovery.py), one answer at a time, without a crawl."""

from __future__ import annotations

import gzip

import pytest
from scrapy.http import HtmlResponse, Response, TextResponse, XmlResponse

from crawler.extract.discovery import (
    SitemapTooLarge,
    article_like,
    feed_items,
    feed_links,
    is_feed,
    languages,
    learn_pattern,
    platform,
    read_sitemap,
    robots_sitemaps,
    section_like,
    sitemap_body,
    sitemap_items,
    sitemap_lists_articles,
)

SITE = "https://www.lab.example"


def page(body: str, url: str = SITE + "/") -> HtmlResponse:
    return HtmlResponse(url, body=body.encode(), encoding="utf-8")


def test_wordpress_is_told_by_its_api_link_generator_or_assets() -> None:
    api = '<html><head><link rel="https://api.w.org/" href="/wp-json/"></head></html>'
    generator = '<html><head><meta name="generator" content="WordPress 6.5.2"></head></html>'
    assets = '<html><body><img src="/wp-content/uploads/2024/05/a.jpg"></body></html>'
    plain = '<html><head><link rel="stylesheet" href="/css/site.css"></head></html>'
    assert [platform(page(b).selector.root) for b in (api, generator, assets, plain)] == [
        "wordpress",
        "wordpress",
        "wordpress",
        None,
    ]


def test_feed_links_are_the_head_feeds_without_comment_feeds() -> None:
    html = """<html><head>
    <link rel="alternate" type="application/rss+xml" title="Lab &raquo; Feed" href="/feed/">
    <link rel="alternate" type="application/rss+xml" href="/comments/feed/">
    <link rel="alternate" type="application/atom+xml" href="https://www.lab.example/atom.xml">
    <link rel="alternate" hreflang="zh-Hant" href="/tc/">
    </head></html>"""
    assert feed_links(page(html).selector.root, SITE + "/") == [
        SITE + "/feed/",
        SITE + "/atom.xml",
    ]


RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Lab</title>
<item><title></title><link>/news/untitled-item/</link>
<pubDate>Tue, 14 May 2024 02:30:00 +0000</pubDate><description>Words [&#8230;]</description></item>
<item><title>Second</title><link>https://www.lab.example/news/second/#more</link>
<pubDate>Mon, 13 May 2024 01:00:00 +0000</pubDate></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Lab</title>
<entry><title>Only updated</title><link href="news/atom-item"/>
<updated>2024-03-01T10:00:00Z</updated></entry></feed>"""


def test_feed_items_resolve_links_against_the_feed_and_keep_untitled_items() -> None:
    items = feed_items(XmlResponse(SITE + "/feed/", body=RSS))
    assert [(i.url, i.published, i.method) for i in items] == [
        (SITE + "/news/untitled-item/", "2024-05-14T10:30:00+08:00", "feed"),
        (SITE + "/news/second/", "2024-05-13T09:00:00+08:00", "feed"),
    ]
    atom = feed_items(XmlResponse(SITE + "/blog/atom.xml", body=ATOM))
    assert [(i.url, i.published) for i in atom] == [
        (SITE + "/blog/news/atom-item", "2024-03-01T18:00:00+08:00")
    ]


def test_is_feed_refuses_a_page_served_where_a_feed_would_be() -> None:
    assert is_feed(XmlResponse(SITE + "/feed/", body=RSS))
    assert is_feed(XmlResponse(SITE + "/atom.xml", body=ATOM))
    assert not is_feed(page("<html><body>Page not found</body></html>", SITE + "/feed/"))
    assert not is_feed(XmlResponse(SITE + "/feed/", body=RSS, status=404))


def test_robots_sitemap_lines() -> None:
    robots = b"User-agent: *\nDisallow: /admin/\nSitemap: /sitemap_index.xml\nsitemap: https://cdn.example/s.xml\n"
    answer = TextResponse(SITE + "/robots.txt", body=robots, encoding="utf-8")
    assert robots_sitemaps(answer) == [SITE + "/sitemap_index.xml", "https://cdn.example/s.xml"]
    missing = TextResponse(SITE + "/robots.txt", body=robots, status=404, encoding="utf-8")
    assert robots_sitemaps(missing) == []


URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://www.lab.example/insights/first</loc>
<news:news><news:publication><news:name>Lab</news:name><news:language>en</news:language>
</news:publication><news:publication_date>2024-05-02T09:00:00+08:00</news:publication_date>
<news:title>First</news:title></news:news></url>
<url><loc>https://www.lab.example/insights/second</loc><lastmod>2024-04-01</lastmod></url>
<url><loc>https://elsewhere.example/insights/third</loc></url>
</urlset>"""


def test_sitemap_body_takes_gzip_and_refuses_garbage_and_the_oversize() -> None:
    plain = XmlResponse(SITE + "/sitemap.xml", body=URLSET)
    assert sitemap_body(plain, 1_000_000) == URLSET
    packed = Response(SITE + "/post-sitemap.xml.gz", body=gzip.compress(URLSET))
    assert sitemap_body(packed, 1_000_000) == URLSET
    garbage = Response(SITE + "/s.xml.gz", body=b"\x1f\x8b\x08\x00" + b"\xff" * 200)
    assert sitemap_body(garbage, 1_000_000) is None
    with pytest.raises(SitemapTooLarge):
        sitemap_body(Response(SITE + "/s.xml.gz", body=gzip.compress(b" " * 50_000)), 10_000)
    with pytest.raises(SitemapTooLarge):
        sitemap_body(XmlResponse(SITE + "/s.xml", body=URLSET), 100)
    assert sitemap_body(page("<html><body>Not here</body></html>", SITE + "/s.xml"), 10**6) is None


def test_news_sitemaps_give_exact_dates_and_lastmod_only_a_bound() -> None:
    doc = read_sitemap(URLSET)
    assert doc is not None and doc.kind == "urlset" and doc.news
    items = list(sitemap_items(doc, SITE + "/news-sitemap.xml", SITE + "/"))
    assert [(i.url, i.published, i.exact) for i in items] == [
        (SITE + "/insights/first", "2024-05-02T09:00:00+08:00", True),
        (SITE + "/insights/second", "2024-04-01", False),
    ]


def test_a_sitemap_index_and_what_its_names_say() -> None:
    index = b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
    <sitemap><loc>https://www.lab.example/post-sitemap.xml</loc><lastmod>2024-05-02</lastmod></sitemap>
    <sitemap><loc>https://www.lab.example/page-sitemap.xml</loc></sitemap></sitemapindex>"""
    doc = read_sitemap(index)
    assert doc is not None and doc.kind == "index"
    assert [e["loc"] for e in doc.entries] == [
        SITE + "/post-sitemap.xml",
        SITE + "/page-sitemap.xml",
    ]
    assert [sitemap_lists_articles(e["loc"]) for e in doc.entries] == [True, False]
    assert sitemap_lists_articles(SITE + "/sitemap-1.xml") is None
    assert read_sitemap(b"<html><body>no</body></html>") is None


def test_an_unnamed_sitemap_keeps_only_article_shaped_urls() -> None:
    body = b"""<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
    <url><loc>https://www.lab.example/</loc></url>
    <url><loc>https://www.lab.example/about/</loc></url>
    <url><loc>https://www.lab.example/news/2023/11/20/new-lab.html</loc></url></urlset>"""
    doc = read_sitemap(body)
    assert doc is not None
    assert [i.url for i in sitemap_items(doc, SITE + "/sitemap.xml", SITE + "/")] == [
        SITE + "/news/2023/11/20/new-lab.html"
    ]
    assert list(sitemap_items(doc, SITE + "/page-sitemap.xml", SITE + "/")) == []


@pytest.mark.parametrize(
    ("path", "article", "section"),
    [
        ("/news/2024/03/15/new-material.html", True, False),
        ("/2023/05/01/slug/", True, False),
        ("/en/news/detail.php?id=12", True, False),
        ("/index.php?p=481", True, False),
        ("/insights/quantum-error-correction", True, False),
        ("/news/", False, True),
        ("/en/", False, True),
        ("/tc/news/", False, True),
        ("/category/news/", False, True),
        ("/news/page/2/", False, False),
        ("/about/", False, False),
        ("/events/open-day", False, False),
        ("/news/index.html", False, True),
        ("/wp-content/uploads/2024/05/photo.jpg", False, False),
        ("/news/2024/03/report.pdf", False, False),
    ],
)
def test_url_shapes(path: str, article: bool, section: bool) -> None:
    assert (article_like(SITE + path), section_like(SITE + path)) == (article, section)


def test_a_pattern_is_learned_from_the_shapes_links_share() -> None:
    links = [
        SITE + "/en/news/detail.php?id=101",
        SITE + "/tc/news/detail.php?id=101",
        SITE + "/en/news/detail.php?id=102",
        SITE + "/news/2024/01/01/one-off.html",  # a shape seen once, beside shared ones
        SITE + "/about/",
    ]
    pattern = learn_pattern(links, SITE + "/")
    assert pattern is not None
    assert pattern.search("https://lab.example/tc/news/detail.php?id=7")
    assert pattern.search(SITE + "/en/news/detail.php?lang=1&id=7")
    assert not pattern.search(SITE + "/en/news/detail.php?id=7x")
    assert not pattern.search(SITE + "/news/2024/01/01/one-off.html")
    assert not pattern.search("https://other.example/en/news/detail.php?id=7")
    assert learn_pattern([SITE + "/about/"], SITE + "/") is None


def test_languages_by_path_prefix_and_markup() -> None:
    chooser = page(
        '<html lang="en"><head><link rel="alternate" hreflang="zh-Hant" href="/tc/"></head>'
        '<body><a href="/en/">English</a><a href="/tc/">繁體</a></body></html>'
    )
    links = [SITE + "/en/", SITE + "/tc/", SITE + "/en/news/"]
    assert languages(chooser, links) == (["en", "zh"], {"/en/": "en", "/tc/": "zh"})
    plain = page('<html lang="zh-Hant-HK"><body></body></html>')
    assert languages(plain, []) == (["zh"], {})
    assert languages(page("<html><body></body></html>"), []) == (["en"], {})


def test_the_next_listing_page_is_a_next_link_with_or_without_its_arrow() -> None:
    from crawler.extract.listing import next_page
    from crawler.sources.config import SourceConfig

    config = SourceConfig(name="lab", title="Lab", kind="auto", base_url=SITE)
    icons = '<a href="https://www.linkedin.com/company/lab"><i class="fab fa-linkedin"></i></a>'
    numbered = '<a href="/news/page/2/">2</a><a href="/news/page/2/">Next &rsaquo;</a>'
    # An icon-only link (no text) is not an arrow: it was taken for "next" once.
    assert next_page(page(icons + numbered, SITE + "/news/"), config) == SITE + "/news/page/2/"
    assert next_page(page(icons + '<a href="?p=3">»</a>', SITE + "/news/"), config) == (
        SITE + "/news/?p=3"
    )
    assert next_page(page(icons, SITE + "/news/"), config) is None
