"""End to end: real crawls of the loopback mirror into a temporary archive, through the CLI."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from hkarchive.mirror import MirrorServer
from tests.conftest import REPO_ROOT, Fixture, Result, load_fixtures, rows, run_cli

RELEASES = [f for f in load_fixtures() if f.meta["kind"] == "release"]
ENGLISH = [f for f in RELEASES if f.meta["lang"] == "en"]
# Content columns a re-crawl must leave untouched (last_seen_at and last_run_id may move).
STABLE_COLUMNS = "id, url, lang, title, published_at, body_text, body_html, content_hash, " \
    "extraction, first_seen_at, last_changed_at, first_run_id"  # fmt: skip


def folder_day(fixture: Fixture) -> date:
    ym, dd = fixture.meta["url"].split("/gia/general/")[1].split("/")[:2]
    return date(int(ym[:4]), int(ym[4:]), int(dd))


def expected(fixture: Fixture) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(fixture.expected_path.read_text(encoding="utf-8"))
    return data


def crawl(server: MirrorServer, db: Path, *args: str) -> Result:
    return run_cli("crawl", "govhk", *args, "--mirror", server.url, "--db", str(db))


def release_hits(server: MirrorServer) -> dict[str, int]:
    return {path: n for path, n in server.hits.items() if "/P" in path}


@pytest.fixture(scope="module")
def english_crawl(
    tmp_path_factory: pytest.TempPathFactory, mirror_server: MirrorServer
) -> Iterator[tuple[Path, Result, dict[str, int]]]:
    """Every English release of the mirror, crawled over the whole range of its days."""
    db = tmp_path_factory.mktemp("english") / "archive.db"
    first, last = min(map(folder_day, ENGLISH)), max(map(folder_day, ENGLISH))
    mirror_server.reset_counts()
    result = crawl(mirror_server, db, "--since", str(first), "--until", str(last), "--lang", "en")
    yield db, result, release_hits(mirror_server)


def test_crawl_archives_one_row_per_english_release(
    english_crawl: tuple[Path, Result, dict[str, int]],
) -> None:
    db, result, hits = english_crawl
    assert result.code == 0, result.stderr[-3000:]
    ids = {r[0] for r in rows(db, "SELECT native_id FROM articles")}
    assert ids == {f.folder.name for f in ENGLISH}
    assert set(hits.values()) == {1}, "every release is fetched once"
    assert len(hits) == len(ENGLISH)


def test_crawled_rows_match_the_golden_extraction(
    english_crawl: tuple[Path, Result, dict[str, int]],
) -> None:
    db, _, _ = english_crawl
    for fixture in ENGLISH:
        want = expected(fixture)
        got = rows(
            db,
            "SELECT url, lang, title, published_at, body_text, content_hash FROM articles "
            "WHERE id = ?",
            (f"govhk:{fixture.folder.name}",),
        )
        fields = ("url", "lang", "title", "published_at", "body_text", "content_hash")
        assert got == [tuple(want[f] for f in fields)], fixture.name
        photos = rows(
            db,
            "SELECT url, thumbnail_url, caption FROM images WHERE article_id = ? ORDER BY position",
            (f"govhk:{fixture.folder.name}",),
        )
        assert photos == [(p["url"], p["thumbnail_url"], p["caption"]) for p in want["photos"]]


def test_crawl_run_is_recorded_with_counts(
    english_crawl: tuple[Path, Result, dict[str, int]],
) -> None:
    db, result, _ = english_crawl
    [(status, new, missing, errors, arguments)] = rows(
        db, "SELECT status, items_new, index_pages_missing, errors, arguments FROM crawl_runs"
    )
    assert (status, new, errors) == ("finished", len(ENGLISH), 0)
    days = {folder_day(f) for f in ENGLISH}
    first, last = min(days), max(days)
    assert missing == (last - first).days + 1 - len(days)
    assert json.loads(arguments)["lang"] == "en"
    assert f"{len(ENGLISH)} new" in result.stdout
    assert f"{missing} index pages missing" in result.stdout
    # Days without an index page are normal: summed up there, not a warning each.
    assert not warnings(result.stderr), warnings(result.stderr)[:5]


def test_second_crawl_fetches_no_archived_release_and_changes_nothing(
    english_crawl: tuple[Path, Result, dict[str, int]],
    mirror_server: MirrorServer,
    tmp_path: Path,
) -> None:
    db, _, _ = english_crawl
    copy = tmp_path / "archive.db"
    shutil.copy(db, copy)
    before = rows(copy, f"SELECT {STABLE_COLUMNS} FROM articles ORDER BY id")
    media_before = rows(copy, "SELECT * FROM images ORDER BY article_id, position")
    days = sorted({folder_day(f) for f in ENGLISH})
    window = ("--since", str(days[0]), "--until", str(days[-1]), "--lang", "en")
    mirror_server.reset_counts()
    result = crawl(mirror_server, copy, *window)
    assert result.code == 0, result.stderr[-3000:]
    assert release_hits(mirror_server) == {}, "archived releases, not yet due, are not fetched"
    # Past days whose index pages were read in full (or found missing) are settled too.
    assert mirror_server.hits == {}, "a re-crawl of an archived range fetches nothing"
    assert rows(copy, f"SELECT {STABLE_COLUMNS} FROM articles ORDER BY id") == before
    assert rows(copy, "SELECT * FROM images ORDER BY article_id, position") == media_before
    assert rows(copy, "SELECT items_new, items_updated, items_unchanged FROM crawl_runs "
                "ORDER BY id DESC LIMIT 1") == [(0, 0, 0)]  # fmt: skip

    mirror_server.reset_counts()
    result = crawl(mirror_server, copy, *window, "--refresh")
    assert result.code == 0, result.stderr[-3000:]
    assert set(release_hits(mirror_server).values()) == {1}, "--refresh fetches every release"
    # ... conditionally: the server gave validators, and nothing changed.
    not_modified = [p for p in mirror_server.hits_for(304) if "/P" in p]
    assert len(not_modified) == len(ENGLISH)
    assert rows(copy, f"SELECT {STABLE_COLUMNS} FROM articles ORDER BY id") == before
    last = "SELECT items_new, items_updated, items_unchanged, stats FROM crawl_runs "
    [(new, updated, unchanged, stats)] = rows(copy, last + "ORDER BY id DESC LIMIT 1")
    assert (new, updated, unchanged) == (0, 0, 0)
    assert json.loads(stats)["hkarchive/items_not_modified"] == len(ENGLISH)


def test_both_languages_of_a_day(mirror_server: MirrorServer, tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    result = crawl(mirror_server, db, "--since", "2022-05-25", "--until", "2022-05-25")
    assert result.code == 0, result.stderr[-3000:]
    found = dict(rows(db, "SELECT lang, title FROM articles WHERE title LIKE '%InnoHK%'"))
    assert found["en"].startswith("InnoHK Launch Ceremony concludes with great success")
    assert "創新" in found["zh"]
    assert rows(db, "SELECT published_at FROM articles") == [
        ("2022-05-25T20:20:00+08:00",),
        ("2022-05-25T20:20:00+08:00",),
    ]


def test_scrapy_crawl_reads_the_same_settings(mirror_server: MirrorServer, tmp_path: Path) -> None:
    db = tmp_path / "scrapy.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HKARCHIVE_")}
    env.update(HKARCHIVE_DB=str(db), HKARCHIVE_MIRROR=mirror_server.url)
    done = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "govhk",
         "-a", "since=2022-05-25", "-a", "until=2022-05-25", "-a", "lang=en"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert rows(db, "SELECT id FROM articles") == [("govhk:P2022052500588",)]


def test_scrapy_crawl_exits_1_when_the_run_logged_errors(tmp_path: Path) -> None:
    # A mirror nobody answers on: every page fails. Scrapy's own command would exit 0.
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HKARCHIVE_")}
    env.update(
        HKARCHIVE_DB=str(tmp_path / "scrapy.db"), HKARCHIVE_MIRROR=f"http://127.0.0.1:{port}"
    )
    env["HKARCHIVE_OVERRIDES"] = json.dumps({"RETRY_TIMES": 0})
    done = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "govhk",
         "-a", "since=2022-05-25", "-a", "until=2022-05-25", "-a", "lang=en"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert " ERROR: " in done.stderr, done.stderr[-3000:]
    assert done.returncode == 1, done.stderr[-3000:]


def test_demo_archives_every_release_of_the_bundled_mirror(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    result = run_cli("demo", "--db", str(db))
    assert result.code == 0, result.stderr[-3000:]
    assert rows(db, "SELECT source, count(*) FROM articles GROUP BY source") == [
        ("cairs", 5),
        ("cpii", 5),
        ("govhk", len(RELEASES)),
        # The bilingual reconstructed site the demo adds by its address alone (kind auto).
        ("smartcity", 10),
    ]
    assert rows(db, "SELECT count(*) FROM translation_pairs p JOIN articles a ON a.id = p.en_id "
                "WHERE a.source = 'smartcity'") == [(5,)]  # fmt: skip
    story = rows(
        db,
        "SELECT l.article_id, l.role FROM story_links l JOIN story_links o "
        "ON o.story_id = l.story_id WHERE o.article_id = 'govhk:P2022052500588' ORDER BY l.role",
    )
    assert sorted(story) == [
        ("cairs:en/36", "republication"),
        ("cpii:2022/06/02/innohk-launch-ceremony", "republication"),
        ("govhk:P2022052500588", "original"),
        ("smartcity:en/news/detail.php?id=118", "republication"),
    ]
    assert "story 1: 4 items from cairs, cpii, govhk, smartcity" in result.stdout
    assert "Sample query" in result.stdout
    # Crawled from the bundled mirror: its newest release (2022) is no silence of GovHK's.
    checked = run_cli("check", "--db", str(db))
    assert checked.code == 0, checked.stderr
    assert checked.stderr == ""
    said = "govhk: not checked for silence: no run of it crawled the live site's current days"
    assert f"{said} (the last, run 1, went through the mirror http" in checked.stdout
    assert checked.stdout.splitlines()[-1].startswith(f"ok: {db}: 4 sources")


def warnings(log: str) -> list[str]:
    """The log's lines at WARNING or above (Scrapy's format: date time [logger] LEVEL: ...)."""
    return [line for line in log.splitlines() if LOUD.match(line)]


LOUD = re.compile(r"\S+ \S+ \[[^\]]+\] (WARNING|ERROR|CRITICAL): ")


def test_a_scheduled_crawl_with_nothing_to_report_logs_nothing(
    mirror_server: MirrorServer, tmp_path: Path
) -> None:
    """Every source, quiet, as the schedule runs it: missing index pages and media downloads
    left off are no news; the summary on standard output counts the missing days."""
    db = tmp_path / "archive.db"
    result = run_cli("crawl", "-q", "--since", "2022-05-01", "--until", "2022-06-30",
                     "--mirror", mirror_server.url, "--db", str(db))  # fmt: skip
    assert result.code == 0, result.stderr[-3000:]
    assert result.stderr == ""
    [(missing,)] = rows(db, "SELECT index_pages_missing FROM crawl_runs WHERE spider = 'govhk'")
    assert missing > 100  # two languages of 61 days, of which the mirror holds a few
    assert f"{missing} index pages missing, 0 errors" in result.stdout


def test_verbose_crawl_names_each_missing_index_page(
    mirror_server: MirrorServer, tmp_path: Path
) -> None:
    db = tmp_path / "archive.db"
    result = crawl(mirror_server, db, "-v", "--since", "2022-05-17", "--until", "2022-05-17",
                   "--lang", "en")  # fmt: skip
    assert result.code == 0, result.stderr[-3000:]
    assert "1 index pages missing" in result.stdout
    said = [line for line in result.stderr.splitlines() if "No index page at" in line]
    assert len(said) == 1
    page = "https://www.info.gov.hk/gia/general/202205/17.htm"
    assert f"DEBUG: No index page at {page} (404)" in said[0]


def test_unextractable_and_missing_pages_are_errors_not_rows(tmp_path: Path) -> None:
    good = next(f for f in ENGLISH if f.folder.name == "P2022052500588")
    root = tmp_path / "mirror" / "www.info.gov.hk" / "gia" / "general" / "202205"
    (root / "25").mkdir(parents=True)
    (root / "25" / "P2022052500588.htm").write_bytes(good.body)
    (root / "25" / "P2022052500001.htm").write_bytes(
        b"<html><title>Broken</title><body><p>No release template here</p></body></html>"
    )
    (root / "25.htm").write_text(
        '<a href="25/P2022052500588.htm">ok</a> <a href="25/P2022052500001.htm">broken</a>'
        ' <a href="25/P2022052500002.htm">missing</a>'
    )
    db = tmp_path / "archive.db"
    with MirrorServer(tmp_path / "mirror").start() as server:
        result = crawl(
            server, db, "-q", "--since", "2022-05-25", "--until", "2022-05-25", "--lang", "en"
        )
    assert result.code == 1
    assert "2 errors" in result.stderr
    # Quiet, as scheduled: real problems are still logged, each in its own line.
    loud = warnings(result.stderr)
    assert any("ERROR: Cannot extract" in line and "P2022052500001" in line for line in loud)
    assert any("ERROR:" in line and "P2022052500002" in line for line in loud)
    assert rows(db, "SELECT id FROM articles") == [("govhk:P2022052500588",)]
    assert rows(db, "SELECT errors, status FROM crawl_runs") == [(2, "finished")]
    assert rows(db, "PRAGMA integrity_check") == [("ok",)]


def test_sigterm_stops_the_crawl_with_its_pages_stored_and_the_run_interrupted(
    tmp_path: Path,
) -> None:
    db = tmp_path / "archive.db"
    window = ("--since", "2019-12-31", "--until", "2020-01-09")
    with MirrorServer(REPO_ROOT / "tests" / "mirror").start() as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HKARCHIVE_")}
        child = subprocess.Popen(
            [sys.executable, "-m", "hkarchive", "crawl", "govhk", *window,
             "--mirror", server.url, "--db", str(db)],
            cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while sum(server.statuses.values()) < 10 and time.monotonic() < deadline:
            time.sleep(0.002)  # polling the mirror's counter, not a readiness wait
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=120)
        assert child.returncode == 128 + signal.SIGTERM, err[-2000:]
        assert err.rstrip().splitlines()[-1] == (
            "hkarchive: crawl stopped by SIGTERM: the pages in hand were stored and the runs "
            "marked interrupted; the next crawl fetches the rest"
        )
        assert "Traceback" not in err
        [(run_id, status, reason)] = rows(db, "SELECT id, status, finish_reason FROM crawl_runs")
        assert (status, reason) == ("interrupted", "shutdown")
        assert f"govhk: run {run_id} interrupted:" in out
        stored = {r[0] for r in rows(db, "SELECT id FROM articles")}
        assert rows(db, "PRAGMA integrity_check") == [("ok",)]
        again = run_cli("crawl", "govhk", *window, "--mirror", server.url, "--db", str(db))
        assert again.code == 0, again.stderr[-2000:]
    every = {r[0] for r in rows(db, "SELECT id FROM articles")}
    assert stored < every
    assert rows(db, "SELECT count(*) FROM link_queue") == [(0,)]


def test_a_backfill_from_before_govhk_began_starts_on_its_first_day(
    mirror_server: MirrorServer, tmp_path: Path
) -> None:
    """Not 35,000 days of index pages that never existed: one, and one line saying why."""
    db = tmp_path / "archive.db"
    mirror_server.reset_counts()
    result = crawl(
        mirror_server, db, "--since", "1900-01-01", "--until", "1997-07-01", "--lang", "en"
    )
    assert result.code == 0, result.stderr[-3000:]
    said = [line for line in result.stderr.splitlines() if "1900-01-01" in line]
    assert len(said) == 1, said
    assert "govhk has no news before 1997-07-01: crawling from that day" in said[0]
    assert list(mirror_server.hits) == ["/www.info.gov.hk/gia/general/199707/01.htm"]
    ((arguments,),) = rows(db, "SELECT arguments FROM crawl_runs")
    assert json.loads(arguments)["since"] == "1997-07-01"
