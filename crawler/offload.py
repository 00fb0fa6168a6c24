"""Extraction beside the crawl: worker processes parse pages while the engine fetches more.

Scrapy runs in one process, and a crawl of release pages is bound by that process's CPU: the
engine, the downloader and the item pipelines on one side, parsing each page on the other.
Extraction is a pure function of a response, so it can run in another process on another
core: the page's URL, status, headers, body and encoding go to the worker, the extracted item
comes back. Nothing is written there, so a worker that dies loses no data: its pages are
extracted in the crawl's own process from then on, and so are all pages when
``HKARCHIVE_EXTRACT_WORKERS`` is 0 or the reactor is not asyncio's.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import multiprocessing.connection
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, TypeVar

from scrapy.http import TextResponse
from scrapy.utils.reactor import is_asyncio_reactor_installed

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    """What extraction reads of a response, to send to a worker."""

    kind: type[TextResponse]
    url: str
    status: int
    headers: dict[bytes, list[bytes]]
    body: bytes
    encoding: str

    @classmethod
    def of(cls, response: TextResponse) -> Page:
        headers = {bytes(name): list(values) for name, values in response.headers.items()}
        return cls(
            type(response), response.url, response.status, headers, response.body,
            response.encoding,
        )  # fmt: skip

    def response(self) -> TextResponse:
        """The response again, decoding as the crawl decided (charset fixes included)."""
        return self.kind(
            url=self.url,
            status=self.status,
            headers=self.headers,
            body=self.body,
            encoding=self.encoding,
        )


def _exit_with_parent() -> None:
    """Make this worker exit as soon as the crawl's process ends, however it ends (a SIGKILL
    included): the pool's queues alone would keep it waiting, holding the crawl's output."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _extract(extract: Callable[[TextResponse], T], page: Page) -> T:
    return extract(page.response())


class Extractors:
    """Up to `workers` processes that run extraction functions on responses, started on first
    use; with 0 workers, extraction runs in this process."""

    def __init__(self, workers: int) -> None:
        self.workers = max(0, workers)
        self._pool: ProcessPoolExecutor | None = None

    async def run(self, extract: Callable[[TextResponse], T], response: TextResponse) -> T:
        """extract(response), in a worker when there is one; its exceptions are raised here."""
        pool = self._ready_pool()
        if pool is None:
            return extract(response)
        try:
            return await asyncio.wrap_future(pool.submit(_extract, extract, Page.of(response)))
        except BrokenProcessPool:
            if self.workers:
                logger.warning("The extraction worker stopped: extracting in the crawl's process")
                self.workers = 0
            return extract(response)

    def _ready_pool(self) -> ProcessPoolExecutor | None:
        if self.workers == 0:
            return None
        if self._pool is None:
            if not _asyncio_reactor():
                self.workers = 0
                return None
            # Spawned, not forked: a fork would share the crawl's archive lock and connections.
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=context, initializer=_exit_with_parent
            )
        return self._pool

    def close(self) -> None:
        """Stop the workers (pages still queued are dropped: the crawl is over)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _asyncio_reactor() -> bool:
    try:
        return is_asyncio_reactor_installed()
    except RuntimeError:  # no reactor installed: not inside a crawl
        return False


def extractors_for(settings: Any) -> Extractors:
    """The extraction workers a crawl's settings ask for."""
    return Extractors(settings.getint("HKARCHIVE_EXTRACT_WORKERS"))
