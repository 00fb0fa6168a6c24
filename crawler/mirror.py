"""Crawling from a mirror: the settings that make a crawl fetch from one (shared by settings.py
and the CLI) and the download handler that does it."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy.core.downloader.handlers.base import BaseDownloadHandler

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Request, Response

MIRROR_HANDLER = "crawler.mirror.MirrorDownloadHandler"


def check_mirror_url(url: str) -> str:
    """The mirror base URL without a trailing slash; ValueError naming the URL if it is not one."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 -- reading it checks it: ValueError when out of range or not a number
    except ValueError as exc:
        raise ValueError(f"invalid mirror URL {url!r}: {str(exc).lower()}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"invalid mirror URL {url!r}: expected http://HOST[:PORT][/PATH]")
    if any(c.isspace() or ord(c) < 32 for c in parts.netloc):
        raise ValueError(f"invalid mirror URL {url!r}: the host holds a space or control character")
    if parts.query or parts.fragment:
        raise ValueError(f"invalid mirror URL {url!r}: no query or fragment allowed")
    return url.strip().rstrip("/")


def is_loopback(url: str) -> bool:
    """True when the URL's host is this machine (127.0.0.0/8, ::1 or localhost)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def mirror_overrides(url: str) -> dict[str, Any]:
    """Settings for crawling through a mirror; politeness is lifted only for a loopback one."""
    base = check_mirror_url(url)
    overrides: dict[str, Any] = {
        "HKARCHIVE_MIRROR": base,
        "DOWNLOAD_HANDLERS": {"http": MIRROR_HANDLER, "https": MIRROR_HANDLER},
    }
    if is_loopback(base):
        overrides.update(
            ROBOTSTXT_OBEY=False,
            AUTOTHROTTLE_ENABLED=False,
            DOWNLOAD_DELAY=0,
            CONCURRENT_REQUESTS=32,
            CONCURRENT_REQUESTS_PER_DOMAIN=16,
        )
    return overrides


def mirror_url(base: str, url: str) -> str:
    """Return where `url` lives in the mirror at `base`: BASE/HOST/PATH?QUERY."""
    parts = urlsplit(url)
    # `hostname` already drops user info and port and lower-cases the name.
    host = parts.hostname
    if not host:
        raise ValueError(f"cannot mirror a URL without a host: {url!r}")
    mirrored = f"{base.rstrip('/')}/{host}{parts.path or '/'}"
    if parts.query:
        mirrored += f"?{parts.query}"
    return mirrored


class MirrorDownloadHandler(BaseDownloadHandler):
    """HTTP(S) download handler that fetches from the mirror named by HKARCHIVE_MIRROR.

    Only the download is redirected: the response comes back with the original URL, so
    middlewares, the dupefilter, stats and items never see the mirror. Without the setting
    it is the stock HTTP/1.1 handler.
    """

    # Built at the first request: a crawl that fetches nothing (a re-crawl of settled days)
    # never loads Scrapy's HTTP/1.1 client and its TLS stack, half a second of start-up.
    lazy = True

    def __init__(self, crawler: Crawler) -> None:
        """Read the mirror base URL from the HKARCHIVE_MIRROR setting."""
        super().__init__(crawler)
        from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler

        self.http = HTTP11DownloadHandler(crawler)
        base = str(crawler.settings.get("HKARCHIVE_MIRROR") or "").strip().rstrip("/")
        self.mirror_base: str | None = base or None

    async def download_request(self, request: Request) -> Response:
        """Download `request` from the mirror when one is set, else from the web."""
        base = self.mirror_base
        if base is None or request.url == base or request.url.startswith(f"{base}/"):
            return await self.http.download_request(request)
        # A proxy chosen for the real host (e.g. from https_proxy) cannot reach a local mirror.
        headers = request.headers.copy()
        headers.pop(b"Proxy-Authorization", None)
        mirrored = request.replace(
            url=mirror_url(base, request.url),
            meta={**request.meta, "proxy": None},
            headers=headers,
        )
        response = await self.http.download_request(mirrored)
        return response.replace(url=request.url)

    async def close(self) -> None:
        """Close the HTTP/1.1 client's connections."""
        await self.http.close()
