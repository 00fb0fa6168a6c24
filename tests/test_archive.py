"""The archive: schema and migrations, and upserts that never leave half an item behind."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlite_utils

from newsarchive import articles, runs
from newsarchive import db as db_module
from newsarchive.archive import open_archive
from newsarchive.articles import next_visit, touch_article, upsert_article
from newsarchive.db import ArchiveError
from newsarchive.model import FIRST_SEEN, Article, Link, Photo
from newsarchive.schema import MIGRATIONS, migrate, schema_version
from pipelines.normalize import normalize_article
from tests.conftest import REPO_ROOT, archive_at_schema


def make_article(**changes: object) -> Article:
    article = Article(
        source="govhk",
        native_id="P2022052500588",
        url="http://www.info.gov.hk/gia/general/202205/25/P2022052500588.htm?fontSize=1",
        lang="en",
        title="InnoHK Launch Ceremony concludes with great success (with photos/video)",
        published_at="2022-05-25T20:20:00+08:00",
        body_text="The InnoHK Launch Ceremony was successfully held today (May 25).",
        body_html="<p>The InnoHK Launch Ceremony was successfully held today (May 25).</p>",
        photos=[Photo("https://gia.info.gov.hk/p1.jpg", "https://gia.info.gov.hk/p1t.jpg", "CE")],
        related=[Link("https://www.info.gov.hk/gia/general/202205/25/P2022052500500.htm", "x")],
    )
    for key, value in changes.items():
        setattr(article, key, value)
    return normalize_article(article)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "archive.db"


def test_new_archive_has_every_table_in_wal_mode(db_path: Path) -> None:
    db = open_archive(db_path)
    tables = set(db.table_names())
    assert {"articles", "images", "attachments", "videos", "related_links", "crawl_runs"} <= tables
    assert "articles_fts" in tables
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert schema_version(db) == len(MIGRATIONS)


def test_reopening_migrates_nothing_and_keeps_rows(db_path: Path) -> None:
    db = open_archive(db_path)
    upsert_article(db, make_article(), seen_at="2026-01-01T00:00:00+08:00", run_id=None)
    db.close()
    again = open_archive(db_path)
    assert again.table("articles").count == 1
    assert schema_version(again) == len(MIGRATIONS)


# A new archive's schema, killed while it is being created: the crash test (seed 44444 in CI)
# found an archive at schema 6, an articles table and no search index, when the migrations
# were committed one by one.
KILLED_WHILE_CREATING = """
import os, signal, sys
from newsarchive import schema
from newsarchive.archive import open_archive

def killed(db):
    os.kill(os.getpid(), signal.SIGKILL)

