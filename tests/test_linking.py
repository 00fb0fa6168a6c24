"""The link queue: every stored item is linked into stories and pairs, whichever run stored it,
whichever runs were killed, and `hkarchive check` reports any item left unlinked."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from scrapy import Spider
from scrapy.utils.test import get_crawler

from newsarchive.archive import open_archive
from newsarchive.articles import upsert_article
from newsarchive.health import check_archive, unlinked_items
from newsarchive.linking import steps as links_module
from newsarchive.linking.queue import never_linked, queued, waiting
from newsarchive.linking.steps import link_queued
from newsarchive.model import Article
from newsarchive.schema import migrate
from pipelines.store import StorePipeline
from tests.conftest import archive_at_schema
from tests.test_stories import (
    CPII_INNOHK,
    GOVHK_INNOHK,
    SEEN,
    cairs_innohk,
    cpii_innohk,
    fixture_article,
    links,
    make_article,
)

DEAD_PID = 2**22 + 12345  # beyond Linux's pid_max default: no process has it


class _Spider(Spider):
    name = "linking-test"


class _Crawl:
    """One spider's StorePipeline, opened as a crawl opens it, in a process of its own."""

    def __init__(self, path: Path) -> None:
        # The lock is re-entrant: the pipelines of one process share it, as those of the
        # spiders of one `hkarchive crawl` do.
        crawler = get_crawler(_Spider, {"HKARCHIVE_DB": str(path)})
        self.spider = _Spider.from_crawler(crawler)
        crawler.spider = self.spider
        self.crawler = crawler
        self.pipeline = StorePipeline.from_crawler(crawler)
        self.pipeline.open_spider()

    def store(self, *articles: Article) -> None:
        for article in articles:
            self.pipeline.process_item(article)

    def finish(self) -> None:
        self.pipeline.spider_closed(self.spider, "finished")

    def kill(self) -> None:
        """As SIGKILL leaves it: the run row says running, for a process that is gone."""
        db, run_id = self.pipeline.db, self.pipeline.run_id
        assert db is not None
        with db.atomic():
            db.execute("UPDATE crawl_runs SET pid = ? WHERE id = ?", [DEAD_PID, run_id])
        db.close()
        self.pipeline.db = None


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "archive.db"


@pytest.fixture
def db(path: Path) -> Iterator[sqlite_utils.Database]:
    database = open_archive(path)
    yield database
    database.close()


def test_an_item_a_killed_crawl_stored_is_linked_after_a_finished_run_stores_it_unchanged(
    path: Path,
) -> None:
    # Seed 12345 of the crash test: the CPII republication was stored by a killed crawl; in the
    # next crawl the run that took the killed one's items over was killed too, while the CPII
    # run, storing the item again unchanged, finished; the crawl after that stored the GovHK
    # original, and the republication was never linked to it.
    first = _Crawl(path)
    first.store(cpii_innohk())
    first.kill()
    taking_over, cpii = _Crawl(path), _Crawl(path)
    cpii.store(cpii_innohk())
    cpii.finish()
    taking_over.kill()
    last = _Crawl(path)
    last.store(fixture_article("P2022052500588"))
    last.finish()
    with open_archive(path) as db:
        assert links(db)[CPII_INNOHK]["linked_to"] == GOVHK_INNOHK
        assert queued(db, "stories") == queued(db, "pairs") == []
        assert never_linked(db) == {}
        statuses = [row[0] for row in db.execute("SELECT status FROM crawl_runs ORDER BY id")]
    assert statuses == ["interrupted", "interrupted", "finished", "finished"]


def test_the_first_run_of_a_crawl_to_finish_links_what_the_others_stored_so_far(
    path: Path,
) -> None:
    govhk, centres = _Crawl(path), _Crawl(path)
    govhk.store(fixture_article("P2022052500588"))
    centres.store(cairs_innohk())
    centres.finish()  # links both: the GovHK run's item is queued already
    govhk.kill()
    with open_archive(path) as db:
        assert links(db)["cairs:en/36"]["linked_to"] == GOVHK_INNOHK
        assert queued(db, "stories") == []


def test_storing_queues_new_and_changed_items_for_both_steps_and_linking_empties_it(
    db: sqlite_utils.Database,
) -> None:
    release = fixture_article("P2022052500588")
    upsert_article(db, release, seen_at=SEEN, run_id=7)
    assert queued(db, "stories") == queued(db, "pairs") == [GOVHK_INNOHK]
    link_queued(db)
    assert queued(db, "stories") == queued(db, "pairs") == []
    upsert_article(db, release, seen_at=SEEN, run_id=8)  # unchanged: nothing new to link
    assert queued(db, "stories") == []
    corrected = make_article(
        "govhk", release.native_id, release.published_at or "", f"{release.body_text}\nCorrected."
    )
    upsert_article(db, corrected, seen_at=SEEN, run_id=9)
    assert queued(db, "stories") == queued(db, "pairs") == [GOVHK_INNOHK]


