"""Body text rendering: GovHK paragraphs, line breaks, lists and tables as readable text."""

from __future__ import annotations

import pytest

from crawler.extract.text import declared_language, html_to_text, other_script, squash


def test_br_nbsp_br_separates_paragraphs_by_one_blank_line() -> None:
    html = "&nbsp;&nbsp; First para.<br />\r\n&nbsp;<br />\r\n&nbsp;&nbsp; Second\r\npara.<br />"
    assert html_to_text(html) == "First para.\n\nSecond para."


def test_single_br_keeps_lines_together() -> None:
    assert html_to_text("Line one<br>Line two") == "Line one\nLine two"


def test_lists_are_one_item_per_line_without_blank_lines() -> None:
    html = "<b>Head</b><br>\r\n&nbsp;\r\n<ul>\r\n\t<li>a;</li>\r\n\t<li>b</li>\r\n</ul>"
    html += "<ol><li>x</li><li>y</li></ol>"
    assert html_to_text(html) == "Head\n\n- a;\n- b\n1. x\n2. y"


def test_tables_are_rows_of_cells() -> None:
    html = "Before<table><tbody><tr><td>&nbsp;</td><td><b>Hospital</b></td></tr>"
    html += "<tr><td>1.</td><td>Queen Mary<br>Hospital</td></tr><tr><td> </td></tr>"
    html += "</tbody></table>After"
    assert html_to_text(html) == "Before\n\n| Hospital\n1. | Queen Mary Hospital\n\nAfter"


def test_scripts_styles_and_hidden_elements_are_not_text() -> None:
    html = "A<script>var x = 1;</script><style>p{}</style><div style='display: none'>B</div>C"
    # A hidden block makes no box, so no line break either: a browser shows "AC".
    assert html_to_text(html) == "AC"


def test_blank_runs_collapse_and_nfc_applies() -> None:
    assert html_to_text("a<br><br><br><br>Cafe\u0301") == "a\n\nCafé"


def test_squash_joins_whitespace_of_all_kinds() -> None:
    assert squash(" a\r\n\tb\u00a0c\u3000d ") == "a b c d"
    assert squash(None) == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("これは日本語の文章です。香港の展示会について。", "ja"),
        ("이것은 한국어 문장입니다. 홍콩 전시회", "ko"),
        ("香港特別行政區政府今日公布", None),
        ("ＡＢＣＤＥＦ公司ＧＨＩＪ", None),  # full-width Latin letters in Chinese text
        ("The Government announced today", None),
        ("Ceci est une phrase en français", None),  # Latin letters: not told apart
        ("ہانگ کانگ کی حکومت نے آج اعلان کیا", "und"),
        ("สวัสดี ฮ่องกง", "und"),
        ("", None),
    ],
)
def test_other_script(text: str, expected: str | None) -> None:
    assert other_script(text) == expected


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("en-US", "en"),
        ("EN_gb", "en"),
        ("zh-Hant-HK", "zh"),
        ("yue", "zh"),
        ("sc", "zh"),
        ("pt-BR", "pt"),
        ("fil", "fil"),
        ("und", None),
        ("x-default", None),
        ("english", None),
        ("", None),
        (None, None),
    ],
)
def test_declared_language(tag: str | None, expected: str | None) -> None:
    assert declared_language(tag) == expected
