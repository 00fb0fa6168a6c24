"""Crawl arguments shared by every spider and the CLI: the date window and the languages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from crawler.dates import days_between, parse_day
from newsarchive.clock import hk_today

LANG_CHOICES = ("en", "zh", "all")


@dataclass(frozen=True)
class CrawlWindow:
    """Which days and languages a crawl covers.

    ``clipped`` is the first day asked for when it was before the source's first day, from
    which the window then starts instead.
    """

    days: tuple[date, ...]
    langs: tuple[str, ...]
    clipped: date | None = None

    def arguments(self) -> dict[str, object]:
        """The window as recorded in crawl_runs."""
        return {
            "since": self.days[0].isoformat() if self.days else None,
            "until": self.days[-1].isoformat() if self.days else None,
            "days": len(self.days),
            "lang": "all" if len(self.langs) > 1 else self.langs[0],
        }


def parse_langs(value: str | None) -> tuple[str, ...]:
    """ "en", "zh" or "all" (the default) as a tuple of language codes."""
    value = (value or "all").strip().lower()
    if value not in LANG_CHOICES:
        raise ValueError(f"invalid language {value!r}: use en, zh or all")
    return ("en", "zh") if value == "all" else (value,)


def crawl_window(
    since: str | date | None = None,
    until: str | date | None = None,
    lang: str | None = None,
    days: str | None = None,
    earliest: date | None = None,
) -> CrawlWindow:
    """Validate crawl arguments as given on a command line; ValueError names the bad one.

    since and until are days as typed (parsed here: a spider's ``-a since=...``) or days the
    command line has parsed once already. With no dates the window is yesterday and today in
    Hong Kong. ``days`` (comma-separated)
    lists days explicitly instead of a range. Days before ``earliest`` (the source's first
    day) are left out, and a window with none after it is refused.
    """
    langs = parse_langs(lang)
    if days:
        if since or until:
            raise ValueError("give either days or since/until, not both")
        listed = sorted({parse_day(part) for part in days.split(",") if part.strip()})
        if earliest is None or not listed or listed[0] >= earliest:
            return CrawlWindow(tuple(listed), langs)
        kept = [day for day in listed if day >= earliest]
        if not kept:
            raise ValueError(f"every day given is before the source's first day, {earliest}")
        return CrawlWindow(tuple(kept), langs, clipped=listed[0])
    today = hk_today()
    end = _day(until) if until else today
    start = _day(since) if since else min(end, today) - timedelta(days=1)
    if start > end:
        raise ValueError(f"--since {start} is after --until {end}")
    if earliest is None or start >= earliest:
        return CrawlWindow(tuple(days_between(start, end)), langs)
    if end < earliest:
        raise ValueError(f"the window ends on {end}, before the source's first day, {earliest}")
    return CrawlWindow(tuple(days_between(earliest, end)), langs, clipped=start)


def _day(value: str | date) -> date:
    return value if isinstance(value, date) else parse_day(value)


def is_flag(value: str | bool | None) -> bool:
    """A spider argument meaning yes: true, 1, yes, on (``-a refresh=1``)."""
    if isinstance(value, bool):
        return value
    return (value or "").strip().lower() in ("1", "true", "yes", "on")
