"""Readers keep answering while a crawl writes: `hkarchive search` and `hkarchive serve`
(datasette) never wait for the crawl nor fail with "database is locked" (WAL mode, one short
transaction per item)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from hkarchive.mirror import MirrorRequestHandler, MirrorServer
from newsarchive import search as full_text
from newsarchive.archive import open_archive
from tests.conftest import MIRROR, REPO_ROOT
from tests.test_serve import Server, serving

# 246 daily index pages (most of them missing) and 25 releases.
WINDOW = ("--since", "2019-10-01", "--until", "2020-01-31")
# The mirror answers one request at a time, each after this delay, so the crawl writes for
# several seconds.
DELAY = 0.02
# Bounds on one reader call, below the SQLite busy timeouts (datasette's 5 s, the CLI's 30 s):
# a reader that waited for the crawl's lock would exceed them. A search subprocess spends most
# of its time importing the CLI.
SEARCH_SECONDS = 20.0
HTTP_SECONDS = 4.0
QUERY_SECONDS = 2.0
PAUSE = 0.05
SEARCHES = ("government", "香港", "health OR 衞生", "Hong Kong")
PAGES = (
    "archive/articles.json?_search=government&_size=5",
    f"archive/articles.json?_search={quote('香港')}&_size=5",
    "archive/articles.json?_facet=source&_facet=lang&_size=5",
    "archive/crawl_runs.json?_sort_desc=id",
    "archive/recent_crawl_runs.json",
    "archive/search.json?q=government",
    "archive.json",
)


class SlowRequestHandler(MirrorRequestHandler):
    """Answers one request at a time, each after DELAY."""

    turn = threading.Lock()

    def _send_file(self, *, with_body: bool) -> None:
        with self.turn:
            time.sleep(DELAY)
            super()._send_file(with_body=with_body)


@dataclass
class Calls:
    """Reader calls of one kind: how long each took, and what went wrong."""

    seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    hits: int = 0

    def timed(self, call: Callable[[int], int], number: int) -> None:
        started = time.monotonic()
        try:
            self.hits += call(number)
        except Exception as exc:  # every failure is reported by the test, with its message
            self.failures.append(f"{type(exc).__name__}: {exc}")
        self.seconds.append(time.monotonic() - started)

    def describe(self, name: str) -> str:
        if not self.seconds:
            return f"{name}: no calls"
        return (
            f"{name}: {len(self.seconds)} calls, max {max(self.seconds):.2f} s, "
            f"mean {sum(self.seconds) / len(self.seconds):.2f} s"
        )


def repeat_while(running: threading.Event, calls: Calls, each: Callable[[int], int]) -> None:
    number = 0
    while running.is_set():
        calls.timed(each, number)
        number += 1
        # A pause between calls, as a user's, so the readers do not starve the crawl of CPU.
        time.sleep(PAUSE)


def env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("HKARCHIVE_")}


def cli_search(db: Path, number: int) -> int:
    """`hkarchive search` in a child process; the number of hits."""
    done = subprocess.run(
        [sys.executable, "-m", "hkarchive", "search", SEARCHES[number % len(SEARCHES)],
         "--db", str(db), "--format", "json"],
        capture_output=True, text=True, env=env(), cwd=REPO_ROOT, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr.strip()[-500:]}"
    return len(json.loads(done.stdout))


def in_process_search(db: Path, number: int) -> int:
    """The same search, in this process: the query alone, without the CLI's start-up."""
    with open_archive(db, create=False) as archive:
        return len(full_text.search(archive, SEARCHES[number % len(SEARCHES)]))


def datasette_page(server: Server, number: int) -> int:
    """One of PAGES from datasette; the rows it shows."""
    path = PAGES[number % len(PAGES)]
    status, body = server.get(path)
    assert status == 200, f"{path}: {status} {body[:300]}"
    data: Any = json.loads(body)
    return len(data.get("rows", [])) if isinstance(data, dict) else 0


def test_search_and_datasette_answer_while_a_crawl_writes(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    open_archive(db).close()  # the schema, as a first crawl would leave it
    calls = {name: Calls() for name in ("hkarchive search", "search query", "datasette")}
    running = threading.Event()
    running.set()
    server = MirrorServer(MIRROR)
    server.RequestHandlerClass = SlowRequestHandler
    with server.start(), serving(db, tmp_path / "logs") as datasette:
        readers = [
            threading.Thread(target=repeat_while, args=(running, calls[name], each), daemon=True)
            for name, each in (
                ("hkarchive search", lambda n: cli_search(db, n)),
                ("search query", lambda n: in_process_search(db, n)),
                ("datasette", lambda n: datasette_page(datasette, n)),
            )
        ]
        started = time.monotonic()
        crawl = subprocess.Popen(
            [sys.executable, "-m", "hkarchive", "crawl", "govhk", *WINDOW,
             "--mirror", server.url, "--db", str(db), "--quiet"],
            env=env(), cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        for reader in readers:
            reader.start()
        try:
            out, err = crawl.communicate(timeout=300)
        finally:
            running.clear()
            for reader in readers:
                reader.join(timeout=120)
        crawl_seconds = time.monotonic() - started
    report = "; ".join(c.describe(name) for name, c in calls.items())
    print(f"crawl {crawl_seconds:.1f} s, {sum(server.statuses.values())} responses; {report}")
    assert crawl.returncode == 0, err[-3000:]
    with open_archive(db, create=False) as archive:
        articles = archive.execute("SELECT count(*) FROM articles").fetchone()[0]
    assert articles > 20 and f"{articles} new" in out, out
    for name, c in calls.items():
        assert not c.failures, f"{name}: {c.failures[:3]}"
    assert len(calls["hkarchive search"].seconds) >= 2, report
    assert len(calls["datasette"].seconds) >= 20, report
    assert calls["search query"].hits > 0, "no search saw the crawl's items as it wrote them"
    assert max(calls["hkarchive search"].seconds) < SEARCH_SECONDS, report
    assert max(calls["search query"].seconds) < QUERY_SECONDS, report
    assert max(calls["datasette"].seconds) < HTTP_SECONDS, report
