"""Generic extraction: each fallback of each field, on small pages built for the purpose."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

import pytest
from scrapy.http import HtmlResponse, Request

from crawler.extract import ExtractionError, generic
from crawler.extract.generic import DATE_HINT, extract_detail
from crawler.extract.parts import date_line, native_id, size_in_bytes
from crawler.sources.config import load_sources
from newsarchive.clock import HKT
from newsarchive.model import FIRST_SEEN, NO_BODY

CAIRS = load_sources()["cairs"]
CPII = load_sources()["cpii"]
URL = "https://www.cairs.hk/en/news_detail/index/36"
PARAGRAPHS = "".join(
    f"<p>Paragraph {n} of the news item, long enough to look like real text for an extractor "
    f"that scores blocks by their length and punctuation, number {n}.</p>"
    for n in range(1, 6)
)


def page(head: str = "", body: str = "", url: str = URL) -> HtmlResponse:
    text = f"<html><head>{head}</head><body>{body}</body></html>"
    return HtmlResponse(url=url, body=text.encode(), headers={"Content-Type": "text/html"})


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("2022-05-25 | News", ("2022-05-25", "News")),
        ("2023-09-27 | Event", ("2023-09-27", "Event")),
        ("Posted on June 2, 2022", ("2022-06-02", None)),
        ("25 May 2022", ("2022-05-25", None)),
        ("2022年5月25日", ("2022-05-25", None)),
        ("2022/05/25 · Press release", ("2022-05-25", "Press release")),
        ("No date here", None),
        ("2022-13-45 | News", None),
    ],
)
def test_date_lines(line: str, expected: tuple[str, str | None] | None) -> None:
    assert date_line(line) == expected


@pytest.mark.parametrize(
    ("number", "unit", "size"),
    [("4.09", "MB", 4288676), ("12.62", "MB", 13233029), ("512", "KB", 524288), ("10", "B", 10)],
)
def test_image_sizes_are_binary_multiples(number: str, unit: str, size: int) -> None:
    assert size_in_bytes(number, unit) == size


def test_native_id_from_pattern_groups_or_path() -> None:
    assert native_id(URL, CAIRS) == "en/36"
    assert (
        native_id("https://www.cpii.hk/2022/06/02/innohk-launch-ceremony/", CPII)
        == "2022/06/02/innohk-launch-ceremony"
    )


def test_plain_page_with_date_line_image_links_and_no_metadata() -> None:
    body = (
        '<div class="logo"><img src="/logo.png" alt="CAiRS"></div>'
        "<h2>InnoHK Launch Ceremony concludes with great success</h2>"
        "<p>2022-05-25 | News</p>"
        '<div class="content"><a href="/uploads/36/4.jpg">4.jpg (4.09 MB)</a>'
        f"{PARAGRAPHS}</div>"
    )
    config = replace(CAIRS, selectors={"title": "h2", "body": "div.content"})
    article = extract_detail(page("<title>CAiRS</title>", body), config)
    assert article.title == "InnoHK Launch Ceremony concludes with great success"
    assert (article.published_at, article.category) == ("2022-05-25", "News")
    assert article.body_text.startswith("Paragraph 1")
    assert "4.jpg" not in article.body_text
    [photo] = article.photos
    assert (photo.url, photo.name, photo.size_label, photo.size_bytes) == (
        "https://www.cairs.hk/uploads/36/4.jpg", "4.jpg", "4.09 MB", 4288676
    )  # fmt: skip
    assert article.extraction == {
        "title": "selector",
        "published_at": "date-line",
        "body": "selector",
        "images": "body",
        "category": "date-line",
        "lang": "path",
    }


def test_standard_metadata_when_markup_is_unknown() -> None:
    head = (
        '<meta property="og:title" content="Launch Ceremony – CAiRS">'
        '<meta property="article:published_time" content="2022-05-25T12:20:00+00:00">'
        '<meta property="article:section" content="News">'
    )
    article = extract_detail(page(head, f"<div>{PARAGRAPHS}</div>"), CAIRS)
    assert article.title == "Launch Ceremony"
    assert article.published_at == "2022-05-25T20:20:00+08:00"
    assert article.category == "News"
    assert article.body_text.startswith("Paragraph 1")
    assert article.extraction["title"] == "og:title"
    assert article.extraction["published_at"] == "article:published_time"
    assert article.extraction["body"] == "trafilatura"


def test_json_ld_graph_and_time_element() -> None:
    head = (
        '<script type="application/ld+json">{"@context": "https://schema.org", "@graph": ['
        '{"@type": "WebPage"}, {"@type": "Article", "headline": "From JSON-LD",'
        ' "datePublished": "2022-06-02T07:30:12+00:00", "articleSection": ["Media"]}]}</script>'
        '<script type="application/ld+json">{not json</script>'
    )
    body = f'<article><time datetime="2022-06-02">2 June</time>{PARAGRAPHS}</article>'
    article = extract_detail(page(head, body), CAIRS)
    assert article.title == "From JSON-LD"
    assert article.extraction["title"] == "json-ld:headline"
    # Machine-readable metadata before an unmarked <time>: JSON-LD's UTC time, in HK time.
    assert article.published_at == "2022-06-02T15:30:00+08:00"
    assert article.extraction["published_at"] == "json-ld:datePublished"
    assert article.category == "Media"


def test_h1_naming_the_site_is_not_the_title() -> None:
    body = f"<h1>CAiRS</h1><h1>Real headline</h1><p>2022-05-25</p><div>{PARAGRAPHS}</div>"
    article = extract_detail(page("", body), CAIRS)
    assert article.title == "Real headline"


# The date fallbacks, in order: each page below also holds every later source, so a test
# fails when a step is skipped or two steps swap.
DATED_URL = "https://www.cairs.hk/en/news/2021/03/04/headline"
UNDATED_URL = "https://www.cairs.hk/en/news/headline"
LAST_MODIFIED = "Tue, 02 Mar 2021 10:30:00 GMT"
FEED_HINT = {"date": "2021-03-03T02:00:00Z", "method": "feed"}


def undated(
    url: str = UNDATED_URL, *, before_title: str = "", head: str = "", hint: object = None
) -> HtmlResponse:
    """A page whose headline has no date beside it, with a Last-Modified and perhaps a hint."""
    body = f"{before_title}<h1>Headline</h1><div>{PARAGRAPHS}</div>"
    text = f"<html><head><title>x</title>{head}</head><body>{body}</body></html>"
    meta = {} if hint is None else {DATE_HINT: hint}
    return HtmlResponse(
        url=url,
        body=text.encode(),
        headers={"Content-Type": "text/html", "Last-Modified": LAST_MODIFIED},
        request=Request(url, meta=meta),
    )


def test_htmldate_reads_the_page_before_any_other_fallback_but_not_its_address() -> None:
    # A date in markup the chain above does not read; the canonical link's date is the URL
    # step's, not htmldate's.
    canonical = '<link rel="canonical" href="https://www.cairs.hk/en/news/2020/01/02/headline">'
    meta = '<meta name="pubdate" content="2021-03-05">'
    response = undated(DATED_URL, head=canonical + meta, hint=FEED_HINT)
    article = extract_detail(response, CAIRS)
    assert (article.published_at, article.extraction["published_at"]) == ("2021-03-05", "htmldate")


def test_htmldate_guesses_from_the_text_only_after_the_feed_and_the_url() -> None:
    # Free text such as "Posted on ..." or "(c) 2024" is a guess: the site's own word on the URL
    # (a feed's or sitemap's date, a dated path) comes first, the server's Last-Modified after.
    posted = "<p>Posted on 5 March 2021</p>"
    for url, hint, expected in (
        (DATED_URL, FEED_HINT, ("2021-03-03T10:00:00+08:00", "feed")),
        (DATED_URL, None, ("2021-03-04", "url")),
        (UNDATED_URL, None, ("2021-03-05", "htmldate-guess")),
    ):
        article = extract_detail(undated(url, before_title=posted, hint=hint), CAIRS)
        assert (article.published_at, article.extraction["published_at"]) == expected


def test_htmldate_leaves_a_date_only_in_the_canonical_link_to_the_url_step() -> None:
    canonical = '<link rel="canonical" href="https://www.cairs.hk/en/news/2020/01/02/headline">'
    og_url = '<meta property="og:url" content="https://www.cairs.hk/en/news/2020/01/02/headline">'
    article = extract_detail(undated(head=canonical + og_url), CAIRS)
    assert article.extraction["published_at"] == "last-modified"


@pytest.mark.parametrize("method", ["feed", "sitemap"])
def test_the_feed_or_sitemap_date_for_the_url_comes_before_the_url(method: str) -> None:
    article = extract_detail(undated(DATED_URL, hint=FEED_HINT | {"method": method}), CAIRS)
    assert (article.published_at, article.extraction["published_at"]) == (
        "2021-03-03T10:00:00+08:00", method
    )  # fmt: skip


@pytest.mark.parametrize(
    "hint",
    [
        {"date": "soon", "method": "feed"},
        {"date": "2021-03-03", "method": "rumour"},
        {"date": 20210303, "method": "feed"},
        "2021-03-03",
    ],
)
def test_a_malformed_date_hint_is_passed_over(hint: object) -> None:
    article = extract_detail(undated(DATED_URL, hint=hint), CAIRS)
    assert (article.published_at, article.extraction["published_at"]) == ("2021-03-04", "url")


def test_a_date_in_the_url_comes_before_last_modified() -> None:
    article = extract_detail(undated(DATED_URL), CAIRS)
    assert (article.published_at, article.extraction["published_at"]) == ("2021-03-04", "url")


@pytest.mark.parametrize(
    "url",
    [
        "https://www.cairs.hk/en/news/2021/03/headline",  # a month is not a date
        "https://www.cairs.hk/en/news/headline-2021",
    ],
)
def test_a_date_only_in_last_modified_is_the_last_date_the_server_gives(url: str) -> None:
    article = extract_detail(undated(url), CAIRS)
    assert article.published_at == "2021-03-02T18:30:00+08:00"
    assert article.extraction["published_at"] == "last-modified"


def test_a_page_with_no_date_at_all_is_dated_when_first_seen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(generic, "hk_now", lambda: datetime(2026, 1, 2, 3, 4, 5, tzinfo=HKT))
    response = undated().replace(headers={"Content-Type": "text/html"})
    article = extract_detail(response, CAIRS)
    assert (article.published_at, article.extraction["published_at"]) == (
        "2026-01-02T03:04:00+08:00", FIRST_SEEN
    )  # fmt: skip
    assert article.title == "Headline"


def test_a_page_without_a_title_is_titled_by_its_body_first_words() -> None:
    body = "<div><p>The item's first sentence is its title. Then the rest of it follows.</p></div>"
    article = extract_detail(page("", body), CAIRS)
    assert article.title == "The item's first sentence is its title."
    assert article.body_text.startswith("The item's first sentence is its title. Then")
    assert article.extraction["title"] == "first-words"


def test_an_empty_body_selector_falls_back_to_trafilatura() -> None:
    config = replace(CAIRS, selectors={"body": "div.content"})
    body = f'<h1>Headline</h1><div class="content"> </div><div>{PARAGRAPHS}</div>'
    article = extract_detail(page("", body), config)
    assert article.body_text.startswith("Paragraph 1")
    assert article.extraction["body"] == "trafilatura"


@pytest.mark.parametrize(
    ("head", "method"),
    [
        ('<meta property="og:description" content="What happened, in one sentence.">'
         '<meta name="description" content="Another summary.">', "og:description"),
        ('<meta name="description" content="What happened, in one sentence.">', "description"),
    ],
)  # fmt: skip
def test_a_title_with_no_text_takes_the_page_description_as_body(head: str, method: str) -> None:
    article = extract_detail(page(head, "<h1>Headline</h1>"), CAIRS)
    assert (article.title, article.body_text) == ("Headline", "What happened, in one sentence.")
    assert article.body_html == "<p>What happened, in one sentence.</p>"
    assert article.extraction["body"] == method


def test_text_trafilatura_sets_aside_is_read_from_the_main_content() -> None:
    body = "<h1>Headline</h1><footer>The only words the page has.</footer>"
    article = extract_detail(page("", body), CAIRS)
    assert article.body_text.endswith("The only words the page has.")
    assert article.extraction["body"] == "main-content"


def test_a_title_with_no_text_at_all_is_kept_with_no_body() -> None:
    # A photo-only item, say: its headline alone is no body, and the photo is still found.
    body = '<h1>Headline</h1><img src="/uploads/1.jpg">'
    article = extract_detail(page("", body), CAIRS)
    assert (article.title, article.body_text, article.body_html) == ("Headline", "", "")
    assert article.extraction["body"] == NO_BODY
    assert [p.url for p in article.photos] == ["https://www.cairs.hk/uploads/1.jpg"]


@pytest.mark.parametrize(
    "body", ["", "<div><p> </p></div>", '<div><img src="/uploads/1.jpg"></div>']
)
def test_a_page_with_neither_title_nor_body_is_refused(body: str) -> None:
    with pytest.raises(ExtractionError) as refused:
        extract_detail(page("<title>CAiRS</title>", body), CAIRS)
    assert str(refused.value) == "no article: no title and no body"


def test_body_html_is_sanitised() -> None:
    body = '<h1>T</h1><p>2022-05-25</p><div class="c" onclick="x()"><script>evil()</script>'
    body += f"{PARAGRAPHS}</div>"
    article = extract_detail(page("", body), replace(CAIRS, selectors={"body": "div.c"}))
    assert not re.search(r"<script|onclick|evil", article.body_html)


def test_a_body_loses_the_heading_headline_and_date_line_an_extractor_kept_before_it() -> None:
    from lxml import html as lxml_html

    from crawler.extract.parts import body_text_of

    kept = lxml_html.fromstring(
        "<div><h2>News</h2><h3>Headline</h3><p>日期：2023年1月20日</p><p>First.</p><p>Second.</p></div>"
    )
    assert body_text_of(kept, "Headline") == "First.\n\nSecond."
    # A long line before the headline is prose, not a section heading: nothing is dropped.
    prose = lxml_html.fromstring(
        "<div><p>A long first paragraph that happens to come first.</p><h3>Headline</h3>"
        "<p>First.</p></div>"
    )
    assert body_text_of(prose, "Headline").startswith("A long first paragraph")
    # Only the headline and its date: kept whole, not emptied.
    alone = lxml_html.fromstring("<div><h3>Headline</h3></div>")
    assert body_text_of(alone, "Headline") == "Headline"


def test_srcset_is_parsed_into_its_largest_candidate() -> None:
    from crawler.extract.parts import largest_candidate, srcset_candidates

    density = "a-706x386.jpg 1x, a-1412x772.jpg 2x"
    assert srcset_candidates(density) == [("a-706x386.jpg", 1.0, "x"), ("a-1412x772.jpg", 2.0, "x")]
    assert largest_candidate(density) == "a-1412x772.jpg"
    # Commas inside a URL (an image CDN's transformations) do not split it.
    cdn = "https://c.example/w_100,h_80/x.jpg 100w, https://c.example/w_800,h_600/x.jpg 800w"
    assert largest_candidate(cdn) == "https://c.example/w_800,h_600/x.jpg"
    assert largest_candidate("only.jpg") == "only.jpg"
    assert largest_candidate("") is None


def test_link_only_blocks_are_dropped_from_a_body() -> None:
    from lxml import html

    from crawler.extract.body import drop_link_blocks

    body = html.fromstring(
        "<div><p>Text with <a href='/a'>one link</a> in it.</p>"
        "<ul><li><a href='/1'>Teaser one</a></li><li><a href='/2'>Teaser two</a></li></ul>"
        "<p><a href='/more'>More news</a></p><p><a href='/p.jpg'>p.jpg (1 MB)</a></p></div>"
    )
    drop_link_blocks(body)
    assert body.text_content() == "Text with one link in it.p.jpg (1 MB)"


JAPANESE = "<p>香港の研究所は本日、新しい研究施設の開設を発表しました。研究者は四十人です。</p>"
KOREAN = "<p>홍콩 연구소는 오늘 새로운 연구 시설의 개설을 발표했습니다. 연구원은 사십 명입니다.</p>"
CHINESE = "<p>香港研究中心今日宣布啟用新的研究設施，可容納四十名研究人員。</p>"
ENGLISH = "<p>The centre opened a new laboratory today, with room for forty researchers.</p>"


@pytest.mark.parametrize(
    ("declared", "text", "expected"),
    [
        ("de-DE", ENGLISH, ("de", "html-lang")),  # Latin letters: the declaration decides
        ("ja", JAPANESE, ("ja", "html-lang")),
        (None, JAPANESE, ("ja", "script")),
        ("en", KOREAN, ("ko", "script")),  # a template's default lang="en"
        ("zh-Hant-HK", JAPANESE, ("ja", "script")),
        ("yue-Hant-HK", CHINESE, ("zh", "html-lang")),
        ("tc", CHINESE, ("zh", "html-lang")),
        ("x-default", ENGLISH, ("en", "config")),
        (None, ENGLISH, ("en", "config")),
    ],
)
def test_a_page_in_another_language_says_so(
    declared: str | None, text: str, expected: tuple[str, str]
) -> None:
    config = replace(CAIRS, languages=("en",), lang_by_path={})
    lang = f' lang="{declared}"' if declared else ""
    body = f"<html{lang}><body><h1>Title</h1>{text * 4}</body></html>"
    response = HtmlResponse(url=URL, body=body.encode(), headers={"Content-Type": "text/html"})
    article = extract_detail(response, config)
    assert (article.lang, article.extraction["lang"]) == expected
