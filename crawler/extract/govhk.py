"""GovHK press releases: every selector for www.info.gov.hk/gia/general/ in one place.

Release pages share one template (see tests/MARKUP.md): the headline in ``span#PRHeadlineSpan``,
the body in ``span#pressrelease`` with the footer ("Ends/<date>", "Issued at HKT hh:mm", "NNNN")
inside it, and media in the right column. Daily index pages have no known layout, so links to
releases are found by URL pattern alone.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from datetime import date
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from lxml import etree, html
from parsel import Selector

from crawler.dates import parse_hk_datetime
from crawler.extract import ExtractionError, page_root
from crawler.extract.sanitize import sanitize_html
from crawler.extract.text import element_text, script_language, squash, to_html
from newsarchive.clock import format_hk
from newsarchive.model import Article, Attachment, Link, Photo, Video
from newsarchive.urls import ReleaseRef, absolute_url, canonical_url, release_ref

if TYPE_CHECKING:
    # Annotations only: an extraction worker runs this module without importing Scrapy.
    from scrapy.http import TextResponse

SOURCE = "govhk"

TITLE_XPATHS = [
    ("selector:#PRHeadlineSpan", '//span[@id="PRHeadlineSpan"]'),
    ("selector:#PRHeadline", '//div[@id="PRHeadline"]'),
    ("og:title", '//meta[@property="og:title"]/@content'),
    ("title", "//title"),
]
BODY_XPATH = '//span[@id="pressrelease"]'


def _has_class(name: str) -> str:
    # The plain contains() first: it rules out almost every element before the costly concat().
    return (
        f"(contains(@class, '{name}')"
        f" and contains(concat(' ', normalize-space(@class), ' '), ' {name} '))"
    )


FOOTER_XPATH = f"//div[{_has_class('mB15')} and {_has_class('f15')}]"
# Media are found by the classes of their own elements, not by their container: the 2017
# layout (div.colRight) has no div.resAV around its videos, for one.
PHOTO_XPATH = f"//a[{_has_class('fancybox')}][@href]"
ATTACHMENT_XPATH = f"//a[{_has_class('attach_text')}]"
# This one tests every element of the page: a cheap test of the class attribute goes first.
VIDEO_PARTS_XPATH = (
    "//*[@class[contains(., 'video_text') or contains(., 'videsLnkArrow')]]"
    f"[{_has_class('video_text')} or {_has_class('videsLnkArrow')}]"
)
RELATED_XPATH = f"//a[{_has_class('contentref_text')}]"
# Inside the body span but not body text: the footer, the "NNNN" end mark, and the empty
# placeholder that the page's script fills with a copy of the right column.
BODY_NOISE_XPATH = (
    f".//div[({_has_class('mB15')} and {_has_class('f15')}) or {_has_class('controlDisplay2')}"
    " or normalize-space(.) = 'NNNN'] | .//script | .//style | .//noscript"
)

# Compiled once: every page runs each of them.
_TITLE = [(method, etree.XPath(xpath)) for method, xpath in TITLE_XPATHS]
_BODY = etree.XPath(BODY_XPATH)
_FOOTER = etree.XPath(FOOTER_XPATH)
_PHOTOS = etree.XPath(PHOTO_XPATH)
_ATTACHMENTS = etree.XPath(ATTACHMENT_XPATH)
_VIDEO_PARTS = etree.XPath(VIDEO_PARTS_XPATH)
_RELATED = etree.XPath(RELATED_XPATH)
_BODY_NOISE = etree.XPath(BODY_NOISE_XPATH)
# The only URL attributes the sanitiser keeps (a@href, img@src, blockquote/q/del/ins@cite), so
# the only ones worth making absolute: lxml's make_links_absolute visits every link attribute,
# inline style and <style> of the body, a tenth of the extraction time.
_KEPT_URL_ATTRIBUTES = ("href", "src", "cite")
_WITH_KEPT_URLS = etree.XPath("descendant-or-self::*[@href or @src or @cite]")

_EN_DATE = re.compile(
    r"(?:(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day,?\s+)?([A-Z][a-z]+\.?\s+\d{1,2},?\s+\d{4})"
)
_EN_TIME = re.compile(r"HKT\s*(\d{1,2})\s*[:.]\s*(\d{2})")
_ZH_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_ZH_TIME = re.compile(r"(\d{1,2})\s*[時时]\s*(\d{1,2})\s*分")


def release_links(response: TextResponse) -> Iterator[ReleaseRef]:
    """Every release linked from a page, once each, in page order, by URL pattern only."""
    seen: set[str] = set()
    for href in response.xpath("//@href").getall():
        url = absolute_url(response.url, href)
        ref = release_ref(url) if url else None
        if ref and ref.native_id not in seen:
            seen.add(ref.native_id)
            yield ref


def feed_release_links(text: str, base: str) -> Iterator[ReleaseRef]:
    """Every release an RSS feed links to (``<link>`` and ``<guid>``), once each, in order."""
    feed = Selector(text=text, type="xml")
    seen: set[str] = set()
    for href in feed.xpath("//item/link/text() | //item/guid/text()").getall():
        url = absolute_url(base, href)
        ref = release_ref(url) if url else None
        if ref and ref.native_id not in seen:
            seen.add(ref.native_id)
            yield ref


def extract_release(response: TextResponse) -> Article:
    """Extract a GovHK release page into an Article (not yet normalised or hashed)."""
    ref = release_ref(response.url)
    if ref is None:
        raise ExtractionError(f"not a GovHK release URL: {response.url}")
    root = page_root(response)
    methods: dict[str, str] = {}

    title, methods["title"] = _title(root)
    if not title:
        raise ExtractionError("no headline, og:title or <title>")

    body = _BODY(root)
    if not body:
        raise ExtractionError("no body (span#pressrelease)")
    methods["body"] = "selector:#pressrelease"

    footer = " ".join(squash(el.text_content()) for el in _FOOTER(root))
    published_at, methods["published_at"] = _published_at(footer, ref.folder)
    lang, methods["lang"] = _language(footer, title)

    base = response.url
    body_el = _clean_body(body[0], base)
    body_text = element_text(body_el)
    if not body_text:
        raise ExtractionError("empty body")

    return Article(
        source=SOURCE,
        native_id=ref.native_id,
        url=ref.url,
        lang=lang,
        title=title,
        published_at=published_at,
        body_text=body_text,
        body_html=sanitize_html(to_html(body_el)),
        photos=list(_photos(root, base)),
        attachments=[
            Attachment(url, title) for url, title in _titled_links(root, _ATTACHMENTS, base)
        ],
        videos=list(_videos(root, base)),
        related=[
            Link(url, title)
            for url, title in _titled_links(root, _RELATED, base, normal=canonical_url)
        ],
        extraction=methods,
    )


def _title(root: html.HtmlElement) -> tuple[str, str]:
    for method, xpath in _TITLE:
        for found in xpath(root):
            text = squash(found if isinstance(found, str) else found.text_content())
            if text:
                return text, method
    return "", "missing"


def _published_at(footer: str, folder: date) -> tuple[str, str]:
    """The footer's date and time; the day folder's date when the footer has none.

    Never the date inside the release id: that is when the release was created.
    """
    day = _EN_DATE.search(footer)
    time = _EN_TIME.search(footer)
    if day is None:
        zh_day = _ZH_DATE.search(footer)
        time = _ZH_TIME.search(footer)
        day_text = f"{zh_day[1]}年{zh_day[2]}月{zh_day[3]}日" if zh_day else None
    else:
        day_text = day[1]
    if day_text:
        time_text = f" {int(time[1]):02d}:{int(time[2]):02d}" if time else ""
        parsed = parse_hk_datetime(day_text + time_text)
        if parsed is not None:
            if time:
                return format_hk(parsed), "footer"
            return parsed.date().isoformat(), "footer-date-only"
    return folder.isoformat(), "url-folder"


def _language(footer: str, title: str) -> tuple[str, str]:
    if "Ends/" in footer or _EN_TIME.search(footer):
        return "en", "footer"
    if _ZH_DATE.search(footer) or footer.startswith("完"):
        return "zh", "footer"
    return script_language(title), "title-script"


def _clean_body(span: html.HtmlElement, base_url: str) -> html.HtmlElement:
    """A copy of the body span without footer, end mark, scripts; links made absolute."""
    body: html.HtmlElement = copy.deepcopy(span)
    for el in _BODY_NOISE(body):
        el.drop_tree()
    _make_links_absolute(body, base_url)
    return body


def _make_links_absolute(body: html.HtmlElement, base_url: str) -> None:
    """What lxml's make_links_absolute(handle_failures="ignore") does to the kept attributes."""
    for el in _WITH_KEPT_URLS(body):
        for name in _KEPT_URL_ATTRIBUTES:
            link = el.get(name)
            if link is None:
                continue
            try:
                absolute = urljoin(base_url, link.strip())
            except ValueError:
                continue
            if absolute != link:
                el.set(name, absolute)


