"""Run `hkarchive` on an archive that may grow by only a few pages: a full disk, simulated.

    python -m tests.diskfull PAGES crawl govhk --db archive.db ...

Every connection hkarchive opens on the archive may add at most PAGES pages to it
(``PRAGMA max_page_count``), so a write beyond that fails with SQLITE_FULL, as it does when the
disk is full: the tests meet a full disk without mounting a small file system.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import sqlite_utils

from newsarchive import archive


def limit_growth(pages: int) -> None:
    """Make every archive opened from now on refuse to grow by more than pages pages.

    Patched before the CLI and the pipelines import open_archive, so they all get this one.
    """
    real = archive.open_archive

    def limited(path: str | Path, **kwargs: Any) -> sqlite_utils.Database:
        db = real(path, **kwargs)
        size = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {int(size) + pages}")
        return db

    archive.open_archive = limited


def main(argv: list[str]) -> int:
    limit_growth(int(argv[0]))
    from hkarchive.cli import main as hkarchive

    return hkarchive(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
