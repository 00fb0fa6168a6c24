"""A full disk and a damaged archive: the first such error stops a command, with one line.

A full disk is simulated: SQLITE_FULL from an archive that may grow by only a few pages
(tests/diskfull.py), ENOSPC from a patched write; a real small file system (tmpfs) is tried
too where this user may mount one. A damaged archive is a real one with some of its b-tree
pages overwritten by random bytes, as a bad disk or a stray write would leave it.
"""

from __future__ import annotations

import asyncio
import errno
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scrapy import Spider
from scrapy.http import HtmlResponse, Request, Response
from scrapy.utils.test import get_crawler

from crawler.faults import crawl_fault
from crawler.middlewares.rawcapture import GzipMembers, RawArchiveMiddleware
from hkarchive.cli import RunSummary, main
from hkarchive.mirror import MirrorServer
from newsarchive.archive import open_archive
from pipelines.media import MediaPipeline
from tests.conftest import REPO_ROOT, Result, rows, run_cli
from tests.test_faults import RELEASES, SINCE, UNTIL
from tests.test_search import ARTICLES, store

WINDOW = ("--since", SINCE, "--until", UNTIL)
ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def full_crawl(pages: int, *args: str) -> Result:
    """`hkarchive ARGS` in a child process, on an archive that may grow by only pages pages."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HKARCHIVE_")}
    done = subprocess.run(
        [sys.executable, "-m", "tests.diskfull", str(pages), *args],
        capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=300, check=False,
    )  # fmt: skip
    return Result(done.returncode, done.stdout, done.stderr)


def error_lines(stderr: str) -> list[str]:
    """The ERROR lines of a crawl's log."""
    return [line for line in stderr.splitlines() if " ERROR: " in line]


# --- A damaged archive, under every command ---------------------------------------------------


