"""Reparse: the archive rebuilt from the raw captures alone, with the current extractors."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from scrapy.http import HtmlResponse, TextResponse

from crawler import settings as project_settings
from crawler.extract import ExtractionError
from crawler.extract.dispatch import extract_items
from crawler.extract.govhk import extract_release
from crawler.extract.wordpress import article_from_api
from crawler.middlewares.rawcapture import WarcFile
from crawler.sources import known_sources
from crawler.sources.config import load_sources
from hkarchive.cli import DEMO_SITE, DEMO_SITE_TOML
from hkarchive.cli.reparse import reparse
from newsarchive.archive import open_archive
from newsarchive.articles import keep_media_files, upsert_article
from newsarchive.clock import HKT
from newsarchive.lock import LockHeld
from newsarchive.model import Photo
from tests.conftest import REPO_ROOT, load_fixtures, rows, run_cli
from tests.test_archive import make_article

FIXTURES = {f.name: f for f in load_fixtures()}
CONTENT = "SELECT id, url, lang, title, published_at, body_text, content_hash FROM articles"
CHILDREN = {
    "images": "article_id, position, url, thumbnail_url, caption, name, size_label, size_bytes",
    "attachments": "article_id, position, url, title",
    "videos": "article_id, position, url, title",
    "related_links": "article_id, position, url, title",
}
DERIVED = ("story_links", "stories", "minhash_bands", "article_minhash", "article_versions")


def execute(db: Path, *statements: str) -> None:
    conn = sqlite3.connect(db)
    try:
        with conn:
            for sql in statements:
                conn.execute(sql)
    finally:
        conn.close()


def snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """What a reader sees: every item's content and media, in a fixed order."""
    found = {"articles": rows(db, f"{CONTENT} ORDER BY id")}
    for table, columns in CHILDREN.items():
        found[table] = rows(db, f"SELECT {columns} FROM {table} ORDER BY article_id, position")
    return found


@pytest.fixture(autouse=True)
def demo_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sources the demo crawled, its added site among them, as the user's sources: a
    reparse reads again the captures of every source the registry knows."""
    folder = tmp_path / "sources"
    folder.mkdir()
    (folder / f"{DEMO_SITE}.toml").write_text(DEMO_SITE_TOML, encoding="utf-8")
    monkeypatch.setattr(project_settings, "HKARCHIVE_SOURCES", str(folder))


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole bundled mirror crawled by the demo; its mirror is stopped when it returns."""
    db = tmp_path_factory.mktemp("crawled") / "archive.db"
    result = run_cli("demo", "--db", str(db))
    assert result.code == 0, result.stderr[-3000:]
    return db


