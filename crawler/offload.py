"""Extraction beside the crawl: worker processes parse pages while the engine fetches more.

Scrapy runs in one process, and a crawl of release pages is bound by that process's CPU: the
engine, the downloader and the item pipelines on one side, parsing each page on the other.
Extraction is a pure function of a response, so it can run in another process on another
core: the page's URL, status, headers, body and encoding go to the worker, the extracted item
comes back. Nothing is written there, so a worker that dies loses no data: its pages are
extracted in the crawl's own process from then on, and so are all pages when
``HKARCHIVE_EXTRACT_WORKERS`` is 0 or the reactor is not asyncio's.

The worker imports what extraction needs and no more: not Scrapy, Twisted or their TLS stack
(some 30 MB of a worker's memory). An HTML page reaches the extraction function there as a
`Document`, which parses the page with the calls Scrapy's `HtmlResponse` makes; any other
kind of response is rebuilt as Scrapy's own class, importing Scrapy then.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from parsel import Selector, SelectorList
    from scrapy.http import TextResponse

logger = logging.getLogger(__name__)

T = TypeVar("T")

# The response class a `Document` stands in for in a worker.
HTML_RESPONSE = "scrapy.http.response.html:HtmlResponse"


@dataclass(frozen=True)
class Page:
    """What extraction reads of a response, to send to a worker.

    The response's class travels by name ("module:QualName"), so that unpickling a page does not
    import Scrapy.
    """

    kind: str
    url: str
    status: int
    headers: dict[bytes, list[bytes]]
    body: bytes
    encoding: str

    @classmethod
    def of(cls, response: TextResponse) -> Page:
        headers = {bytes(name): list(values) for name, values in response.headers.items()}
        kind = type(response)
        return cls(
            f"{kind.__module__}:{kind.__qualname__}", response.url, response.status, headers,
            response.body, response.encoding,
        )  # fmt: skip

    def response(self) -> TextResponse:
        """The response again, decoding as the crawl decided (charset fixes included)."""
        module, name = self.kind.split(":")
        kind: type[TextResponse] = getattr(importlib.import_module(module), name)
        return kind(
            url=self.url,
            status=self.status,
            headers=self.headers,
            body=self.body,
            encoding=self.encoding,
        )

    def for_extraction(self) -> TextResponse:
        """What a worker hands the extraction function: a `Document` for an HTML page (which
        reads as the response would), the response itself for any other kind."""
        if self.kind == HTML_RESPONSE:
            return cast("TextResponse", Document(self))
        return self.response()


class Document:
    """An HTML page as extraction reads it (url, status, headers, body, encoding, text,
    selector, xpath, css), without Scrapy.

    Its text and parsed tree come from the same calls, in the same order, as those of Scrapy's
    `HtmlResponse` given an explicit encoding: w3lib's `html_to_unicode` of the body with that
    charset, the ``<base>`` URL from the text's first 4,096 characters, and a parsel HTML
    selector with that base URL. tests/test_offload.py checks both trees are the same on every
    fixture.
    """

    def __init__(self, page: Page) -> None:
        self.url = page.url
        self.status = page.status
        self.headers = page.headers
        self.body = page.body
        self.encoding = page.encoding

    @cached_property
    def text(self) -> str:
        from w3lib.encoding import html_to_unicode

        return html_to_unicode(f"charset={self.encoding}", self.body)[1]

    @cached_property
    def selector(self) -> Selector:
        from parsel import Selector
        from w3lib.html import get_base_url

        base_url = get_base_url(self.text[0:4096], self.url, self.encoding)
        return Selector(text=self.text, type="html", base_url=base_url)

    def xpath(self, query: str, **kwargs: Any) -> SelectorList[Selector]:
        return self.selector.xpath(query, **kwargs)

    def css(self, query: str) -> SelectorList[Selector]:
        return self.selector.css(query)


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
    return extract(page.for_extraction())


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
    from scrapy.utils.reactor import is_asyncio_reactor_installed

    try:
        return is_asyncio_reactor_installed()
    except RuntimeError:  # no reactor installed: not inside a crawl
        return False


def extractors_for(settings: Any) -> Extractors:
    """The extraction workers a crawl's settings ask for."""
    return Extractors(settings.getint("HKARCHIVE_EXTRACT_WORKERS"))