def damage(db: Path, where: str) -> None:
    """Overwrite the root page of each b-tree named by the sqlite_master condition where
    (never page 1, the schema) with random bytes; the page type byte is made invalid."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = [r[0] for r in conn.execute(
            f"SELECT rootpage FROM sqlite_master WHERE rootpage > 1 AND ({where})")]  # fmt: skip
    finally:
        conn.close()
    assert pages
    noise = random.Random(14)
    with db.open("r+b") as file:
        for number in pages:
            file.seek((number - 1) * size)
            file.write(b"\0" + noise.randbytes(size - 1))


@pytest.fixture
def damaged(tmp_path: Path) -> Path:
    """A small archive (four articles) with every b-tree but the schema damaged."""
    path = tmp_path / "archive.db"
    db = open_archive(path)
    store(db, *ARTICLES)
    db.close()
    damage(path, "1")
    return path


COMMANDS = {
    "runs": ["runs"],
    "check": ["check"],
    "search": ["search", "launch"],
    "export": ["export", "--format", "jsonl"],
    "history": ["history", "govhk:P2022052500588"],
    "story": ["story", "govhk:P2022052500588"],
    "story --relink": ["story", "--relink"],
    "pairs": ["pairs"],
    "pairs --relink": ["pairs", "--relink"],
    "query": ["query", "select title, body_text from articles"],
    "reparse": ["reparse"],
}


def damaged_line(db: Path, reason: str = ".+") -> str:
    """A pattern of the one line that names a damaged archive: SQLite's reason, then the check."""
    return (
        rf"hkarchive: error: the archive {re.escape(str(db))} is damaged \({reason}\): nothing "
        rf"more is written to it; check it with: sqlite3 {re.escape(str(db))} "
        r"'PRAGMA integrity_check'"
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_stops_on_a_damaged_archive_with_one_line_naming_the_check(
    command: str, damaged: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = damaged.read_bytes()
    capsys.readouterr()
    code = main([*COMMANDS[command], "--db", str(damaged)])
    err = capsys.readouterr().err
    assert code == 1
    # What SQLite said where it met the damage; check says it was quick_check.
    said = "quick_check: .+" if command == "check" else ".+"
    assert re.fullmatch(damaged_line(damaged, said), err.rstrip("\n")), err
    assert damaged.read_bytes() == before, "nothing is written into a damaged archive"
    wal = damaged.with_name(damaged.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0


def test_check_finds_damage_no_other_check_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "archive.db"
    db = open_archive(path)
    store(db, *ARTICLES)
    db.close()
    # Damage only the full-text index, which no other check reads.
    damage(path, "name = 'articles_search_idx'")
    capsys.readouterr()
    code = main(["check", "--db", str(path)])
    [line] = capsys.readouterr().err.splitlines()
    assert code == 1
    assert line.startswith(f"hkarchive: error: the archive {path} is damaged (quick_check: ")
    assert line.endswith(f"check it with: sqlite3 {path} 'PRAGMA integrity_check'")


def test_a_reparse_that_meets_damage_leaves_its_run_as_it_started(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "archive.db"
    db = open_archive(path)
    store(db, *ARTICLES)
    db.close()
    damage(path, "tbl_name = 'raw_captures'")  # read once the reparse's run is recorded
    capsys.readouterr()
    code = main(["reparse", "--db", str(path)])
    err = capsys.readouterr().err
    assert code == 1
    assert re.fullmatch(damaged_line(path), err.rstrip("\n")), err
    conn = sqlite3.connect(path)
    try:
        runs = conn.execute("SELECT spider, status, finished_at FROM crawl_runs").fetchall()
    finally:
        conn.close()
    assert runs == [("reparse", "running", None)], "its end is not written into the damaged file"


# --- A damaged archive under the crawl ---------------------------------------------------------


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory, mirror_server: MirrorServer) -> Path:
    """An archive of the releases of the test window, crawled through the mirror."""
    db = tmp_path_factory.mktemp("crawled") / "archive.db"
    result = run_cli("crawl", "govhk", *WINDOW, "--mirror", mirror_server.url, "--db", str(db))
    assert result.code == 0, result.stderr[-2000:]
    return db


@pytest.mark.parametrize(
    ("damaged_tables", "args"),
    [
        # Read by the spider's start (which index pages are settled), before any request.
        ("tbl_name = 'listing_pages'", ()),
        # Read by a callback (which releases are archived), after the index pages came.
        ("tbl_name = 'articles'", ("--refresh",)),
    ],
    ids=["met at start", "met in a callback"],
)
def test_a_crawl_stops_on_a_damaged_archive_and_writes_nothing_more(
    damaged_tables: str,
    args: tuple[str, ...],
    crawled: Path,
    mirror_server: MirrorServer,
    tmp_path: Path,
) -> None:
    db = tmp_path / "archive.db"
    shutil.copy(crawled, db)
    damage(db, damaged_tables)
    result = run_cli("crawl", "govhk", *WINDOW, *args, "--mirror", mirror_server.url,
                     "--db", str(db), "-q")  # fmt: skip
    assert result.code == 1
    assert "Traceback" not in result.stderr
    [logged] = error_lines(result.stderr)
    assert "Stopping the crawl: the archive" in logged
    [line] = [line for line in result.stderr.splitlines() if line.startswith("hkarchive:")]
    assert re.fullmatch(damaged_line(db), line), line
    # The new run is left as it started: its end is not written into the damaged file.
    assert rows(db, "SELECT id, status, finished_at IS NULL FROM crawl_runs") == [
        (1, "finished", 0),
        (2, "running", 1),
    ]


# --- A full disk under the crawl --------------------------------------------------------------


def test_a_full_disk_stops_the_crawl_with_one_line_and_a_failed_run(
    mirror_server: MirrorServer, tmp_path: Path
) -> None:
    db = tmp_path / "archive.db"
    crawl = ("crawl", "govhk", *WINDOW, "--mirror", mirror_server.url, "--db", str(db))
    result = full_crawl(30, *crawl, "-q")
    assert result.code == 1
    assert "Traceback" not in result.stderr
    [logged] = error_lines(result.stderr)
    assert "Stopping the crawl: the disk is full" in logged
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(
        f"hkarchive: error: the disk is full: cannot write {db} (database or disk is full); "
        "the crawl stopped, run 1 marked failed"
    ), last
    assert rows(db, "SELECT status, finish_reason FROM crawl_runs") == [("failed", "disk_full")]
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]
    stored = rows(db, "SELECT count(*) FROM articles")[0][0]
    assert 0 < stored < len(RELEASES), "it stopped at the first write that did not fit"
    # Space again: the next crawl archives the rest.
    result = run_cli(*crawl, "-q")
    assert result.code == 0, result.stderr[-2000:]
    assert rows(db, "SELECT count(*) FROM articles")[0][0] == len(RELEASES)
    # What the stopped run stored was linked too, by the run that finished.
    assert rows(db, "SELECT count(*) FROM link_queue") == [(0,)]


def test_the_crawl_says_so_when_a_full_disk_leaves_its_run_unrecorded() -> None:
    stored = {"items_new": 3, "items_updated": 0, "pages_fetched": 9, "items_unchanged": 0,
              "index_pages_missing": 0, "errors": 1}  # fmt: skip
    summary = RunSummary(
        [{"id": 4, "spider": "cairs", "status": "failed", **stored},
         {"id": 5, "spider": "govhk", "status": "running", **dict.fromkeys(stored)}],
        fault="the disk is full: cannot write a.db (database or disk is full)",
    )  # fmt: skip
    assert summary.fault_line() == (
        "the disk is full: cannot write a.db (database or disk is full); the crawl stopped, "
        "run 4 marked failed, run 5 could not be marked failed (left running: the next crawl "
        "marks it interrupted)"
    )


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs, where this user may mount one (root, outside most containers)."""
    folder = tmp_path / "small"
    folder.mkdir()
    if shutil.which("mount") is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def test_a_crawl_onto_a_small_file_system_stops_when_it_is_full(
    mirror_server: MirrorServer, small_disk: Path
) -> None:
    db = small_disk / "archive.db"
    result = run_cli("crawl", "--since", "2017-01-01", "--until", "2024-12-31", "--media",
                     "--mirror", mirror_server.url, "--db", str(db), "-q")  # fmt: skip
    assert result.code == 1
    assert "Traceback" not in result.stderr
    assert len([e for e in error_lines(result.stderr) if "Stopping the crawl" in e]) == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("hkarchive: error: the disk is full: cannot write "), last
    # Its run is marked failed, or the line says it could not be.
    runs = dict(rows(db, "SELECT id, status FROM crawl_runs WHERE status != 'finished'"))
    assert runs, "a run was stopped"
    said = {
        status: {int(n) for n in re.findall(r"\d+", found[0])}
        for status, pattern in (
            ("failed", r"run ([\d, ]+) marked failed"),
            ("running", r"run ([\d, ]+) could not be marked failed"),
        )
        if (found := re.findall(pattern, last))
    }
    for run, status in runs.items():
        assert run in said.get(status, set()), (run, status, last)
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]


# --- A full disk under the WARC writer and the media downloads --------------------------------

URL = "https://www.info.gov.hk/gia/general/202205/25/P2022052500588.htm"


def page(n: int) -> Response:
    return HtmlResponse(URL.replace("588", f"{n:03d}"), body=f"<p>{n}</p>".encode(),
                        headers={"Content-Type": "text/html"})  # fmt: skip


def test_a_full_disk_under_the_warc_writer_stops_the_crawl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "archive.db"
    crawler = get_crawler(Spider, {"HKARCHIVE_DB": str(db)})
    crawler.spider = Spider("govhk")
    mw = RawArchiveMiddleware.from_crawler(crawler)
    mw.spider_opened()
    first, second, third = page(1), page(2), page(3)
    mw.process_response(Request(first.url), first)
    assert mw.warc is not None
    warc = mw.warc.root / mw.warc.relative

    def full(self: GzipMembers) -> None:
        raise ENOSPC

    monkeypatch.setattr(GzipMembers, "flush", full)
    assert mw.process_response(Request(second.url), second) is second
    monkeypatch.undo()  # space again: the crawl has stopped all the same
    assert mw.process_response(Request(third.url), third) is third
    mw.spider_closed()
    assert crawl_fault(crawler) == (
        "disk_full",
        f"the disk is full: cannot write {warc} (no space left on device)",
    )
    assert [r[0] for r in rows(db, "SELECT url FROM raw_captures")] == [first.url]
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert [r.getMessage().split(":")[0] for r in errors] == ["Stopping the crawl"]
    assert all(r.exc_info is None for r in caplog.records), "no traceback"


def test_a_full_disk_under_a_media_download_stops_the_crawl_and_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    crawler = get_crawler(Spider, {"HKARCHIVE_DB": str(tmp_path / "archive.db"),
                                   "HKARCHIVE_MEDIA": True})  # fmt: skip
    crawler.spider = Spider("govhk")
    made = MediaPipeline.from_crawler(crawler)
    made.open_spider()
    photo = "https://gia.info.gov.hk/general/202205/25/P2022052500588_photo_1.jpg"
    response = Response(photo, body=b"\xff\xd8\xff" + b"\0" * 4000)

    def half_then_full(self: Path, data: bytes) -> int:
        with self.open("wb") as out:
            out.write(data[: len(data) // 2])
        raise ENOSPC

    async def download(request: Request) -> Any:
        return await made.media_downloaded(response, request, made.spiderinfo)

    with monkeypatch.context() as patched:
        patched.setattr(Path, "write_bytes", half_then_full)
        got = asyncio.run(download(Request(photo)))
    assert (got["path"], got["checksum"]) == ("", None)
    fault = crawl_fault(crawler)
    assert fault is not None and fault[0] == "disk_full"
    assert fault[1].startswith(f"the disk is full: cannot write {tmp_path / 'media' / 'full'}/")
    assert list((tmp_path / "media").rglob("*.jpg")) == [], "no partial file passes for a download"
    # Space again: the crawl has stopped, nothing more is stored.
    again = asyncio.run(download(Request(photo + "?2")))
    assert again["path"] == ""
    assert list((tmp_path / "media").rglob("*.jpg")) == []
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert [r.getMessage().split(":")[0] for r in errors] == ["Stopping the crawl"]
    assert all(r.exc_info is None for r in caplog.records), "no traceback"
