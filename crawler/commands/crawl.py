"""`scrapy crawl`, exiting as `hkarchive crawl` does when a run cannot be trusted.

Scrapy's own command exits 0 whenever the crawl started, however it ended: a crawl refused the
archive's lock, or one stopped by a full disk, would look done to cron. This one exits 75
(EX_TEMPFAIL: try again later) when another crawl holds the archive, and 1 when the run failed
(any finish reason but ``finished`` or ``shutdown``) or logged errors.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from scrapy.commands.crawl import Command as ScrapyCrawl

from newsarchive.lock import EXIT_LOCKED

if TYPE_CHECKING:
    from scrapy import Spider
    from scrapy.crawler import Crawler

# Reasons a run ends well: its work is done, or it was stopped on purpose (a signal) and the
# next run goes on from there.
_ENDED_WELL = frozenset({"finished", "shutdown"})


class Command(ScrapyCrawl):
    def __init__(self) -> None:
        super().__init__()
        self.crawler: Crawler | None = None

    def _create_crawler(self, spidercls: type[Spider] | str) -> Crawler:
        self.crawler = super()._create_crawler(spidercls)
        return self.crawler

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        super().run(args, opts)
        if self.exitcode or self.crawler is None or self.crawler.stats is None:
            return
        stats = self.crawler.stats
        reason = stats.get_value("finish_reason")
        if reason == "archive_locked":
            self.exitcode = EXIT_LOCKED
        elif reason not in _ENDED_WELL or stats.get_value("log_count/ERROR", 0):
            self.exitcode = 1
