"""Reading dates: every date the crawl reads from a page or a command line goes through here
(the clock and the zone are newsarchive.clock's)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from newsarchive.clock import HKT, hk_now

# Formats GovHK prints, tried by dateparser before its general parser: that fast path costs
# a fraction of a millisecond instead of several, and extraction runs once per page.
_FORMATS = [
    "%A, %B %d, %Y %H:%M",
    "%B %d, %Y %H:%M",
    "%A, %B %d, %Y",
    "%B %d, %Y",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
]
_SETTINGS: Any = {
    "TIMEZONE": "Asia/Hong_Kong",
    "RETURN_AS_TIMEZONE_AWARE": True,
    "PREFER_DAY_OF_MONTH": "first",
    "REQUIRE_PARTS": ["day", "month", "year"],
}
_LANGUAGES = ["en", "zh-Hant", "zh"]

# Hong Kong's offset has been +08:00 all year since 1980; before, dateparser's tz database knows
# the summer times, so older dates take the slow path.
_FIXED_OFFSET_SINCE = 1980


def _parse_exact(text: str) -> datetime | None:
    """A date in one of GovHK's formats, in Hong Kong time, read by ``strptime`` as dateparser's
    format pass would, without dateparser's cost; None when text is in none of them."""
    for form in _FORMATS:
        try:
            parsed = datetime.strptime(text, form)
        except ValueError:
            continue
        return None if parsed.year < _FIXED_OFFSET_SINCE else parsed.replace(tzinfo=HKT)
    return None


_ISO_START = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]")


def _parse_iso(text: str) -> datetime | None:
    """An ISO 8601 date-time (``2015-09-17T17:53:34+0200``, ``…Z``, fractions of a second), as
    pages' metadata writes it, converted to Hong Kong time; read without dateparser's cost."""
    if not _ISO_START.match(text):
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None if parsed.year < _FIXED_OFFSET_SINCE else parsed.replace(tzinfo=HKT)
    return parsed.astimezone(HKT)


_WEEKDAY_ZH = re.compile(r"[（(]\s*(?:星期|週|周)[一二三四五六日天]\s*[）)]")
_TIME_ZH = re.compile(r"(\d{1,2})\s*[時时]\s*(\d{1,2})\s*分")
_NOISE = re.compile(r"香港時間|香港时间|\bHKT\b|\bIssued at\b|\bEnds/|^完", re.IGNORECASE)


def normalize_date_text(text: str) -> str:
    """Rewrite GovHK's footer forms into ones dateparser reads.

    "2022年5月25日（星期三） 香港時間20時20分" becomes "2022年5月25日 20:20";
    "Ends/Wednesday, May 25, 2022 Issued at HKT 20:20" becomes "Wednesday, May 25, 2022 20:20".
    """
    text = _WEEKDAY_ZH.sub(" ", text)
    text = _TIME_ZH.sub(lambda m: f" {int(m[1]):02d}:{int(m[2]):02d}", text)
    text = _NOISE.sub(" ", text)
    return " ".join(text.split())


def parse_hk_datetime(text: str | None) -> datetime | None:
    """Parse a date or date-time written in Hong Kong (English or Chinese) into an aware datetime.

    Naive values are taken as Hong Kong time; the result is always in HKT (+08:00).
    Returns None for text that holds no complete date.
    """
    if not text or not text.strip():
        return None
    cleaned = normalize_date_text(text)
    if not cleaned:
        return None
    if (exact := _parse_exact(cleaned)) is not None:
        return exact
    if (iso := _parse_iso(cleaned)) is not None:
        return iso
    import dateparser  # here: half a second to import, and most dates never need it

    try:
        parsed = dateparser.parse(
            cleaned, date_formats=_FORMATS, languages=_LANGUAGES, settings=_SETTINGS
        )
    except (ValueError, OverflowError):
        return None
    if parsed is None:
        return None
    return parsed.astimezone(HKT)


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# The days a command line may name. Every GovHK release is well inside; the bounds keep a day
# plus or minus one (a window's edges) a valid date, so no arithmetic on a day can overflow.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)


# A day written in numbers only ("05/06/2022", "2022/5/6", "6.5.22"), and its parts.
_NUMERIC_DAY = re.compile(r"[0-9]+(?:\s*[-/.\s]\s*[0-9]+)+")
_NUMERIC_SEPARATOR = re.compile(r"\s*[-/.\s]\s*")
# A signed number ("-3 days ago"), which the words parser would read without its sign.
_SIGNED = re.compile(r"(?:^|\s)[-+\u2212]\s*[0-9]")


def parse_day(text: str) -> date:
    """Parse a day given on the command line: YYYY-MM-DD, or words such as "today", "3 days ago".

    Relative words are read against today's date in Hong Kong; other text must name a whole
    date (a bare "5" or "May 2024" is refused). A day in numbers only is read year, month, day
    when it starts with a four-digit year ("2022/05/06"); any other ("05/06/2022": 5 June or
    6 May?) is refused as ambiguous, as is a signed number ("-3 days ago"). Raises ValueError
    naming the input when it is not a day from FIRST_DAY to LAST_DAY.
    """
    value = text.strip()
    if _ISO_DAY.fullmatch(value):
        day = _day(text, value.split("-"))
    elif _NUMERIC_DAY.fullmatch(value):
        parts = _NUMERIC_SEPARATOR.split(value)
        if len(parts) != 3:
            raise ValueError(f"invalid date {text!r}: use YYYY-MM-DD (or e.g. 'yesterday')")
        if len(parts[0]) != 4:
            raise ValueError(
                f"invalid date {text!r}: ambiguous (which is the day, which the month?): "
                "use YYYY-MM-DD"
            )
        day = _day(text, parts)
    elif _SIGNED.search(value):
        raise ValueError(
            f"invalid date {text!r}: no signed numbers: use YYYY-MM-DD or e.g. '3 days ago'"
        )
    else:
        day = _words_day(value, text)
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"invalid date {text!r}: use a day from {FIRST_DAY} to {LAST_DAY}")
    return day


def _day(text: str, parts: list[str]) -> date:
    """The day of year, month and day numbers; ValueError naming text when there is none."""
    try:
        return date(*(int(part) for part in parts))
    except (ValueError, OverflowError):
        raise ValueError(f"invalid date {text!r}: no such day") from None


def _words_day(value: str, text: str) -> date:
    import dateparser  # see parse_hk_datetime

    try:
        parsed = dateparser.parse(
            value,
            languages=["en"],
            settings={
                "TIMEZONE": "Asia/Hong_Kong",
                "RETURN_AS_TIMEZONE_AWARE": True,
                "RELATIVE_BASE": hk_now().replace(tzinfo=None),
                "REQUIRE_PARTS": ["day", "month", "year"],
            },
        )
    except (ValueError, OverflowError):  # "10000 years ago" leaves datetime's range
        parsed = None
    if parsed is None:
        raise ValueError(f"invalid date {text!r}: use YYYY-MM-DD (or e.g. 'yesterday')")
    return parsed.astimezone(HKT).date()


def days_between(since: date, until: date) -> list[date]:
    """Every day from since to until, both included, oldest first."""
    return [since + timedelta(days=n) for n in range((until - since).days + 1)]
