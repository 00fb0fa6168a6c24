"""Settings that make a crawl fetch from a mirror, shared by settings.py and the CLI."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

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
