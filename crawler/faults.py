"""A full disk or a damaged archive stops the crawl at the first error, with one line.

Most write errors are one page's problem: logged, counted, and the crawl goes on. These two
are everyone's: on a full disk every later write fails the same way (a flood of tracebacks
and a run that never records its end), and writing on into a damaged file can spread the
damage. So the first one, wherever it is met (the store, the WARC writer, a media download, a
spider reading the archive), is logged once without a traceback and recorded in the crawl's
stats (``hkarchive/fault``: ``disk_full`` or ``archive_corrupt``, and
``hkarchive/fault_message``), and every crawl of the process is closed with it as the
finish reason. Nothing more is written then: the store marks a run stopped by a full disk
failed (if even that can be written) and writes nothing at all into a damaged archive.
"""

from __future__ import annotations

import contextlib
import logging
import weakref
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING, Any

from newsarchive.db import CORRUPT, corrupt_message, disk_full_message, fault_reason, storage_fault

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

FAULT = "hkarchive/fault"
FAULT_MESSAGE = "hkarchive/fault_message"

# The crawls of this process: a full disk or a damaged archive stops them all.
_CRAWLERS: weakref.WeakSet[Crawler] = weakref.WeakSet()


def _late(crawler: Crawler, name: str) -> Any:
    """A crawler attribute set when the crawl starts (Scrapy raises before then), or None."""
    try:
        return getattr(crawler, name)
    except RuntimeError:
        return None


def crawl_fault(crawler: Crawler) -> tuple[str, str] | None:
    """(kind, one-line message) when the crawl was stopped by a fault, else None."""
    stats = _late(crawler, "stats")
    kind = stats.get_value(FAULT) if stats is not None else None
    if kind is None:
        return None
    return str(kind), str(stats.get_value(FAULT_MESSAGE))


def stopped(crawler: Crawler) -> bool:
    """Whether the crawl has stopped on a fault: then nothing more may be written."""
    return crawl_fault(crawler) is not None


def stop_on_fault(crawler: Crawler, exc: BaseException, target: str, *, close: bool = True) -> bool:
    """Stop every crawl of the process when exc is a full disk or a damaged archive.

    target names what was being written (a file). The first fault is logged, as one error line
    without a traceback, and recorded in each crawl's stats; the spiders are closed with its
    kind as the finish reason (not when close is false: the caller is opening or closing the
    spider itself). Returns whether exc was such a fault: if not, it is the caller's to handle.
    """
    kind = storage_fault(exc)
    if kind is None:
        return False
    _CRAWLERS.add(crawler)
    if stopped(crawler):
        return True
    db = crawler.settings.get("HKARCHIVE_DB")
    message = (
        corrupt_message(db, fault_reason(exc))
        if kind == CORRUPT
        else disk_full_message(target, exc)
    )
    logger.error("Stopping the crawl: %s", message)
    for each in list(_CRAWLERS):
        stats = _late(each, "stats")
        if stats is not None and not stopped(each):
            stats.set_value(FAULT, kind)
            stats.set_value(FAULT_MESSAGE, message)
            if close or each is not crawler:
                _close(each, kind)
    return True


def _close(crawler: Crawler, reason: str) -> None:
    from scrapy.utils.defer import deferred_from_coro  # here: the CLI imports this module

    engine = _late(crawler, "engine")
    if engine is None or engine.spider is None:
        return

    async def close() -> None:
        with contextlib.suppress(RuntimeError):  # not open (any more): nothing to stop
            await engine.close_spider_async(reason=reason)

    deferred_from_coro(close())


class FaultMiddleware:
    """Spider middleware: a spider that meets a fault reading the archive (a damaged page under
    the lookups of what is archived) stops the crawl instead of logging a traceback per page.

    It also enrols every crawl of the process, so that a fault met by one stops them all.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.db = str(crawler.settings.get("HKARCHIVE_DB"))
        _CRAWLERS.add(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """Pass the spider's start requests on, stopping at a fault."""
        try:
            async for request_or_item in start:
                if stopped(self.crawler):
                    return
                yield request_or_item
        except Exception as exc:
            if not stop_on_fault(self.crawler, exc, self.db):
                raise

    def process_spider_exception(
        self, response: Response, exception: Exception
    ) -> Iterable[Any] | None:
        """Swallow a fault (the crawl is stopping); leave every other exception to Scrapy."""
        if stop_on_fault(self.crawler, exception, self.db):
            return []
        return None
