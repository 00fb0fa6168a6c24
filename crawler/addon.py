"""The project's Scrapy add-on: the one place a crawl's mirror and override settings apply.

`scrapy crawl` (HKARCHIVE_MIRROR and HKARCHIVE_OVERRIDES from the environment, read by
settings.py) and `hkarchive crawl` (--mirror, set as HKARCHIVE_MIRROR) both reach it when the
crawler is built: the mirror's settings first (crawler/mirror.py: its download handler, and no
politeness for a loopback mirror), then the overrides, which win over them.
"""

from __future__ import annotations

from typing import Any

from crawler.mirror import mirror_overrides

# Above the project's settings.py, which they change (Scrapy's own "addon" priority is below
# it), and below the command line's.
PRIORITY = "spider"


class ArchiveAddon:
    """Applies HKARCHIVE_MIRROR's settings, then HKARCHIVE_OVERRIDES; with HKARCHIVE_MEDIA,
    several items of a response wait for their downloads together (MEDIA_CONCURRENT_ITEMS)."""

    def update_settings(self, settings: Any) -> None:
        if settings.getbool("HKARCHIVE_MEDIA"):
            settings.set(
                "CONCURRENT_ITEMS", settings.getint("MEDIA_CONCURRENT_ITEMS"), priority=PRIORITY
            )
        mirror = settings.get("HKARCHIVE_MIRROR")
        if mirror:
            settings.update(mirror_overrides(mirror), priority=PRIORITY)
        settings.update(settings.getdict("HKARCHIVE_OVERRIDES"), priority=PRIORITY)
