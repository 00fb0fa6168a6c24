"""Scrapy's process and the project's settings, as the commands that crawl start them."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

import click

from hkarchive.cli.options import usage_error


def project_settings() -> Any:
    """The project's settings (crawler/settings.py), to which a command adds its own."""
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    return settings


def crawl_settings(
    db_path: str, mirror: str | None, log_level: str, extra: dict[str, Any] | None = None
) -> Any:
    """The project's settings for a crawl into the archive at db_path, through the mirror if
    one is given, logging at log_level, with the command's own settings (`extra`) last."""
    settings = project_settings()
    settings.set("HKARCHIVE_DB", db_path, priority="cmdline")
    settings.set("LOG_LEVEL", log_level, priority="cmdline")
    if mirror:
        # Its settings are applied by the project's add-on (crawler/addon.py).
        settings.set("HKARCHIVE_MIRROR", mirror, priority="cmdline")
    settings.update(extra or {}, priority="cmdline")
    return settings


def process_class() -> type[Any]:
    """Scrapy's CrawlerProcess, remembering the signal that asked it to stop."""
    from scrapy.crawler import CrawlerProcess

    class Process(CrawlerProcess):
        """Scrapy's process, remembering the signal that asked it to stop."""

        stopped_by: int | None = None

        def _signal_shutdown(self, signum: int, frame: Any) -> None:
            self.stopped_by = signum
            super()._signal_shutdown(signum, frame)

    return Process


def check_mirror_reachable(url: str) -> None:
    """Stop (exit 1, one line) unless something listens at the mirror's address."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=5).close()
    except OSError as exc:
        raise click.ClickException(f"cannot connect to the mirror at {url}: {exc}") from exc


def usable_mirror(mirror: str | None) -> str | None:
    """The mirror's base URL, checked: a usage error when it is not one, exit 1 when nothing
    listens there; None without a mirror."""
    if not mirror:
        return None
    from crawler.mirror import check_mirror_url  # Scrapy's: loaded by commands that crawl

    try:
        mirror = check_mirror_url(mirror)
    except ValueError as exc:
        usage_error(str(exc))
    check_mirror_reachable(mirror)
    return mirror
