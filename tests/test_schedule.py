"""Scheduled crawling: what is new, revisits on a decaying schedule, conditional requests,
revisions. The crawl's clock is frozen (HKARCHIVE_NOW) to step through the schedule."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from hkarchive.mirror import MirrorServer
from newsarchive.archive import open_archive
from tests.conftest import MIRROR, Result, run_cli
from tests.conftest import rows as query

T0 = "2022-05-25T21:00:00+08:00"
LATER = {
    "ten minutes": "2022-05-25T21:10:00+08:00",
    "two hours": "2022-05-25T23:00:00+08:00",
    "a day and a bit": "2022-05-26T21:30:00+08:00",
}
GOVHK = MIRROR / "www.info.gov.hk"
# Listed by the feeds and the index pages of 2022-05-24 and 2022-05-25 (the 24th has none).
EXPECTED = {"govhk:P2022052500588", "govhk:P2022052500584", "govhk:P2022062100598"}
CHANGED = "govhk:P2022062100598"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A copy of the part of the mirror an incremental crawl of 2022-05-25 reads."""
    root = tmp_path / "mirror"
    for part in ("gia/rss", "gia/general/202205", "gia/general/202206"):
        shutil.copytree(GOVHK / part, root / "www.info.gov.hk" / part)
    return root


def crawl(server: MirrorServer, db: Path, now: str, *args: str) -> Result:
    server.reset_counts()
    result = run_cli("crawl", "govhk", *args, "--mirror", server.url, "--db", str(db),
                     env={"HKARCHIVE_NOW": now})  # fmt: skip
    assert result.code == 0, result.stderr[-3000:]
    return result


def release_hits(server: MirrorServer, status: int) -> int:
    return sum(n for path, n in server.hits_for(status).items() if "/P20" in path)


def last_stats(db: Path) -> dict[str, Any]:
    [(stats,)] = query(db, "SELECT stats FROM crawl_runs ORDER BY id DESC LIMIT 1")
    data: dict[str, Any] = json.loads(stats)
    return data


def test_incremental_crawl_reads_feeds_and_recent_indexes(site: Path, tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    with MirrorServer(site).start() as server:
        crawl(server, db, T0)
        hits = server.hits
    assert {r[0] for r in query(db, "SELECT id FROM articles")} == EXPECTED
    assert hits["/www.info.gov.hk/gia/rss/general_en.xml"] == 1
    assert hits["/www.info.gov.hk/gia/general/202205/24.htm"] == 1, "yesterday's index too"
    assert query(db, "SELECT DISTINCT first_seen_at, next_visit_at FROM articles") == [
        (T0, "2022-05-25T22:00:00+08:00")
    ]


def test_schedule_skips_then_revisits_conditionally_then_records_a_revision(
    site: Path, tmp_path: Path
) -> None:
    db = tmp_path / "archive.db"
    with MirrorServer(site).start() as server:
        crawl(server, db, T0)
        crawl(server, db, LATER["ten minutes"])
        assert release_hits(server, 200) + release_hits(server, 304) == 0, "nothing is due"
        assert query(db, "SELECT items_new, items_updated, items_unchanged FROM crawl_runs "
                     "ORDER BY id DESC LIMIT 1") == [(0, 0, 0)]  # fmt: skip

        crawl(server, db, LATER["two hours"])
        assert release_hits(server, 304) == len(EXPECTED), "due revisits are conditional"
        assert release_hits(server, 200) == 0
        assert last_stats(db)["hkarchive/items_not_modified"] == len(EXPECTED)
        assert query(db, "SELECT DISTINCT visits, next_visit_at FROM articles") == [
            (2, "2022-05-26T21:00:00+08:00")
        ]

        page = site / "www.info.gov.hk/gia/general/202206/21/P2022062100598.htm"
        text = page.read_bytes()
        page.write_bytes(
            text.replace(b"Following is the speech", b"Following is the corrected speech")
        )
        crawl(server, db, LATER["a day and a bit"])
        assert release_hits(server, 200) == 1, "only the changed page is sent in full"
    assert query(db, "SELECT article_id, version FROM article_versions") == [(CHANGED, 1)]
    [(body, changed_at)] = query(
        db, "SELECT body_text, last_changed_at FROM articles WHERE id = ?", (CHANGED,)
    )
    assert "Following is the corrected speech" in body
    assert changed_at == LATER["a day and a bit"]
    shown = run_cli("history", CHANGED, "--db", str(db))
    assert shown.code == 0, shown.stderr
    assert "2 versions" in shown.stdout
    assert any(line.startswith("+") and "corrected speech" in line
               for line in shown.stdout.splitlines())  # fmt: skip


def test_refresh_fetches_what_is_not_due_and_one_change_makes_one_version(
    site: Path, tmp_path: Path
) -> None:
    db = tmp_path / "archive.db"
    with MirrorServer(site).start() as server:
        crawl(server, db, T0)
        page = site / "www.info.gov.hk/gia/general/202206/21/P2022062100598.htm"
        text = page.read_bytes()
        page.write_bytes(text.replace(b"Following is the speech", b"Following is the full speech"))
        crawl(server, db, LATER["ten minutes"], "--refresh")
        assert release_hits(server, 200) == 1
        assert release_hits(server, 304) == len(EXPECTED) - 1
    assert query(db, "SELECT article_id FROM article_versions") == [(CHANGED,)]
    assert query(db, "SELECT count(*) FROM articles") == [(len(EXPECTED),)]


def test_history_of_an_unknown_item_is_a_usage_error(tmp_path: Path) -> None:
    open_archive(tmp_path / "a.db").close()  # history reads an archive; it never creates one
    result = run_cli("history", "govhk:nope", "--db", str(tmp_path / "a.db"))
    assert result.code == 2
    assert "no article 'govhk:nope'" in result.stderr
