"""Listing pages of configured sources: detail links (with the date shown beside each) and the
next page, found by URL pattern and by common pagination conventions, not by a site's layout."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

from lxml import html
from scrapy.http import TextResponse

from crawler.extract.parts import date_line, parse_published
from crawler.extract.text import squash
from crawler.sources.config import SourceConfig
from newsarchive.urls import absolute_url

NEXT_TEXTS = frozenset(
    {"next", "next page", "older posts", "older entries", "older news", "下一頁", "下一页"}
)
_ARROWS = frozenset({"›", "»", ">", "→"})
# How far up from a link to look for the item's "card" holding its date.
_CARD_DEPTH = 4
# A line longer than this is prose that may mention a date, not a date line.
_DATE_LINE_MAX = 40


def detail_links(response: TextResponse, config: SourceConfig) -> Iterator[tuple[str, date | None]]:
    """Each detail link on a listing page, once, with the date shown beside it when there is one."""
    pattern = config.detail_pattern
    if pattern is None:
        return
    seen: set[str] = set()
    for a in response.selector.root.xpath("//a[@href]"):
        url = _detail_url(response.url, a.get("href"), pattern)
        if url and url not in seen:
            seen.add(url)
            yield url, _card_date(a, response.url, pattern)


def _detail_url(base: str, href: str | None, pattern: re.Pattern[str]) -> str | None:
    url = absolute_url(base, href)
    if url is None:
        return None
    url = url.split("#", 1)[0]
    return url if pattern.search(url) else None


def _card_date(link: html.HtmlElement, base: str, pattern: re.Pattern[str]) -> date | None:
    """The date shown with a link, in the smallest container holding no other item's link.

    Only a ``<time>`` (a published one when marked) or a short line that is mostly a date
    counts: a date inside a teaser or a full post says nothing about when it was published.
    """
    for ancestor in list(link.iterancestors())[:_CARD_DEPTH]:
        urls = {_detail_url(base, href, pattern) for href in ancestor.xpath(".//a/@href")}
        if len(urls - {None}) > 1:
            return None
        times = ancestor.xpath('.//time[contains(@class, "published")]/@datetime')
        times = times or ancestor.xpath(".//time/@datetime")
        published = parse_published(times[0]) if times else None
        if published:
            return date.fromisoformat(published[:10])
        for text in ancestor.xpath(".//text()[normalize-space()]"):
            line = squash(text)
            found = date_line(line) if len(line) <= _DATE_LINE_MAX else None
            if found:
                return date.fromisoformat(found[0][:10])
    return None


def next_page(response: TextResponse, config: SourceConfig) -> str | None:
    """The next listing page: the configured selector, rel=next, or a "Next" link."""
    if config.next_page:
        return absolute_url(response.url, response.css(config.next_page).xpath("@href").get())
    rel = response.xpath('//a[contains(concat(" ", @rel, " "), " next ")]/@href').get()
    rel = rel or response.xpath('//link[@rel="next"]/@href').get()
    if rel:
        return absolute_url(response.url, rel)
    for a in response.selector.root.xpath("//a[@href]"):
        text = squash(a.text_content())
        # "Next ›", "Older posts »": the words without their arrows; or an arrow alone.
        if text in _ARROWS or text.strip("".join(_ARROWS) + " ").casefold() in NEXT_TEXTS:
            return absolute_url(response.url, a.get("href"))
    return None
