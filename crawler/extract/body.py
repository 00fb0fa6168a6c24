"""The article text of a page nobody described: trafilatura's reading, checked by a second
extractor (readability-lxml) where it looks unsure.

Generic rules only, each by a page's structure, never by a site's name:

- captions are not article text: ``<figcaption>``, WordPress's ``.wp-caption-text``,
  ``itemprop="caption"`` and caption-classed elements holding no paragraph are pruned before
  extraction (the photos keep their captions: they are read from the page itself);
- blocks that are nothing but links are teasers, not text: a paragraph, list item or quote
  whose text is (almost) all link text, and a list most of whose items are, are dropped
  ("Related posts", "Most read", newsletter and tag lists). A block holding an image, a link to
  an image file or a bare address (a cited source) is kept;
- trafilatura is asked in its recall mode. Its answer is trusted unless it looks unsure: it holds
  under half or over 1.2 times the text of the page's paragraphs, or more than 12 % of it is link
  text. Then readability-lxml reads the page too, and the two are compared by 4-word shingles:
  a reading twice as long that holds trafilatura's is taken (trafilatura kept one part of a
  split article); a reading inside trafilatura's and shorter by a fifth is taken (trafilatura
  kept a teaser block or a sidebar); else trafilatura's precision mode is asked, and taken when
  readability agrees with it rather than with the recall reading.

Which reading won is recorded in ``extraction.body`` (``trafilatura``,
``trafilatura+readability``, ``trafilatura-precision``).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass

from lxml import etree, html

from crawler.extract.parts import IMAGE_FILE
from crawler.extract.text import squash

logger = logging.getLogger(__name__)

CAPTIONS = (
    "//figcaption"
    " | //*[contains(concat(' ', normalize-space(@class), ' '), ' wp-caption-text ')]"
    " | //*[@itemprop='caption']"
    " | //*[contains(@class, 'caption') and not(.//p)]"
)

# Share of a block's text in links above which the block is a teaser, not text.
_LINK_BLOCK = 0.9
# Share of a list's items that must be teasers for the whole list to go.
_LINK_LIST = 0.5
# When trafilatura's reading looks unsure (see the module's docstring).
_COVERAGE = (0.5, 1.2)
_LINK_SHARE = 0.12
_SHINGLE = 4
_WORD = re.compile(r"\w+")


@dataclass
class Reading:
    """A body element and the extractor that gave it."""

    element: html.HtmlElement
    method: str


def read_body(page: str, url: str, root: html.HtmlElement) -> Reading | None:
    """The article text of `page` (its HTML; `root` its parsed tree, left untouched), or None
    when trafilatura finds none."""
    recall = _trafilatura(page, url)
    if recall is None:
        return None
    paragraphs = sum(len(squash(p.text_content())) for p in root.iter("p"))
    coverage = len(squash(recall.text_content())) / max(paragraphs, 1)
    links = _link_share(recall)
    drop_link_blocks(recall)
    if _COVERAGE[0] <= coverage <= _COVERAGE[1] and links <= _LINK_SHARE:
        return Reading(recall, "trafilatura")
    second = _readability(page, url)
    if second is None:
        return Reading(recall, "trafilatura")
    drop_link_blocks(second)
    ours, theirs = _shingles(recall), _shingles(second)
    if len(theirs) > 1.5 * len(ours) and _share(ours, theirs) > 0.9:
        return Reading(second, "trafilatura+readability")
    if 0.5 * len(ours) <= len(theirs) < 0.8 * len(ours) and _share(theirs, ours) > 0.95:
        return Reading(second, "trafilatura+readability")
    if _share(ours, theirs) >= 0.7:
        # readability agrees with the recall reading: no need of the precision mode's.
        return Reading(recall, "trafilatura")
    precise = _trafilatura(page, url, precision=True)
    if precise is None:
        return Reading(recall, "trafilatura")
    drop_link_blocks(precise)
    exact = _shingles(precise)
    if len(exact) < 0.8 * len(ours) and _share(exact, theirs) > 0.9:
        return Reading(precise, "trafilatura-precision")
    return Reading(recall, "trafilatura")


def _trafilatura(page: str, url: str, *, precision: bool = False) -> html.HtmlElement | None:
    # Imported here: half a second to import, and most pages never need it.
    from trafilatura import bare_extraction
    from trafilatura.htmlprocessing import convert_to_html

    # bare_extraction, not extract: extract also fingerprints the text for deduplication, a
    # sixth of its time, which nothing here uses.
    document = bare_extraction(
        page,
        url=url,
        output_format="html",
        include_tables=True,
        include_links=True,
        include_images=True,
        include_comments=False,
        prune_xpath=CAPTIONS,
        favor_recall=not precision,
        favor_precision=precision,
    )
    body = getattr(document, "body", None)
    if body is None or not len(body):
        return None
    # Serialised as extract() does (pretty-printed, NFC), so stored bodies stay as they were.
    markup = etree.tostring(convert_to_html(body), pretty_print=True, encoding="unicode")
    return _fragment(unicodedata.normalize("NFC", markup), url)


def _readability(page: str, url: str) -> html.HtmlElement | None:
    from readability import Document  # here: only unsure pages need it

    try:
        summary = Document(page, url=url).summary(html_partial=True)
    except Exception as exc:  # readability raises its own Unparseable and lxml's errors
        logger.debug("readability could not read %s: %s", url, exc)
        return None
    fragment = _fragment(summary, url)
    return fragment if squash(fragment.text_content()) else None


def _fragment(markup: str, url: str) -> html.HtmlElement:
    fragment = html.fromstring(markup)
    body = fragment.find("body")
    element: html.HtmlElement = body if body is not None else fragment
    element.make_links_absolute(url, resolve_base_href=False, handle_failures="ignore")
    return element


def _link_share(el: html.HtmlElement) -> float:
    text = len(squash(el.text_content()))
    if not text:
        return 0.0
    return sum(len(squash(a.text_content())) for a in el.iter("a")) / text


def _keeps(el: html.HtmlElement) -> bool:
    """A block kept whatever its links: it shows an image, links an image file, or is a bare
    address (a source cited in full)."""
    if el.find(".//img") is not None or squash(el.text_content()).startswith(
        ("http://", "https://")
    ):
        return True
    return any(IMAGE_FILE.search(a.get("href", "")) for a in el.iter("a"))


def drop_link_blocks(el: html.HtmlElement) -> None:
    """Drop from a body the blocks that are nothing but links (see the module's docstring)."""
    for listing in el.xpath(".//ul | .//ol"):
        items = listing.xpath("./li")
        teasers = [li for li in items if _link_share(li) > _LINK_BLOCK and not _keeps(li)]
        if items and len(teasers) >= _LINK_LIST * len(items):
            listing.drop_tree()
    for block in el.xpath(".//p | .//li | .//blockquote"):
        if block.getparent() is not None and _link_share(block) > _LINK_BLOCK and not _keeps(block):
            block.drop_tree()


def _shingles(el: html.HtmlElement) -> set[tuple[str, ...]]:
    words = _WORD.findall(etree.tostring(el, method="text", encoding="unicode").lower())
    return {tuple(words[i : i + _SHINGLE]) for i in range(max(1, len(words) - _SHINGLE + 1))}


def _share(part: set[tuple[str, ...]], whole: set[tuple[str, ...]]) -> float:
    """The share of `part`'s shingles found in `whole`."""
    return len(part & whole) / len(part) if part else 0.0
