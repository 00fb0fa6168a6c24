"""Run a command in a child process and measure it: wall time, CPU time and peak RSS."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

SAMPLE_EVERY_S = 1.0


@dataclass(frozen=True)
class ChildRun:
    """What one child process cost, from its own resource usage (not the server's)."""

    returncode: int
    wall_s: float
    cpu_s: float
    user_s: float
    sys_s: float
    peak_rss_mb: float
    # (seconds since start, RSS in MB of the child and its descendants) every SAMPLE_EVERY_S,
    # where /proc can be read.
    rss_samples: list[tuple[float, float]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """The figures as plain numbers, for results.json (RSS samples thinned to ~50)."""
        step = max(1, len(self.rss_samples) // 50)
        return {
            "returncode": self.returncode,
            "wall_s": self.wall_s,
            "cpu_s": self.cpu_s,
            "user_s": self.user_s,
            "sys_s": self.sys_s,
            "peak_rss_mb": self.peak_rss_mb,
            "rss_samples": [[round(t, 1), round(mb, 1)] for t, mb in self.rss_samples[::step]],
        }


def _rss_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:  # noqa: PTH123 (hot loop)
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text(encoding="ascii")
            found.extend(int(child) for child in text.split())
    except (OSError, ValueError):
        pass
    return found


def tree_rss_mb(pid: int) -> float | None:
    """RSS of a process and all its descendants together (the crawl and its workers)."""
    own = _rss_mb(pid)
    if own is None:
        return None
    return own + sum(mb or 0.0 for mb in map(tree_rss_mb, _children(pid)))


def _sample(
    pid: int, started: float, samples: list[tuple[float, float]], done: threading.Event
) -> None:
    # RSS over time shows whether memory grows with the work, which the peak alone cannot.
    while not done.wait(SAMPLE_EVERY_S):
        mb = tree_rss_mb(pid)
        if mb is not None:
            samples.append((time.perf_counter() - started, mb))


def run_child(
    argv: Sequence[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> ChildRun:
    """Run argv to completion with its output in `log`, measured by wait4 on its pid.

    wait4 gives the rusage of that one child and the children it waited for (CPU time of
    both; ru_maxrss, in KiB on Linux, of the largest one alone), so the mirror server and this
    harness are never counted in it. RSS is also sampled every second over the child and its
    descendants together (an extraction worker beside a crawl); the peak is the larger of the
    two.
    """
    with log.open("ab") as out:
        started = time.perf_counter()
        # The commands are this harness's own, built from fixed parts and paths.
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)  # noqa: S603
        samples: list[tuple[float, float]] = []
        done = threading.Event()
        sampler = threading.Thread(target=_sample, args=(proc.pid, started, samples, done))
        sampler.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            done.set()
            sampler.join()
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return ChildRun(
        returncode=proc.returncode,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        user_s=usage.ru_utime,
        sys_s=usage.ru_stime,
        peak_rss_mb=max([usage.ru_maxrss / 1024, *(mb for _, mb in samples)]),
        rss_samples=samples,
    )
