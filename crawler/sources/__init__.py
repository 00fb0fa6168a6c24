"""The one registry of sources: GovHK, the bundled TOML configs beside this file, and those of
the user's sources folder (HKARCHIVE_SOURCES, else ``$XDG_CONFIG_HOME/hkarchive/sources``).
Every command and spider asks here which sources exist; a source added as a file (by hand or
by `hkarchive source add`) is crawled, reparsed, exported and checked like the others.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path

from crawler import settings as project_settings
from crawler.sources.config import SOURCES_DIR, SourceConfig, load_sources

GOVHK = "govhk"
# The press releases begin with the Hong Kong SAR, on 1 July 1997: a backfill from an earlier
# day would ask for thousands of index pages that never existed.
GOVHK_EARLIEST = date(1997, 7, 1)


def user_directory(folder: str | Path | None = None) -> Path:
    """The user's sources folder: `folder` when given (a crawl's HKARCHIVE_SOURCES setting),
    else the one the settings name. It may not exist yet."""
    return Path(folder or project_settings.HKARCHIVE_SOURCES).expanduser()


def configs(folder: str | Path | None = None) -> dict[str, SourceConfig]:
    """Every configured (non-GovHK) source by name: the bundled ones, then the user's (a file
    there replaces a bundled source of the same name). SourceConfigError names a bad file."""
    return _configs(str(user_directory(folder)))


def clear_cache() -> None:
    """Forget the sources read so far (after `hkarchive source add` wrote one)."""
    _configs.cache_clear()


@cache
def _configs(folder: str) -> dict[str, SourceConfig]:
    return load_sources(extra=Path(folder))


def bundled_names() -> set[str]:
    """The names of the sources shipped with hkarchive (GovHK's among them)."""
    return {GOVHK, *(path.stem for path in SOURCES_DIR.glob("*.toml"))}


def known_sources(folder: str | Path | None = None) -> list[str]:
    """The name of every source, sorted: what `hkarchive crawl` runs without SOURCE."""
    return sorted({GOVHK, *configs(folder)})


def earliest(name: str) -> date | None:
    """The first day a source has news for (None where it is not known)."""
    if name == GOVHK:
        return GOVHK_EARLIEST
    config = configs().get(name)
    return config.earliest if config is not None else None