schema.MIGRATIONS[int(sys.argv[2])] = killed
open_archive(sys.argv[1])
"""


@pytest.mark.parametrize("step", [1, 6, len(MIGRATIONS) - 1])
def test_a_new_archive_killed_while_created_holds_no_schema_or_all_of_it(
    db_path: Path, step: int
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", KILLED_WHILE_CREATING, str(db_path), str(step)], cwd=REPO_ROOT
    )
    assert done.returncode == -signal.SIGKILL
    conn = sqlite3.connect(db_path)
    left = [row[0] for row in conn.execute("SELECT name FROM sqlite_master")]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    conn.close()
    assert (left, version) == ([], 0)
    db = open_archive(db_path)
    assert "articles_search" in db.table_names()
    assert schema_version(db) == len(MIGRATIONS)


def test_archive_from_a_newer_version_is_refused(db_path: Path) -> None:
    open_archive(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(ArchiveError, match="newer"):
        open_archive(db_path)


def test_two_processes_upgrading_an_archive_apply_each_migration_once(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    old = archive_at_schema(db_path, len(MIGRATIONS) - 1)
    old.close()
    first = sqlite_utils.Database(sqlite3.connect(db_path, timeout=30))
    second = sqlite_utils.Database(sqlite3.connect(db_path, timeout=30, check_same_thread=False))
    first.conn.execute("BEGIN IMMEDIATE")  # the first upgrade has begun
    errors: list[BaseException] = []

    def upgrade() -> None:
        try:
            migrate(second)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    late = threading.Thread(target=upgrade)
    late.start()
    time.sleep(0.5)  # the second has read the old version and waits for the write lock
    MIGRATIONS[-1](first)
    first.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
    first.conn.execute("COMMIT")
    late.join(timeout=60)
    assert not late.is_alive() and errors == []
    assert schema_version(second) == len(MIGRATIONS)
    first.close()
    second.close()


FETCH_STATE = ("last_seen_at", "last_fetched_at", "last_run_id", "visits", "next_visit_at")


def test_upsert_inserts_then_only_moves_fetch_state_when_unchanged(db_path: Path) -> None:
    db = open_archive(db_path)
    first = make_article(etag='"v1"')
    assert upsert_article(db, first, seen_at="2026-01-01T00:00:00+08:00", run_id=1) == "new"
    before = db.table("articles").get(first.id)
    again = make_article(body_html="<div>same text, other markup</div>")
    assert upsert_article(db, again, seen_at="2026-01-01T02:00:00+08:00", run_id=2) == "unchanged"
    after = db.table("articles").get(first.id)
    assert {k: after.pop(k) for k in FETCH_STATE} == {
        "last_seen_at": "2026-01-01T02:00:00+08:00",
        "last_fetched_at": "2026-01-01T02:00:00+08:00",
        "last_run_id": 2,
        "visits": 2,
        "next_visit_at": "2026-01-02T00:00:00+08:00",
    }
    for key in FETCH_STATE:
        before.pop(key)
    assert after == before, "unchanged content must stay untouched, markup and validators included"
    assert after["etag"] == '"v1"'
    assert after["url"] == "https://www.info.gov.hk/gia/general/202205/25/P2022052500588.htm"
    assert db.table("article_versions").count == 0


def test_a_change_keeps_the_previous_version(db_path: Path) -> None:
    db = open_archive(db_path)
    upsert_article(db, make_article(), seen_at="2026-01-01T00:00:00+08:00", run_id=1)
    upsert_article(db, make_article(title="Corrected"), seen_at="2026-01-02T00:00:00+08:00",
                   run_id=2)  # fmt: skip
    upsert_article(db, make_article(title="Corrected again"),
                   seen_at="2026-01-03T00:00:00+08:00", run_id=3)  # fmt: skip
    versions = db.execute(
        "SELECT version, fetched_at, title, run_id FROM article_versions ORDER BY version"
    ).fetchall()
    assert versions == [
        (1, "2026-01-01T00:00:00+08:00", make_article().title, 2),
        (2, "2026-01-02T00:00:00+08:00", "Corrected", 3),
    ]
    assert db.table("articles").get("govhk:P2022052500588")["title"] == "Corrected again"


API = {"title": "wp-api", "body": "wp-api"}
FEED = {"title": "rss", "body": "rss:content"}


def stored(db: sqlite_utils.Database, article_id: str) -> tuple[str, str, int]:
    """An item's stored category, body method and number of earlier versions."""
    row = db.table("articles").get(article_id)
    versions = db.table("article_versions").count_where("article_id = ?", [article_id])
    return row["category"], json.loads(row["extraction"])["body"], versions


def test_a_reading_by_another_route_is_compared_with_that_routes_last_reading(
    db_path: Path,
) -> None:
    db = open_archive(db_path)
    at = iter(f"2026-01-0{day}T00:00:00+08:00" for day in range(1, 10))
    api = make_article(category="News", extraction=API)
    feed = make_article(category="News, CUHK", extraction=FEED)  # with the post's tag
    assert upsert_article(db, api, seen_at=next(at), run_id=1) == "new"
    # The API is down: the feed's reading differs in detail, and is no revision.
    assert upsert_article(db, feed, seen_at=next(at), run_id=2) == "unchanged"
    assert upsert_article(db, feed, seen_at=next(at), run_id=3) == "unchanged"
    assert stored(db, api.id) == ("News", "wp-api", 0)
    # The post is edited while the API is down: the feed's reading changed, a revision.
    edited = make_article(category="News, CUHK", extraction=FEED, body_text="Edited.")
    assert upsert_article(db, edited, seen_at=next(at), run_id=4) == "updated"
    assert stored(db, api.id) == ("News, CUHK", "rss:content", 1)
    # The API answers again, with the edit: the API's reading changed since its last, too.
    api_edited = make_article(category="News", extraction=API, body_text="Edited.")
    assert upsert_article(db, api_edited, seen_at=next(at), run_id=5) == "updated"
    assert stored(db, api.id) == ("News", "wp-api", 2)
    assert upsert_article(db, edited, seen_at=next(at), run_id=6) == "unchanged"
    assert stored(db, api.id) == ("News", "wp-api", 2)


