"""What a crawl skips: settled index pages of past days, and archived items not yet due.

The archive is built by hand (runs, listing pages, items), so each rule is tested on its own,
without a crawl.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlite_utils

from crawler.seen import Seen, SeenState
from newsarchive.archive import open_archive
from newsarchive.articles import upsert_article
from newsarchive.model import ListingRead
from newsarchive.runs import finish_run, record_listing, start_run
from newsarchive.urls import govhk_index_url
from tests.test_archive import make_article

DAY = date(2024, 5, 1)
INDEX = govhk_index_url(DAY, "en")
# Read on the day itself, the next day, and two days after.
SAME_DAY, NEXT_DAY, TWO_DAYS_AFTER = (
    "2024-05-01T23:30:00+08:00",
    "2024-05-02T23:30:00+08:00",
    "2024-05-03T00:10:00+08:00",
)
NOW = "2024-05-10T12:00:00+08:00"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "archive.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[sqlite_utils.Database]:
    archive = open_archive(db_path)
    yield archive
    archive.close()


def read_index(
    db: sqlite_utils.Database,
    url: str,
    at: str,
    *,
    status: str = "finished",
    errors: int = 0,
) -> None:
    """A run that read url at a time, and ended as said (a running run has not ended)."""
    run = start_run(db, "govhk", {}, at)
    record_listing(db, ListingRead("govhk", url, 200, 12), at=at, run_id=run)
    if status != "running":
        finish_run(db, run, {"finished_at": at, "status": status, "errors": errors})


def settled(db_path: Path, *urls: str, refresh: bool = False) -> set[str]:
    state = SeenState(db_path, NOW, refresh=refresh)
    try:
        return state.settled(urls)
    finally:
        state.close()


# --- Index pages -------------------------------------------------------------------------------


def test_a_day_read_in_full_two_days_after_is_settled(
    db: sqlite_utils.Database, db_path: Path
) -> None:
    read_index(db, INDEX, TWO_DAYS_AFTER)
    assert settled(db_path, INDEX) == {INDEX}
    assert settled(db_path, INDEX, refresh=True) == set(), "--refresh reads every page again"


@pytest.mark.parametrize("at", [SAME_DAY, NEXT_DAY], ids=["the same day", "the next day"])
def test_a_day_read_before_its_list_was_complete_is_read_again(
    db: sqlite_utils.Database, db_path: Path, at: str
) -> None:
    # A day's list still grows on the day and the next.
    read_index(db, INDEX, at)
    assert settled(db_path, INDEX) == set()


@pytest.mark.parametrize(
    ("status", "errors"),
    [("finished", 1), ("finished", 3), ("failed", 0), ("running", 0), ("interrupted", 0)],
    ids=["one error", "three errors", "failed", "killed, still running", "interrupted"],
)
def test_a_day_read_by_a_run_that_did_not_end_cleanly_is_read_again(
    db: sqlite_utils.Database, db_path: Path, status: str, errors: int
) -> None:
    # The run's errors may have been releases of that very page it could not fetch.
    read_index(db, INDEX, TWO_DAYS_AFTER, status=status, errors=errors)
    assert settled(db_path, INDEX) == set()


def test_only_the_pages_asked_about_and_read_are_settled(
    db: sqlite_utils.Database, db_path: Path
) -> None:
    chinese, other_day = govhk_index_url(DAY, "zh"), govhk_index_url(date(2024, 5, 2), "en")
    read_index(db, INDEX, TWO_DAYS_AFTER)
    read_index(db, chinese, TWO_DAYS_AFTER, errors=1)
    assert settled(db_path, INDEX, chinese, other_day) == {INDEX}


# --- Items: new, due, or left alone ----------------------------------------------------------

DUE_AT = "2024-05-10T12:00:00+08:00"


def seen(next_visit_at: str | None) -> Seen:
    return Seen("govhk:P2024050100001", "https://www.info.gov.hk/x.htm", next_visit_at, None, None)


@pytest.mark.parametrize(
    ("next_visit_at", "now", "due"),
    [
        (DUE_AT, "2024-05-10T11:59:59+08:00", False),
        (DUE_AT, DUE_AT, True),
        (DUE_AT, "2024-05-12T00:00:00+08:00", True),
        (None, "2030-01-01T00:00:00+08:00", False),  # past the last revisit: never due again
    ],
    ids=["a second early", "on time", "late", "no revisit left"],
)
def test_an_archived_item_is_due_from_its_appointment_on(
    next_visit_at: str | None, now: str, due: bool, tmp_path: Path
) -> None:
    item = seen(next_visit_at)
    assert item.due(now) is due
    state = SeenState(tmp_path / "none.db", now)
    assert state.wanted(item) is due
    assert state.wanted(None), "an item the archive lacks is always fetched"
    assert SeenState(tmp_path / "none.db", now, refresh=True).wanted(item), "--refresh"


def test_the_archive_lists_the_items_due_oldest_appointment_first(
    db: sqlite_utils.Database, db_path: Path
) -> None:
    first_seen = {
        "P2024050900001": "2024-05-09T11:30:00+08:00",  # next visit 12:30 on the 9th: due
        "P2024051000002": "2024-05-10T11:00:00+08:00",  # next visit at 12:00 now: due
        "P2024051000003": "2024-05-10T11:30:00+08:00",  # next visit 12:30: not yet
        "P2024040100004": "2024-04-01T00:00:00+08:00",  # seen again below: no visit left
    }
    for native_id, at in first_seen.items():
        upsert_article(db, make_article(native_id=native_id), seen_at=at, run_id=None)
    upsert_article(db, make_article(native_id="P2024040100004"),
                   seen_at="2024-04-09T00:00:00+08:00", run_id=None)  # fmt: skip
    upsert_article(db, make_article(native_id="P2024050900005", lang="zh"),
                   seen_at="2024-05-09T11:30:00+08:00", run_id=None)  # fmt: skip
    state = SeenState(db_path, NOW)
    try:
        assert [s.id for s in state.due("govhk", ["en"])] == [
            "govhk:P2024050900001",
            "govhk:P2024051000002",
        ]
        assert [s.id for s in state.due("govhk", ["zh"])] == ["govhk:P2024050900005"]
        assert list(state.due("cairs", ["en"])) == []
    finally:
        state.close()
