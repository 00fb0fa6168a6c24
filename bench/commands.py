"""What one `hkarchive` command that reads the archive costs, start to exit, against Python's own.

An analyst's search from the shell is a whole process: Python starts, imports the CLI and what
the command needs, opens the archive and runs the query. Each command below is run `--runs`
times, interleaved with the baselines, in a fresh process, on an archive of generated
releases (crawled from a generated mirror by `hkarchive crawl`); the median wall time of each
is printed, with its ratio to two baselines run in the same session:

- python: `python -c pass`, the interpreter's start alone;
- sqlite3: a script that opens the archive with the standard library and runs one FTS5 query,
  the least a search from a new process can cost.

    python -m bench.commands --pages 200 --runs 15
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import crawls
from bench.sitegen import generate

SQLITE_SEARCH = (
    "import sqlite3, sys\n"
    "conn = sqlite3.connect(sys.argv[1])\n"
    "conn.execute(\"SELECT rowid FROM articles_search WHERE articles_search MATCH 'health' "
    'ORDER BY rowid DESC LIMIT 20").fetchall()\n'
)

COMMANDS = {
    "search": ["search", "health"],
    "search --order relevance": ["search", "health", "--order", "relevance"],
    "runs": ["runs"],
    "check": ["check"],
    "query": ["query", "SELECT count(*) FROM articles"],
}


def _timed(argv: list[str]) -> float:
    """Wall seconds of one run of argv (its output discarded; a failure stops the benchmark)."""
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603 (ours)
    seconds = time.perf_counter() - started
    # check exits 1 on a generated archive (no live crawl ever ran), having done its work.
    allowed = (0, 1) if argv[3:4] == ["check"] else (0,)
    if done.returncode not in allowed:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return seconds


def measure(db: Path, runs: int) -> dict[str, dict[str, float]]:
    """Median seconds of every command and baseline over `runs` interleaved rounds."""
    contenders = {
        "python": [sys.executable, "-c", "pass"],
        "sqlite3": [sys.executable, "-c", SQLITE_SEARCH, str(db)],
    } | {
        name: [sys.executable, "-m", "hkarchive", *argv, "--db", str(db)]
        for name, argv in COMMANDS.items()
    }
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(runs):
        for name, argv in contenders.items():
            times[name].append(_timed(argv))
    python, least = statistics.median(times["python"]), statistics.median(times["sqlite3"])
    return {
        name: {
            "median_s": statistics.median(found),
            "vs_python": statistics.median(found) / python,
            "vs_sqlite3": statistics.median(found) / least,
        }
        for name, found in times.items()
    }


def main(argv: list[str] | None = None) -> int:
    """Build the archive, time the commands, print the table (and JSON with --json)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pages", type=int, default=200, help="release pages crawled (default 200)")
    p.add_argument("--runs", type=int, default=15, help="rounds, medians reported (default 15)")
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hkarchive-commands-") as scratch:
        work = Path(scratch)
        site = generate(work / "mirror", args.pages, 20)
        db = work / "archive.db"
        with crawls.Mirror.serve(site.root) as mirror:
            crawls.ours(mirror, site, db, work / "crawl.log")
        results = measure(db, args.runs)
    print(f"{'command':28} {'median':>9} {'/ python':>9} {'/ sqlite3':>10}")
    for name, found in results.items():
        print(
            f"{name:28} {found['median_s'] * 1000:7.0f} ms {found['vs_python']:8.1f}× "
            f"{found['vs_sqlite3']:9.1f}×"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
