"""GovHK extraction beyond the golden pages: fallbacks, index links and hostile body HTML."""

from __future__ import annotations

import re

import pytest
from scrapy.http import HtmlResponse

from crawler.extract import ExtractionError
from crawler.extract.govhk import extract_release, release_links
from tests.conftest import FIXTURES

URL = "https://www.info.gov.hk/gia/general/202001/02/P2020010200831.htm"
REAL = (FIXTURES / "govhk" / "P2020010200831" / "body.html").read_bytes()
FOOTER = re.compile(rb'<div class="mB15 f15">.*?</div>', re.S)


def response(body: bytes, url: str = URL) -> HtmlResponse:
    return HtmlResponse(url=url, body=body, headers={"Content-Type": "text/html; charset=utf-8"})


def test_footer_without_time_gives_the_date_alone() -> None:
    body = FOOTER.sub(b'<div class="mB15 f15">Ends/Thursday, January 2, 2020</div>', REAL)
    article = extract_release(response(body))
    assert article.published_at == "2020-01-02"
    assert article.extraction["published_at"] == "footer-date-only"


def test_missing_footer_falls_back_to_the_day_folder_not_the_id() -> None:
    url = "https://www.info.gov.hk/gia/general/202001/03/P2020010200831.htm"
    article = extract_release(response(FOOTER.sub(b"", REAL), url))
    assert article.published_at == "2020-01-03"
    assert article.extraction["published_at"] == "url-folder"


def test_title_falls_back_to_og_title_then_title() -> None:
    body = REAL.replace(b'id="PRHeadlineSpan"', b'id="x"').replace(b'id="PRHeadline"', b'id="y"')
    article = extract_release(response(body))
    assert article.title.startswith("Government holds inter-departmental meeting")
    assert article.extraction["title"] == "og:title"


def test_page_without_body_is_an_extraction_error() -> None:
    with pytest.raises(ExtractionError, match="no body"):
        extract_release(response(REAL.replace(b'id="pressrelease"', b'id="other"')))


def test_non_release_url_is_an_extraction_error() -> None:
    with pytest.raises(ExtractionError, match="not a GovHK release"):
        extract_release(response(REAL, "https://www.info.gov.hk/gia/general/today.htm"))


def test_language_from_title_script_when_footer_is_missing() -> None:
    body = FOOTER.sub(b"", REAL).replace(
        b"<span>Government holds inter-departmental meeting on </span>",
        "<span>政府就武漢肺炎個案群組召開跨部門會議</span>".encode(),
    )
    body = re.sub(rb"<span>cluster of pneumonia cases in Wuhan </span><span>\(with photo\)</span>",
                  b"", body)  # fmt: skip
    article = extract_release(response(body))
    assert article.lang == "zh"
    assert article.extraction["lang"] == "title-script"


def test_body_html_is_sanitised_and_links_absolute() -> None:
    hostile = (
        b'<span id="pressrelease"><script>alert(1)</script>'
        b'<a href="/gia/x.htm" onclick="steal()">x</a>'
        b'<a href="javascript:alert(2)">y</a><img src="a.jpg" onerror="boom()">'
    )
    article = extract_release(response(REAL.replace(b'<span id="pressrelease" class="fontSize1">',
                                                    hostile)))  # fmt: skip
    html = article.body_html
    for bad in ("<script", "alert(1)", "onclick", "javascript:", "onerror"):
        assert bad not in html
    assert 'href="https://www.info.gov.hk/gia/x.htm"' in html
    assert "alert(1)" not in article.body_text


def test_index_links_found_by_url_pattern_in_any_layout() -> None:
    index = b"""<html><body>
      <table><tr><td><a href="02/P2020010200831.htm">relative</a></td></tr></table>
      <a href='http://www.info.gov.hk/gia/general/202001/02/P2020010200831p.htm?fontSize=1'>dup</a>
      <p><a href="https://info.gov.hk/gia/general/202001/01/P2020010100123.htm">other</a></p>
      <area href="/gia/general/200207/24/0724130.htm">
      <a href="/gia/general/202001/01.htm">yesterday</a> <a href="/gia/general/today.htm">today</a>
      <a href="https://gia.info.gov.hk/general/202001/02/P2020010200831_photo_1.jpg">photo</a>
      <a href="https://example.com/gia/general/202001/02/P2020010200999.htm">offsite</a>
    </body></html>"""
    refs = list(release_links(response(index, "https://www.info.gov.hk/gia/general/202001/02.htm")))
    assert [r.native_id for r in refs] == ["P2020010200831", "P2020010100123", "2002-0724130"]
    assert refs[0].url == URL


