"""The benchmark runs end to end: a smoke test of `python bench/run.py --quick`.

Its numbers depend on the machine and its load, so they are never asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SECTIONS = ("ceiling", "ours", "naive", "extraction", "incremental", "search", "memory", "latency")


def test_quick_benchmark_runs_and_writes_every_section(tmp_path: Path) -> None:
    out, cache = tmp_path / "results.json", tmp_path / "cache"
    done = subprocess.run(
        [sys.executable, "bench/run.py", "--quick", "--out", str(out), "--cache", str(cache)],
        cwd=REPO,
        capture_output=True,
        text=True,
        # About a minute on an idle machine; far longer when other work shares the cores.
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text(encoding="utf-8"))
    assert set(SECTIONS) <= set(results["sections"])
    assert results["machine"]["cores"]
    assert results["table"]
    assert "| section" in done.stdout
