"""Run records and `hkarchive runs` / `hkarchive check`, on tiny hand-built archives."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from click.testing import CliRunner

from hkarchive.cli.health import check, format_duration, runs
from hkarchive.mirror import MirrorServer
from newsarchive.archive import open_archive
from newsarchive.articles import upsert_article
from newsarchive.clock import HKT
from newsarchive.db import ArchiveError
from newsarchive.health import (
    CoverageTally,
    Problem,
    check_archive,
    daily_sources,
    failures_from_stats,
    run_health_values,
    search_index_problems,
    unchecked,
)
from newsarchive.linking.steps import link_queued
from newsarchive.linking.stories import link_stories
from newsarchive.model import FIRST_SEEN, FIRST_WORDS, Article, Photo
from newsarchive.search import COLUMNS, TABLE, index_row
from pipelines.normalize import normalize_article
from tests.conftest import run_cli

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=HKT)
STEADY = {"title": 1.0, "date": 1.0, "body": 1.0, "images": 0.6, "items": 20}


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "archive.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[sqlite_utils.Database]:
    archive = open_archive(db_path)
    yield archive
    archive.close()


_ids = count(1)


def add_run(
    db: sqlite_utils.Database,
    spider: str = "govhk",
    *,
    ago: timedelta = timedelta(hours=1),
    minutes: float = 3,
    status: str = "finished",
    errors: int = 0,
    failures: int = 0,
    coverage: dict[str, Any] | None = None,
    pid: int | None = 4242,
    arguments: dict[str, Any] | None = None,
) -> int:
    started = NOW - ago
    row = {
        "spider": spider,
        "arguments": json.dumps(arguments or {}),
        "started_at": started.isoformat(),
        "finished_at": None
        if status == "running"
        else (started + timedelta(minutes=minutes)).isoformat(),
        "status": status,
        "finish_reason": {"running": None, "finished": "finished"}.get(status, "shutdown"),
        "pages_fetched": 30,
        "index_pages_missing": 0,
        "items_new": 4,
        "items_updated": 1,
        "items_unchanged": 15,
        "items_dropped": 0,
        "errors": errors,
        "stats": "{}",
        "requests": 31,
        "responses_not_modified": 12,
        "failures": failures,
        "coverage": json.dumps({spider: coverage or STEADY}),
        "pid": pid,
    }
    db.table("crawl_runs").insert(row)
    return int(db.execute("SELECT max(id) FROM crawl_runs").fetchone()[0])


def add_article(
    db: sqlite_utils.Database, source: str, published: datetime, *, seen: datetime | None = None
) -> None:
    n = next(_ids)
    db.table("articles").insert(
        {
            "id": f"{source}:{n}",
            "source": source,
            "native_id": str(n),
            "url": f"https://example.org/{source}/{n}",
            "lang": "en",
            "title": f"Item {n}",
            "published_at": published.isoformat(),
            "body_text": "Body",
            "content_hash": f"h{n}",
            "first_seen_at": (seen or published).isoformat(),
        }
    )
    link_stories(db, [f"{source}:{n}"])  # as the crawl that stored it does


def daily_items(db: sqlite_utils.Database, source: str, days: range) -> None:
    """One item a day, ``days`` days before NOW."""
    for back in days:
        add_article(db, source, NOW - timedelta(days=back))


def healthy(db: sqlite_utils.Database) -> None:
    """GovHK crawled hourly and publishing daily, CAiRS every few days: nothing to report."""
    for hours in range(8, 0, -1):
        add_run(db, "govhk", ago=timedelta(hours=hours))
    add_run(db, "cairs", ago=timedelta(hours=2), coverage={**STEADY, "images": 1.0})
    daily_items(db, "govhk", range(40))
    daily_items(db, "cairs", range(0, 40, 7))


def kinds(problems: list[Problem]) -> list[tuple[str, str]]:
    return [(p.kind, p.source) for p in problems]


# --- what a run records ---------------------------------------------------------------------


def _article(source: str, **fields: Any) -> Article:
    base: dict[str, Any] = {
        "source": source,
        "native_id": "1",
        "url": "https://example.org/1",
        "lang": "en",
        "title": "A title",
        "published_at": "2024-05-10T10:00:00+08:00",
        "body_text": "A body",
        "body_html": "<p>A body</p>",
    }
    return Article(**{**base, **fields})


def test_coverage_is_the_share_of_stored_items_with_each_field_per_source() -> None:
    tally = CoverageTally()
    tally.add(_article("govhk", photos=[Photo(url="https://example.org/1.jpg")]))
    tally.add(_article("govhk", published_at=None))
    tally.add(_article("govhk", title="  ", body_text=""))
    tally.add(_article("govhk"))
    tally.add(_article("cairs"))
    # Titled by its first words and dated when first seen: the site gave neither.
    tally.add(_article("cairs", extraction={"title": FIRST_WORDS, "published_at": FIRST_SEEN}))
    assert tally.as_dict() == {
        "cairs": {"title": 0.5, "date": 0.5, "body": 1.0, "images": 0.0, "items": 2},
        "govhk": {"title": 0.75, "date": 0.75, "body": 0.75, "images": 0.25, "items": 4},
    }


def test_failures_are_finally_failed_requests_unextractable_pages_and_crashed_callbacks() -> None:
    stats = {
        "hkarchive/release_failed": 2,
        "hkarchive/index_failed": 1,
        "hkarchive/extract_failed": 3,
        "hkarchive/request_failed": 1,
        "spider_exceptions/count": 1,
        "hkarchive/fallback/feed": 1,  # a fallback is not a failure
        "hkarchive/index_missing": 4,  # a missing day is counted apart
        "retry/count": 9,  # retried attempts that may have succeeded
        "downloader/exception_count": 9,
    }
    assert failures_from_stats(stats) == 8


def test_run_values_come_from_the_crawl_stats() -> None:
    tally = CoverageTally()
    tally.add(_article("govhk"))
    values = run_health_values(
        {"downloader/request_count": 40, "downloader/response_status_count/304": 25}, tally
    )
    assert values["requests"] == 40
    assert values["responses_not_modified"] == 25
    assert values["failures"] == 0
    assert json.loads(values["coverage"])["govhk"]["items"] == 1
    assert isinstance(values["pid"], int)


def test_a_crawl_records_requests_failures_coverage_and_pid(
    mirror_server: MirrorServer, tmp_path: Path
) -> None:
    db = tmp_path / "archive.db"
    result = run_cli(
        "crawl", "govhk", "--since", "2022-05-25", "--until", "2022-05-25", "--lang", "en",
        "--mirror", mirror_server.url, "--db", str(db),
    )  # fmt: skip
    assert result.code == 0, result.stderr[-3000:]
    conn = sqlite3.connect(db)
    try:
        requests, not_modified, failures, coverage, pid = conn.execute(
            "SELECT requests, responses_not_modified, failures, coverage, pid FROM crawl_runs"
        ).fetchone()
    finally:
        conn.close()
    assert requests >= 2  # the index page and the release, robots.txt aside
    assert (not_modified, failures) == (0, 0)
    assert json.loads(coverage) == {
        "govhk": {"title": 1.0, "date": 1.0, "body": 1.0, "images": 1.0, "items": 1}
    }
    assert isinstance(pid, int)
    assert pid > 0


# --- the checks ---------------------------------------------------------------------------------


def test_a_healthy_archive_has_no_problems(db: sqlite_utils.Database) -> None:
    healthy(db)
    assert check_archive(db, now=NOW) == []


def test_an_empty_archive_is_reported(db: sqlite_utils.Database) -> None:
    assert kinds(check_archive(db, now=NOW)) == [("no-runs", "archive")]


def test_a_failed_last_run_is_reported_per_source(db: sqlite_utils.Database) -> None:
    healthy(db)
    run = add_run(db, "govhk", ago=timedelta(minutes=30), status="failed", errors=2, failures=5)
    problems = check_archive(db, now=NOW)
    assert kinds(problems) == [("failed", "govhk")]
    message = str(problems[0])
    assert message.startswith(f"govhk: last run {run},")
    assert "status failed" in message
    assert "2 errors" in message
    assert "5 failed requests" in message


def test_errors_in_a_finished_last_run_are_reported(db: sqlite_utils.Database) -> None:
    healthy(db)
    add_run(db, "cairs", ago=timedelta(minutes=10), errors=1)
    assert kinds(check_archive(db, now=NOW)) == [("failed", "cairs")]


def test_an_earlier_failure_followed_by_a_good_run_is_not_reported(
    db: sqlite_utils.Database,
) -> None:
    healthy(db)
    add_run(db, "govhk", ago=timedelta(minutes=40), status="failed", errors=3)
    add_run(db, "govhk", ago=timedelta(minutes=20))
    assert check_archive(db, now=NOW) == []


def test_a_run_left_running_by_a_dead_process_is_reported(db: sqlite_utils.Database) -> None:
    healthy(db)
    run = add_run(db, "govhk", ago=timedelta(minutes=20), status="running", pid=999_999)
    problems = check_archive(db, now=NOW, running_pids=set())
    assert kinds(problems) == [("interrupted", "govhk")]
    assert f"last run {run}" in problems[0].message
    assert "pid 999999" in problems[0].message


def test_a_run_marked_interrupted_by_a_later_crawl_is_reported(
    db: sqlite_utils.Database,
) -> None:
    healthy(db)
    add_run(db, "cairs", ago=timedelta(minutes=20), status="interrupted", pid=999_999)
    problems = check_archive(db, now=NOW, running_pids=set())
    assert kinds(problems) == [("interrupted", "cairs")]
    assert "never finished" in problems[0].message


def test_a_run_in_progress_is_judged_by_the_run_before_it(db: sqlite_utils.Database) -> None:
    healthy(db)
    add_run(db, "govhk", ago=timedelta(minutes=20), status="running", pid=4321)
    assert check_archive(db, now=NOW, running_pids={4321}) == []
    add_run(db, "cairs", ago=timedelta(minutes=50), status="failed", errors=1)
    add_run(db, "cairs", ago=timedelta(minutes=5), status="running", pid=4321)
    assert kinds(check_archive(db, now=NOW, running_pids={4321})) == [("failed", "cairs")]


def test_a_run_in_progress_for_too_long_is_reported_as_stuck(db: sqlite_utils.Database) -> None:
    healthy(db)
    add_run(db, "govhk", ago=timedelta(hours=13), status="running", pid=4321)
    problems = check_archive(db, now=NOW, running_pids={4321})
    assert kinds(problems) == [("stuck", "govhk")]
    assert "pid 4321" in problems[0].message


def test_govhk_without_new_items_for_n_days_is_reported(db: sqlite_utils.Database) -> None:
    add_run(db, "govhk")
    daily_items(db, "govhk", range(3, 40))
    problems = check_archive(db, now=NOW, silent_days=2)
    assert kinds(problems) == [("silent", "govhk")]
    assert "2024-05-07" in problems[0].message
    assert check_archive(db, now=NOW, silent_days=3) == []


MIRROR_RUN = {"mirror": "http://127.0.0.1:8000", "since": "2017-07-01", "until": "2022-06-21"}
# A backfill of past days, as `hkarchive crawl --since 2017-07-01 --until 2022-06-21` records it.
BACKFILL = {"since": "2017-07-01", "until": "2022-06-21", "incremental": False}


def test_a_source_crawled_only_from_a_mirror_is_not_checked_for_silence_and_says_why(
    db: sqlite_utils.Database,
) -> None:
    run = add_run(db, "govhk", arguments=MIRROR_RUN)
    add_article(db, "govhk", datetime(2022, 6, 21, 10, 0, tzinfo=HKT), seen=NOW)
    assert check_archive(db, now=NOW) == []
    notes = [str(note) for note in unchecked(db, now=NOW)]
    assert notes[0].startswith("archive: not checked for a stopped schedule")
    assert notes[1] == (
        "govhk: not checked for silence: no run of it crawled the live site's current days "
        f"(the last, run {run}, went through the mirror http://127.0.0.1:8000, for 2017-07-01 "
        "to 2022-06-21); its newest item was published on 2022-06-21"
    )


def test_a_backfill_of_past_days_is_not_a_live_crawl(db: sqlite_utils.Database) -> None:
    add_run(db, "govhk", ago=timedelta(days=5), arguments=BACKFILL)
    daily_items(db, "govhk", range(900, 940))
    assert check_archive(db, now=NOW) == [], "neither silent nor a stopped schedule"
    [_, govhk] = unchecked(db, now=NOW)
    assert "was a backfill of 2017-07-01 to 2022-06-21" in govhk.message
    # A window reaching the day before the crawl (--since "3 days ago") is live.
    recent = {"since": "2024-05-06", "until": "2024-05-09", "incremental": False}
    add_run(db, "govhk", ago=timedelta(hours=1), arguments=recent)
    assert kinds(check_archive(db, now=NOW)) == [("silent", "govhk")]
    assert unchecked(db, now=NOW) == []


def test_what_is_not_checked_is_said_without_a_window_or_items(db: sqlite_utils.Database) -> None:
    add_run(db, "govhk", arguments={"mirror": "http://127.0.0.1:8000"})
    [_, govhk] = unchecked(db, now=NOW)
    assert govhk.message.endswith(
        "(the last, run 1, went through the mirror http://127.0.0.1:8000); it has no items"
    )


def test_a_live_source_gone_silent_is_reported_whatever_was_backfilled_since(
    db: sqlite_utils.Database,
) -> None:
    live = add_run(db, "govhk", ago=timedelta(days=1))
    daily_items(db, "govhk", range(4, 40))
    # Then a backfill of 2017 (items archived just now) and a crawl of a mirror.
    add_run(db, "govhk", ago=timedelta(hours=2), arguments=BACKFILL)
    add_article(db, "govhk", datetime(2017, 7, 1, 10, 0, tzinfo=HKT), seen=NOW)
    add_run(db, "govhk", ago=timedelta(hours=1), arguments=MIRROR_RUN)
    [problem] = check_archive(db, now=NOW)
    assert (problem.kind, problem.source) == ("silent", "govhk")
    assert problem.message == (
        "no new items for more than 2 days: the newest item was published on 2024-05-06; it "
        f"was last crawled live by run {live}, started {(NOW - timedelta(days=1)).isoformat()} "
        "(it normally publishes daily)"
    )
    assert unchecked(db, now=NOW) == []


def test_a_schedule_stopped_is_reported_however_recent_a_backfill_is(
    db: sqlite_utils.Database,
) -> None:
    live = add_run(db, "cairs", ago=timedelta(days=3))
    add_run(db, "cairs", ago=timedelta(hours=1), arguments=BACKFILL)
    daily_items(db, "cairs", range(3, 40, 7))
    [problem] = check_archive(db, now=NOW)
    assert (problem.kind, problem.source) == ("stale", "archive")
    assert f"(the last, run {live} of cairs," in problem.message


def test_check_of_a_mirror_archive_says_what_it_did_not_check_and_exits_0(
    db: sqlite_utils.Database, db_path: Path
) -> None:
    now = datetime.now(HKT)
    db.table("crawl_runs").insert({"spider": "govhk", "arguments": json.dumps(MIRROR_RUN),
                                   "started_at": now.isoformat(), "status": "finished",
                                   "errors": 0})  # fmt: skip
    add_article(db, "govhk", datetime(2022, 6, 21, 10, 0, tzinfo=HKT), seen=now)
    result = CliRunner().invoke(check, ["--db", str(db_path)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("archive: not checked for a stopped schedule: ")
    assert lines[1].startswith("govhk: not checked for silence: ")
    assert lines[2].startswith("ok: ")
    assert result.stderr == ""


def test_a_source_that_publishes_on_most_days_counts_as_daily(
    db: sqlite_utils.Database,
) -> None:
    add_run(db, "cpii")
    add_run(db, "cairs")
    # CPII: items on 20 of the 30 days before the last two; CAiRS: weekly.
    for back in range(5, 35):
        if back % 3:
            add_article(db, "cpii", NOW - timedelta(days=back))
    daily_items(db, "cairs", range(5, 40, 7))
    assert daily_sources(db, today=NOW.date(), silent_days=2) == ["cpii"]
    assert kinds(check_archive(db, now=NOW)) == [("silent", "cpii")]


def test_items_dated_in_the_future_do_not_hide_a_silence(db: sqlite_utils.Database) -> None:
    add_run(db, "govhk")
    daily_items(db, "govhk", range(4, 40))
    add_article(db, "govhk", NOW + timedelta(days=30))
    assert kinds(check_archive(db, now=NOW)) == [("silent", "govhk")]


def test_an_archive_no_crawl_has_touched_for_n_days_is_reported(
    db: sqlite_utils.Database,
) -> None:
    add_run(db, "cairs", ago=timedelta(days=3))
    daily_items(db, "cairs", range(3, 40, 7))
    problems = check_archive(db, now=NOW, silent_days=2)
    assert kinds(problems) == [("stale", "archive")]
    assert check_archive(db, now=NOW, silent_days=4) == []


def test_a_drop_in_coverage_below_the_recent_median_is_reported(
    db: sqlite_utils.Database,
) -> None:
    healthy(db)
    run = add_run(
        db, "govhk", ago=timedelta(minutes=5), coverage={**STEADY, "images": 0.1, "date": 0.85}
    )
    problems = check_archive(db, now=NOW, coverage_drop=0.2)
    assert kinds(problems) == [("coverage", "govhk")]
    assert problems[0].message.startswith(f"images coverage fell to 10% in run {run}")
    assert "60%" in problems[0].message
    assert check_archive(db, now=NOW, coverage_drop=0.6) == []


def test_a_fall_a_little_over_the_drop_is_reported_and_one_a_little_under_is_not(
    db: sqlite_utils.Database,
) -> None:
    healthy(db)  # images 60% in every run
    add_run(db, "govhk", ago=timedelta(minutes=5), coverage={**STEADY, "images": 0.45})
    assert check_archive(db, now=NOW, coverage_drop=0.2) == [], "15 points: under 20"
    assert kinds(check_archive(db, now=NOW, coverage_drop=0.1)) == [("coverage", "govhk")]
    add_run(db, "govhk", ago=timedelta(minutes=4), coverage={**STEADY, "images": 0.35})
    # 25 points: over the 20 asked for, and over the documented default of 20 too.
    assert kinds(check_archive(db, now=NOW, coverage_drop=0.2)) == [("coverage", "govhk")]
    assert kinds(check_archive(db, now=NOW)) == [("coverage", "govhk")]
    assert check_archive(db, now=NOW, coverage_drop=0.3) == []


def test_check_reports_a_fall_of_a_quarter_by_default(
    db: sqlite_utils.Database, db_path: Path
) -> None:
    healthy(db)
    add_run(db, "govhk", ago=timedelta(minutes=5), coverage={**STEADY, "images": 0.35})
    # The command reads the clock: move the archive to now.
    shift = datetime.now(HKT) - NOW
    for table, column in (("crawl_runs", "started_at"), ("articles", "published_at")):
        for rowid, value in db.execute(f"SELECT rowid, {column} FROM {table}").fetchall():
            moved = (datetime.fromisoformat(value) + shift).isoformat()
            db.execute(f"UPDATE {table} SET {column} = ? WHERE rowid = ?", [moved, rowid])
    db.conn.commit()
    link_stories(db)  # the new dates are new days to file the items' signatures under
    result = CliRunner().invoke(check, ["--db", str(db_path)])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("govhk: images coverage fell to 35% "), result.stderr
    result = CliRunner().invoke(check, ["--coverage-drop", "0.3", "--db", str(db_path)])
    assert result.exit_code == 0, result.output


def test_a_run_with_few_items_is_pooled_with_the_runs_before_it(
    db: sqlite_utils.Database,
) -> None:
    healthy(db)
    # Two items without images in the last hour are not a redesign ...
    add_run(db, "govhk", ago=timedelta(minutes=5), coverage={**STEADY, "images": 0.0, "items": 2})
    assert check_archive(db, now=NOW) == []
    # ... but several such runs in a row are.
    for minutes in (4, 3, 2):
        add_run(db, "govhk", ago=timedelta(minutes=minutes),
                coverage={**STEADY, "images": 0.0, "items": 2})  # fmt: skip
    problems = check_archive(db, now=NOW)
    assert kinds(problems) == [("coverage", "govhk")]
    assert "runs " in problems[0].message


def test_every_problem_is_listed(db: sqlite_utils.Database) -> None:
    add_run(db, "govhk", ago=timedelta(days=3), status="failed", errors=1)
    daily_items(db, "govhk", range(5, 40))
    assert sorted(kinds(check_archive(db, now=NOW))) == [
        ("failed", "govhk"),
        ("silent", "govhk"),
        ("stale", "archive"),
    ]


# --- the commands -------------------------------------------------------------------------------


def test_runs_lists_recent_runs_newest_first_as_a_table(
    db: sqlite_utils.Database, db_path: Path
) -> None:
    add_run(db, "govhk", ago=timedelta(hours=3), minutes=2.5)
    add_run(db, "cairs", ago=timedelta(hours=2), minutes=75, status="failed", errors=2)
    add_run(db, "govhk", ago=timedelta(hours=1), status="running")
    result = CliRunner().invoke(runs, ["--db", str(db_path)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "id", "spider", "started", "duration", "status", "requests", "304s",
        "new/updated/unchanged", "failures", "errors",
    ]  # fmt: skip
    assert [line.split()[:2] for line in lines[1:]] == [
        ["3", "govhk"],
        ["2", "cairs"],
        ["1", "govhk"],
    ]
    assert lines[2].split()[2:] == [
        "2024-05-10", "10:00", "1h15m", "failed", "(shutdown)", "31", "12", "4/1/15", "0", "2",
    ]  # fmt: skip
    assert "2m30s" in lines[3]
    # Aligned: each column starts at the same place on every line.
    for name, value in (("started", "2024-05-10"), ("new/updated/unchanged", "4/1/15")):
        assert {line.index(value) for line in lines[1:]} == {lines[0].index(name)}


def test_runs_filters_by_source_and_limits(db: sqlite_utils.Database, db_path: Path) -> None:
    for hours in (5, 4, 3, 2, 1):
        add_run(db, "govhk" if hours % 2 else "cairs", ago=timedelta(hours=hours))
    result = CliRunner().invoke(runs, ["--source", "govhk", "--limit", "2", "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    assert [line.split()[:2] for line in result.stdout.splitlines()[1:]] == [
        ["5", "govhk"],
        ["3", "govhk"],
    ]


def test_runs_on_an_archive_without_runs_says_so(db: sqlite_utils.Database, db_path: Path) -> None:
    result = CliRunner().invoke(runs, ["--db", str(db_path)])
    assert result.exit_code == 0
    assert result.stdout.startswith("no runs in ")


def test_check_prints_ok_and_exits_0_when_healthy(db: sqlite_utils.Database, db_path: Path) -> None:
    healthy(db)
    db.execute("UPDATE crawl_runs SET started_at = ?", [datetime.now(HKT).isoformat()])
    db.execute("UPDATE articles SET published_at = ?", [datetime.now(HKT).isoformat()])
    db.conn.commit()
    link_stories(db)  # the new dates are new days to file the items' signatures under
    result = CliRunner().invoke(check, ["--db", str(db_path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: ")
    assert "2 sources (cairs, govhk)" in result.stdout
    assert re.search(r", quick_check ok in \d+\.\d\d s$", result.stdout.strip()), result.stdout
    assert result.stderr == ""


def test_check_lists_every_problem_and_exits_1(db: sqlite_utils.Database, db_path: Path) -> None:
    add_run(db, "govhk", ago=timedelta(days=400), status="failed", errors=1)
    daily_items(db, "govhk", range(400, 440))
    result = CliRunner().invoke(check, ["--db", str(db_path)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == ["govhk", "archive", "govhk"]
    assert "last run 1, started" in lines[0]
    assert "no live crawl has started for more than 2 days" in lines[1]
    assert "no new items for more than 2 days" in lines[2]
    # hkarchive prints "hkarchive: error:"; the archive's file itself is sound.
    assert re.fullmatch(rf"Error: 3 problems in {re.escape(str(db_path))} "
                        r"\(quick_check ok in \d+\.\d\d s\)", lines[-1])  # fmt: skip
    assert result.stdout == ""


def test_check_of_a_missing_archive_creates_nothing(tmp_path: Path) -> None:
    result = CliRunner().invoke(check, ["--db", str(tmp_path / "none.db")])
    assert result.exit_code == 1
    assert isinstance(result.exception, ArchiveError)  # one line, exit 1, through hkarchive
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("started", "finished", "shown"),
    [
        ("2024-05-10T10:00:00+08:00", "2024-05-10T10:00:45+08:00", "45s"),
        ("2024-05-10T10:00:00+08:00", "2024-05-10T10:12:05+08:00", "12m05s"),
        ("2024-05-10T10:00:00+08:00", "2024-05-10T13:02:59+08:00", "3h02m"),
        ("2024-05-10T10:00:00+08:00", None, ""),
    ],
)
def test_duration_format(started: str, finished: str | None, shown: str) -> None:
    assert format_duration(started, finished) == shown


# --- the search index -----------------------------------------------------------------------


def _indexed(db: sqlite_utils.Database, n: int) -> None:
    for native in range(1, n + 1):
        item = _article(
            "govhk", native_id=str(native), url=f"https://example.org/{native}",
            title=f"Harbour walk {native}", body_text=f"A walk by the harbour, number {native}.",
        )  # fmt: skip
        upsert_article(db, normalize_article(item), seen_at=NOW.isoformat(), run_id=None)
    link_queued(db)  # as the crawl that stored them does


def test_an_archive_whose_search_index_matches_its_articles_has_no_index_problem(
    db: sqlite_utils.Database,
) -> None:
    healthy(db)  # articles written by plain SQL, never keyed for the index: not counted
    _indexed(db, 3)
    assert search_index_problems(db) == []
    assert check_archive(db, now=NOW) == []


def test_gaps_between_the_search_index_and_the_articles_are_reported(
    db: sqlite_utils.Database, db_path: Path
) -> None:
    healthy(db)
    _indexed(db, 4)
    key, title, body = db.execute(
        "SELECT search_key, title, body_text FROM articles WHERE native_id = '1'"
    ).fetchone()
    # The index loses one article's row (as a wrong 'delete' would), gains a row of no
    # article, and an article is retitled by plain SQL.
    db.execute(
        f"INSERT INTO {TABLE} ({TABLE}, rowid, {', '.join(COLUMNS)}) "
        "VALUES ('delete', ?, ?, ?, ?, ?)",
        [key, *index_row(title, body)],
    )
    db.execute(
        f"INSERT INTO {TABLE} (rowid, {', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?)",
        [key + 1000, *index_row("Nobody's", "Nothing")],
    )
    db.execute("UPDATE articles SET title = 'Harbour run' WHERE native_id = '2'")
    db.conn.commit()
    problems = check_archive(db, now=NOW)
    assert kinds(problems) == [("search-index", "archive")] * 3
    messages = [p.message for p in problems]
    assert messages[0].startswith("1 articles are missing from the search index")
    assert messages[1].startswith("1 rows of the search index belong to no article")
    assert messages[2].startswith("1 articles were changed or deleted outside a crawl")
    assert all("hkarchive search --reindex" in m for m in messages)
    result = run_cli("check", "--db", str(db_path))
    assert result.code == 1 and "missing from the search index" in result.stderr
    assert run_cli("search", "--reindex", "--db", str(db_path)).code == 0
    assert search_index_problems(db) == []


# --- pages no crawl asks for any more --------------------------------------------------------


def _failure(db: sqlite_utils.Database, source: str, n: int, attempts: int) -> None:
    db.table("failures").insert(
        {
            "url": f"https://example.org/{source}/{n}",
            "source": source,
            "role": "item",
            "kind": "http",
            "error": "HTTP 404",
            "attempts": attempts,
            "first_failed_at": (NOW - timedelta(days=9)).isoformat(),
            "last_tried_at": (NOW - timedelta(days=n)).isoformat(),
        }
    )


def test_pages_that_failed_in_as_many_runs_as_the_cap_are_reported(
    db: sqlite_utils.Database, db_path: Path
) -> None:
    healthy(db)
    _failure(db, "govhk", 1, attempts=5)
    _failure(db, "govhk", 2, attempts=6)
    _failure(db, "govhk", 3, attempts=4)  # still asked for by the next run
    _failure(db, "cairs", 4, attempts=1)
    assert check_archive(db, now=NOW) == []  # no cap given: not checked
    problems = check_archive(db, now=NOW, max_attempts=5)
    assert kinds(problems) == [("given-up", "govhk")]
    assert problems[0].message.startswith(
        "2 pages failed in 5 runs or more and no crawl asks for them again: "
        "https://example.org/govhk/1 (http: HTTP 404, 5 runs) and 1 more; see the failures table"
    )
    assert kinds(check_archive(db, now=NOW, max_attempts=1)) == [
        ("given-up", "cairs"),
        ("given-up", "govhk"),
    ]
    # The command's cap is the crawls' own (5), or --max-attempts.
    result = run_cli("check", "--db", str(db_path))
    assert result.code == 1
    assert "govhk: 2 pages failed in 5 runs or more" in result.stderr
    result = run_cli("check", "--max-attempts", "7", "--db", str(db_path))
    assert "failed in" not in result.stderr  # (it is 2026 there: the silence is reported)
