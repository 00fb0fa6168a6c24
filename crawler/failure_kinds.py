"""Naming why a request failed for good, for the archive's failures table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.defer import CancelledError
from twisted.internet.error import ConnectError, ConnectionDone, ConnectionLost, TimeoutError
from twisted.web.client import ResponseFailed, ResponseNeverReceived

from newsarchive.model import FetchFailed

if TYPE_CHECKING:
    from scrapy.http import Request
    from twisted.python.failure import Failure


# Why Scrapy ignored a request, by a word of its message: robots.txt, the offsite filter, the
# redirect guard, or a compressed body that grew past DOWNLOAD_MAXSIZE (a gzip bomb) while
# being decompressed, which is a page too large like one whose download was cancelled.
# The setting's name is looked for first: the message names the response's URL too.
_IGNORED = (
    ("download_maxsize", "oversize"),
    ("robots", "robots"),
    ("offsite", "offsite"),
    ("redirect", "redirect"),
)


def failure_kind(exc: BaseException) -> str:
    """A short name for what went wrong: http, timeout, connection, truncated, oversize,
    redirect, offsite, robots, or fetch for anything else."""
    if isinstance(exc, HttpError):
        return "http"
    if isinstance(exc, DownloadTimeoutError | TimeoutError):
        return "timeout"
    if isinstance(exc, ResponseDataLossError):
        return "truncated"
    if isinstance(exc, DownloadCancelledError | CancelledError):
        # The only downloads the crawler cancels are those over DOWNLOAD_MAXSIZE.
        return "oversize"
    if isinstance(exc, IgnoreRequest):
        message = str(exc).lower()
        for word, kind in _IGNORED:
            if word in message:
                return kind
        return "fetch"
    if isinstance(
        exc,
        DownloadFailedError
        | DownloadConnectionRefusedError
        | CannotResolveHostError
        | ConnectError
        | ConnectionLost
        | ConnectionDone
        | ResponseFailed
        | ResponseNeverReceived,
    ):
        return "connection"
    return "fetch"


def failure_message(exc: BaseException) -> str:
    """One line saying what went wrong."""
    if isinstance(exc, HttpError) and exc.response is not None:
        return f"HTTP {exc.response.status}"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def first_url(request: Request) -> str:
    """The URL the spider asked for, before any redirect."""
    redirects = request.meta.get("redirect_urls") or []
    return str(redirects[0]) if redirects else request.url


def fetch_failed(
    source: str, failure: Failure, *, role: str, item_id: str | None = None
) -> FetchFailed | None:
    """The FetchFailed item for a request's final failure (None when it names no request)."""
    request: Request | None = getattr(failure, "request", None)
    exc = failure.value
    if request is None or exc is None:
        return None
    return FetchFailed(
        source, first_url(request), failure_kind(exc), failure_message(exc), role, item_id
    )
