"""ArchiveLock: one crawl at a time per archive, by an flock on ``<db>.lock`` that dies with it.

The kernel releases an flock when the process holding it exits, however it exits (SIGKILL,
a power cut, an OOM kill), so a lock left behind by a dead crawl is simply taken over: there is
no stale-lock cleanup to get wrong. The file is never deleted (deleting a lock file lets two
processes each lock a different inode); it holds the holder's PID and start time, for the
message a refused crawl prints.

flock locks belong to an open file description, so two ``open()`` calls in one process would
lock each other out. Locks are therefore shared within a process: acquiring a lock this process
already holds only counts, and the file is unlocked when the last holder releases it. The
``hkarchive`` CLI takes the lock once for all the spiders it runs in one process.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from newsarchive.clock import hk_now

# sysexits.h EX_TEMPFAIL, "try again later": a crawl refused because another one is running
# did nothing wrong, and a scheduler can tell it from a failure (systemd: SuccessExitStatus=75).
EXIT_LOCKED = 75


def lock_path(db_path: str | Path) -> Path:
    """The lock file of the archive at db_path: the same name with ``.lock`` appended."""
    db = Path(db_path)
    return db.with_name(db.name + ".lock")


@dataclass(frozen=True)
class LockInfo:
    """Who holds an archive's lock: their PID and when they took it (ISO 8601, HK time)."""

    pid: int | None
    since: str | None

    def describe(self) -> str:
        """``pid 1234, since 2024-05-01T10:00:02+08:00``, or what is known of it."""
        if self.pid is None:
            return "pid unknown"
        return f"pid {self.pid}" + (f", since {self.since}" if self.since else "")


class LockError(Exception):
    """The lock file cannot be opened or written; the message names it."""


class LockHeld(LockError):
    """Another process holds the archive's lock."""

    def __init__(self, db_path: str | Path, holder: LockInfo) -> None:
        self.db_path = str(db_path)
        self.holder = holder
        self.pid = holder.pid
        self.since = holder.since
        super().__init__(
            f"another crawl is writing to the archive {self.db_path} "
            f"({holder.describe()}); not starting"
        )


@dataclass
class _Held:
    fd: int
    count: int
    owner_pid: int


# Lock files this process holds, by resolved path; guarded by _REGISTRY_LOCK.
_REGISTRY: dict[str, _Held] = {}
_REGISTRY_LOCK = threading.Lock()


class ArchiveLock:
    """An exclusive, non-blocking lock on an archive, shared by everything in one process."""

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = str(db_path)
        self.path = lock_path(db_path)
        self._key = os.path.realpath(self.path)
        self._held = False

    @property
    def held(self) -> bool:
        """Whether this object currently holds the lock."""
        return self._held

    def acquire(self) -> None:
        """Take the lock at once, or raise LockHeld naming the process that holds it."""
        if self._held:
            return
        with _REGISTRY_LOCK:
            held = _REGISTRY.get(self._key)
            # A child forked from a holder inherits the registry, not the right to write.
            if held is not None and held.owner_pid == os.getpid():
                held.count += 1
                self._held = True
                return
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_info(fd)
                os.close(fd)
                raise LockHeld(self.db_path, holder) from None
            except OSError as exc:
                os.close(fd)
                raise LockError(f"cannot lock {self.path}: {exc.strerror or exc}") from exc
            self._write_info(fd)
            _REGISTRY[self._key] = _Held(fd, 1, os.getpid())
            self._held = True

    def release(self) -> None:
        """Give the lock up; the file is unlocked when the last holder in the process does."""
        if not self._held:
            return
        self._held = False
        with _REGISTRY_LOCK:
            held = _REGISTRY.get(self._key)
            if held is None:
                return
            held.count -= 1
            if held.count > 0:
                return
            del _REGISTRY[self._key]
            # Emptied while still locked, so nobody reads a departed holder's PID.
            try:
                os.ftruncate(held.fd, 0)
            finally:
                os.close(held.fd)  # closing the last descriptor releases the flock

    def holder(self) -> LockInfo:
        """What the lock file says about its holder (who held it last when nobody does now)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return LockInfo(None, None)
        except OSError as exc:
            raise LockError(f"cannot read {self.path}: {exc.strerror or exc}") from exc
        try:
            return _read_info(fd)
        finally:
            os.close(fd)

    def __enter__(self) -> ArchiveLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def _open(self) -> int:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise LockError(f"cannot open {self.path}: {exc.strerror or exc}") from exc

    def _write_info(self, fd: int) -> None:
        info = {"pid": os.getpid(), "since": hk_now().isoformat(timespec="seconds")}
        data = (json.dumps(info) + "\n").encode()
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
        except OSError as exc:
            os.close(fd)
            raise LockError(f"cannot write {self.path}: {exc.strerror or exc}") from exc


def _read_info(fd: int) -> LockInfo:
    # The holder may be between taking the lock and writing its PID: then nothing is known.
    try:
        data: Any = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return LockInfo(None, None)
    if not isinstance(data, dict):
        return LockInfo(None, None)
    pid, since = data.get("pid"), data.get("since")
    return LockInfo(
        pid if isinstance(pid, int) else None, since if isinstance(since, str) else None
    )


def held_by_this_process(db_path: str | Path) -> bool:
    """Whether this process holds the archive's lock (through any ArchiveLock)."""
    key = os.path.realpath(lock_path(db_path))
    with _REGISTRY_LOCK:
        held = _REGISTRY.get(key)
        return held is not None and held.owner_pid == os.getpid()


@contextmanager
def crawl_lock(db_path: str | Path) -> Iterator[ArchiveLock]:
    """Hold the archive's lock for the block; raises LockHeld at once if another process has it."""
    with ArchiveLock(db_path) as lock:
        yield lock