def _photos(root: html.HtmlElement, base: str) -> Iterator[Photo]:
    seen: set[str] = set()
    for a in _PHOTOS(root):
        url = absolute_url(base, a.get("href"))
        if not url or url in seen:
            continue
        seen.add(url)
        img = a.find(".//img")
        thumb = absolute_url(base, img.get("src")) if img is not None else None
        caption = squash(a.get("title")) or (squash(img.get("alt")) if img is not None else "")
        yield Photo(url=url, thumbnail_url=thumb, caption=caption)


def _titled_links(
    root: html.HtmlElement,
    xpath: etree.XPath,
    base: str,
    normal: Callable[[str], str] | None = None,
) -> Iterator[tuple[str, str]]:
    """(URL, text) of each link matching xpath, once per URL, in page order; with ``normal``,
    URLs in that form, so two forms of one URL (a release and its print version) are one."""
    seen: set[str] = set()
    for a in xpath(root):
        url = absolute_url(base, a.get("href"))
        if url and normal is not None:
            url = normal(url)
        if url and url not in seen:
            seen.add(url)
            yield url, squash(a.text_content()) or squash(a.get("title"))


def _videos(root: html.HtmlElement, base: str) -> Iterator[Video]:
    """Each video's link paired with the title shown above it."""
    title = ""
    seen: set[str] = set()
    for el in _VIDEO_PARTS(root):
        if el.tag != "a":
            title = squash(el.text_content())
            continue
        url = absolute_url(base, el.get("href"))
        if url and url not in seen:
            seen.add(url)
            yield Video(url=url, title=title or squash(el.text_content()))