def _nested(depth: int) -> bytes:
    """The real release with `depth` nested <div> wrapping one sentence, just before its footer."""
    nest = b"<div>" * depth + b"A deeply nested sentence." + b"</div>" * depth
    return FOOTER.sub(lambda m: nest + m[0], REAL, count=1)


def test_a_body_nested_deeper_than_pythons_recursion_limit_is_read_whole() -> None:
    article = extract_release(response(_nested(1500)))
    assert "A deeply nested sentence." in article.body_text
    assert article.published_at == extract_release(response(REAL)).published_at


def test_a_page_nested_deeper_than_the_parser_reads_is_refused_not_stored_cut_short() -> None:
    # libxml2 stops at depth 2048 and keeps what it read: without the check the release would be
    # stored without its footer, dated from its folder, and nothing would say so.
    with pytest.raises(ExtractionError, match="parser stopped reading"):
        extract_release(response(_nested(20_000)))


# --- Footers: how the date, time and language are read --------------------------------------


def test_a_time_written_with_a_dot_is_read_as_the_time() -> None:
    body = FOOTER.sub(
        b'<div class="mB15 f15">Ends/Thursday, January 2, 2020<br/> Issued at HKT 23.56</div>', REAL
    )
    article = extract_release(response(body))
    assert article.published_at == "2020-01-02T23:56:00+08:00"
    assert article.extraction["published_at"] == "footer"


def test_the_chinese_end_mark_alone_says_the_page_is_chinese() -> None:
    # A date in Chinese numerals is not read, and the headline is in Latin script: only the
    # footer's opening 完 tells the language.
    footer = "完<br/> 二〇二〇年一月二日（星期四）<br/> 香港時間23時56分"
    body = FOOTER.sub(f'<div class="mB15 f15">{footer}</div>'.encode(), REAL)
    article = extract_release(response(body))
    assert (article.lang, article.extraction["lang"]) == ("zh", "footer")
    assert article.extraction["published_at"] == "url-folder"


# --- The right column: attachments and related links ----------------------------------------

RIGHT_COLUMN = b'<div id="rightContent" class="fontSize1">'


def with_right_column(extra: str) -> HtmlResponse:
    """The real page with more blocks at the top of its right column."""
    assert RIGHT_COLUMN in REAL
    return response(REAL.replace(RIGHT_COLUMN, RIGHT_COLUMN + extra.encode()))


def test_related_links_are_stored_canonical() -> None:
    article = extract_release(
        with_right_column(
            '<div class="sessionGrp resContentRef">'
            '<a href="http://info.gov.hk/gia/general/202001/01/P2020010100123p.htm?fontSize=1" '
            'class="redArr contentref_text wrap_txt"><span>Print version</span></a>'
            '<a href="/gia/general/202001/01/P2020010100456.htm#top" class="contentref_text">'
            "<span>Relative, with a fragment</span></a></div>"
        )
    )
    assert [(link.url, link.title) for link in article.related] == [
        ("https://www.info.gov.hk/gia/general/202001/01/P2020010100123.htm", "Print version"),
        ("https://www.info.gov.hk/gia/general/202001/01/P2020010100456.htm",
         "Relative, with a fragment"),
    ]  # fmt: skip


def test_an_attachment_or_related_release_linked_twice_is_kept_once() -> None:
    pdf = "http://gia.info.gov.hk/general/202001/02/P2020010200831_308018_1_1554798166207.pdf"
    article = extract_release(
        with_right_column(
            '<div class="mT10 pad10 resAttach">'
            f'<a href="{pdf}" class="attach_text wrap_txt"><span>Annex</span></a>'
            f'<a href="{pdf}" class="attach_text wrap_txt"><span>Annex (again)</span></a></div>'
            '<div class="sessionGrp resContentRef">'
            '<a href="/gia/general/202001/01/P2020010100123.htm" class="contentref_text">'
            "<span>Earlier release</span></a>"
            '<a href="/gia/general/202001/01/P2020010100123.htm" class="contentref_text">'
            "<span>Earlier release (again)</span></a>"
            '<a href="https://www.info.gov.hk/gia/general/202001/01/P2020010100123p.htm" '
            'class="contentref_text"><span>Its print version</span></a></div>'
        )
    )
    assert [(a.url, a.title) for a in article.attachments] == [(pdf, "Annex")]
    assert [(link.url, link.title) for link in article.related] == [
        ("https://www.info.gov.hk/gia/general/202001/01/P2020010100123.htm", "Earlier release")
    ]
