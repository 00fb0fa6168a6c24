"""Generic extraction for news sites declared by config: configured selectors first, then standards.

Every field has a chain of methods and the item records which one answered
(``Article.extraction``), so a site redesign shows up in the data:

- title: selector; the first ``h1`` that ``og:title``, JSON-LD ``headline`` or ``<title>``
  names; what two of those agree on; the first ``h1``; each of the
  three; else the body's first words (``first-words``);
- date, machine-readable metadata first: selector, a ``<time>`` marked as the publication
  (``time``), hAtom's ``abbr.published`` or microdata's ``itemprop="datePublished"``
  (``microformat``), ``article:published_time``, JSON-LD ``datePublished``; the page's only
  ``<time>``; a date-looking line near the title (``2022-05-25 | News``, whose tail is the
  category); then htmldate over the page's markup (the original date, not the update); the
  feed's or sitemap's date for the URL, a date in the URL, htmldate's guess from the page's text
  (``htmldate-guess``), ``Last-Modified``, and at last the time the page is first seen
  (``first-seen``). A time of day is kept to the minute, its offset converted to Hong Kong's;
- body: selector, trafilatura checked by readability (crawler.extract.body), the page's
  description (``og:description``, ``description``), the text of its main content
  (``main-content``), else none: a page with neither a title nor a body is the only one
  refused (``NO_ARTICLE``);
- images: selector, else the featured image (``img.wp-post-image``, a shown ``og:image``) and
  the body's images, lazy-loaded ones included, each at its largest ``srcset`` candidate, and
  links to image files, whose label (``4.jpg (4.09 MB)``) gives the file name and size;
- category: selector, the date line's tail, ``article:section``, JSON-LD ``articleSection``.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator
from html import escape
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import html
from scrapy.http import TextResponse

from crawler.extract import ExtractionError, page_root
from crawler.extract.body import read_body
from crawler.extract.parts import (
    IMAGE_FILE,
    PHOTO_NODES,
    body_text_of,
    clean_body_element,
    date_line,
    first_words,
    native_id,
    parse_published,
    photo_key,
    photo_of,
    photos_in,
)
from crawler.extract.sanitize import sanitize_html
from crawler.extract.text import (
    declared_language,
    other_script,
    script_language,
    squash,
    to_html,
)
from crawler.sources.config import SourceConfig
from newsarchive.clock import format_hk, hk_now
from newsarchive.model import FIRST_SEEN, FIRST_WORDS, NO_BODY, Article, Photo

logger = logging.getLogger(__name__)

_LINES_AFTER_TITLE = 12

# The request meta key under which a spider passes the date a feed or a sitemap gave for a
# detail page's URL: {"date": "<ISO date or date-time>", "method": "feed" | "sitemap"}.
DATE_HINT = "hkarchive_date_hint"
HINT_METHODS = ("feed", "sitemap")

EMPTY_PAGE = "<html><body></body></html>"

# The one reason a page is refused: a page with a title or a body is kept.
NO_ARTICLE = "no article: no title and no body"


def undescribed_source(url: str) -> SourceConfig:
    """A source that declares nothing, for a page of a site nobody described: every field by
    the generic chain of methods (``hkarchive extract FILE`` without ``--source``)."""
    parts = urlsplit(url)
    return SourceConfig(
        name="page", title="page", kind="html", base_url=f"{parts.scheme}://{parts.netloc}"
    )


def extract_detail(response: TextResponse, config: SourceConfig) -> Article:
    """Extract a news item page of a configured source into an Article."""
    root = page_root(response)
    methods: dict[str, str] = {}
    title, title_el, methods["title"] = _title(response, root, config)
    published_at, methods["published_at"], date_line_category = _published(
        response, root, config, title_el
    )
    body_html, body_text, body_el, methods["body"] = _body(response, root, config, title)
    if not title and not body_text:
        raise ExtractionError(NO_ARTICLE)
    if not title:
        title, methods["title"] = first_words(body_text), FIRST_WORDS
    photos, methods["images"] = _images(response, root, config, body_el)
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
    """The item's title: the selector's; else the headline the page's metadata and its main
    heading agree on: the first ``<h1>`` that ``og:title``, JSON-LD ``headline`` or the
    ``<title>`` (the site's name dropped) names; else what two of those three agree on (shown
    in any heading or none); else the first ``<h1>``, then each of the three in turn."""
    chosen = _css_first(response, config.selectors.get("title"))
    if chosen is not None and squash(chosen.text_content()):
        return squash(chosen.text_content()), chosen, "selector"
    headings = [
        (text, h1)
        for h1 in root.xpath("//body//h1")
        # An h1 holding the site's name or logo is not the item's title.
        if (text := squash(h1.text_content())) and not _names_site(text, config)
    ]
    metadata = [
        (method, title)
        for method, value in (
            ("og:title", _meta(root, "og:title")),
            ("json-ld:headline", _ld_value(root, "headline")),
            ("title", " ".join(root.xpath("//title//text()"))),
        )
        if (title := _strip_site(squash(value), config)) and not _names_site(title, config)
    ]
    for text, h1 in headings:
        if any(_same_headline(text, title) for _, title in metadata):
            return text, h1, "h1"
    for position, (method, title) in enumerate(metadata):
        if any(_same_headline(title, other) for _, other in metadata[position + 1 :]):
            return title, _shown(root, title), method
    if headings:
        return headings[0][0], headings[0][1], "h1"
    for method, title in metadata:
        # "Headline | Site" whose site part is not the source's name, the headline shown in a
        # heading of the page (a theme printing its post titles in <h2>).
        head = _title_head(title)
        shown_as = _shown(root, head) if head else None
        if shown_as is not None and shown_as.tag in ("h2", "h3", "h4"):
            return head, shown_as, f"{method}+heading"
    if metadata:
        method, title = metadata[0]
        return title, _shown(root, title), method
    return "", None, "missing"


def _title_head(title: str) -> str:
    """A title's part before its last separator ("Headline | Site" -> "Headline")."""
    for separator in (*_SITE_SEPARATORS, " · "):
        head, _, tail = title.rpartition(separator)
        if head and tail:
            return head.strip()
    return ""


