"""Readable plain text from body HTML: lines as a browser shows them, paragraphs apart.

GovHK bodies separate paragraphs with ``<br>&nbsp;<br>`` rather than ``<p>``; html-text and
trafilatura both fold that into a single line break, losing the paragraphs, so this renderer
keeps every ``<br>`` and lets blank lines mark paragraphs. Tables become one line per row with
cells joined by `` | ``; list items one line each, prefixed with ``- `` (or ``1.`` in ``<ol>``).
"""

from __future__ import annotations

import html as htmllib
import re
import unicodedata

from lxml import etree, html

_SKIP = frozenset({"script", "style", "noscript", "template", "head", "title", "select", "button"})
_PARAGRAPH = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "pre"})
_BLOCK = _PARAGRAPH | frozenset(
    {
        "div", "ul", "ol", "li", "dl", "dt", "dd", "tr", "section", "article", "header",
        "footer", "nav", "aside", "figure", "figcaption", "address", "center", "form",
        "fieldset", "hr", "main", "caption",
    }
)  # fmt: skip
_COLLAPSIBLE = " \t\r\n\f"


class _Writer:
    """Accumulates text with explicit line and paragraph breaks."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def text(self, value: str | None) -> None:
        if not value:
            return
        # Source indentation at the start of a line is invisible in a browser; a no-break space
        # is not (GovHK's "<br>&nbsp;<br>" is a visible blank line), so only the former goes.
        if not value.strip(_COLLAPSIBLE) and (not self.parts or self.parts[-1].endswith("\n")):
            return
        self.parts.append(value.replace("\n", " ").replace("\r", " "))

    def br(self) -> None:
        self.parts.append("\n")

    def line(self) -> None:
        if self.parts and not self.parts[-1].endswith("\n"):
            self.parts.append("\n")

    def paragraph(self) -> None:
        self.line()
        self.parts.append("\n")

    def result(self) -> str:
        return "".join(self.parts)


def _hidden(el: html.HtmlElement) -> bool:
    style = (el.get("style") or "").replace(" ", "").lower()
    return "display:none" in style


def _render(root: html.HtmlElement, out: _Writer, list_index: int | None = None) -> None:
    """Write an element, its descendants and its tail; iterative, so that no depth of nesting
    (a hostile page's 20,000 nested ``<div>``) exhausts Python's stack."""
    # Each entry: (element, its number in an <ol>, whether it is being closed).
    stack: list[tuple[html.HtmlElement, int | None, bool]] = [(root, list_index, False)]
    while stack:
        el, index, closing = stack.pop()
        tag = el.tag if isinstance(el.tag, str) else ""
        if closing:
            if tag in _PARAGRAPH:
                out.paragraph()
            elif tag in _BLOCK:
                out.line()
            out.text(el.tail)
            continue
        if not tag or tag in _SKIP or _hidden(el):
            # Comments and processing instructions still carry the text that follows them.
            out.text(el.tail)
            continue
        if tag == "br":
            out.br()
            out.text(el.tail)
            continue
        if tag == "table":
            out.paragraph()
            for row in _table_rows(el):
                out.text(row)
                out.line()
            out.paragraph()
            out.text(el.tail)
            continue
        if tag in _PARAGRAPH:
            out.paragraph()
        elif tag in _BLOCK:
            out.line()
        if tag == "li":
            out.text(f"{index}. " if index is not None else "- ")
        out.text(el.text)
        stack.append((el, None, True))
        children: list[tuple[html.HtmlElement, int | None, bool]] = []
        number = 0
        for child in el:
            child_index = None
            if tag == "ol" and isinstance(child.tag, str) and child.tag == "li":
                number += 1
                child_index = number
            children.append((child, child_index, False))
        stack.extend(reversed(children))


_ROWS = etree.XPath("./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr")
_CELLS = etree.XPath("./td | ./th")


def _table_rows(table: html.HtmlElement) -> list[str]:
    rows = []
    for tr in _ROWS(table):
        cells = [" ".join(_inner_text(cell).split()) for cell in _CELLS(tr)]
        if any(cells):
            rows.append(" | ".join(cells).strip())
    return rows


def _inner_text(el: html.HtmlElement) -> str:
    out = _Writer()
    out.text(el.text)
    for child in el:
        _render(child, out)
    return out.result()


def clean_text(text: str) -> str:
    """Normalise rendered text: NFC, no-break spaces as spaces, lines trimmed, blank runs as one."""
    text = unicodedata.normalize("NFC", text).replace("\u00a0", " ").replace("\u3000", " ")
    # Within a line every run of whitespace becomes one space; str.split() is much faster than a
    # regular expression for it.
    text = "\n".join([" ".join(line.split()) for line in text.split("\n")])
    # Runs of blank lines become one; str.replace is ten times faster than a regex at it.
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()


def element_text(el: html.HtmlElement) -> str:
    """The readable text of an element's content (its own tail excluded)."""
    return clean_text(_inner_text(el))


# Characters lxml refuses in a string it parses (XML 1.0 allows none of them): control
# characters but tab and line breaks, lone surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


_CHAR_REF = re.compile(r"&#(?:([0-9]{1,7})|[xX]([0-9a-fA-F]{1,6}));?")


def _drop_unparseable_ref(ref: re.Match[str]) -> str:
    code = int(ref[1]) if ref[1] is not None else int(ref[2], 16)
    return "" if code < 0x110000 and _NOT_XML.match(chr(code)) else ref[0]


def xml_safe(text: str) -> str:
    """Text without the characters lxml cannot parse (written as such or as "&#1;"), which no
    page shows anyway."""
    if "&#" in text:
        text = _CHAR_REF.sub(_drop_unparseable_ref, text)
    return _NOT_XML.sub("", text)


def html_to_text(fragment: str) -> str:
    """The readable text of an HTML fragment."""
    fragment = xml_safe(fragment)
    if not fragment.strip():
        return ""
    root = html.fragment_fromstring(fragment, create_parent="div")
    return element_text(root)


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Chinese text often holds English names and numbers; a third of its letters being Han
# characters already marks it as Chinese.
_ZH_SHARE = 0.3


_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff]")
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
# Latin letters, full-width ones (Ａ, in Chinese text) included.
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f\u1e00-\u1eff\uff21-\uff3a\uff41-\uff5a]")


