"""Generic extraction for news sites declared by config: configured selectors first, then standards.

Every field has a chain of methods and the item records which one answered
(``Article.extraction``), so a site redesign shows up in the data:

- title: selector, ``h1``, ``og:title``, JSON-LD ``headline``, ``<title>``;
- date: selector, ``<time datetime>``, ``article:published_time``, JSON-LD ``datePublished``,
  then a date-looking line near the title (``2022-05-25 | News``, whose tail is the category);
- body: selector, then trafilatura;
- images: selector, else images in the body and links to image files, whose label
  (``4.jpg (4.09 MB)``) gives the file name and size;
- category: selector, the date line's tail, ``article:section``, JSON-LD ``articleSection``.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from lxml import html
from scrapy.http import TextResponse

from crawler.dates import parse_hk_datetime
from crawler.extract import ExtractionError, page_root
from crawler.extract.sanitize import sanitize_html
from crawler.extract.text import (
    element_text,
    html_to_text,
    script_language,
    squash,
    to_html,
    xml_safe,
)
from crawler.sources.config import SourceConfig
from newsarchive.clock import format_hk
from newsarchive.model import Article, Photo

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
_LINES_AFTER_TITLE = 12


def extract_detail(response: TextResponse, config: SourceConfig) -> Article:
    """Extract a news item page of a configured source into an Article."""
    root = page_root(response)
    methods: dict[str, str] = {}
    title, title_el, methods["title"] = _title(response, root, config)
    if not title:
        raise ExtractionError("no title (selector, h1, og:title, JSON-LD or <title>)")
    date_line_category = None
    published_at, methods["published_at"], date_line_category = _published(
        response, root, config, title_el
    )
    if published_at is None:
        raise ExtractionError("no publication date")
    body_html, body_text, body_el, methods["body"] = _body(response, root, config, title)
    if not body_text:
        raise ExtractionError("empty body")
    photos, methods["images"] = _images(response, config, body_el)
    category, methods["category"] = _category(response, root, config, date_line_category)
    lang, methods["lang"] = _language(response, root, config, title + body_text)
    return Article(
        source=config.name,
        native_id=native_id(response.url, config),
        url=response.url,
        lang=lang,
        title=title,
        published_at=published_at,
        body_text=body_text,
        body_html=body_html,
        photos=photos,
        category=category,
        extraction=methods,
    )


def native_id(url: str, config: SourceConfig) -> str:
    """The item's id within its source: the detail pattern's ``id`` (and ``lang``) groups, or
    else the URL path (a WordPress permalink such as ``2022/06/02/innohk-launch-ceremony``)."""
    match = config.detail_pattern.search(url) if config.detail_pattern else None
    groups = match.groupdict() if match else {}
    if groups.get("id"):
        return f"{groups['lang']}/{groups['id']}" if groups.get("lang") else groups["id"]
    return urlsplit(url).path.strip("/") or urlsplit(url).netloc


def _css_first(response: TextResponse, selector: str | None) -> html.HtmlElement | None:
    if not selector:
        return None
    found = response.css(selector)
    return found[0].root if found and not isinstance(found[0].root, str) else None


def _meta(root: html.HtmlElement, *names: str) -> str | None:
    for name in names:
        for value in root.xpath(f'//meta[@property="{name}" or @name="{name}"]/@content'):
            if value.strip():
                return str(value.strip())
    return None


def json_ld(root: html.HtmlElement) -> Iterator[dict[str, Any]]:
    """Every JSON-LD object on the page, ``@graph`` members included; bad JSON is skipped."""
    for script in root.xpath('//script[@type="application/ld+json"]/text()'):
        try:
            data = json.loads(script)
        except ValueError:
            continue
        stack = data if isinstance(data, list) else [data]
        while stack:
            item = stack.pop(0)
            if isinstance(item, dict):
                stack.extend(item.get("@graph", []))
                yield item


def _ld_value(root: html.HtmlElement, key: str) -> str | None:
    for item in json_ld(root):
        value = item.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _title(
    response: TextResponse, root: html.HtmlElement, config: SourceConfig
) -> tuple[str, html.HtmlElement | None, str]:
    chosen = _css_first(response, config.selectors.get("title"))
    if chosen is not None and squash(chosen.text_content()):
        return squash(chosen.text_content()), chosen, "selector"
    for h1 in root.xpath("//body//h1"):
        text = squash(h1.text_content())
        # An h1 holding the site's name or logo is not the item's title.
        if text and not _names_site(text, config):
            return text, h1, "h1"
    for method, value in (
        ("og:title", _meta(root, "og:title")),
        ("json-ld:headline", _ld_value(root, "headline")),
        ("title", " ".join(root.xpath("//title//text()"))),
    ):
        title = _strip_site(squash(value), config)
        if title and not _names_site(title, config):
            return title, _shown(root, title), method
    return "", None, "missing"


def _shown(root: html.HtmlElement, title: str) -> html.HtmlElement | None:
    """The element showing the title in the page body, to find the date line beside it."""
    for el in root.xpath(
        "//body//*[self::h1 or self::h2 or self::h3 or self::h4 or self::p or self::div]"
    ):
        if squash(el.text_content()) == title:
            return el
    return None


def _names_site(text: str, config: SourceConfig) -> bool:
    folded = text.casefold()
    return folded == config.name or (len(folded) >= 3 and folded in config.title.casefold())


def _strip_site(title: str, config: SourceConfig) -> str:
    """Drop a trailing " | Site" or " – Site" that names the source."""
    for separator in (" | ", " – ", " — ", " - ", " :: "):
        head, _, tail = title.rpartition(separator)
        if head and (config.name in tail.casefold() or _names_site(tail, config)):
            return head.strip()
    return title


def _published(
    response: TextResponse,
    root: html.HtmlElement,
    config: SourceConfig,
    title_el: html.HtmlElement | None,
) -> tuple[str | None, str, str | None]:
    """(published_at, method, category shown beside the date, if any)."""
    chosen = _css_first(response, config.selectors.get("date"))
    if chosen is not None:
        attribute = parse_published(chosen.get("datetime"))
        found = (attribute, None) if attribute else date_line(squash(chosen.text_content()))
        if found:
            return found[0], "selector", found[1]
    for method, value in (
        ("time", _published_time(root)),
        ("article:published_time", _meta(root, "article:published_time")),
        ("json-ld:datePublished", _ld_value(root, "datePublished")),
    ):
        parsed = parse_published(value)
        if parsed:
            return parsed, method, None
    if title_el is not None:
        return _near_title(title_el)
    return None, "missing", None


def _near_title(title_el: html.HtmlElement) -> tuple[str | None, str, str | None]:
    """The first ``<time>`` after the headline, else the first date-looking line after it."""
    times = title_el.xpath(f"following::time[@datetime][position() <= {_LINES_AFTER_TITLE}]")
    for time in times[:1]:
        parsed = parse_published(time.get("datetime"))
        if parsed:
            return parsed, "time-near-title", _meta_line_category(time)
    following = f"following::text()[normalize-space()][position() <= {_LINES_AFTER_TITLE}]"
    for line in title_el.xpath(following):
        found = date_line(squash(line))
        if found:
            return found[0], "date-line", found[1]
    return None, "missing", None


def _meta_line_category(time: html.HtmlElement) -> str | None:
    """A short label printed beside the date (``<time>…</time> <span>News</span>``)."""
    line = squash(time.getparent().text_content()) if time.getparent() is not None else ""
    rest = squash(line.replace(squash(time.text_content()), "", 1)).strip("|·•/-–— ")
    if rest and len(rest) <= 40 and len(rest.split()) <= 4 and not rest.lower().startswith("by "):
        return rest
    return None


def _published_time(root: html.HtmlElement) -> str | None:
    """The ``datetime`` of the page's publication ``<time>``.

    Themes often print an "updated" time too, sometimes first; a time marked as published wins,
    and several unmarked ones are ambiguous, so the metadata fallbacks decide instead.
    """
    marked = root.xpath(
        '//time[@datetime][contains(@class, "published") or @itemprop="datePublished"]/@datetime'
    )
    if marked:
        return str(marked[0])
    times = [t for t in root.xpath("//time/@datetime") if t.strip()]
    return str(times[0]) if len(set(times)) == 1 else None


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


def _body(
    response: TextResponse, root: html.HtmlElement, config: SourceConfig, title: str
) -> tuple[str, str, html.HtmlElement | None, str]:
    """(body_html, body_text, body element if known, method)."""
    chosen = _css_first(response, config.selectors.get("body"))
    if chosen is not None:
        cleaned = clean_body_element(chosen, response.url)
        return sanitize_html(to_html(cleaned)), body_text_of(cleaned, title), cleaned, "selector"
    import trafilatura  # here: half a second to import, and most pages never need it

    extracted = trafilatura.extract(
        response.text,
        url=response.url,
        output_format="html",
        include_tables=True,
        include_links=True,
        include_images=True,
        include_comments=False,
        favor_recall=True,
    )
    if not extracted:
        return "", "", None, "missing"
    fragment = html.fromstring(extracted)
    body_el = fragment.find("body") if fragment.find("body") is not None else fragment
    body_el.make_links_absolute(response.url, resolve_base_href=False, handle_failures="ignore")
    return sanitize_html(to_html(body_el)), body_text_of(body_el, title), body_el, "trafilatura"


def clean_body_element(el: html.HtmlElement, base_url: str) -> html.HtmlElement:
    """A copy of a body element without scripts and styles, with absolute links."""
    body: html.HtmlElement = copy.deepcopy(el)
    for noise in body.xpath(".//script | .//style | .//noscript | .//form"):
        noise.drop_tree()
    body.make_links_absolute(base_url, resolve_base_href=False, handle_failures="ignore")
    return body


def body_text_of(el: html.HtmlElement, title: str = "") -> str:
    """Readable body text without figures, image-file links or a repeated title."""
    text_el: html.HtmlElement = copy.deepcopy(el)
    for node in text_el.xpath(".//figure | .//img | .//a[@href]"):
        if node.tag != "a" or IMAGE_FILE.search(urlsplit(node.get("href", "")).path):
            node.drop_tree()
    lines = element_text(text_el).split("\n")
    text = "\n".join(line for line in lines if not IMAGE_LABEL.fullmatch(line.strip())).strip()
    # Extractors often repeat the headline as the first line; drop it unless it is all there is.
    head, _, rest = text.partition("\n")
    return rest.strip() if title and squash(head) == title and rest.strip() else text


def body_from_fragment(fragment: str, base_url: str) -> tuple[str, str, list[Photo]]:
    """(body_html, body_text, photos) of an HTML fragment such as a feed's or API's content."""
    root = html.fragment_fromstring(xml_safe(fragment) or "<p></p>", create_parent="div")
    cleaned = clean_body_element(root, base_url)
    return sanitize_html(to_html(cleaned)), body_text_of(cleaned), list(photos_in(cleaned))


_SIZED = re.compile(r"-\d{2,5}x\d{2,5}(?=\.\w+$)")


def photo_key(url: str) -> str:
    """One key for an image and its resized copies (WordPress's ``name-1024x683.jpg``)."""
    return _SIZED.sub("", urlsplit(url).path)


def _largest(srcset: str | None) -> str | None:
    best, best_width = None, -1
    for candidate in (srcset or "").split(","):
        parts = candidate.split()
        width = parts[1][:-1] if len(parts) == 2 and parts[1].endswith("w") else ""
        if width.isdigit() and int(width) > best_width:
            best, best_width = parts[0], int(width)
    return best


def photos_in(el: html.HtmlElement) -> Iterator[Photo]:
    """Images shown in an element and links to image files, once per image, in order.

    An ``<img>`` with a ``srcset`` gives its largest candidate as the image and its ``src``
    as the thumbnail.
    """
    seen: set[str] = set()
    for node in el.xpath(".//img[@src] | .//a[@href]"):
        if node.tag == "img":
            src = node.get("src", "").strip()
            url = _largest(node.get("srcset")) or src
            figure = node.xpath("ancestor::figure[1]//figcaption")
            caption = squash(figure[0].text_content()) if figure else squash(node.get("alt"))
            label = IMAGE_LABEL.search(caption)
            photo = Photo(url=url, thumbnail_url=src if src != url else None,
                          caption="" if label else caption)  # fmt: skip
        else:
            url = node.get("href", "").strip()
            if not IMAGE_FILE.search(urlsplit(url).path):
                continue
            if node.find(".//img") is not None:
                continue  # a linked thumbnail: the <img> inside is reported
            label = IMAGE_LABEL.search(squash(node.text_content()))
            photo = Photo(url=url, caption="" if label else squash(node.text_content()))
        if label:
            photo.name, photo.size_label = label["name"].strip(), squash(label["size"])
            photo.size_bytes = size_in_bytes(label["number"], label["unit"])
        if url and photo_key(url) not in seen and urlsplit(url).scheme in ("http", "https"):
            seen.add(photo_key(url))
            yield photo


def size_in_bytes(number: str, unit: str) -> int | None:
    """``4.09``, ``MB`` -> 4288676 (file sizes on web pages are binary multiples)."""
    power = _UNITS.get(unit.lower())
    if power is None:
        return None
    multiplier: int = 1024**power
    return round(float(number.replace(",", ".")) * multiplier)


def _images(
    response: TextResponse, config: SourceConfig, body_el: html.HtmlElement | None
) -> tuple[list[Photo], str]:
    selector = config.selectors.get("images")
    if selector:
        holder = html.Element("div")
        for found in response.css(selector):
            if not isinstance(found.root, str):
                holder.append(copy.deepcopy(found.root))
        holder.make_links_absolute(response.url, handle_failures="ignore")
        photos = list(photos_in(holder))
        if photos:
            return photos, "selector"
    root = response.selector.root
    if body_el is None:
        page = list(photos_in(clean_body_element(_main_content(root), response.url)))
        return page, ("body" if page else "none")
    page = list(photos_in(clean_body_element(root, response.url)))
    # The body (trafilatura's, say) says which images belong to the item; the page's own
    # element for each says the most about it: srcset, figcaption, "4.jpg (4.09 MB)".
    details = {photo_key(p.url): p for p in page}
    photos = [details.get(photo_key(p.url), p) for p in photos_in(body_el)]
    return photos, ("body" if photos else "none")


def _main_content(root: html.HtmlElement) -> html.HtmlElement:
    """The page's main content container by common landmarks, or the whole body."""
    for xpath in ("//main", '//*[@role="main"]', "//article", "//body"):
        found = root.xpath(xpath)
        if found:
            return found[0]
    return root


def _category(
    response: TextResponse,
    root: html.HtmlElement,
    config: SourceConfig,
    from_date_line: str | None,
) -> tuple[str | None, str]:
    chosen = _css_first(response, config.selectors.get("category"))
    if chosen is not None and squash(chosen.text_content()):
        return squash(chosen.text_content()), "selector"
    for method, value in (
        ("date-line", from_date_line),
        ("article:section", _meta(root, "article:section")),
        ("json-ld:articleSection", _ld_value(root, "articleSection")),
    ):
        if value:
            return value, method
    return None, "none"


def _language(
    response: TextResponse, root: html.HtmlElement, config: SourceConfig, text: str
) -> tuple[str, str]:
    path = urlsplit(response.url).path
    for prefix, lang in config.lang_by_path.items():
        if path.startswith(prefix):
            return lang, "path"
    declared = (root.get("lang") or "").lower()
    if declared.startswith(("zh", "en")):
        return declared[:2], "html-lang"
    if len(config.languages) == 1:
        return config.languages[0], "config"
    return script_language(text), "script"


def plain_text(fragment: str) -> str:
    """Text of a small HTML fragment such as a WordPress ``title.rendered``."""
    return squash(html_to_text(fragment))
