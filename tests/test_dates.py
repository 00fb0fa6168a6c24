"""The Hong Kong date helper: English and Chinese GovHK forms, command-line days, bad input."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import dateparser
import pytest

from crawler import dates
from crawler.args import crawl_window, parse_langs
from crawler.dates import normalize_date_text, parse_day, parse_hk_datetime
from newsarchive.clock import HKT, format_hk, hk_today


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ends/Wednesday, May 25, 2022 Issued at HKT 20:20", "2022-05-25T20:20:00+08:00"),
        ("Thursday, January 2, 2020 23:56", "2020-01-02T23:56:00+08:00"),
        ("Saturday, July 1, 2017 Issued at HKT 10:00", "2017-07-01T10:00:00+08:00"),
        ("完 2022年5月25日（星期三） 香港時間20時20分", "2022-05-25T20:20:00+08:00"),
        ("2020年1月2日（星期四）香港時間9時05分", "2020-01-02T09:05:00+08:00"),
        ("2022年5月25日", "2022-05-25T00:00:00+08:00"),
        ("2022-05-25", "2022-05-25T00:00:00+08:00"),
    ],
)
def test_parses_govhk_dates_as_hong_kong_time(text: str, expected: str) -> None:
    parsed = parse_hk_datetime(text)
    assert parsed is not None
    assert parsed.utcoffset() == timedelta(hours=8)
    assert format_hk(parsed) == expected


@pytest.mark.parametrize(
    "text", ["", "   ", "garbage", "NNNN", "May 2022", "2022-02-30", "Ends/", "香港時間20時20分"]
)
def test_bad_or_partial_dates_give_none(text: str) -> None:
    assert parse_hk_datetime(text) is None


def test_normalize_rewrites_chinese_footer_forms() -> None:
    assert normalize_date_text("2022年5月25日（星期三）香港時間20時20分") == "2022年5月25日 20:20"


def test_format_hk_converts_other_zones_and_drops_seconds() -> None:
    utc = datetime(2022, 5, 25, 12, 20, 59, tzinfo=HKT).astimezone(tz=None)
    assert format_hk(utc) == "2022-05-25T12:20:00+08:00"


def test_parse_day_reads_iso_and_relative_days() -> None:
    assert parse_day("2022-05-25") == date(2022, 5, 25)
    assert parse_day("today") == hk_today()
    assert parse_day("yesterday") == hk_today() - timedelta(days=1)
    assert parse_day("3 days ago") == hk_today() - timedelta(days=3)


@pytest.mark.parametrize("text", ["2022/6/5", "2022.06.05", "2022 6 5", "2022-6-5"])
def test_parse_day_reads_numbers_after_a_year_as_month_then_day(text: str) -> None:
    assert parse_day(text) == date(2022, 6, 5)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("05/06/2022", "ambiguous"),
        ("13/05/2022", "ambiguous"),
        ("2022/13/05", "no such day"),
        ("-3 days ago", "no signed numbers"),
        ("- 3 days ago", "no signed numbers"),
    ],
)
def test_parse_day_refuses_what_it_could_misread(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_day(text)


@pytest.mark.parametrize("text", ["2022-13-01", "2022-02-30", "nonsense", ""])
def test_parse_day_rejects_non_days_naming_the_input(text: str) -> None:
    with pytest.raises(ValueError, match="invalid date"):
        parse_day(text)


def test_default_window_is_yesterday_and_today_in_both_languages() -> None:
    window = crawl_window()
    assert window.days == (hk_today() - timedelta(days=1), hk_today())
    assert window.langs == ("en", "zh")


def test_window_covers_every_day_of_a_range() -> None:
    window = crawl_window(since="2022-02-27", until="2022-03-02", lang="zh")
    assert [d.isoformat() for d in window.days] == [
        "2022-02-27", "2022-02-28", "2022-03-01", "2022-03-02"
    ]  # fmt: skip
    assert window.langs == ("zh",)


def test_window_rejects_since_after_until() -> None:
    with pytest.raises(ValueError, match="after"):
        crawl_window(since="2022-05-26", until="2022-05-25")


def test_window_takes_explicit_days_sorted_and_unique() -> None:
    window = crawl_window(days="2022-05-25,2020-01-02,2022-05-25")
    assert window.days == (date(2020, 1, 2), date(2022, 5, 25))


def test_window_before_the_sources_first_day_starts_on_it() -> None:
    first = date(1997, 7, 1)
    window = crawl_window(since="1900-01-01", until="1997-07-03", earliest=first)
    assert window.days == (first, date(1997, 7, 2), date(1997, 7, 3))
    assert window.clipped == date(1900, 1, 1)
    assert window.arguments()["since"] == "1997-07-01"
    inside = crawl_window(since="1997-07-01", until="1997-07-02", earliest=first)
    assert inside.clipped is None
    listed = crawl_window(days="1997-07-02,1996-01-01", earliest=first)
    assert (listed.days, listed.clipped) == ((date(1997, 7, 2),), date(1996, 1, 1))


@pytest.mark.parametrize(
    "arguments", [{"since": "1900-01-01", "until": "1997-06-30"}, {"days": "1996-01-01"}]
)
def test_window_wholly_before_the_sources_first_day_is_refused(arguments: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="before the source's first day, 1997-07-01"):
        crawl_window(**arguments, earliest=date(1997, 7, 1))


def test_govhk_backfills_no_day_before_its_archive_begins() -> None:
    from crawler.spiders.govhk import GovhkSpider

    spider = GovhkSpider(since="1900-01-01", until="1997-07-02")
    assert spider.window.days == (date(1997, 7, 1), date(1997, 7, 2))


@pytest.mark.parametrize("value", ["fr", "EN,ZH", "both"])
def test_unknown_languages_are_rejected(value: str) -> None:
    with pytest.raises(ValueError, match="invalid language"):
        parse_langs(value)


@pytest.mark.parametrize(
    "text",
    [
        "Wednesday, May 25, 2022 20:20",
        "may 5, 2022 9:05",
        "January 31, 1980",
        "December 31, 1979 23:59",
        "February 29, 2024 00:00",
        "2022年5月25日 20:20",
        "2022年05月05日",
        "2022-5-25 7:5",
        "1997-07-01",
    ],
)
def test_exact_format_path_agrees_with_dateparser(text: str) -> None:
    slow = dateparser.parse(
        text, date_formats=dates._FORMATS, languages=dates._LANGUAGES, settings=dates._SETTINGS
    )
    assert slow is not None
    assert parse_hk_datetime(text) == slow.astimezone(HKT)
    assert format_hk(slow) == format_hk(parse_hk_datetime(text) or slow)