def other_script(text: str) -> str | None:
    """The language of a text written in a script neither English nor Chinese is written in:
    ``ja`` (kana beside the Han characters), ``ko`` (Hangul), ``und`` (another script:
    Thai, Devanagari, Arabic, Cyrillic...); None for Latin or Han text. Text in another
    language written in Latin letters (French, Indonesian) is not told apart from English."""
    # Counted by regular expressions over the letters: every page a crawl reads generically
    # is read here, and a match per letter cost it most of a millisecond.
    letters = "".join(filter(str.isalpha, text[:2000]))
    if not letters:
        return None
    if len(_KANA.findall(letters)) > 0.1 * len(letters):
        return "ja"
    if len(_HANGUL.findall(letters)) > _ZH_SHARE * len(letters):
        return "ko"
    ours = len(_LATIN.findall(letters)) + len(_CJK.findall(letters))
    return "und" if ours < 0.5 * len(letters) else None


# Tags of Chinese and English besides zh and en: Cantonese, Mandarin, ISO 639-2's codes, and
# the tc/sc/cn that Hong Kong sites use for their versions; then tags that name no language.
_ALSO = {"yue": "zh", "cmn": "zh", "zho": "zh", "chi": "zh", "tc": "zh", "sc": "zh", "cn": "zh",
         "eng": "en"}  # fmt: skip
_NO_LANGUAGE = frozenset({"und", "mul", "zxx", "mis", "x", "i"})


def declared_language(tag: str | None) -> str | None:
    """The language an ``<html lang>`` declares, as the archive codes it: ``en``, ``zh`` (any
    Chinese: ``zh-Hant-HK``, ``yue``), another language's primary subtag (``pt-BR``: ``pt``);
    None when it declares none (empty, ``und``, not a language tag)."""
    primary = re.split(r"[-_]", (tag or "").strip().lower(), maxsplit=1)[0]
    if primary in _ALSO:
        return _ALSO[primary]
    if not (2 <= len(primary) <= 3 and primary.isascii() and primary.isalpha()):
        return None
    return None if primary in _NO_LANGUAGE else primary


def script_language(text: str) -> str:
    """ "zh" when Han characters make up a fair share of the letters, else "en"."""
    letters = [c for c in text[:2000] if c.isalpha()]
    cjk = sum(1 for c in letters if _CJK.match(c))
    return "zh" if letters and cjk / len(letters) > _ZH_SHARE else "en"


def squash(text: str | None) -> str:
    """One line of text: every run of whitespace (no-break spaces included) as a single space."""
    if not text:
        return ""
    return " ".join(unicodedata.normalize("NFC", text).replace("\u3000", " ").split())


def to_html(el: etree._Element) -> str:
    """Serialise an element's children (not the element itself) as HTML."""
    head = htmllib.escape(el.text, quote=False) if el.text else ""
    return head + "".join(etree.tostring(c, encoding="unicode", method="html") for c in el)
