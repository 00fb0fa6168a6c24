"""The raw captures, read back: where each kept response is (raw_captures rows).

The responses themselves are records in WARC files beside the archive, written during a crawl
by the raw-capture middleware (crawler/middlewares/rawcapture.py), which also reads them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlite_utils

from newsarchive.db import placeholders


@dataclass(frozen=True)
class CaptureRef:
    """A row of raw_captures: where one response is kept."""

    id: int
    source: str
    url: str
    fetched_at: str
    warc_file: str
    offset: int
    length: int | None

    @property
    def label(self) -> str:
        return f"capture {self.id} ({self.url})"


# Per source and URL, the latest capture the server answered with 200.
_LATEST_SQL = """
SELECT id, source, url, fetched_at, warc_file, warc_offset, warc_length FROM (
  SELECT *, row_number() OVER (
    PARTITION BY source, url ORDER BY fetched_at DESC, id DESC
  ) AS rank
  FROM raw_captures WHERE status = 200 AND source IN ({sources})
) WHERE rank = 1 ORDER BY fetched_at DESC, id DESC
"""


def latest_captures(db: sqlite_utils.Database, sources: Sequence[str]) -> list[CaptureRef]:
    """Each URL's latest capture with status 200 among the sources, newest first."""
    sql = _LATEST_SQL.format(sources=placeholders(sources))
    return [CaptureRef(*row) for row in db.execute(sql, list(sources)).fetchall()]