def _same_headline(heading: str, title: str) -> bool:
    """Two renderings of one headline: equal but for case, or the second the first followed by
    a site's name after a separator (a ``<title>`` whose site part is not the source's name)."""
    heading, title = heading.casefold(), title.casefold()
    if heading == title:
        return True
    rest = title[len(heading) :] if title.startswith(heading) else ""
    return rest[:3].strip() in ("|", "-", "–", "—", "::", "·", "｜")


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


# What separates a headline from the site's name in a <title> ("Headline | Site").
_SITE_SEPARATORS = (" | ", " – ", " — ", " - ", " :: ")


def _strip_site(title: str, config: SourceConfig) -> str:
    """Drop a trailing " | Site" or " – Site" that names the source."""
    for separator in _SITE_SEPARATORS:
        head, _, tail = title.rpartition(separator)
        if head and (config.name in tail.casefold() or _names_site(tail, config)):
            return head.strip()
    return title


def _published(
    response: TextResponse,
    root: html.HtmlElement,
    config: SourceConfig,
    title_el: html.HtmlElement | None,
) -> tuple[str, str, str | None]:
    """(published_at, method, category shown beside the date, if any)."""
    chosen = _css_first(response, config.selectors.get("date"))
    if chosen is not None:
        attribute = parse_published(chosen.get("datetime"))
        found = (attribute, None) if attribute else date_line(squash(chosen.text_content()))
        if found:
            return found[0], "selector", found[1]
    for method, value in (
        ("time", _published_time(root, marked_only=True)),
        ("microformat", _hatom_published(root)),
        ("article:published_time", _meta(root, "article:published_time")),
        ("json-ld:datePublished", _ld_value(root, "datePublished")),
    ):
        parsed = parse_published(value)
        if parsed:
            return parsed, method, None
    # An unmarked <time>, only when it is the page's one: after the metadata, as it may show
    # an update.
    parsed = parse_published(_published_time(root, marked_only=False))
    if parsed:
        return parsed, "time", None
    # The date printed under the headline before htmldate: htmldate reads a date it cannot
    # find whole from a copyright year or a revision date ("© 2024" as 2024-01-01), and it does
    # not read Chinese dates ("日期：2024年1月2日").
    if title_el is not None:
        day, method, category = _near_title(title_el)
        if day is not None:
            return day, method, category
    return (*_fallback_date(response, root), None)