def test_a_failing_step_keeps_its_items_queued_for_the_next_run(
    db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    upsert_article(db, fixture_article("P2022052500588"), seen_at=SEEN, run_id=1)
    upsert_article(db, cairs_innohk(), seen_at=SEEN, run_id=1)

    def broken(*args: Any) -> Any:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(links_module, "pair_releases", broken)
    linked = link_queued(db)
    assert [message for message, _ in linked.failures] == ["pairing translations failed"]
    assert queued(db, "stories") == []
    assert queued(db, "pairs") == ["cairs:en/36", GOVHK_INNOHK]
    monkeypatch.undo()
    assert link_queued(db).failures == []
    assert queued(db, "pairs") == []


def test_a_full_disk_when_dequeuing_is_reported_and_keeps_the_items_queued(
    db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The disk filled while the linked items were taken off the queue: reported as the step's
    # failure (the crawl turns it into its one disk-full line), never raised from the end of
    # the crawl as a traceback.
    upsert_article(db, fixture_article("P2022052500588"), seen_at=SEEN, run_id=1)

    def full(*args: Any) -> Any:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(links_module, "dequeue", full)
    linked = link_queued(db)
    assert [message for message, _ in linked.failures] == [
        "linking stories failed",
        "pairing translations failed",
    ]
    assert queued(db, "stories") == queued(db, "pairs") == [GOVHK_INNOHK]
    monkeypatch.undo()
    assert link_queued(db).failures == []
    assert queued(db, "stories") == queued(db, "pairs") == []


def test_check_reports_items_left_queued_and_items_never_linked(
    db: sqlite_utils.Database,
) -> None:
    upsert_article(db, cairs_innohk(), seen_at=SEEN, run_id=None)
    runs = db.table("crawl_runs").insert({"spider": "cpii", "status": "running", "pid": 4242})
    run_id = runs.last_pk
    assert isinstance(run_id, int)
    upsert_article(db, cpii_innohk(), seen_at=SEEN, run_id=run_id)
    # The CAiRS item was queued by no run in progress; the CPII one by a crawl still running.
    assert waiting(db, running_runs=[run_id]) == {"cairs": {"pairs": 1, "stories": 1}}
    problems = unlinked_items(db, running_pids={4242})
    assert [(p.kind, p.source) for p in problems] == [("unlinked", "cairs")]
    assert "wait to be linked (1 into stories, 1 into translation pairs)" in problems[0].message
    # The crawl is dead: its item waits too.
    assert {p.source for p in unlinked_items(db)} == {"cairs", "cpii"}
    # An item whose queue entry went missing, as the lost one of seed 12345 had none.
    db.execute("DELETE FROM link_queue")
    never = unlinked_items(db)
    assert [p.source for p in never] == ["cairs", "cpii"]
    assert "1 item stored and never linked into stories (cairs:en/36)" in never[0].message
    from newsarchive.linking.stories import link_stories

    link_stories(db)
    assert unlinked_items(db) == []


def test_check_archive_includes_unlinked_items(db: sqlite_utils.Database) -> None:
    from datetime import datetime

    from newsarchive.clock import HKT

    db.table("crawl_runs").insert({"spider": "cairs", "status": "finished", "errors": 0})
    upsert_article(db, cairs_innohk(), seen_at=SEEN, run_id=1)
    found = check_archive(db, now=datetime(2022, 5, 26, tzinfo=HKT))
    assert ("unlinked", "cairs") in [(p.kind, p.source) for p in found]


def test_upgrading_queues_the_items_of_killed_runs_and_items_never_linked(path: Path) -> None:
    old = archive_at_schema(path, 9)
    old.table("crawl_runs").insert_all(
        [{"id": 1, "spider": "cairs", "status": "finished"}, {"id": 2, "status": "running"}]
    )
    for native_id, run_id in (("1", 1), ("2", 2)):
        old.table("articles").insert(
            {"id": f"cairs:{native_id}", "source": "cairs", "native_id": native_id, "url": "u",
             "lang": "en", "title": "t", "body_text": "b", "content_hash": "h",
             "last_run_id": run_id}
        )  # fmt: skip
    old.table("article_minhash").insert(
        {"article_id": "cairs:1", "body_hash": None, "day": None, "params": "p"}
    )
    migrate(old)
    found = old.execute("SELECT article_id, step, run_id FROM link_queue ORDER BY 1, 2").fetchall()
    assert found == [("cairs:2", "pairs", 2), ("cairs:2", "stories", 2)]
    old.close()


def test_linking_waits_for_another_writer_as_every_write_does(path: Path) -> None:
    # Stories and pairs took the write lock with a no-op write inside a deferred transaction:
    # they gave up after one busy timeout, and a crawl's linking failed with "database is
    # locked" whenever another program held the archive longer than that.
    db = open_archive(path, busy_timeout=0.1)
    upsert_article(db, fixture_article("P2022052500588"), seen_at=SEEN, run_id=None)
    upsert_article(db, cairs_innohk(), seen_at=SEEN, run_id=None)
    holder = sqlite3.connect(path, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.6, holder.rollback)  # six busy timeouts later
    release.start()
    try:
        linked = link_queued(db)
    finally:
        release.join()
        holder.close()
    assert linked.failures == []
    assert links(db)["cairs:en/36"]["linked_to"] == GOVHK_INNOHK
    assert queued(db, "stories") == queued(db, "pairs") == []
    db.close()
