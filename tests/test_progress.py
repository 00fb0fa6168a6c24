"""The live progress line: its text, when it is shown, and log lines written above it."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from crawler import progress
from crawler.progress import (
    AboveLine,
    LiveLine,
    ProgressExtension,
    format_elapsed,
    format_progress,
)


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def screen(written: str) -> list[str]:
    """What a terminal shows after ``written``: carriage returns overwrite, newlines advance."""
    lines = []
    for raw in written.split("\n"):
        shown: list[str] = []
        column = 0
        for part in raw.split("\r"):
            shown[column : column + len(part)] = part
            column = 0
        lines.append("".join(shown).rstrip())
    return lines


def test_progress_line_shows_pages_items_rates_and_elapsed() -> None:
    line = format_progress(
        pages=152, items=47, pages_per_min=95.4, items_per_min=30.0, elapsed=95,
        spiders=["govhk", "cairs"],
    )  # fmt: skip
    assert line == (
        "152 pages fetched, 47 items stored, 95 pages/min, 30 items/min, 1:35 elapsed "
        "(govhk, cairs)"
    )


def test_progress_line_is_cut_to_the_terminal_width() -> None:
    line = format_progress(
        pages=1, items=0, pages_per_min=0, items_per_min=0, elapsed=0, spiders=["govhk"], width=30
    )
    assert len(line) == 30
    assert line.endswith("…")


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0, "0:00"), (5.9, "0:05"), (754, "12:34"), (3723, "1:02:03")]
)
def test_elapsed_format(seconds: float, shown: str) -> None:
    assert format_elapsed(seconds) == shown


def on_terminal(monkeypatch: pytest.MonkeyPatch) -> Terminal:
    """Make standard error a terminal; in the test's body, as pytest's capture resets it
    between a fixture's setup and the test."""
    stream = Terminal()
    monkeypatch.setattr("sys.stderr", stream)
    return stream


def test_not_on_a_terminal_the_extension_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stderr", io.StringIO())
    with pytest.raises(NotConfigured) as off:
        ProgressExtension.from_crawler(get_crawler(settings_dict={"LOG_LEVEL": "INFO"}))
    assert not off.value.args, "a message would make Scrapy log a warning on every cron run"


def test_on_a_terminal_the_extension_is_on(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = on_terminal(monkeypatch)
    extension = ProgressExtension.from_crawler(get_crawler(settings_dict={"LOG_LEVEL": "INFO"}))
    assert extension.stream is terminal


@pytest.mark.parametrize(
    "settings",
    [
        {"LOG_LEVEL": "DEBUG"},
        {"LOG_LEVEL": "debug"},
        {"LOG_LEVEL": logging.DEBUG},
        {"LOG_LEVEL": "INFO", "HKARCHIVE_PROGRESS": False},
        {"LOG_LEVEL": "INFO", "HKARCHIVE_PROGRESS": "False"},
    ],
)
def test_debug_logging_or_the_setting_turns_it_off(
    monkeypatch: pytest.MonkeyPatch, settings: dict[str, Any]
) -> None:
    on_terminal(monkeypatch)
    with pytest.raises(NotConfigured):
        ProgressExtension.from_crawler(get_crawler(settings_dict=settings))


def test_log_lines_are_written_above_the_live_line() -> None:
    stream = Terminal()
    live = LiveLine(stream)
    above = AboveLine(live)
    live.show("10 pages fetched, a long first line")
    live.show("11 pages fetched")
    assert screen(stream.getvalue()) == ["11 pages fetched"]
    above.write("INFO: something happened\n")
    assert screen(stream.getvalue()) == ["INFO: something happened", "11 pages fetched"]
    live.clear()
    assert screen(stream.getvalue()) == ["INFO: something happened", ""]


@pytest.fixture
def root_handler() -> Iterator[tuple[Terminal, logging.StreamHandler[Any]]]:
    stream = Terminal()
    handler: logging.StreamHandler[Any] = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    try:
        yield stream, handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_every_crawl_of_the_process_shares_one_line_erased_at_the_end(
    root_handler: tuple[Terminal, logging.StreamHandler[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    stream, handler = root_handler
    crawlers = [get_crawler(settings_dict={"LOG_LEVEL": "INFO"}) for _ in range(2)]
    first, second = (ProgressExtension(c, stream) for c in crawlers)
    crawlers[0].stats.set_value("downloader/response_count", 30)
    crawlers[0].stats.set_value("item_scraped_count", 7)
    crawlers[1].stats.set_value("downloader/response_count", 12)
    display = progress._Display(stream)
    display.crawls.update({first: "govhk", second: "cairs"})
    display.tick()
    assert screen(stream.getvalue())[-1].startswith(
        "42 pages fetched, 7 items stored, 0 pages/min, 0 items/min, 0:00 elapsed (govhk, cairs)"
    )
    logging.getLogger("scrapy.core.engine").info("Closing spider (finished)")
    log_line, live_line = screen(stream.getvalue())[-2:]
    assert log_line == "Closing spider (finished)"
    assert live_line.startswith("42 pages fetched")
    assert not display.remove(first)
    assert display.remove(second)
    assert screen(stream.getvalue())[-2:] == ["Closing spider (finished)", ""]
    assert handler.stream is stream, "the log handler writes to the terminal again"