def test_a_route_that_read_the_stored_content_then_reads_otherwise_reads_a_revision(
    db_path: Path,
) -> None:
    db = open_archive(db_path)
    api = make_article(category="News", extraction=API)
    same = make_article(category="News", extraction=FEED)  # the feed reads it as the API does
    tagged = make_article(category="News, CUHK", extraction=FEED)  # then a tag is added
    assert upsert_article(db, api, seen_at="2026-01-01T00:00:00+08:00", run_id=1) == "new"
    assert upsert_article(db, same, seen_at="2026-01-02T00:00:00+08:00", run_id=2) == "unchanged"
    assert upsert_article(db, tagged, seen_at="2026-01-03T00:00:00+08:00", run_id=3) == "updated"
    assert stored(db, api.id) == ("News, CUHK", "rss:content", 1)


def test_a_post_first_read_through_the_feed_takes_the_apis_reading_as_no_revision(
    db_path: Path,
) -> None:
    db = open_archive(db_path)
    feed = make_article(category="News, CUHK", extraction=FEED, photos=[])
    api = make_article(category="News", extraction=API)
    assert upsert_article(db, feed, seen_at="2026-01-01T00:00:00+08:00", run_id=1) == "new"
    assert upsert_article(db, api, seen_at="2026-01-02T00:00:00+08:00", run_id=2) == "updated"
    assert stored(db, api.id) == ("News", "wp-api", 0)
    assert db.table("images").count_where("article_id = ?", [api.id]) == 1
    # The feed's reading, unchanged since, is still no revision.
    assert upsert_article(db, feed, seen_at="2026-01-03T00:00:00+08:00", run_id=3) == "unchanged"
    assert stored(db, api.id) == ("News", "wp-api", 0)


def test_not_modified_moves_only_fetch_state(db_path: Path) -> None:
    db = open_archive(db_path)
    upsert_article(db, make_article(), seen_at="2026-01-01T00:00:00+08:00", run_id=1)
    assert touch_article(db, "govhk:P2022052500588", seen_at="2026-01-02T01:00:00+08:00", run_id=2)
    row = db.table("articles").get("govhk:P2022052500588")
    assert (row["visits"], row["next_visit_at"]) == (2, "2026-01-08T00:00:00+08:00")
    assert not touch_article(db, "govhk:unknown", seen_at="2026-01-02T01:00:00+08:00", run_id=2)


def test_every_fetch_moves_last_seen_whatever_the_answer(db_path: Path) -> None:
    """New, unchanged, changed, or 304 Not Modified: the item was seen at that time."""
    db = open_archive(db_path)
    item_id = make_article().id

    def seen() -> tuple[str, str, int, int]:
        row = db.table("articles").get(item_id)
        return row["last_seen_at"], row["last_fetched_at"], row["last_run_id"], row["visits"]

    upsert_article(db, make_article(), seen_at="2026-01-01T00:00:00+08:00", run_id=1)
    assert seen() == ("2026-01-01T00:00:00+08:00", "2026-01-01T00:00:00+08:00", 1, 1)
    assert touch_article(db, item_id, seen_at="2026-01-01T01:05:00+08:00", run_id=2)
    assert seen() == ("2026-01-01T01:05:00+08:00", "2026-01-01T01:05:00+08:00", 2, 2)
    changed = make_article(title="Corrected")
    assert upsert_article(db, changed, seen_at="2026-01-02T00:10:00+08:00", run_id=3) == "updated"
    assert seen() == ("2026-01-02T00:10:00+08:00", "2026-01-02T00:10:00+08:00", 3, 3)
    row = db.table("articles").get(item_id)
    assert row["first_seen_at"] == "2026-01-01T00:00:00+08:00"
    assert row["next_visit_at"] == "2026-01-08T00:00:00+08:00"
    # A reparse of a stored response fetched nothing: the item was not seen again.
    reparsed = make_article(title="Corrected again")
    upsert_article(db, reparsed, seen_at="2026-03-01T00:00:00+08:00", run_id=4, fetched=False)
    assert seen() == ("2026-01-02T00:10:00+08:00", "2026-01-02T00:10:00+08:00", 3, 3)


