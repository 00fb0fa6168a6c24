"""The ceiling: a bare Scrapy spider that requests the benchmark's URLs and parses nothing.

It runs with the settings our crawl gets from a loopback mirror (crawler.mirror:
the mirror download handler, concurrency 32/16, no delay, no AutoThrottle, no robots.txt)
and the project's framework-level settings (User-Agent, timeouts, retries, cookies off, log
level), but no item pipelines, no extra middlewares and no extensions: what is left is
Scrapy's own cost per page on this machine.

    python -m bench.ceiling --mirror http://127.0.0.1:PORT --urls urls.txt
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response

from crawler.mirror import mirror_overrides

FRAMEWORK_SETTINGS = (
    "USER_AGENT",
    "DOWNLOAD_TIMEOUT",
    "RETRY_TIMES",
    "COOKIES_ENABLED",
    "TELNETCONSOLE_ENABLED",
    "REMOTE_CONTROL_ENABLED",
    "LOG_LEVEL",
    "LOGSTATS_INTERVAL",
    "TWISTED_REACTOR",
    "REQUEST_FINGERPRINTER_IMPLEMENTATION",
)


class BareSpider(scrapy.Spider):
    """Requests every URL of a file once, and does nothing with the answers."""

    name = "bare"

    def __init__(self, urls: str, **kwargs: Any) -> None:
        """`urls`: a file of URLs, one a line."""
        super().__init__(**kwargs)
        self.url_file = Path(urls)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        """Every URL of the file, in order (index pages first, as our spider starts)."""
        for line in self.url_file.read_text(encoding="utf-8").splitlines():
            if line:
                yield scrapy.Request(line, callback=self.parse, dont_filter=True)

    def parse(self, response: Response, **kwargs: Any) -> None:
        """Parse nothing."""


def settings(mirror: str) -> dict[str, Any]:
    """Scrapy settings for the bare spider through the mirror at `mirror`."""
    from scrapy.settings import Settings

    project = Settings()
    project.setmodule("crawler.settings", priority="project")
    chosen = {name: project[name] for name in FRAMEWORK_SETTINGS if name in project}
    return chosen | {"HTTPERROR_ALLOW_ALL": True} | mirror_overrides(mirror)


def main() -> None:
    """Crawl the URL file through the mirror."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mirror", required=True)
    parser.add_argument("--urls", required=True)
    args = parser.parse_args()
    process = CrawlerProcess(settings(args.mirror))
    process.crawl(BareSpider, urls=args.urls)
    process.start()


if __name__ == "__main__":
    main()
