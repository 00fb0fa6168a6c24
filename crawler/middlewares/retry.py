"""Retries with exponential backoff, honouring a server's Retry-After (capped).

Scrapy's RetryMiddleware sends a retry at once, so a server that is briefly overloaded gets
its next three requests within milliseconds. This one waits before handing the retry back:
``HKARCHIVE_RETRY_BACKOFF`` seconds before the first retry, doubling for each next one, at
most ``HKARCHIVE_RETRY_BACKOFF_MAX``; a 429 or 503 answer's ``Retry-After`` (seconds or an
HTTP date) is waited instead when longer, at most ``HKARCHIVE_RETRY_AFTER_MAX``. Only the
retried request waits: the others carry on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Self

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Request
from scrapy.utils.asyncio import sleep
from scrapy.utils.misc import load_object

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import BaseSettings


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """The delay a Retry-After header asks for, in seconds (never negative), or None."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class BackoffRetryMiddleware(RetryMiddleware):
    """RetryMiddleware that waits before each retry (exponential backoff, Retry-After)."""

    backoff: float
    backoff_max: float
    retry_after_max: float

    def __init__(self, settings: BaseSettings) -> None:
        # Scrapy loads RETRY_EXCEPTIONS at once, importing its HTTP/1.1 handler for TunnelError:
        # a quarter of a second of start-up a crawl that sends no request need not pay. They
        # are loaded at the first exception instead.
        deferred = settings.copy()
        deferred.frozen = False  # a private copy
        deferred.set("RETRY_EXCEPTIONS", [], priority=100)
        super().__init__(deferred)
        self._exception_names: list[Any] | None = settings.getlist("RETRY_EXCEPTIONS")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        middleware = super().from_crawler(crawler)
        settings = crawler.settings
        middleware.backoff = settings.getfloat("HKARCHIVE_RETRY_BACKOFF", 2.0)
        middleware.backoff_max = settings.getfloat("HKARCHIVE_RETRY_BACKOFF_MAX", 60.0)
        middleware.retry_after_max = settings.getfloat("HKARCHIVE_RETRY_AFTER_MAX", 120.0)
        return middleware

    def delay(self, retry: Request, response: Response | None = None) -> float:
        """How long to wait before sending `retry` (its meta holds the retry's number)."""
        number = int(retry.meta.get("retry_times", 1))
        wait = float(min(self.backoff * 2 ** (number - 1), self.backoff_max))
        if response is not None and response.status in (429, 503):
            asked = retry_after_seconds(response.headers.get(b"Retry-After"))
            if asked is not None:
                wait = max(wait, min(asked, self.retry_after_max))
        return wait

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        result = super().process_response(request, response)
        if isinstance(result, Request):
            await self._wait(result, self.delay(result, response))
        return result

    async def process_exception(  # type: ignore[override]
        self, request: Request, exception: Exception
    ) -> Request | Response | None:
        if self._exception_names is not None:
            self.exceptions_to_retry = tuple(
                load_object(name) if isinstance(name, str) else name
                for name in self._exception_names
            )
            self._exception_names = None
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            await self._wait(result, self.delay(result))
        return result

    async def _wait(self, retry: Request, seconds: float) -> None:
        if seconds > 0:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("hkarchive/retry_waits")
            self.crawler.stats.max_value("hkarchive/retry_wait_max_ms", int(seconds * 1000))
            await sleep(seconds)