def undated_article(published_at: str = "2026-01-01T09:15:00+08:00", **changes: object) -> Article:
    """A centre item whose page, feed, URL and server gave no date: extraction dated it by the
    time it read the page (published_at), the archive by the time it stores it."""
    article = Article(
        source="cairs",
        native_id="en/99",
        url="https://www.cairs.hk/en/news_detail/index/99",
        lang="en",
        title="Undated item",
        published_at=published_at,
        body_text="A body with no date anywhere near it.",
        body_html="<p>A body with no date anywhere near it.</p>",
        extraction={"title": "h1", "published_at": FIRST_SEEN, "body": "trafilatura"},
    )
    for key, value in changes.items():
        setattr(article, key, value)
    return normalize_article(article)


STORED_DATE = "SELECT published_at, json_extract(extraction, '$.published_at'), content_hash " \
              "FROM articles WHERE id = 'cairs:en/99'"  # fmt: skip


def test_an_item_dated_when_first_seen_keeps_that_date_when_stored_again(db_path: Path) -> None:
    db = open_archive(db_path)
    first = undated_article(published_at="2026-01-01T09:14:00+08:00")
    assert upsert_article(db, first, seen_at="2026-01-01T09:15:42+08:00", run_id=1) == "new"
    [(published, method, stored_hash)] = db.execute(STORED_DATE).fetchall()
    # Dated when the archive first stored it: its first_seen_at, to the minute.
    assert (published, method) == ("2026-01-01T09:15:00+08:00", FIRST_SEEN)
    # A re-crawl dates the page anew; the archive keeps the first date, and the same hash.
    again = undated_article(published_at="2026-01-05T10:00:00+08:00")
    assert upsert_article(db, again, seen_at="2026-01-05T10:00:12+08:00", run_id=2) == "unchanged"
    assert db.execute(STORED_DATE).fetchall() == [(published, FIRST_SEEN, stored_hash)]
    assert db.table("article_versions").count == 0
    # A change of its text is a new version, still dated when first seen.
    edited = undated_article(published_at="2026-01-06T10:00:00+08:00", body_text="Edited body.")
    assert upsert_article(db, edited, seen_at="2026-01-06T10:00:12+08:00", run_id=3) == "updated"
    assert db.execute(STORED_DATE).fetchone()[:2] == (published, FIRST_SEEN)
    assert db.execute("SELECT published_at FROM article_versions").fetchall() == [(published,)]


def test_a_date_the_page_shows_later_replaces_the_first_seen_one(db_path: Path) -> None:
    db = open_archive(db_path)
    upsert_article(db, undated_article(), seen_at="2026-01-01T09:15:42+08:00", run_id=1)
    dated = undated_article(published_at="2025-12-30",
                            extraction={"title": "h1", "published_at": "time"})  # fmt: skip
    assert upsert_article(db, dated, seen_at="2026-01-02T00:00:00+08:00", run_id=2) == "updated"
    assert db.execute(STORED_DATE).fetchone()[:2] == ("2025-12-30", "time")
    assert db.execute("SELECT published_at FROM article_versions").fetchall() == [
        ("2026-01-01T09:15:00+08:00",)
    ]


def test_a_date_read_before_is_kept_when_a_revisit_finds_none(db_path: Path) -> None:
    # Dated by the feed the crawl came through; a revisit reaches the page without it.
    db = open_archive(db_path)
    from_feed = undated_article(published_at="2025-12-30T08:00:00+08:00",
                                extraction={"title": "h1", "published_at": "feed"})  # fmt: skip
    upsert_article(db, from_feed, seen_at="2026-01-01T09:15:42+08:00", run_id=1)
    stored = db.execute(STORED_DATE).fetchall()
    revisit = undated_article(published_at="2026-01-02T00:00:00+08:00")
    assert upsert_article(db, revisit, seen_at="2026-01-02T00:00:12+08:00", run_id=2) == "unchanged"
    assert db.execute(STORED_DATE).fetchall() == stored
    assert stored[0][:2] == ("2025-12-30T08:00:00+08:00", "feed")


