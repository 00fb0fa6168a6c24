"""Benchmark: speed, memory and cost of the crawl as the archive grows, against baselines.

Generates a mirror of N GovHK release pages from the real templates, serves it on 127.0.0.1
from a separate process, and measures in one run:

1. ceiling: a bare Scrapy spider requesting the same URLs and parsing nothing;
2. ours: `hkarchive crawl govhk` of the mirror into a fresh archive;
3. naive: a sequential requests + BeautifulSoup script storing the same fields in SQLite;
   with `--news-please PYTHON`, news-please's whole crawl of the first `--news-please-pages`
   releases too (its Download crawler, extractors and file storage; bench/crawls.py);
4. extraction: ms per page of our GovHK extractor and of trafilatura on the same pages (and
   of news-please's library extraction, with `--news-please`);
5. incremental: a second crawl of the unchanged mirror into the same archive;
6. search: latency of `hkarchive search` in synthetic archives of 100k and 1M articles,
   newest first and by relevance, warm and first after opening a cold archive; size per
   1,000 articles of each part of the archive; insert rates;
7. memory: peak RSS of our crawl (with its extraction worker) at N = 1k, 10k, 100k pages;
8. latency: ours and naive again on a smaller mirror answering every request late, as a
   server across a network does (on loopback a sequential script never waits), and ours
   with the live sites' politeness settings, what a user's crawl runs with.

Crawls run `--runs` times, interleaved, and the medians are reported. One table is printed
and every raw number goes to bench/results.json. Run from a checkout:

    python bench/run.py --pages 5000 --runs 3
    python bench/run.py --quick          # a smoke test, under a minute
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    # `python bench/run.py` puts bench/ on the path, not the checkout.
    sys.path.insert(0, str(REPO))

from bench import crawls, extraction, report, searchscale  # noqa: E402
from bench.sitegen import Site, generate  # noqa: E402
from crawler.mirror import mirror_overrides  # noqa: E402

SECTIONS = (
    "ceiling", "ours", "naive", "extraction", "incremental", "search", "memory", "latency"
)  # fmt: skip
QUICK = {
    "pages": 100,
    "latency_pages": 40,
    "latency_live_pages": 20,
    "runs": 1,
    "memory_steps": "40,100",
    "search_rows": "500,1000",
    "search_cold": 2,
    "upsert_rows": 100,
    "extract_pages": 50,
    "news_please_pages": 20,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; --quick fills in small sizes for whatever was not given."""
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--pages", type=int, help="release pages in the mirror (default 5000)")
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke test (< 1 min)")
    p.add_argument("--runs", type=int, help="repeats of each crawl; medians reported (default 3)")
    p.add_argument("--per-day", type=int, default=20, help="releases per day, both languages")
    p.add_argument("--memory-steps", help='pages per memory step (default "1000,10000,100000")')
    p.add_argument("--search-rows", help='archive sizes for search (default "100000,1000000")')
    p.add_argument("--search-passes", type=int, default=1, help="timed passes over the queries")
    p.add_argument("--search-cold", type=int,
                   help="first searches timed in an archive dropped from the page cache, "
                        "per order and language (default 5)")  # fmt: skip
    p.add_argument("--upsert-rows", type=int, help="articles timed through upsert_article")
    p.add_argument("--extract-pages", type=int, help="pages timed in extraction (default 500)")
    p.add_argument("--news-please", metavar="PYTHON",
                   help="a Python with news-please installed: its whole crawl of the mirror "
                        "is a contender, and its extraction is timed "
                        "(bench/newsplease_peer.py)")  # fmt: skip
    p.add_argument("--news-please-pages", type=int,
                   help="release pages news-please crawls in each run (default 1000)")  # fmt: skip
    p.add_argument(
        "--latency-ms",
        type=float,
        default=100.0,
        help="delay of every answer in the latency section (default 100 ms)",
    )
    p.add_argument("--latency-pages", type=int,
                   help="release pages in the latency section's mirror (default 400)")  # fmt: skip
    p.add_argument("--latency-live-pages", type=int,
                   help="release pages crawled with the live politeness settings in the "
                        "latency section (default 80: under 2 min)")  # fmt: skip
    p.add_argument("--skip", nargs="+", default=[], choices=SECTIONS, metavar="SECTION",
                   help=f"sections to leave out: {', '.join(SECTIONS)}")  # fmt: skip
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results.json")
    p.add_argument("--keep", type=Path, help="keep mirrors, archives and logs in this directory")
    p.add_argument("--cache", type=Path,
                   help="where built search archives are kept between runs "
                        "(default: the system temp dir, or KEEP/search-cache)")  # fmt: skip
    p.add_argument("--rebuild", action="store_true", help="rebuild cached search archives")
    p.add_argument("--table", type=Path, metavar="RESULTS",
                   help="only print the table of an existing results file")  # fmt: skip
    args = p.parse_args(argv)
    defaults = QUICK if args.quick else {
        "pages": 5000, "runs": 3, "memory_steps": "1000,10000,100000",
        "search_rows": "100000,1000000", "search_cold": 5, "upsert_rows": 2000,
        "extract_pages": 500,
        "latency_pages": 400, "latency_live_pages": 80, "news_please_pages": 1000,
    }  # fmt: skip
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    import sqlite3

    import lxml.etree
    import scrapy
    import trafilatura
    import twisted

    cpu = ""
    mem_kb = 0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    except OSError:
        cpu = platform.processor()
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 (git from PATH, read-only)
            cwd=REPO, capture_output=True, text=True, check=False,
        ).stdout.strip()  # fmt: skip
    except OSError:
        commit = ""
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        # The kernel's version number only: its release string can name the host's setup.
        "os": f"{platform.system()} {platform.release().split('-')[0]} {platform.machine()}",
        "python": platform.python_version(),
        "scrapy": scrapy.__version__,
        "twisted": twisted.__version__,
        "lxml": ".".join(map(str, lxml.etree.LXML_VERSION)),
        "sqlite": sqlite3.sqlite_version,
        "trafilatura": trafilatura.__version__,
        "commit": commit,
        "load_average_at_start": os.getloadavg(),
    }