def _fallback_date(response: TextResponse, root: html.HtmlElement) -> tuple[str, str]:
    """A date, always, for a page that shows none beside its title: htmldate's reading of
    the page's markup (the original date, not the update), the date a feed or sitemap gave for
    its URL, a date in the URL,
    htmldate's guess from the page's text, the server's Last-Modified, and at last the time the
    page is first seen (``first-seen``)."""
    day = _htmldate(root, extensive=False)
    if day:
        return day, "htmldate"
    hinted = _hinted_date(response)
    if hinted:
        return hinted
    day = _url_date(response.url)
    if day:
        return day, "url"
    # htmldate's extensive search guesses from any date-like text (a copyright year, an asset's
    # version number): after what the site itself says of the URL.
    day = _htmldate(root, extensive=True)
    if day:
        return day, "htmldate-guess"
    modified = response.headers.get("Last-Modified")
    day = parse_published(modified.decode("latin-1")) if modified else None
    if day:
        return day, "last-modified"
    # Offline (`hkarchive extract`) this is the time of extraction; the archive keeps the
    # time it first stored the item (newsarchive.articles.upsert_article).
    return format_hk(hk_now()), FIRST_SEEN


def _htmldate(root: html.HtmlElement, *, extensive: bool) -> str | None:
    """htmldate's reading of the page's markup and scripts (with `extensive`, of its text as
    well), not of its address."""
    from htmldate import find_date  # here: only pages the chain above fails on need it

    page = copy.deepcopy(root)
    # Given no url, htmldate reads a date from the page's canonical link or og:url: the
    # address is the "url" step's, after the feed's or sitemap's date.
    for address in page.xpath(
        '//link[@rel="canonical"] | //meta[@property="og:url" or @name="og:url"]'
    ):
        address.drop_tree()
    found = find_date(page, original_date=True, extensive_search=extensive, outputformat="%Y-%m-%d")
    return parse_published(found) if found else None


def _hinted_date(response: TextResponse) -> tuple[str, str] | None:
    """The date a feed or a sitemap gave for this URL (``DATE_HINT`` in the request's meta)."""
    try:
        hint = response.meta.get(DATE_HINT)
    except AttributeError:  # a response read offline, tied to no request
        return None
    if hint is None:
        return None
    if isinstance(hint, dict) and hint.get("method") in HINT_METHODS:
        day = parse_published(hint.get("date")) if isinstance(hint.get("date"), str) else None
        if day:
            return day, str(hint["method"])
    logger.warning("Ignoring a malformed date hint for %s: %r", response.url, hint)
    return None


def _url_date(url: str) -> str | None:
    """A year-month-day in the URL (``/2021/03/04/``, ``2021-03-04``), as htmldate reads it."""
    from htmldate import find_date

    # htmldate's URL reader through its public function: on an empty page the URL is all
    # there is to read.
    found = find_date(EMPTY_PAGE, url=url, extensive_search=False, outputformat="%Y-%m-%d")
    return parse_published(found) if found else None


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


def _published_time(root: html.HtmlElement, *, marked_only: bool) -> str | None:
    """The ``datetime`` of the page's publication ``<time>``.

    Themes often print an "updated" time too, sometimes first; a time marked as published wins
    (`marked_only`), and else a page's only time; several unmarked ones are ambiguous.
    """
    marked = root.xpath(
        '//time[@datetime][contains(@class, "published") or @itemprop="datePublished"]/@datetime'
    )
    if marked or marked_only:
        return str(marked[0]) if marked else None
    times = [t for t in root.xpath("//time/@datetime") if t.strip()]
    return str(times[0]) if len(set(times)) == 1 else None


