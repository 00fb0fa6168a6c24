"""The one registry of sources: GovHK, the bundled TOML configs beside this file, and those of
the directory named by HKARCHIVE_SOURCES. Every command and spider asks here which sources
exist; a source added as a file is crawled, reparsed, exported and checked like the others.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path

from crawler import settings as project_settings
from crawler.sources.config import SourceConfig, load_sources

GOVHK = "govhk"
# The press releases begin with the Hong Kong SAR, on 1 July 1997: a backfill from an earlier
# day would ask for thousands of index pages that never existed.
GOVHK_EARLIEST = date(1997, 7, 1)


def extra_directory() -> str | None:
    """The directory of extra source files (HKARCHIVE_SOURCES, read by the settings), if any."""
    extra: str | None = project_settings.HKARCHIVE_SOURCES
    return extra


def configs() -> dict[str, SourceConfig]:
    """Every configured (non-GovHK) source by name: the bundled ones, then the extra ones (a
    file there replaces a bundled source of the same name). SourceConfigError names a bad file."""
    return _configs(extra_directory())


@cache
def _configs(extra: str | None) -> dict[str, SourceConfig]:
    return load_sources(extra=Path(extra) if extra else None)


def known_sources() -> list[str]:
    """The name of every source, sorted: what `hkarchive crawl` runs without SOURCE."""
    return sorted({GOVHK, *configs()})


def earliest(name: str) -> date | None:
    """The first day a source has news for (None where it is not known)."""
    if name == GOVHK:
        return GOVHK_EARLIEST
    config = configs().get(name)
    return config.earliest if config is not None else None
