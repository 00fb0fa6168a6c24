"""Progress of a crawl: a live line on a terminal; off the terminal, Scrapy's LogStats lines only.

On a terminal, standard error shows one line rewritten every second: pages fetched, items
stored, pages and items per minute over the last minute, time elapsed. Log lines are written
above it. Every crawl the process runs (the CLI runs several spiders together) shares the one
line, which is erased when the last crawl ends. Off a terminal (cron, systemd, a pipe) nothing
is drawn: LogStats already logs plain lines every LOGSTATS_INTERVAL. ``HKARCHIVE_PROGRESS =
False`` turns the line off, and so does ``LOG_LEVEL = DEBUG``, whose stream of lines would
leave nothing to read.
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
from collections import deque
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import create_looping_call

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.spiders import Spider

INTERVAL = 1.0
# Rates are taken over the last minute: a crawl's pace changes as AutoThrottle adapts.
RATE_WINDOW = 60.0


def format_elapsed(seconds: float) -> str:
    """``0:05``, ``12:34``, ``1:02:03``."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_progress(
    *,
    pages: int,
    items: int,
    pages_per_min: float,
    items_per_min: float,
    elapsed: float,
    spiders: Sequence[str] = (),
    width: int | None = None,
) -> str:
    """The live line, cut to ``width`` characters (with an ellipsis) when given."""
    line = (
        f"{pages} pages fetched, {items} items stored, {pages_per_min:.0f} pages/min, "
        f"{items_per_min:.0f} items/min, {format_elapsed(elapsed)} elapsed"
    )
    if spiders:
        line += f" ({', '.join(spiders)})"
    if width is not None and len(line) > width:
        line = line[: max(0, width - 1)] + "…"
    return line


class LiveLine:
    """One line at the bottom of a terminal stream, rewritten in place.

    Padding with spaces rather than terminal escapes clears what a longer line left, on any
    terminal.
    """

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.text = ""
        self._drawn = 0

    def show(self, text: str) -> None:
        """Replace the line with text."""
        self.text = text
        self._draw()

    def hide(self) -> None:
        """Erase the line from the screen (it comes back with the next draw)."""
        if self._drawn:
            self.stream.write("\r" + " " * self._drawn + "\r")
            self.stream.flush()
            self._drawn = 0

    def redraw(self) -> None:
        """Draw the line again after something else was written."""
        if self.text:
            self._draw()

    def clear(self) -> None:
        """Erase the line for good."""
        self.hide()
        self.text = ""

    def _draw(self) -> None:
        self.stream.write("\r" + self.text.ljust(self._drawn))
        self.stream.flush()
        self._drawn = max(self._drawn, len(self.text))


class AboveLine:
    """A stream for log handlers that writes above the live line instead of through it."""

    def __init__(self, live: LiveLine) -> None:
        self.live = live

    def write(self, text: str) -> int:
        """Erase the line, write text, and draw the line again below it."""
        self.live.hide()
        written = self.live.stream.write(text)
        if text.endswith("\n"):
            self.live.redraw()
        return written

    def flush(self) -> None:
        """Flush the terminal stream."""
        self.live.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.live.stream, name)


class _Display:
    """The one live line of the process, fed by every crawl's stats."""

    def __init__(self, stream: IO[str]) -> None:
        self.live = LiveLine(stream)
        self.above = AboveLine(self.live)
        self.crawls: dict[ProgressExtension, str] = {}
        self.started = time.monotonic()
        self.samples: deque[tuple[float, int, int]] = deque()
        self.task: Any = None

    def add(self, extension: ProgressExtension, name: str) -> None:
        self.crawls[extension] = name
        if self.task is None:
            self.task = create_looping_call(self.tick)
            self.task.start(INTERVAL)

    def remove(self, extension: ProgressExtension) -> bool:
        """Stop showing a crawl; True when it was the last one."""
        self.crawls.pop(extension, None)
        if self.crawls:
            return False
        if self.task is not None and self.task.running:
            self.task.stop()
        self._restore_handlers()
        self.live.clear()
        return True

    def tick(self) -> None:
        self._redirect_handlers()
        now = time.monotonic()
        pages = sum(e.pages for e in self.crawls)
        items = sum(e.items for e in self.crawls)
        self.samples.append((now, pages, items))
        while len(self.samples) > 2 and now - self.samples[1][0] >= RATE_WINDOW:
            self.samples.popleft()
        first_time, first_pages, first_items = self.samples[0]
        span = now - first_time
        per_min = 60.0 / span if span >= INTERVAL / 2 else 0.0
        width = shutil.get_terminal_size((80, 24)).columns - 1
        self.live.show(
            format_progress(
                pages=pages,
                items=items,
                pages_per_min=(pages - first_pages) * per_min,
                items_per_min=(items - first_items) * per_min,
                elapsed=now - self.started,
                spiders=list(self.crawls.values()),
                width=width,
            )
        )

    def _redirect_handlers(self) -> None:
        # Checked on every tick: Scrapy replaces its root handler as each crawler starts.
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is self.live.stream:
                handler.setStream(self.above)

    def _restore_handlers(self) -> None:
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is self.above:
                handler.setStream(self.live.stream)


_display: _Display | None = None


def _is_debug(level: Any) -> bool:
    if isinstance(level, str):
        number = logging.getLevelName(level.upper())
        return isinstance(number, int) and number <= logging.DEBUG
    return isinstance(level, int) and level <= logging.DEBUG


class ProgressExtension:
    """Shows the crawl's progress on a live terminal line; disabled off a terminal."""

    def __init__(self, crawler: Crawler, stream: IO[str]) -> None:
        self.crawler = crawler
        self.stream = stream

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressExtension:
        """Enabled only on a terminal, with HKARCHIVE_PROGRESS on and LOG_LEVEL above DEBUG."""
        # NotConfigured without a message: with one, Scrapy logs a warning on every cron run.
        settings = crawler.settings
        if not settings.getbool("HKARCHIVE_PROGRESS", True):
            raise NotConfigured
        if _is_debug(settings.get("LOG_LEVEL")):
            raise NotConfigured  # a live line would garble the DEBUG log
        stream = sys.stderr
        if stream is None or not stream.isatty():
            raise NotConfigured
        extension = cls(crawler, stream)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    @property
    def pages(self) -> int:
        """Responses downloaded so far."""
        return self._stat("downloader/response_count")

    @property
    def items(self) -> int:
        """Items that passed every pipeline, so were stored."""
        return self._stat("item_scraped_count")

    def _stat(self, key: str) -> int:
        stats = self.crawler.stats
        return int(stats.get_value(key, 0) or 0) if stats is not None else 0

    def spider_opened(self, spider: Spider) -> None:
        """Join the process's live line."""
        global _display
        if _display is None or _display.live.stream is not self.stream:
            _display = _Display(self.stream)
        _display.add(self, spider.name)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        """Leave the live line; the last crawl to end erases it."""
        global _display
        if _display is not None and _display.remove(self):
            _display = None
