"""One crawl at a time per archive: the lock refuses a second process and dies with its holder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from hkarchive.mirror import MirrorServer
from newsarchive.archive import open_archive
from newsarchive.lock import (
    ArchiveLock,
    LockError,
    LockHeld,
    crawl_lock,
    held_by_this_process,
    lock_path,
)
from tests.conftest import REPO_ROOT, run_cli

# Takes the lock, says so, and holds it until its standard input is closed.
HOLDER = """
import sys
from newsarchive.lock import ArchiveLock
ArchiveLock(sys.argv[1]).acquire()
print("locked", flush=True)
sys.stdin.read()
"""

# Tries the lock once and prints what happened.
TRY = """
import sys
from newsarchive.lock import ArchiveLock, LockHeld
try:
    ArchiveLock(sys.argv[1]).acquire()
except LockHeld as exc:
    print("held", exc.pid)
else:
    print("acquired")
"""


@contextmanager
def holder(db: Path) -> Iterator[subprocess.Popen[str]]:
    """A child process holding the archive's lock (waited for on a pipe, not by sleeping)."""
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        assert child.stdout.readline() == "locked\n"
        yield child
    finally:
        with suppress(BrokenPipeError):
            child.stdin.close()
        child.wait(timeout=30)
        child.stdout.close()


def try_in_another_process(db: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", TRY, str(db)],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def test_lock_file_sits_next_to_the_archive(tmp_path: Path) -> None:
    assert lock_path(tmp_path / "archive.db") == tmp_path / "archive.db.lock"


def test_a_second_process_is_refused_while_the_first_holds_the_lock(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    with holder(db) as child:
        lock = ArchiveLock(db)
        with pytest.raises(LockHeld) as refused:
            lock.acquire()
        assert not lock.held
        assert refused.value.pid == child.pid
        assert refused.value.since is not None
        message = str(refused.value)
        assert f"pid {child.pid}" in message
        assert str(db) in message
        assert "\n" not in message
    # Once the holder has exited the lock is free again.
    with crawl_lock(db) as lock:
        assert lock.held


def test_the_lock_of_a_killed_holder_is_taken_over(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    with holder(db) as child:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        # The dead holder's PID is still written in the file: only the kernel's lock is gone.
        assert ArchiveLock(db).holder().pid == child.pid
        with crawl_lock(db):
            assert ArchiveLock(db).holder().pid == os.getpid()
            assert try_in_another_process(db) == f"held {os.getpid()}"


def test_release_lets_another_process_in_and_keeps_the_file(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    lock = ArchiveLock(db)
    lock.acquire()
    info = json.loads(lock_path(db).read_text())
    assert info["pid"] == os.getpid()
    assert info["since"].endswith("+08:00")
    lock.release()
    assert lock_path(db).exists()
    assert lock_path(db).read_text() == ""
    assert try_in_another_process(db) == "acquired"


def test_locks_in_one_process_share_it_until_the_last_release(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    first, second = ArchiveLock(db), ArchiveLock(str(db))
    first.acquire()
    second.acquire()  # two crawls of one process do not lock each other out
    first.release()
    assert try_in_another_process(db) == f"held {os.getpid()}"
    second.release()
    assert try_in_another_process(db) == "acquired"


def test_this_process_knows_whether_it_holds_the_lock(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    assert not held_by_this_process(db)
    with crawl_lock(db):
        assert held_by_this_process(db)
    assert not held_by_this_process(db)
    with holder(db):
        assert not held_by_this_process(db)


def test_crawl_lock_is_released_when_the_block_raises(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    with pytest.raises(RuntimeError), crawl_lock(db):
        raise RuntimeError("crawl failed")
    assert try_in_another_process(db) == "acquired"


def test_an_unwritable_lock_file_is_a_lock_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    db = tmp_path / "file" / "archive.db"
    with pytest.raises(LockError, match=r"archive\.db\.lock"):
        ArchiveLock(db).acquire()


def test_scrapy_crawl_refuses_a_locked_archive_in_one_line(
    mirror_server: MirrorServer, tmp_path: Path
) -> None:
    db = tmp_path / "archive.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HKARCHIVE_")}
    env.update(HKARCHIVE_DB=str(db), HKARCHIVE_MIRROR=mirror_server.url)
    mirror_server.reset_counts()
    with holder(db) as child:
        done = subprocess.run(
            [sys.executable, "-m", "scrapy", "crawl", "govhk",
             "-a", "since=2022-05-25", "-a", "until=2022-05-25", "-a", "lang=en"],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    errors = [line for line in done.stderr.splitlines() if " ERROR: " in line]
    assert len(errors) == 1, done.stderr[-3000:]
    assert f"another crawl is writing to the archive {db} (pid {child.pid}" in errors[0]
    assert "Closing spider (archive_locked)" in done.stderr
    assert "Traceback" not in done.stderr
    # As `hkarchive crawl`: 75 (EX_TEMPFAIL), so cron or a timer can tell "try later" from done.
    assert done.returncode == 75, done.stderr[-3000:]
    assert not mirror_server.hits, "nothing is fetched"
    assert not db.exists(), "a refused crawl does not touch the archive"


def test_a_second_hkarchive_crawl_exits_75_naming_the_first(
    mirror_server: MirrorServer, tmp_path: Path
) -> None:
    db = tmp_path / "archive.db"
    with holder(db) as child:
        result = run_cli("crawl", "govhk", "--since", "2022-05-25", "--until", "2022-05-25",
                         "--mirror", mirror_server.url, "--db", str(db))  # fmt: skip
    assert result.code == 75
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(
        f"hkarchive: error: another crawl is writing to the archive {db} (pid {child.pid}"
    )


@pytest.mark.parametrize("command", ["story", "pairs"])
def test_relinking_takes_the_archive_lock_and_exits_75_when_it_is_held(
    command: str, tmp_path: Path
) -> None:
    db = tmp_path / "archive.db"
    open_archive(db).close()
    with holder(db) as child:
        result = run_cli(command, "--relink", "--db", str(db))
    assert result.code == 75, result.stderr
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(
        f"hkarchive: error: another crawl is writing to the archive {db} (pid {child.pid}"
    )
    # Free again, it relinks.
    assert run_cli(command, "--relink", "--db", str(db)).code == 0