def _hatom_published(root: html.HtmlElement) -> str | None:
    """The publication date of a theme that marks it only by microformats: hAtom's
    ``<abbr class="published" title="2015-09-17T17:53:34+0200">``, or microdata's
    ``itemprop="datePublished"`` on any element (``content`` or ``datetime``)."""
    for node in root.xpath(
        "//abbr[contains(concat(' ', normalize-space(@class), ' '), ' published ')]"
        " | //*[@itemprop='datePublished']"
    ):
        value = node.get("title") if node.tag == "abbr" else None
        value = value or node.get("content") or node.get("datetime")
        if value and value.strip():
            return str(value)
    return None


def _body(
    response: TextResponse, root: html.HtmlElement, config: SourceConfig, title: str
) -> tuple[str, str, html.HtmlElement | None, str]:
    """(body_html, body_text, body element if known, method): the selector, trafilatura, the
    page's description, the text of its main content, else no body (``none``)."""
    chosen = _css_first(response, config.selectors.get("body"))
    if chosen is not None:
        cleaned = clean_body_element(chosen, response.url)
        text = body_text_of(cleaned, title)
        if _is_body(text, title):
            return sanitize_html(to_html(cleaned)), text, cleaned, "selector"
    extracted = _trafilatura(response, root, title)
    if extracted is not None:
        return extracted
    for method, description in (
        ("og:description", _meta(root, "og:description")),
        ("description", _meta(root, "description")),
    ):
        if description and _is_body(squash(description), title):
            paragraph = f"<p>{escape(squash(description))}</p>"
            return sanitize_html(paragraph), squash(description), None, method
    main = clean_body_element(_main_content(root), response.url)
    text = body_text_of(main, title)
    if _is_body(text, title):
        return sanitize_html(to_html(main)), text, main, "main-content"
    return "", "", None, NO_BODY


def _trafilatura(
    response: TextResponse, root: html.HtmlElement, title: str
) -> tuple[str, str, html.HtmlElement, str] | None:
    """The page's article text as read by trafilatura, checked by readability where unsure
    (crawler.extract.body): (body_html, body_text, body element, method), or None."""
    reading = read_body(response.text, response.url, root)
    if reading is None:
        return None
    text = body_text_of(reading.element, title)
    if not _is_body(text, title):
        return None
    return sanitize_html(to_html(reading.element)), text, reading.element, reading.method


def _is_body(text: str, title: str) -> bool:
    # The headline alone (body_text_of keeps it when it is all there is) is not a body.
    return bool(text) and squash(text) != title


def _images(
    response: TextResponse,
    root: html.HtmlElement,
    config: SourceConfig,
    body_el: html.HtmlElement | None,
) -> tuple[list[Photo], str]:
    """The item's photos: the selector's; else the featured image first, then the images of
    the body, each described by its own element on the page (srcset, lazy ``data-src``,
    figcaption, "4.jpg (4.09 MB)"), and the lazy-loaded images of the page's article block that
    the body's extractor dropped; nothing from the page's header, navigation, sidebars, footer
    or "related" blocks."""
    selector = config.selectors.get("images")
    if selector:
        holder = html.Element("div")
        for found in response.css(selector):
            if not isinstance(found.root, str):
                holder.append(copy.deepcopy(found.root))
        photos = list(photos_in(holder, response.url))
        if photos:
            return photos, "selector"
    if body_el is None:
        page = list(photos_in(_main_content(root), response.url))
        return page, ("body" if page else "none")
    body = {photo_key(p.url): p for p in photos_in(body_el)}
    chosen: dict[str, Photo] = {}
    shown: set[str] = set()  # the body's photos found on the page, by what the body shows

    def take(photo: Photo) -> None:
        chosen.setdefault(photo_key(photo.url), photo)
        shown.update(photo_key(u) for u in (photo.url, photo.thumbnail_url) if u)

    featured = _featured(root, response.url)
    if featured is not None:
        take(featured)
    container = _article_block(root, body_el)
    for node in container.xpath(PHOTO_NODES) if container is not None else []:
        photo = photo_of(node, response.url)
        if photo is None or _page_chrome(node):
            continue
        keys = {photo_key(u) for u in (photo.url, photo.thumbnail_url) if u}
        if keys & body.keys() or (node.tag == "img" and _lazy(node)):
            take(photo)
    for key, photo in body.items():
        if key not in shown:
            take(photo)
    photos = list(chosen.values())
    method = ("featured+body" if len(photos) > 1 else "featured") if featured else "body"
    return photos, (method if photos else "none")