def test_revisits_decay_then_stop() -> None:
    first = "2026-01-01T00:00:00+08:00"
    assert next_visit(first, first) == "2026-01-01T01:00:00+08:00"
    assert next_visit(first, "2026-01-01T01:00:00+08:00") == "2026-01-02T00:00:00+08:00"
    assert next_visit(first, "2026-01-05T00:00:00+08:00") == "2026-01-08T00:00:00+08:00"
    assert next_visit(first, "2026-01-08T00:00:00+08:00") is None


def test_changed_content_updates_row_and_replaces_media(db_path: Path) -> None:
    db = open_archive(db_path)
    upsert_article(db, make_article(), seen_at="2026-01-01T00:00:00+08:00", run_id=1)
    changed = make_article(title="Corrected title", photos=[])
    assert upsert_article(db, changed, seen_at="2026-01-03T00:00:00+08:00", run_id=2) == "updated"
    row = db.table("articles").get(changed.id)
    assert row["title"] == "Corrected title"
    assert row["first_seen_at"] == "2026-01-01T00:00:00+08:00"
    assert row["last_changed_at"] == "2026-01-03T00:00:00+08:00"
    assert db.table("images").count == 0
    assert db.table("related_links").count == 1


def test_failure_inside_an_upsert_leaves_nothing(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = open_archive(db_path)

    def explode(*args: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(articles, "_replace_children", explode)
    with pytest.raises(RuntimeError):
        upsert_article(db, make_article(), seen_at="2026-01-01T00:00:00+08:00", run_id=1)
    assert db.table("articles").count == 0
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_full_text_search_finds_stemmed_english(db_path: Path) -> None:
    db = open_archive(db_path)
    upsert_article(db, make_article(), seen_at="2026-01-01T00:00:00+08:00", run_id=1)
    hits = db.execute(
        "SELECT a.id FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid "
        "WHERE articles_fts MATCH ?",
        ["concluding"],  # the title says "concludes"
    ).fetchall()
    assert hits == [("govhk:P2022052500588",)]


def test_directory_is_not_an_archive(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="directory"):
        open_archive(tmp_path)


# --- Writes wait for another writer ---------------------------------------------------------


def hold_write_lock(db_path: Path) -> sqlite3.Connection:
    """Another connection holding the archive's write lock, as `sqlite3 … 'BEGIN IMMEDIATE'`."""
    holder = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_a_write_waits_for_a_lock_held_longer_than_the_busy_timeout(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = open_archive(db_path)
    db.execute("PRAGMA busy_timeout = 50")  # held for 20 busy timeouts: each write retries
    holder = hold_write_lock(db_path)
    release = threading.Timer(1.0, holder.rollback)
    release.start()
    try:
        # Each reads before it writes: a deferred transaction would fail at once.
        run_id = runs.start_run(db, "govhk", {}, "2026-01-01T00:00:00+08:00")
        outcome = upsert_article(db, make_article(), seen_at="2026-01-01T00:00:00+08:00",
                                 run_id=run_id)  # fmt: skip
    finally:
        release.join()
        holder.close()
    assert outcome == "new"
    assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == 1
    assert "locked by another writer: waiting" in caplog.text


def test_a_write_gives_up_after_its_attempts_and_writes_nothing(db_path: Path) -> None:
    db = open_archive(db_path)
    db.execute("PRAGMA busy_timeout = 10")
    holder = hold_write_lock(db_path)
    started = time.monotonic()
    try:
        with pytest.raises(db_module.ArchiveBusy, match="locked by another writer: gave up"):
            upsert_article(db, make_article(), seen_at="2026-01-01T00:00:00+08:00", run_id=1)
    finally:
        holder.rollback()
        holder.close()
    # It waited its busy timeout once per attempt before giving up (a generous upper bound).
    assert 0.01 * db_module.WRITE_ATTEMPTS <= time.monotonic() - started < 30
    assert not db.conn.in_transaction
    assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == 0
