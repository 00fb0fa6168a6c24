"""A crawl killed with SIGKILL at any moment leaves a consistent archive, and the next run
finishes the work: the same ids and content hashes as an uninterrupted crawl."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from crawler.mirror import MirrorServer
from tests.conftest import MIRROR, REPO_ROOT, run_cli

WINDOW = ("--since", "2019-12-31", "--until", "2020-01-09")
# Kill after this many responses served: early (index pages), midway, late (most releases).
KILL_AFTER = (3, 9, 17, 26, 34)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("crash") / "mirror"
    for month in ("201912", "202001"):
        part = f"www.info.gov.hk/gia/general/{month}"
        shutil.copytree(MIRROR / part, root / part)
    return root


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def archive_state(db: Path) -> dict[str, Any]:
    """What must be equal between an interrupted-then-resumed and an uninterrupted crawl."""
    return {
        "articles": query(db, "SELECT id, content_hash FROM articles ORDER BY id"),
        "images": query(db, "SELECT article_id, position, url FROM images ORDER BY 1, 2"),
        "related": query(db, "SELECT article_id, position, url FROM related_links ORDER BY 1, 2"),
    }


@pytest.fixture(scope="module")
def reference(site: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    db = tmp_path_factory.mktemp("reference") / "archive.db"
    with MirrorServer(site).start() as server:
        result = run_cli("crawl", "govhk", *WINDOW, "--mirror", server.url, "--db", str(db))
    assert result.code == 0, result.stderr[-3000:]
    state = archive_state(db)
    assert len(state["articles"]) > max(KILL_AFTER) // 2, "the crawl must outlast the kills"
    return state


def kill_after(server: MirrorServer, db: Path, responses: int) -> bool:
    """Start a crawl and SIGKILL it once the server has served that many responses.

    Returns False when the crawl finished before the kill point.
    """
    server.reset_counts()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HKARCHIVE_")}
    child = subprocess.Popen(
        [sys.executable, "-m", "crawler", "crawl", "govhk", *WINDOW, "--mirror", server.url,
         "--db", str(db), "--quiet"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    try:
        while child.poll() is None and time.monotonic() < deadline:
            if sum(server.statuses.values()) >= responses:
                child.send_signal(signal.SIGKILL)
                child.wait(timeout=30)
                return True
            time.sleep(0.005)  # polling the server's counter, not waiting for readiness
        return False
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)


@pytest.mark.parametrize("responses", KILL_AFTER)
def test_sigkill_then_rerun_gives_the_uninterrupted_archive(
    site: Path, reference: dict[str, Any], tmp_path: Path, responses: int
) -> None:
    db = tmp_path / "archive.db"
    with MirrorServer(site).start() as server:
        killed = kill_after(server, db, responses)
        assert killed, "the crawl ended before the kill point"
        if db.exists():
            assert query(db, "PRAGMA integrity_check") == [("ok",)]
            partial = query(db, "SELECT count(*) FROM articles")[0][0]
            assert partial <= len(reference["articles"])
        result = run_cli("crawl", "govhk", *WINDOW, "--mirror", server.url, "--db", str(db))
    assert result.code == 0, result.stderr[-3000:]
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    assert archive_state(db) == reference
    statuses = [row[0] for row in query(db, "SELECT status FROM crawl_runs ORDER BY id")]
    assert statuses[-1] == "finished"
    assert "running" not in statuses, "a killed run is marked interrupted by the next one"