@pytest.fixture
def archive(crawled: Path, tmp_path: Path) -> Path:
    """A copy of the crawled archive with its WARC files, to change at will."""
    shutil.copytree(crawled.parent, tmp_path / "copy")
    return tmp_path / "copy" / crawled.name


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a network connection fails the test."""

    def refuse(self: socket.socket, address: Any) -> None:
        raise AssertionError(f"reparse tried to connect to {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


def run_reparse(db: Path, *args: str) -> Result:
    return CliRunner().invoke(reparse, [*args, "--db", str(db)], catch_exceptions=False)


@pytest.mark.usefixtures("offline")
def test_reparse_rebuilds_every_item_offline_as_the_crawl_stored_it(
    crawled: Path, archive: Path
) -> None:
    execute(archive, *(f"DELETE FROM {t}" for t in (*DERIVED, *CHILDREN, "articles")))
    assert rows(archive, "SELECT count(*) FROM articles") == [(0,)]
    result = run_reparse(archive)
    assert result.exit_code == 0, result.output
    want = snapshot(crawled)
    assert snapshot(archive) == want
    assert f" {len(want['articles'])} new, 0 updated, 0 unchanged, 0 invalid, 0 errors" in (
        result.stdout
    )
    story = rows(
        archive,
        "SELECT l.article_id, l.role FROM story_links l JOIN story_links o "
        "ON o.story_id = l.story_id WHERE o.article_id = 'govhk:P2022052500588'",
    )
    assert sorted(story) == [
        ("cairs:en/36", "republication"),
        ("cpii:2022/06/02/innohk-launch-ceremony", "republication"),
        ("govhk:P2022052500588", "original"),
        ("smartcity:en/news/detail.php?id=118", "republication"),
    ]


@pytest.mark.usefixtures("offline")
def test_reparse_of_an_up_to_date_archive_changes_no_content(archive: Path) -> None:
    before = snapshot(archive)
    count = len(before["articles"])
    result = run_reparse(archive)
    assert result.exit_code == 0, result.output
    assert snapshot(archive) == before
    assert f"0 new, 0 updated, {count} unchanged, 0 invalid, 0 errors" in result.stdout
    [(spider, arguments, status, unchanged, errors)] = rows(
        archive,
        "SELECT spider, arguments, status, items_unchanged, errors FROM crawl_runs "
        "ORDER BY id DESC LIMIT 1",
    )
    assert (spider, status, unchanged, errors) == ("reparse", "finished", count, 0)
    assert json.loads(arguments) == {"sources": ["cairs", "cpii", "govhk", DEMO_SITE]}


@pytest.mark.usefixtures("offline")
def test_an_item_stored_wrong_is_restored_as_an_update(archive: Path) -> None:
    item = "govhk:P2022052500588"
    [(body, content_hash)] = rows(
        archive, "SELECT body_text, content_hash FROM articles WHERE id = ?", (item,)
    )
    # As an extractor bug would have stored it: another body, and so another hash.
    execute(
        archive,
        f"UPDATE articles SET body_text = 'Truncated.', content_hash = 'bad' WHERE id = '{item}'",
    )
    result = run_reparse(archive, "--source", "govhk")
    assert result.exit_code == 0, result.output
    assert " 0 new, 1 updated, " in result.stdout
    assert rows(archive, "SELECT body_text, content_hash FROM articles WHERE id = ?", (item,)) == [
        (body, content_hash)
    ]
    assert rows(
        archive,
        "SELECT body_text, content_hash FROM article_versions WHERE article_id = ?",
        (item,),
    ) == [("Truncated.", "bad")]
    [(arguments, updated)] = rows(
        archive, "SELECT arguments, items_updated FROM crawl_runs WHERE spider = 'reparse'"
    )
    assert (json.loads(arguments), updated) == ({"sources": ["govhk"]}, 1)


@pytest.mark.usefixtures("offline")
def test_missing_files_and_torn_records_are_counted_errors_one_line_each(archive: Path) -> None:
    root = archive.parent
    [(cpii_file,)] = rows(
        archive, "SELECT DISTINCT warc_file FROM raw_captures WHERE source='cpii'"
    )
    (root / cpii_file).unlink()
    [(govhk_file, end)] = rows(
        archive,
        "SELECT warc_file, max(warc_offset + warc_length) FROM raw_captures WHERE source='govhk'",
    )
    cut = end - 7  # a killed crawl: the last record torn
    with (root / govhk_file).open("r+b") as stream:
        stream.truncate(cut)
    lost = rows(
        archive,
        "SELECT url FROM raw_captures WHERE status = 200 AND ((source = 'govhk' AND "
        "warc_offset + warc_length > ?) OR source = 'cpii')",
        (cut,),
    )
    assert lost
    before = snapshot(archive)
    result = run_reparse(archive)
    assert result.exit_code == 1
    error_lines = result.stderr.strip().splitlines()
    assert "reparse finished with" in error_lines[-1]
    problems = error_lines[:-1]
    assert sorted(line.split("(", 1)[1].split(")", 1)[0] for line in problems) == sorted(
        url for (url,) in lost
    )
    assert any("torn record" in line for line in problems)
    assert any("cannot read" in line and "cpii" in line for line in problems)
    assert f" invalid, {len(lost)} errors" in result.stdout
    assert snapshot(archive) == before, "what could be read is still up to date"
    assert rows(archive, "SELECT status, errors FROM crawl_runs WHERE spider = 'reparse'") == [
        ("finished", len(lost))
    ]


def test_an_item_in_several_captures_is_stored_once_as_last_captured(tmp_path: Path) -> None:
    db_path = tmp_path / "archive.db"
    title = b"InnoHK Launch Ceremony Concludes with Great Success"
    api, feed = FIXTURES["cpii/api-posts-page1"], FIXTURES["cpii/feed"]
    later_feed = feed.response().replace(body=feed.body.replace(title, title + b" (updated)"))
    with open_archive(db_path) as db:
        warc = WarcFile(db_path, "test-cpii.warc.gz", {}, db=db)
        try:
            for response, hour in ((api.response(), 1), (later_feed, 2)):
                warc.write(response, run_id=None, source="cpii",
                           fetched=datetime(2026, 1, 1, hour, tzinfo=HKT))  # fmt: skip
        finally:
            warc.close()
    result = run_reparse(db_path, "--source", "cpii")
    assert result.exit_code == 0, result.output
    assert "2 captures read, 5 new, 0 updated, 0 unchanged" in result.stdout
    assert rows(
        db_path,
        "SELECT title, last_seen_at FROM articles WHERE native_id LIKE '%innohk%'",
    ) == [(f"{title.decode()} (updated)", "2026-01-01T02:00:00+08:00")]


def test_a_page_in_another_language_is_counted_not_archived_nor_invalid(tmp_path: Path) -> None:
    # Captured by a crawl of an earlier version, which stored it as English; read again it is
    # Japanese, and left out as a crawl leaves it out, not reported as an invalid item.
    db_path = tmp_path / "archive.db"
    url = "https://www.cairs.hk/cn/news_detail/index/98"  # no configured prefix says en or zh
    text = "<p>香港の研究所は本日、新しい研究施設の開設を発表しました。</p>" * 5
    body = f'<html lang="ja"><body><h1>研究施設</h1>{text}</body></html>'.encode()
    page = HtmlResponse(url=url, headers={"Content-Type": "text/html"}, body=body)
    with open_archive(db_path) as db:
        warc = WarcFile(db_path, "test-cairs.warc.gz", {}, db=db)
        try:
            warc.write(page, run_id=None, source="cairs", fetched=datetime(2026, 1, 1, tzinfo=HKT))
        finally:
            warc.close()
    result = run_reparse(db_path, "--source", "cairs")
    assert result.exit_code == 0, result.output
    assert (
        "1 captures read, 0 new, 0 updated, 0 unchanged, 0 invalid, 0 errors, 1 in other "
        "languages" in result.stdout
    )
    assert rows(db_path, "SELECT count(*) FROM articles") == [(0,)]


def test_an_undated_page_is_dated_by_its_capture_and_keeps_that_date(tmp_path: Path) -> None:
    db_path = tmp_path / "archive.db"
    url = "https://www.cairs.hk/en/news_detail/index/99"
    paragraphs = "<p>A sentence of an item whose page gives no date at all.</p>" * 5
    body = f"<html><body><h1>Undated</h1>{paragraphs}</body></html>".encode()
    page = HtmlResponse(url=url, headers={"Content-Type": "text/html"}, body=body)

    def capture(hour: int) -> None:
        with open_archive(db_path) as db:
            warc = WarcFile(db_path, f"test-cairs-{hour}.warc.gz", {}, db=db)
            try:
                warc.write(page, run_id=None, source="cairs",
                           fetched=datetime(2026, 1, 1, hour, 30, tzinfo=HKT))  # fmt: skip
            finally:
                warc.close()

    stored = "SELECT published_at, json_extract(extraction, '$.published_at') FROM articles"
    capture(1)
    result = run_reparse(db_path, "--source", "cairs")
    assert "1 new" in result.stdout, result.output
    # When the page was fetched, not when it was reparsed.
    assert rows(db_path, stored) == [("2026-01-01T01:30:00+08:00", "first-seen")]
    capture(5)
    result = run_reparse(db_path, "--source", "cairs")
    assert "0 new, 0 updated, 1 unchanged" in result.stdout, result.output
    assert rows(db_path, stored) == [("2026-01-01T01:30:00+08:00", "first-seen")]


def test_unknown_source_is_a_usage_error(archive: Path) -> None:
    result = run_reparse(archive, "--source", "nosuchsite")
    assert result.exit_code == 2
    assert "unknown source 'nosuchsite'" in result.stderr
    assert rows(archive, "SELECT count(*) FROM crawl_runs WHERE spider = 'reparse'") == [(0,)]


# Takes the archive's lock, says so, and holds it until its standard input is closed.
HOLDER = """
import sys
from newsarchive.lock import ArchiveLock
ArchiveLock(sys.argv[1]).acquire()
print("locked", flush=True)
sys.stdin.read()
"""


def test_reparse_refuses_to_start_while_another_process_holds_the_archive(archive: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(archive)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT,
    ) as child:  # fmt: skip
        assert child.stdin is not None and child.stdout is not None
        assert child.stdout.readline() == "locked\n"
        with pytest.raises(LockHeld):
            run_reparse(archive)
        child.stdin.close()
    assert rows(archive, "SELECT count(*) FROM crawl_runs WHERE spider = 'reparse'") == [(0,)]


def test_reparse_of_a_missing_archive_is_an_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(reparse, ["--db", str(tmp_path / "none.db")])
    assert result.exit_code == 1
    assert not (tmp_path / "none.db").exists()


def test_files_already_downloaded_are_kept_for_the_same_urls(tmp_path: Path) -> None:
    db = open_archive(tmp_path / "archive.db")
    stored = make_article()
    upsert_article(db, stored, seen_at="2026-01-01T00:00:00+08:00", run_id=1)
    [photo_url] = [p.url for p in stored.photos]
    db.execute(
        "UPDATE images SET local_path = 'media/full/ab.jpg', checksum = 'c0ffee', file_size = 9"
    )
    again = make_article(photos=[Photo(photo_url), Photo("https://gia.info.gov.hk/new.jpg")])
    keep_media_files(db, again)
    assert [(p.local_path, p.checksum, p.file_size) for p in again.photos] == [
        ("media/full/ab.jpg", "c0ffee", 9),
        (None, None, None),
    ]
    db.close()


def items(name: str) -> list[Any]:
    fixture = FIXTURES[name]
    return extract_items(fixture.meta.get("source", "govhk"), fixture.response())


def test_release_pages_give_their_release_and_index_pages_nothing() -> None:
    release = FIXTURES["govhk/P2022052500588"]
    assert items(release.name) == [extract_release(release.response())]
    assert items("govhk/index-20220525-en") == []


@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("cpii/api-posts-page1", 5),
        ("cpii/feed", 5),
        ("cpii/innohk-launch-ceremony", 1),
        ("cpii/category-news", 0),
        ("cairs/news-detail-36", 1),
        ("cairs/news", 0),
    ],
)
def test_centre_pages_are_routed_by_url(name: str, count: int) -> None:
    found = items(name)
    assert len(found) == count
    assert all(a.source == FIXTURES[name].meta["source"] for a in found)


def test_api_and_feed_give_the_same_items_as_the_spider() -> None:
    api = FIXTURES["cpii/api-posts-page1"]
    config = load_sources()["cpii"]
    assert items(api.name) == [article_from_api(p, config) for p in json.loads(api.body)]
    assert [a.native_id for a in items("cpii/feed")] == [a.native_id for a in items(api.name)]


def test_an_unreadable_api_post_is_an_error_and_the_others_still_count() -> None:
    api = FIXTURES["cpii/api-posts-page1"]
    posts = json.loads(api.body)
    del posts[0]["link"]
    response = api.response().replace(body=json.dumps(posts).encode())
    assert isinstance(response, TextResponse)
    errors: list[ExtractionError] = []
    found = extract_items("cpii", response, errors)
    assert len(found) == len(posts) - 1
    assert len(errors) == 1 and "has no link" in str(errors[0])


def test_unknown_source_cannot_be_dispatched() -> None:
    with pytest.raises(ValueError, match="unknown source 'nosuchsite'"):
        extract_items("nosuchsite", FIXTURES["cairs/news"].response())
    assert known_sources() == ["cairs", "cpii", "govhk", DEMO_SITE]


def test_a_reparse_killed_midway_leaves_whole_items_and_the_next_one_finishes_the_work(
    crawled: Path, archive: Path
) -> None:
    execute(archive, *(f"DELETE FROM {t}" for t in (*DERIVED, *CHILDREN, "articles")))
    want = snapshot(crawled)
    total = len(want["articles"])
    child = subprocess.Popen(
        [sys.executable, "-m", "hkarchive", "reparse", "--db", str(archive)],
        cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    stored = 0
    try:
        deadline = time.monotonic() + 120
        while child.poll() is None and time.monotonic() < deadline:
            try:
                stored = rows(archive, "SELECT count(*) FROM articles")[0][0]
            except sqlite3.OperationalError:
                continue  # busy: the reparse is writing
            if stored >= 5:
                child.kill()
                break
            time.sleep(0.002)  # polling the archive's row count, not a readiness wait
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL, "the reparse finished before it could be killed"
    assert rows(archive, "PRAGMA integrity_check") == [("ok",)]
    kept = snapshot(archive)
    assert 5 <= len(kept["articles"]) < total
    assert set(kept["articles"]) <= set(want["articles"])  # each item whole, as crawled
    for table in CHILDREN:
        assert set(kept[table]) <= set(want[table])
    assert rows(archive, "SELECT status FROM crawl_runs ORDER BY id DESC LIMIT 1") == [("running",)]
    result = run_reparse(archive)
    assert result.exit_code == 0, result.output
    assert snapshot(archive) == want
    assert rows(archive, "SELECT count(*) FROM link_queue") == [(0,)]
    assert rows(archive, "SELECT count(*) FROM story_links") == rows(
        crawled, "SELECT count(*) FROM story_links"
    )
    statuses = [r[0] for r in rows(archive, "SELECT status FROM crawl_runs ORDER BY id")][-2:]
    assert statuses == ["interrupted", "finished"]
