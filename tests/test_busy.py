"""Another writer holding the archive: a crawl waits for it, and one that cannot start says so.

The holder is a connection in this process with ``BEGIN IMMEDIATE``, as ``sqlite3 archive.db
'BEGIN IMMEDIATE; …'`` would be; the crawls run through the CLI against the loopback mirror.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from hkarchive.mirror import MirrorServer
from newsarchive.archive import open_archive
from tests.conftest import REPO_ROOT, rows
from tests.test_crawl import RELEASES, folder_day

WAITING = "locked by another writer: waiting"
# Ten days of January 2020 hold most of the mirror's GovHK releases, in both languages.
SINCE, UNTIL = "2019-12-31", "2020-01-09"


class Crawl:
    """`hkarchive crawl govhk` in a child process, its standard error read line by line."""

    def __init__(self, server: MirrorServer, db: Path, busy_timeout: float) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HKARCHIVE_")}
        env["HKARCHIVE_OVERRIDES"] = json.dumps({"HKARCHIVE_BUSY_TIMEOUT": busy_timeout})
        self.child = subprocess.Popen(
            [sys.executable, "-m", "hkarchive", "crawl", "govhk", "--since", SINCE,
             "--until", UNTIL, "--mirror", server.url, "--db", str(db), "-q"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT, env=env,
        )  # fmt: skip
        self.stderr: list[str] = []
        self.waiting = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.child.stderr is not None
        for line in self.child.stderr:
            self.stderr.append(line)
            if WAITING in line:
                self.waiting.set()

    def waits(self) -> bool:
        """Whether the crawl says it waits for the lock (False once it exits without)."""
        deadline = time.monotonic() + 120
        while not self.waiting.wait(timeout=0.05):
            if self.child.poll() is not None or time.monotonic() > deadline:
                return self.waiting.is_set()
        return True

    def finish(self) -> tuple[int, str, str]:
        """Exit status, standard output and standard error."""
        assert self.child.stdout is not None
        out = self.child.stdout.read()
        code = self.child.wait(timeout=300)
        self.reader.join(timeout=60)
        self.child.stdout.close()
        assert self.child.stderr is not None
        self.child.stderr.close()
        return code, out, "".join(self.stderr)


@contextmanager
def write_lock(db: Path) -> Iterator[sqlite3.Connection]:
    """Hold the archive's write lock for the block."""
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield holder
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def expected_ids() -> set[str]:
    """The releases of the mirror in the crawl's days."""
    first, last = date.fromisoformat(SINCE), date.fromisoformat(UNTIL)
    return {f"govhk:{f.folder.name}" for f in RELEASES if first <= folder_day(f) <= last}


def test_a_crawl_that_cannot_start_its_run_exits_1_in_one_line(
    mirror_server: MirrorServer, tmp_path: Path
) -> None:
    db = tmp_path / "archive.db"
    open_archive(db).close()
    mirror_server.reset_counts()
    with write_lock(db):
        # 20 waits of 0.1 s: the crawl gives up after some 2 s, while the lock is still held.
        code, out, err = Crawl(mirror_server, db, busy_timeout=0.1).finish()
    assert code == 1, err[-3000:]
    assert err.splitlines()[-1] == (
        f"hkarchive: error: could not start the crawl of govhk in {db}; see the log above"
    )
    errors = [line for line in err.splitlines() if " ERROR: " in line]
    assert len(errors) == 1 and "locked by another writer: gave up" in errors[0], err[-3000:]
    assert "Traceback" not in err
    assert out == "govhk: no run recorded (archive_busy)\n"
    assert rows(db, "SELECT count(*) FROM crawl_runs") == [(0,)]
    assert not mirror_server.hits, "nothing is fetched"


def test_a_crawl_waits_for_a_writer_holding_the_archive_as_it_starts(
    mirror_server: MirrorServer, tmp_path: Path
) -> None:
    db = tmp_path / "archive.db"
    open_archive(db).close()
    with write_lock(db):
        crawl = Crawl(mirror_server, db, busy_timeout=0.2)
        waited = crawl.waits()  # released once the crawl says it waits
    code, out, err = crawl.finish()
    assert waited, err[-3000:]
    assert code == 0, err[-3000:]
    assert out.startswith("govhk: run 1 finished: "), out
    assert rows(db, "SELECT status, errors FROM crawl_runs") == [("finished", 0)]
    assert {r[0] for r in rows(db, "SELECT id FROM articles")} == expected_ids()


def test_a_lock_held_mid_crawl_delays_it_without_losing_an_item(
    mirror_server: MirrorServer, tmp_path: Path
) -> None:
    db = tmp_path / "archive.db"
    open_archive(db).close()
    wanted = expected_ids()
    crawl = Crawl(mirror_server, db, busy_timeout=0.2)
    reader = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    deadline = time.monotonic() + 120
    while not reader.execute("SELECT count(*) FROM articles").fetchone()[0]:
        assert time.monotonic() < deadline and crawl.child.poll() is None, "no item stored"
        time.sleep(0.005)
    reader.close()
    with write_lock(db) as holder:
        stored = holder.execute("SELECT count(*) FROM articles").fetchone()[0]
        # Held for ten more busy timeouts once the crawl says it waits: where each blocked
        # write used to wait one busy timeout and fail, the crawl now waits until it is free.
        waited = crawl.waits()
        time.sleep(2)
    code, out, err = crawl.finish()
    assert waited, err[-3000:]
    assert stored < len(wanted), "the lock was taken mid-crawl"
    assert code == 0, err[-3000:]
    assert out.endswith(", 0 errors\n"), out
    assert " ERROR: " not in err
    assert rows(db, "SELECT status, errors, failures FROM crawl_runs") == [("finished", 0, 0)]
    assert {r[0] for r in rows(db, "SELECT id FROM articles")} == wanted
    assert rows(db, "SELECT count(*) FROM failures") == [(0,)]
