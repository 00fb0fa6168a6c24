"""Page parts every extractor of configured sources reads: item ids from URLs, dates and
date lines, bodies from HTML, titles from a body's first words, photos and image files, plain
text.

The generic extractor (generic.py), the WordPress API and feed (wordpress.py) and listing
pages (listing.py) share them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit

from lxml import html

from crawler.dates import parse_hk_datetime
from crawler.extract.sanitize import sanitize_html
from crawler.extract.text import (
    element_text,
    html_to_text,
    squash,
    to_html,
    xml_safe,
)
from crawler.sources.config import SourceConfig
from newsarchive.clock import format_hk
from newsarchive.model import Photo

IMAGE_FILE = re.compile(r"\.(?:jpe?g|png|gif|webp|bmp|tiff?)$", re.IGNORECASE)


IMAGE_LABEL = re.compile(
    r"(?P<name>[^()\s][^()]*?\.(?:jpe?g|png|gif|webp|bmp|tiff?))\s*"
    r"\(\s*(?P<size>(?P<number>\d+(?:[.,]\d+)?)\s*(?P<unit>bytes|[KMGT]i?B|B))\s*\)",
    re.IGNORECASE,
)


_UNITS = {"b": 0, "bytes": 0, "kb": 1, "kib": 1, "mb": 2, "mib": 2, "gb": 3, "gib": 3}


_DATES = [
    # Digit lookarounds, not \b: "2022-12-07T17:05" must match too.
    re.compile(r"(?<!\d)\d{4}-\d{1,2}-\d{1,2}(?!\d)"),
    re.compile(r"(?<!\d)\d{4}/\d{1,2}/\d{1,2}(?!\d)"),
    re.compile(r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日"),
    re.compile(r"\b[A-Z][a-z]{2,8}\.? \d{1,2},? \d{4}\b"),
    re.compile(r"\b\d{1,2} [A-Z][a-z]{2,8}\.? \d{4}\b"),
]


def native_id(url: str, config: SourceConfig) -> str:
    """The item's id within its source: the detail pattern's ``id`` (and ``lang``) groups, or
    else the URL path and query (a WordPress permalink such as
    ``2022/06/02/innohk-launch-ceremony``, or ``en/news/detail.php?id=12``)."""
    match = config.detail_pattern.search(url) if config.detail_pattern else None
    groups = match.groupdict() if match else {}
    if groups.get("id"):
        return f"{groups['lang']}/{groups['id']}" if groups.get("lang") else groups["id"]
    parts = urlsplit(url)
    # An item named by its query (``detail.php?id=12``) keeps it: the path alone names them all.
    path = parts.path.strip("/") + (f"?{parts.query}" if parts.query else "")
    return path or parts.netloc


def parse_published(value: str | None) -> str | None:
    """A date or date-time as stored: ISO 8601 in HK time, or a bare date when no time is given."""
    if not value or not value.strip():
        return None
    text = value.strip()
    parsed = parse_hk_datetime(text)
    if parsed is None:
        return None
    # A bare date (no time of day in the source) is stored as a date, never as midnight.
    has_time = bool(re.search(r"\d{1,2}:\d{2}", text))
    return format_hk(parsed) if has_time else parsed.date().isoformat()


_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")
_TITLE_CHARS = 80


def first_words(text: str) -> str:
    """A title for an untitled item (a feed entry, a page without a headline): its first
    sentence, cut at a word near 80 characters."""
    sentence = _SENTENCE_END.split(text.strip(), maxsplit=1)[0].strip()
    if len(sentence) <= _TITLE_CHARS:
        return sentence
    cut = sentence[:_TITLE_CHARS]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + "…"


def date_line(line: str) -> tuple[str, str | None] | None:
    """A line such as ``2022-05-25 | News``: (the date, the category after the bar, if any)."""
    for pattern in _DATES:
        match = pattern.search(line)
        if not match:
            continue
        published = parse_published(match[0])
        if published is None:
            continue
        rest = line[match.end() :].strip()
        category = squash(rest.lstrip("|·•/-–— ")) if rest[:1] in "|·•/-–—" else ""
        return published, (category if 0 < len(category) <= 40 else None)
    return None


def clean_body_element(el: html.HtmlElement, base_url: str) -> html.HtmlElement:
    """A copy of a body element without scripts and styles, with absolute links."""
    body: html.HtmlElement = copy.deepcopy(el)
    for noise in body.xpath(".//script | .//style | .//noscript | .//form"):
        noise.drop_tree()
    body.make_links_absolute(base_url, resolve_base_href=False, handle_failures="ignore")
    return body


# How far down a body the repeated headline is looked for, and how long a line before it may be.
_HEAD_LINES = 3
_HEADING_WORDS = 4
_DATE_LINE_CHARS = 40


def body_text_of(el: html.HtmlElement, title: str = "") -> str:
    """Readable body text without figures, image-file links or a repeated title."""
    text_el: html.HtmlElement = copy.deepcopy(el)
    for node in text_el.xpath(".//figure | .//img | .//a[@href]"):
        if node.tag != "a" or IMAGE_FILE.search(urlsplit(node.get("href", "")).path):
            node.drop_tree()
    lines = element_text(text_el).split("\n")
    text = "\n".join(line for line in lines if not IMAGE_LABEL.fullmatch(line.strip())).strip()
    # Extractors often repeat the headline as the first line, sometimes after a short section
    # heading ("News"), and the date line printed under it ("Date: 2024-05-20", "日期：2024年5月
    # 20日"); drop them unless they are all there is.
    lines = text.split("\n")
    filled = [index for index, line in enumerate(lines) if line.strip()]
    start = 0  # the first filled line (its index in `filled`) the body keeps
    for position, index in enumerate(filled[:_HEAD_LINES]):
        if title and squash(lines[index]) == title:
            before = [lines[i] for i in filled[:position]]
            if all(len(squash(head).split()) <= _HEADING_WORDS for head in before):
                start = position + 1
            break
    if start < len(filled) and len(squash(lines[filled[start]])) <= _DATE_LINE_CHARS:
        start += 1 if date_line(lines[filled[start]]) else 0
    lines = lines[filled[start] :] if start < len(filled) else []
    rest = "\n".join(lines).strip()
    return rest or text


def body_from_fragment(fragment: str, base_url: str) -> tuple[str, str, list[Photo]]:
    """(body_html, body_text, photos) of an HTML fragment such as a feed's or API's content."""
    root = html.fragment_fromstring(xml_safe(fragment) or "<p></p>", create_parent="div")
    cleaned = clean_body_element(root, base_url)
    return sanitize_html(to_html(cleaned)), body_text_of(cleaned), list(photos_in(cleaned))


_SIZED = re.compile(r"-\d{2,5}x\d{2,5}(?=\.\w+$)")


def photo_key(url: str) -> str:
    """One key for an image and its resized copies (WordPress's ``name-1024x683.jpg``)."""
    return _SIZED.sub("", urlsplit(url).path)


# Where lazy-loading scripts keep an image's real address until it is shown, in the order
# they are tried; `src` then often holds a placeholder (a ``data:`` URI or a 1-pixel GIF).
_LAZY_SRC = ("data-src", "data-lazy-src", "data-original", "data-lazy")
_LAZY_SRCSET = ("data-srcset", "data-lazy-srcset")
_DESCRIPTOR = re.compile(r"^(\d+(?:\.\d+)?)([wx])$")


def srcset_candidates(srcset: str | None) -> list[tuple[str, float, str]]:
    """A ``srcset``'s candidates as (url, size, ``w`` or ``x``), by the HTML standard's parsing:
    a URL is a run of non-space characters (commas inside it, as in ``w_100,h_80``, kept), a
    comma ending it or its descriptors ends the candidate. No descriptor means ``1x``."""
    candidates, text, position = [], srcset or "", 0
    while position < len(text):
        while position < len(text) and (text[position].isspace() or text[position] == ","):
            position += 1
        start = position
        while position < len(text) and not text[position].isspace():
            position += 1
        url, descriptors = text[start:position], ""
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            end = text.find(",", position)
            end = len(text) if end < 0 else end
            descriptors, position = text[position:end].strip(), end + 1
        if not url:
            continue
        match = _DESCRIPTOR.match(descriptors.split()[0]) if descriptors else None
        size, unit = (float(match[1]), match[2]) if match else (1.0, "x")
        candidates.append((url, size, unit))
    return candidates


def largest_candidate(srcset: str | None) -> str | None:
    """The largest image a ``srcset`` offers: the widest ``w`` candidate, else the densest."""
    candidates = srcset_candidates(srcset)
    if not candidates:
        return None
    return max(candidates, key=lambda c: (c[2] == "w", c[1]))[0]


def _usable(src: str) -> bool:
    return bool(src) and not src.startswith("data:")


def image_address(node: html.HtmlElement, base_url: str | None = None) -> tuple[str, str]:
    """(image URL, shown URL) of an ``<img>``: its largest ``srcset`` candidate (lazy-loaded
    ``data-srcset`` too), else its lazy ``data-src``, else its ``src``; the shown URL is what
    ``src`` (or the lazy source) shows. Both absolute against `base_url` when given."""
    src = node.get("src", "").strip()
    if not _usable(src):
        src = next((node.get(a, "").strip() for a in _LAZY_SRC if _usable(node.get(a, ""))), "")
    srcset = node.get("srcset") or next((node.get(a) for a in _LAZY_SRCSET if node.get(a)), None)
    url = largest_candidate(srcset) or src
    if base_url:
        src, url = urljoin(base_url, src) if src else "", urljoin(base_url, url) if url else ""
    return url, src


def photo_of(node: html.HtmlElement, base_url: str | None = None) -> Photo | None:
    """The photo an ``<img>`` or a link to an image file shows, or None.

    An image's figure caption (else its ``alt``) is its caption; a label such as
    ``4.jpg (4.09 MB)`` gives its file name and size instead.
    """
    if node.tag == "img":
        url, src = image_address(node, base_url)
        figure = node.xpath("ancestor::figure[1]//figcaption")
        caption = squash(figure[0].text_content()) if figure else squash(node.get("alt"))
        label = IMAGE_LABEL.search(caption)
        photo = Photo(url=url, thumbnail_url=src if src and src != url else None,
                      caption="" if label else caption)  # fmt: skip
    else:
        url = node.get("href", "").strip()
        if not IMAGE_FILE.search(urlsplit(url).path) or node.find(".//img") is not None:
            return None  # not an image file; or a linked thumbnail, whose <img> is reported
        url = urljoin(base_url, url) if base_url else url
        label = IMAGE_LABEL.search(squash(node.text_content()))
        photo = Photo(url=url, caption="" if label else squash(node.text_content()))
    if label:
        photo.name, photo.size_label = label["name"].strip(), squash(label["size"])
        photo.size_bytes = size_in_bytes(label["number"], label["unit"])
    return photo if url and urlsplit(url).scheme in ("http", "https") else None


PHOTO_NODES = ".//img | .//a[@href]"


def photos_in(el: html.HtmlElement, base_url: str | None = None) -> Iterator[Photo]:
    """Images shown in an element and links to image files, once per image, in order.

    An ``<img>`` with a ``srcset`` gives its largest candidate as the image and its ``src``
    as the thumbnail.
    """
    seen: set[str] = set()
    for node in el.xpath(PHOTO_NODES):
        photo = photo_of(node, base_url)
        if photo is not None and photo_key(photo.url) not in seen:
            seen.add(photo_key(photo.url))
            yield photo


def size_in_bytes(number: str, unit: str) -> int | None:
    """``4.09``, ``MB`` -> 4288676 (file sizes on web pages are binary multiples)."""
    power = _UNITS.get(unit.lower())
    if power is None:
        return None
    multiplier: int = 1024**power
    return round(float(number.replace(",", ".")) * multiplier)


def plain_text(fragment: str) -> str:
    """Text of a small HTML fragment such as a WordPress ``title.rendered``."""
    return squash(html_to_text(fragment))