def _shown(value: object) -> object:
    """An argument as results.json records it: paths outside the checkout by name only."""
    if not isinstance(value, Path):
        return value
    path = value.resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else f".../{path.name}"


def median_of(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Median of every numeric field over the runs."""
    keys = [k for k, v in runs[0].items() if isinstance(v, int | float)]
    return {k: statistics.median(r[k] for r in runs) for k in keys}


def log(message: str) -> None:
    """Progress on stderr, so stdout holds only the table."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def write_urls(site: Site, path: Path) -> int:
    """Every page of the site, one URL a line (for the bare spider); returns how many."""
    urls = list(site.urls())
    path.write_text("\n".join(urls) + "\n", encoding="utf-8")
    return len(urls)


def crawl_sections(args: argparse.Namespace, work: Path, site: Site) -> dict[str, Any]:
    """Ceiling, ours, incremental and naive, interleaved run by run on one mirror."""
    want = {s for s in ("ceiling", "ours", "naive", "incremental") if s not in args.skip}
    if not want:
        return {}
    urls = work / "urls.txt"
    n_urls = write_urls(site, urls)
    raw: dict[str, list[dict[str, Any]]] = {s: [] for s in want}
    pages = site.releases
    # news-please's whole crawl, beside ours: on the first --news-please-pages releases, as its
    # CPU per page is several times ours.
    peer_pages = min(pages, args.news_please_pages) if args.news_please and "ours" in want else 0
    if peer_pages:
        raw["newsplease"] = []
    with crawls.Mirror.serve(site.root) as mirror:
        for run in range(args.runs):
            log(f"run {run + 1}/{args.runs}")
            if "ceiling" in want:
                c = crawls.ceiling(mirror, urls, work / "ceiling.log")
                raw["ceiling"].append(c.as_dict(pages))
                log(f"  ceiling: {pages / c.run.wall_s:.0f} pages/s")
            if want & {"ours", "incremental"}:
                db_dir = crawls.fresh_dir(work / f"ours-{run}")
                first = crawls.ours(mirror, site, db_dir / "archive.db", work / "ours.log")
                if first.stored.get("articles") != pages:
                    # A rate over pages not stored would flatter us: stop rather than report it.
                    raise SystemExit(f"ours stored {first.stored} of {pages} pages")
                log(f"  ours: {pages / first.run.wall_s:.0f} pages/s, "
                    f"{first.run.peak_rss_mb:.0f} MB")  # fmt: skip
                if "ours" in want:
                    raw["ours"].append(first.as_dict(pages))
                if "incremental" in want:
                    again = crawls.ours(mirror, site, db_dir / "archive.db", work / "again.log")
                    fetched = sum(again.requests["release_requests"].values())
                    raw["incremental"].append(
                        again.run.as_dict()
                        | {
                            "requests": again.requests["requests"],
                            "release_pages_fetched": fetched,
                            "wall_share": again.run.wall_s / first.run.wall_s,
                            "first_wall_s": first.run.wall_s,
                            "mirror": again.requests,
                            "stored": again.stored,
                        }
                    )
                    log(f"  incremental: {again.requests['requests']} requests, "
                        f"{again.run.wall_s:.1f} s")  # fmt: skip
                if not args.keep:
                    shutil.rmtree(db_dir, ignore_errors=True)
            if peer_pages:
                c = crawls.newsplease(
                    mirror, site, args.news_please, work / f"newsplease-{run}", peer_pages
                )
                raw["newsplease"].append(c.as_dict(peer_pages))
                log(f"  news-please: {peer_pages / c.run.wall_s:.0f} pages/s")
                if not args.keep:
                    shutil.rmtree(work / f"newsplease-{run}", ignore_errors=True)
            if "naive" in want:
                db_dir = crawls.fresh_dir(work / f"naive-{run}")
                c = crawls.naive(mirror, site, db_dir / "naive.db", work / "naive.log")
                raw["naive"].append(c.as_dict(pages))
                log(f"  naive: {pages / c.run.wall_s:.0f} pages/s")
    out: dict[str, Any] = {}
    for section, runs in raw.items():
        out[section] = {"runs": runs, "median": median_of(runs), "pages": pages, "urls": n_urls}
    if peer_pages:
        out["newsplease"]["pages"] = out["newsplease"]["urls"] = peer_pages
    if "ours" in out:
        ours_rate = out["ours"]["median"]["pages_per_s"]
        if "ceiling" in out:
            out["ours"]["ratio_to_ceiling"] = ours_rate / out["ceiling"]["median"]["pages_per_s"]
        if "naive" in out:
            out["ours"]["ratio_to_naive"] = ours_rate / out["naive"]["median"]["pages_per_s"]
        if "newsplease" in out:
            peer = out["newsplease"]["median"]["pages_per_s"]
            out["ours"]["ratio_to_newsplease"] = ours_rate / peer
    return out


def latency_section(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Ours twice and naive once against a mirror that answers every request late.

    Ours runs first with the settings a loopback mirror gives it (no politeness: 32 requests in
    flight, 16 per site, no delay), then with the live sites' politeness settings
    (`crawls.live_politeness`: what a user's crawl of the real sites runs with) on a smaller
    mirror of `--latency-live-pages`, as it waits half a second or more between requests.
    """
    log(f"latency: {args.latency_pages:,} pages answered {args.latency_ms:.0f} ms late")
    site = generate(crawls.fresh_dir(work / "mirror-latency"), args.latency_pages, args.per_day)
    live_site = generate(
        crawls.fresh_dir(work / "mirror-latency-live"), args.latency_live_pages, args.per_day
    )
    politeness = crawls.live_politeness()
    out: dict[str, Any] = {"delay_ms": args.latency_ms, "pages": site.releases}
    db_dir = crawls.fresh_dir(work / "latency-ours")
    with crawls.Mirror.serve(site.root, args.latency_ms) as mirror:
        c = crawls.ours(mirror, site, db_dir / "archive.db", work / "latency-ours.log")
        if c.stored.get("articles") != site.releases:
            raise SystemExit(f"ours stored {c.stored} of {site.releases} pages")
        lifted = mirror_overrides(mirror.url)
        out["ours"] = c.as_dict(site.releases) | {
            "settings": {name: lifted[name] for name in politeness}
        }
        c = crawls.naive(mirror, site, db_dir / "naive.db", work / "latency-naive.log")
        out["naive"] = c.as_dict(site.releases)
    log(f"latency: ours with the live settings {politeness}, {live_site.releases:,} pages")
    with crawls.Mirror.serve(live_site.root, args.latency_ms) as mirror:
        c = crawls.ours(mirror, live_site, db_dir / "live.db", work / "latency-live.log",
                        overrides=politeness)  # fmt: skip
        if c.stored.get("articles") != live_site.releases:
            raise SystemExit(f"ours (live settings) stored {c.stored} of {live_site.releases}")
        out["live"] = c.as_dict(live_site.releases) | {
            "pages": live_site.releases, "settings": politeness
        }  # fmt: skip
    naive_rate = out["naive"]["pages_per_s"]
    out["ratio_to_naive"] = out["ours"]["pages_per_s"] / naive_rate
    out["live_ratio_to_naive"] = out["live"]["pages_per_s"] / naive_rate
    log(f"latency: ours {out['ours']['pages_per_s']:.0f}, ours with live settings "
        f"{out['live']['pages_per_s']:.1f}, naive {naive_rate:.0f} pages/s")  # fmt: skip
    if not args.keep:
        shutil.rmtree(db_dir, ignore_errors=True)
        shutil.rmtree(site.root, ignore_errors=True)
        shutil.rmtree(live_site.root, ignore_errors=True)
    return out


def memory_section(
    args: argparse.Namespace,
    work: Path,
    main: Site,
    ours: dict[str, Any] | None,
    save_partial: Callable[[dict[str, Any]], None],
) -> dict[str, Any]:
    """Peak RSS of one crawl per step, each of its own generated mirror.

    A step of the main mirror's size takes the first measured crawl of the "ours" section.
    """
    steps: dict[str, Any] = {}
    for n in [int(s) for s in args.memory_steps.split(",") if s.strip()]:
        if n == main.releases and ours:
            steps[str(n)] = ours["runs"][0] | {"generate_s": main.seconds, "reused": "ours"}
            continue
        if n == main.releases:
            site = main
        else:
            log(f"memory: generating {n:,} pages")
            site = generate(crawls.fresh_dir(work / f"mirror-{n}"), n, args.per_day)
        db_dir = crawls.fresh_dir(work / f"memory-{n}")
        with crawls.Mirror.serve(site.root) as mirror:
            c = crawls.ours(mirror, site, db_dir / "archive.db", work / f"memory-{n}.log")
        steps[str(n)] = c.as_dict(site.releases) | {"generate_s": site.seconds}
        log(f"memory: {n:,} pages, peak RSS {c.run.peak_rss_mb:.0f} MB, "
            f"{site.releases / c.run.wall_s:.0f} pages/s")  # fmt: skip
        if not args.keep:
            shutil.rmtree(db_dir, ignore_errors=True)
            if site is not main:
                shutil.rmtree(site.root, ignore_errors=True)
        save_partial({"steps": steps})
    rss = [s["peak_rss_mb"] for s in steps.values()]
    return {"steps": steps, "growth": rss[-1] / rss[0] if rss else 0.0, "largest": _course(steps)}


def _course(steps: dict[str, Any]) -> dict[str, float]:
    """RSS of the largest step's crawl at a quarter, half and three quarters of its time."""
    if not steps:
        return {}
    largest = steps[max(steps, key=int)]
    samples, wall = largest.get("rss_samples") or [], largest["wall_s"]
    at: dict[str, float] = {}
    for share in (0.25, 0.5, 0.75):
        before = [mb for t, mb in samples if t <= share * wall]
        if before:
            at[f"rss_mb_at_{int(share * 100)}pct"] = before[-1]
    return at


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every section not skipped; the results as written to --out."""
    started = time.perf_counter()
    work = (
        crawls.fresh_dir(args.keep)
        if args.keep
        else Path(tempfile.mkdtemp(prefix="hkarchive-bench-"))
    )
    cache = args.cache or (
        args.keep / "search-cache" if args.keep else Path(tempfile.gettempdir()) / "hkarchive-bench"
    )
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "arguments": {k: _shown(v) for k, v in vars(args).items()},
        "sections": {},
        "timings_s": {},
        "complete": False,
    }
    sections, timings = results["sections"], results["timings_s"]
    try:
        t = time.perf_counter()
        site = generate(work / "mirror", args.pages, args.per_day)
        checked = extraction.check_site(site)
        results["site"] = {
            "releases": site.releases, "index_pages": site.index_pages,
            "first_day": site.first_day.isoformat(), "last_day": site.last_day.isoformat(),
            "per_day": args.per_day, "megabytes": site.bytes_written / 1e6,
            "generate_s": site.seconds, "pages_checked": checked,
        }  # fmt: skip
        timings["generate"] = time.perf_counter() - t
        log(f"generated {site.releases:,} releases and {site.index_pages:,} index pages "
            f"({site.first_day} to {site.last_day}) in {site.seconds:.1f} s")  # fmt: skip
        t = time.perf_counter()
        sections.update(crawl_sections(args, work, site))
        timings["crawls"] = time.perf_counter() - t
        save(args.out, results)
        if "extraction" not in args.skip:
            t = time.perf_counter()
            repeats = 2 if args.quick else 5
            sections["extraction"] = extraction.measure(
                site.root, args.extract_pages, repeats, args.news_please
            )
            timings["extraction"] = time.perf_counter() - t
            save(args.out, results)
        if "latency" not in args.skip:
            t = time.perf_counter()
            sections["latency"] = latency_section(args, work)
            timings["latency"] = time.perf_counter() - t
            save(args.out, results)
        if "memory" not in args.skip:
            t = time.perf_counter()

            def partial(memory: dict[str, Any]) -> None:
                sections["memory"] = memory
                save(args.out, results)

            sections["memory"] = memory_section(args, work, site, sections.get("ours"), partial)
            timings["memory"] = time.perf_counter() - t
            save(args.out, results)
        if "search" not in args.skip:
            t = time.perf_counter()
            sizes = [int(s) for s in args.search_rows.split(",") if s.strip()]
            log(f"search: archives of {sizes} articles in {cache}")
            sections["search"] = searchscale.measure(
                cache, sizes, args.search_passes, args.rebuild, args.upsert_rows, args.search_cold
            )
            timings["search"] = time.perf_counter() - t
            save(args.out, results)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    results["machine"]["load_average_at_end"] = os.getloadavg()
    timings["total"] = time.perf_counter() - started
    results["complete"] = True
    return results


def save(out: Path, results: dict[str, Any]) -> None:
    """Write the results so far (a run stopped later keeps its finished sections)."""
    results["table"] = report.rows(results)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", "utf-8")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the table, write the results."""
    args = parse_args(argv)
    if args.table:
        print(report.table(report.rows(json.loads(args.table.read_text("utf-8")))))
        return 0
    results = run(args)
    save(args.out, results)
    m = results["machine"]
    print(f"\n{m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB; Python {m['python']}, "
          f"Scrapy {m['scrapy']}, SQLite {m['sqlite']}; {results['site']['releases']:,} pages, "
          f"medians of {args.runs} runs; load {m['load_average_at_start'][0]:.2f}\n")  # fmt: skip
    print(report.table(results["table"]))
    print(f"\nresults: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