# Parts of a page that are not the article: an image inside one is never the item's.
_CHROME = (
    "ancestor::header[not(ancestor::article)] | ancestor::footer[not(ancestor::article)]"
    " | ancestor::nav | ancestor::aside"
    " | ancestor::*[not(self::html or self::body or self::main or self::article)]"
    "[contains(@class, 'related') or contains(@id, 'related')"
    " or contains(@class, 'sidebar') or contains(@id, 'sidebar')]"
)


def _page_chrome(node: html.HtmlElement) -> bool:
    return bool(node.xpath(_CHROME))


def _lazy(node: html.HtmlElement) -> bool:
    """An image whose real address waits in a lazy-loading attribute."""
    src = node.get("src", "")
    return (not src or src.startswith("data:")) and any(a.startswith("data-") for a in node.attrib)


def _featured(root: html.HtmlElement, base_url: str) -> Photo | None:
    """The post's featured image: WordPress's ``img.wp-post-image`` shown as the post's own
    (not a linked teaser, not in a sidebar), else the ``og:image`` when the page shows it
    outside its header, navigation, sidebars and footer."""
    for node in root.xpath(
        "//img[contains(concat(' ', normalize-space(@class), ' '), ' wp-post-image ')]"
    ):
        linked = node.xpath("ancestor::a[@href][1]/@href")
        if _page_chrome(node) or (linked and not IMAGE_FILE.search(urlsplit(linked[0]).path)):
            continue
        photo = photo_of(node, base_url)
        if photo is not None:
            return photo
    og_image = _meta(root, "og:image")
    if not og_image:
        return None
    wanted = photo_key(urljoin(base_url, og_image))
    # Only an <img> naming the file somewhere in its attributes can show it (a cheap test
    # before resolving its addresses).
    stem = wanted.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    for node in root.iter("img"):
        if not any(stem in value for value in node.attrib.values()):
            continue
        photo = photo_of(node, base_url)
        if photo is not None and photo_key(photo.url) == wanted and not _page_chrome(node):
            return photo
    return None


def _article_block(root: html.HtmlElement, body_el: html.HtmlElement) -> html.HtmlElement | None:
    """The page's element holding the body's paragraphs: the deepest common ancestor of the
    page's paragraphs whose text the body has."""
    texts = {squash(p.text_content()) for p in body_el.iter("p")}
    texts.discard("")
    matched = [p for p in root.iter("p") if squash(p.text_content()) in texts]
    if not matched:
        return None
    common = list(matched[0].iterancestors())
    for paragraph in matched[1:]:
        ancestors = set(paragraph.iterancestors())
        common = [el for el in common if el in ancestors]
    return common[0] if common else None


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
    declared = declared_language(root.get("lang"))
    if declared is not None and declared not in ("zh", "en"):
        return declared, "html-lang"  # another language: no item of the archive's
    other = other_script(text)
    if declared is not None:
        # A template's default lang="en" on a page written in Chinese: the text decides.
        read = (other or script_language(text)) if text else declared
        return (declared, "html-lang") if read == declared else (read, "script")
    if other is not None:
        return other, "script"
    if len(config.languages) == 1:
        return config.languages[0], "config"
    return script_language(text), "script"
