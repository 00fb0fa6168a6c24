"""The archive's health: what each crawl records beyond its counts, and the checks run on it.

A crawl records, besides its counts, how many requests it made, how many answers were
``304 Not Modified``, how many requests finally failed, and its field coverage: the share of
stored items with a title and a date the site gave (not the body's first words, not the time
first seen), a body and at least one image, per source. The checks read
those rows back (``hkarchive check``); each returns Problem objects and prints nothing.
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import time
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlite_utils

from newsarchive.db import CORRUPT, fault_reason, placeholders, storage_fault
from newsarchive.linking.queue import never_linked, waiting
from newsarchive.model import FIRST_SEEN, FIRST_WORDS, Article
from newsarchive.search import index_gaps

FIELDS = ("title", "date", "body", "images")

# A source "publishes daily" when it had items on at least this share of the days of this many
# days before the silence being checked. GovHK issues releases every day, holidays included.
DAILY_WINDOW_DAYS = 30
DAILY_MIN_SHARE = 0.5
ALWAYS_DAILY = frozenset({"govhk"})
# Coverage is compared over samples of at least this many items (consecutive runs of a source
# are pooled until they reach it), so that an hourly run storing two items is not a redesign.
COVERAGE_MIN_ITEMS = 5
COVERAGE_HISTORY = 5
COVERAGE_LOOKBACK_DAYS = 90
STUCK_HOURS = 12.0


# --- what a crawl records ---------------------------------------------------------------------


@dataclass
class CoverageTally:
    """Per source, how many stored items had each field (see FIELDS)."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, article: Article) -> None:
        """Count one stored item."""
        tally = self.counts.setdefault(article.source, dict.fromkeys((*FIELDS, "items"), 0))
        tally["items"] += 1
        # A title or date made up when the site gave none (the body's first words, the time
        # first seen) does not count: a redesign that hides them must still show here.
        tally["title"] += bool(article.title and article.title.strip()) and not _made_up(
            article, "title"
        )
        tally["date"] += bool(article.published_at) and not _made_up(article, "published_at")
        tally["body"] += bool(article.body_text and article.body_text.strip())
        tally["images"] += bool(article.photos)

    def as_dict(self) -> dict[str, dict[str, float]]:
        """``{source: {title: share, date: share, body: share, images: share, items: n}}``."""
        out: dict[str, dict[str, float]] = {}
        for source, tally in sorted(self.counts.items()):
            n = tally["items"]
            out[source] = {f: round(tally[f] / n, 4) for f in FIELDS} | {"items": n}
        return out


_MADE_UP = {"title": FIRST_WORDS, "published_at": FIRST_SEEN}


def _made_up(article: Article, field: str) -> bool:
    return article.extraction.get(field) == _MADE_UP[field]


def quick_check(db: sqlite_utils.Database) -> tuple[list[str], float]:
    """Run ``PRAGMA quick_check`` (every page of the file read and its structure checked, about
    a second per GB once cached): what it found wrong (nothing for a sound archive) and how
    many seconds it took."""
    started = time.monotonic()
    try:
        found = [str(row[0]) for row in db.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as exc:
        if storage_fault(exc) != CORRUPT:
            raise
        found = [fault_reason(exc)]  # damage bad enough to stop the check itself
    return ([] if found == ["ok"] else found), time.monotonic() - started


def failures_from_stats(stats: Mapping[str, Any]) -> int:
    """Requests that finally failed, and pages that were fetched but could not be read.

    The sum of every ``hkarchive/…_failed`` counter (the spiders' errbacks count a request once
    it has failed for good: after its retries, or with an HTTP error status; ``extract_failed``
    counts pages that could not be extracted) and ``spider_exceptions/count`` (callbacks that
    crashed). Falling back from an API to a feed is not a failure, nor is a retried attempt that
    later succeeded.
    """
    total = int(stats.get("spider_exceptions/count", 0) or 0)
    for key, value in stats.items():
        if key.startswith("hkarchive/") and key.rsplit("/", 1)[-1].endswith("_failed"):
            total += int(value or 0)
    return total


def run_health_values(stats: Mapping[str, Any], coverage: CoverageTally) -> dict[str, Any]:
    """The crawl_runs columns a crawl writes when it ends, beyond its item counts."""
    return {
        "requests": int(stats.get("downloader/request_count", 0) or 0),
        "responses_not_modified": int(stats.get("downloader/response_status_count/304", 0) or 0),
        "failures": failures_from_stats(stats),
        "coverage": json.dumps(coverage.as_dict(), sort_keys=True),
        "pid": os.getpid(),
    }


# --- reading runs back --------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One crawl_runs row, as the health commands use it."""

    id: int
    spider: str
    started_at: str | None
    finished_at: str | None
    status: str | None
    finish_reason: str | None
    requests: int | None
    responses_not_modified: int | None
    items_new: int
    items_updated: int
    items_unchanged: int
    failures: int | None
    errors: int
    pid: int | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Run:
        """Build from a crawl_runs row (a dict)."""
        return cls(
            id=int(row["id"]),
            spider=str(row["spider"]),
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            status=row["status"],
            finish_reason=row["finish_reason"],
            requests=row["requests"],
            responses_not_modified=row["responses_not_modified"],
            items_new=int(row["items_new"] or 0),
            items_updated=int(row["items_updated"] or 0),
            items_unchanged=int(row["items_unchanged"] or 0),
            failures=row["failures"],
            errors=int(row["errors"] or 0),
            pid=row["pid"],
        )

    @property
    def ok(self) -> bool:
        """Finished, without errors."""
        return self.status == "finished" and self.errors == 0


_RUN_COLUMNS = (
    "id, spider, started_at, finished_at, status, finish_reason, requests, "
    "responses_not_modified, items_new, items_updated, items_unchanged, failures, errors, pid"
)


def recent_runs(db: sqlite_utils.Database, limit: int = 20, spider: str | None = None) -> list[Run]:
    """The latest runs, newest first, of every spider or of one."""
    where, params = ("WHERE spider = ?", [spider]) if spider else ("", [])
    sql = f"SELECT {_RUN_COLUMNS} FROM crawl_runs {where} ORDER BY id DESC LIMIT ?"
    return [Run.from_row(row) for row in db.query(sql, [*params, limit])]


def archived_sources(db: sqlite_utils.Database) -> list[str]:
    """Every source the archive has runs or items of."""
    return [
        row["name"]
        for row in db.query(
            "SELECT spider AS name FROM crawl_runs UNION SELECT source FROM articles ORDER BY 1"
        )
    ]


def latest_run(db: sqlite_utils.Database) -> tuple[int | None, str | None]:
    """The highest run id and the latest start time in crawl_runs; (None, None) with no runs."""
    last_id, last_start = db.execute("SELECT max(id), max(started_at) FROM crawl_runs").fetchone()
    return last_id, last_start


def last_run_id(db: sqlite_utils.Database) -> int:
    """The id of the latest run recorded, 0 when there is none: the runs after it are new."""
    return int(db.execute("SELECT coalesce(max(id), 0) FROM crawl_runs").fetchone()[0])


def runs_after(db: sqlite_utils.Database, run_id: int) -> list[dict[str, Any]]:
    """The crawl_runs rows (every column) of the runs after run_id, oldest first."""
    return list(db.query("SELECT * FROM crawl_runs WHERE id > ? ORDER BY id", [run_id]))


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


# --- the checks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Something `hkarchive check` reports: what kind, for which source, in one sentence."""

    kind: str
    source: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


def check_archive(
    db: sqlite_utils.Database,
    *,
    now: datetime,
    silent_days: int = 2,
    coverage_drop: float = 0.2,
    running_pids: Collection[int] = (),
    stuck_hours: float = STUCK_HOURS,
    max_attempts: int | None = None,
) -> list[Problem]:
    """Every problem the archive shows, by source; an empty list when all is well.

    ``now`` is an aware datetime (Hong Kong time); ``running_pids`` are the processes known to
    be crawling right now (the lock's holder), whose runs are in progress rather than dead;
    ``max_attempts``, the crawls' cap on runs asking for a failed page again (pages at it are
    reported: no run asks for them any more); None leaves them out.
    """
    if db.execute("SELECT count(*) FROM crawl_runs").fetchone()[0] == 0:
        return [Problem("no-runs", "archive", "no crawl has ever run on this archive")]
    return [
        *last_run_problems(db, now=now, running_pids=running_pids, stuck_hours=stuck_hours),
        *stale_archive(db, now=now, silent_days=silent_days),
        *silent_sources(db, now=now, silent_days=silent_days),
        *coverage_drops(db, now=now, drop=coverage_drop),
        *unlinked_items(db, running_pids=running_pids),
        *([] if max_attempts is None else given_up(db, max_attempts)),
        *search_index_problems(db),
    ]


def last_run_problems(
    db: sqlite_utils.Database,
    *,
    now: datetime,
    running_pids: Collection[int] = (),
    stuck_hours: float = STUCK_HOURS,
) -> list[Problem]:
    """Per spider, a last run that failed, had errors, died unfinished, or has run for too long.

    A run still marked ``running`` whose process is not crawling any more was killed or
    crashed; one whose process is crawling is judged by the run before it, unless it has been
    running for more than stuck_hours (it then keeps every later crawl out).
    """
    problems = []
    spiders = [row[0] for row in db.execute("SELECT DISTINCT spider FROM crawl_runs ORDER BY 1")]
    for spider in spiders:
        runs = iter(recent_runs(db, limit=2, spider=spider))
        run = next(runs)
        if run.status == "running" and run.pid in running_pids:
            started = _parse_time(run.started_at)
            if started is not None and now - started > timedelta(hours=stuck_hours):
                problems.append(
                    Problem(
                        "stuck",
                        spider,
                        f"run {run.id} has been running since {run.started_at} (pid {run.pid}); "
                        "later crawls are refused while it holds the archive",
                    )
                )
                continue
            previous = next(runs, None)
            if previous is None:
                continue
            run = previous
        problem = _run_problem(run)
        if problem is not None:
            problems.append(problem)
    return problems


def _run_problem(run: Run) -> Problem | None:
    # The next crawl marks a run its killed predecessor left "running" as "interrupted".
    if run.status in ("running", "interrupted"):
        pid = f" (pid {run.pid})" if run.pid is not None else ""
        return Problem(
            "interrupted",
            run.spider,
            f"last run {run.id}, started {run.started_at}{pid}, never finished: "
            "the crawl was killed or crashed",
        )
    if run.ok:
        return None
    details = [f"status {run.status}"]
    if run.finish_reason and run.finish_reason != run.status:
        details.append(f"finish reason {run.finish_reason}")
    details.append(f"{run.errors} errors")
    if run.failures:
        details.append(f"{run.failures} failed requests")
    return Problem(
        "failed",
        run.spider,
        f"last run {run.id}, started {run.started_at}, failed ({', '.join(details)}); "
        f"see crawl_runs.stats of run {run.id} and the crawl's log",
    )


# --- live crawls, and crawls of a mirror or of the past ------------------------------------------

# A run crawled the live sites' current days unless its arguments say it went through a mirror
# or its window ended before the day before it started (a backfill of the past). Only live runs
# say anything of a schedule or of a source going silent. (CASE, not AND: SQLite may evaluate
# both sides of an AND, and json_extract fails on text that is not JSON.) Rows without
# arguments count as live.
_NOT_LIVE = (
    "CASE WHEN json_valid(arguments) THEN "
    "json_extract(arguments, '$.mirror') IS NOT NULL "
    "OR substr(json_extract(arguments, '$.until'), 1, 10) "
    "< date(substr(started_at, 1, 10), '-1 day') "
    "ELSE 0 END"
)
LIVE_RUN = f"NOT coalesce({_NOT_LIVE}, 0)"


@dataclass(frozen=True)
class LiveRun:
    """A source's latest run that crawled the live site's current days."""

    id: int
    started_at: str | None


def last_live_runs(db: sqlite_utils.Database) -> dict[str, LiveRun]:
    """Per spider, its latest live run (see LIVE_RUN); spiders with none are left out."""
    return {
        spider: LiveRun(int(run_id), started)
        for spider, run_id, started in db.execute(
            f"SELECT spider, max(id), started_at FROM crawl_runs WHERE {LIVE_RUN} GROUP BY spider"
        )
    }


def not_live(run_id: int, arguments: str | None) -> str:
    """Why a run that was not live was not: ``went through the mirror URL`` or ``was a backfill
    of 2017-07-01 to 2022-06-21``, with ``the last, run N,`` before it."""
    try:
        args = json.loads(arguments or "{}")
    except ValueError:
        args = {}
    args = args if isinstance(args, dict) else {}
    days = f"{args.get('since')} to {args['until']}" if args.get("until") else None
    if args.get("mirror"):
        window = f", for {days}" if days else ""
        return f"the last, run {run_id}, went through the mirror {args['mirror']}{window}"
    return f"the last, run {run_id}, was a backfill of {days or 'past days'}"


@dataclass(frozen=True)
class Unchecked:
    """A check `hkarchive check` did not make, and why: not a problem, said so it is not taken
    for a pass."""

    source: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


def unchecked(db: sqlite_utils.Database, *, now: datetime, silent_days: int = 2) -> list[Unchecked]:
    """The silence checks left out because no run watched the live site: for the archive (no
    live run at all: no schedule to have stopped), and for each daily source with no live run
    (crawled from a mirror, or backfilled: its newest item may be years old, and that is no
    silence)."""
    if db.execute("SELECT count(*) FROM crawl_runs").fetchone()[0] == 0:
        return []
    live = last_live_runs(db)
    found = []
    if not live:
        found.append(
            Unchecked(
                "archive",
                "not checked for a stopped schedule: no run crawled a live site's current days "
                "(every run went through a mirror or was a backfill of past days)",
            )
        )
    for source in daily_sources(db, today=now.date(), silent_days=silent_days):
        if source in live:
            continue
        last = db.execute(
            "SELECT id, arguments FROM crawl_runs WHERE spider = ? ORDER BY id DESC LIMIT 1",
            [source],
        ).fetchone()
        why = not_live(last[0], last[1]) if last else "none of its own is recorded"
        newest = _newest_day(db, source, today=now.date())
        what = f"its newest item was published on {newest}" if newest else "it has no items"
        found.append(
            Unchecked(
                source,
                "not checked for silence: no run of it crawled the live site's current days "
                f"({why}); {what}",
            )
        )
    return found


def _newest_day(db: sqlite_utils.Database, source: str, *, today: date) -> str | None:
    """The day of a source's newest item, leaving out items dated after today (a site's typo
    must not hide a silence)."""
    row = db.execute(
        "SELECT max(substr(published_at, 1, 10)) FROM articles "
        "WHERE source = ? AND published_at < ?",
        [source, (today + timedelta(days=1)).isoformat()],
    ).fetchone()
    return row[0] if row else None


def stale_archive(
    db: sqlite_utils.Database, *, now: datetime, silent_days: int = 2
) -> list[Problem]:
    """No live crawl of any source has started for silent_days: the schedule itself has
    stopped. A crawl of a mirror or a backfill of past days is no sign of a schedule."""
    row = db.execute(
        f"SELECT id, spider, started_at FROM crawl_runs WHERE {LIVE_RUN} ORDER BY id DESC LIMIT 1"
    ).fetchone()
    started = _parse_time(row[2]) if row else None
    if started is None or now - started <= timedelta(days=silent_days):
        return []
    return [
        Problem(
            "stale",
            "archive",
            f"no live crawl has started for more than {silent_days} days (the last, run "
            f"{row[0]} of {row[1]}, started {row[2]}): is the timer or cron job still installed?",
        )
    ]


def daily_sources(db: sqlite_utils.Database, *, today: date, silent_days: int = 2) -> list[str]:
    """Sources that normally publish every day: govhk, and any with items on at least half the
    days of the 30 days before the last silent_days."""
    end = today - timedelta(days=silent_days)
    start = end - timedelta(days=DAILY_WINDOW_DAYS)
    # Bare days compare with ISO timestamps as text, so the published_at index serves.
    rows = db.execute(
        "SELECT source, count(DISTINCT substr(published_at, 1, 10)) FROM articles "
        "WHERE published_at >= ? AND published_at < ? GROUP BY source",
        [start.isoformat(), end.isoformat()],
    ).fetchall()
    daily = {source for source, days in rows if days >= DAILY_MIN_SHARE * DAILY_WINDOW_DAYS}
    daily |= ALWAYS_DAILY & set(archived_sources(db))
    return sorted(daily)


def silent_sources(
    db: sqlite_utils.Database, *, now: datetime, silent_days: int = 2
) -> list[Problem]:
    """Daily sources crawled live whose newest archived item was published more than
    silent_days ago. A source only crawled from a mirror or backfilled is left out (`unchecked`
    says so): that its newest item is old says nothing of the site."""
    today = now.date()
    live = last_live_runs(db)
    problems = []
    for source in daily_sources(db, today=today, silent_days=silent_days):
        if source not in live:
            continue
        newest = _newest_day(db, source, today=today)
        if newest is not None and (today - date.fromisoformat(newest)).days <= silent_days:
            continue
        what = f"the newest item was published on {newest}" if newest else "it has no items"
        run = live[source]
        problems.append(
            Problem(
                "silent",
                source,
                f"no new items for more than {silent_days} days: {what}; it was last crawled "
                f"live by run {run.id}, started {run.started_at} (it normally publishes daily)",
            )
        )
    return problems


@dataclass
class _Sample:
    """Consecutive runs of one source pooled until they hold enough items."""

    first_run: int
    last_run: int
    items: int = 0
    counts: dict[str, float] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0.0))

    def share(self, name: str) -> float:
        return self.counts[name] / self.items

    def runs(self) -> str:
        if self.first_run == self.last_run:
            return f"run {self.last_run}"
        return f"runs {self.first_run}-{self.last_run}"


def coverage_samples(
    db: sqlite_utils.Database,
    *,
    since: datetime,
    min_items: int = COVERAGE_MIN_ITEMS,
    limit: int = COVERAGE_HISTORY + 1,
) -> dict[str, list[_Sample]]:
    """Per source, up to ``limit`` samples of its coverage, newest first."""
    samples: dict[str, list[_Sample]] = {}
    open_samples: dict[str, _Sample] = {}
    for run_id, coverage in _coverage_rows(db, since):
        for source, entry in coverage.items():
            done = samples.setdefault(source, [])
            items = int(entry.get("items", 0) or 0)
            if len(done) >= limit or items <= 0:
                continue
            sample = open_samples.setdefault(source, _Sample(run_id, run_id))
            sample.first_run = run_id
            sample.items += items
            for name in FIELDS:
                sample.counts[name] += float(entry.get(name, 0) or 0) * items
            if sample.items >= min_items:
                done.append(open_samples.pop(source))
    return {source: found for source, found in samples.items() if found}


def _coverage_rows(db: sqlite_utils.Database, since: datetime) -> Iterator[tuple[int, Any]]:
    # started_at is stored in Hong Kong time, so ISO strings compare in time order.
    for run_id, text in db.execute(
        "SELECT id, coverage FROM crawl_runs WHERE coverage IS NOT NULL AND coverage != '{}' "
        "AND started_at >= ? ORDER BY id DESC",
        [since.isoformat()],
    ):
        try:
            coverage = json.loads(text)
        except ValueError:
            continue
        if isinstance(coverage, dict):
            yield int(run_id), {k: v for k, v in coverage.items() if isinstance(v, dict)}


def coverage_drops(
    db: sqlite_utils.Database,
    *,
    now: datetime,
    drop: float = 0.2,
    history: int = COVERAGE_HISTORY,
    min_items: int = COVERAGE_MIN_ITEMS,
) -> list[Problem]:
    """Fields whose share in a source's latest sample fell more than ``drop`` below the median
    of its previous ``history`` samples: the site was probably redesigned."""
    problems = []
    since = now - timedelta(days=COVERAGE_LOOKBACK_DAYS)
    found = coverage_samples(db, since=since, min_items=min_items, limit=history + 1)
    for source, samples in sorted(found.items()):
        # Three earlier samples at least, so one odd run cannot set the level.
        if len(samples) < min(3, history) + 1:
            continue
        latest, previous = samples[0], samples[1 : history + 1]
        for name in FIELDS:
            level = statistics.median(s.share(name) for s in previous)
            share = latest.share(name)
            if share < level - drop:
                problems.append(
                    Problem(
                        "coverage",
                        source,
                        f"{name} coverage fell to {share:.0%} in {latest.runs()} "
                        f"({latest.items} items) from {level:.0%} "
                        f"(median of the {len(previous)} samples before): "
                        "was the site redesigned?",
                    )
                )
    return problems


def unlinked_items(
    db: sqlite_utils.Database, *, running_pids: Collection[int] = ()
) -> list[Problem]:
    """Per source, items stored but not linked into stories or translation pairs: queued by a
    run that ended without linking them (killed, or its linking failed), or never linked at
    all (no current story signature, and not queued)."""
    pids = sorted(running_pids)
    running = [
        row[0]
        for row in db.execute(
            f"SELECT id FROM crawl_runs WHERE status = 'running' AND pid IN ({placeholders(pids)})",
            pids,
        )
    ]
    problems = []
    for source, steps in waiting(db, running_runs=running).items():
        counts = ", ".join(
            f"{count} {'into stories' if step == 'stories' else 'into translation pairs'}"
            for step, count in sorted(steps.items(), key=lambda s: s[0] != "stories")
        )
        problems.append(
            Problem(
                "unlinked",
                source,
                f"items stored by runs that ended before linking them wait to be linked "
                f"({counts}): the next crawl links them, or run `hkarchive story --relink` and "
                "`hkarchive pairs --relink`",
            )
        )
    for source, ids in never_linked(db).items():
        shown = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
        problems.append(
            Problem(
                "unlinked",
                source,
                f"{len(ids)} item{'s' if len(ids) != 1 else ''} stored and never linked into "
                f"stories ({shown}): "
                "run `hkarchive story --relink`",
            )
        )
    return problems


_REINDEX = "run `hkarchive search --reindex`"


def search_index_problems(db: sqlite_utils.Database) -> list[Problem]:
    """Where the search index (articles_search) and the articles disagree: articles it cannot
    find, rows of no article, and old texts of articles changed or deleted outside a crawl
    that it still holds (newsarchive/search/index.py)."""
    gaps = index_gaps(db)
    problems = []
    if gaps.missing:
        problems.append(
            Problem(
                "search-index",
                "archive",
                f"{gaps.missing} articles are missing from the search index, so `hkarchive "
                f"search` cannot find them: {_REINDEX}",
            )
        )
    if gaps.orphans:
        problems.append(
            Problem(
                "search-index",
                "archive",
                f"{gaps.orphans} rows of the search index belong to no article: {_REINDEX}",
            )
        )
    if gaps.stale:
        problems.append(
            Problem(
                "search-index",
                "archive",
                f"{gaps.stale} articles were changed or deleted outside a crawl and the search "
                "index still finds their old text: the next crawl that stores an item mends "
                f"it, or {_REINDEX}",
            )
        )
    return problems


_GIVEN_UP_SQL = """SELECT source, url, kind, error, attempts FROM failures
WHERE attempts >= ? ORDER BY source, last_tried_at DESC, url"""


def given_up(db: sqlite_utils.Database, max_attempts: int) -> list[Problem]:
    """Per source, pages that failed in max_attempts runs: no crawl asks for them again, so
    they stay out of the archive until a person looks (newsarchive/failures.py)."""
    pages: dict[str, list[tuple[str, str, str, int]]] = {}
    for source, url, kind, error, attempts in db.execute(_GIVEN_UP_SQL, [max_attempts]):
        pages.setdefault(source, []).append((url, kind, error, attempts))
    problems = []
    for source, failed in pages.items():
        url, kind, error, attempts = failed[0]
        more = f" and {len(failed) - 1} more" if len(failed) > 1 else ""
        problems.append(
            Problem(
                "given-up",
                source,
                f"{len(failed)} page{'s' if len(failed) != 1 else ''} failed in {max_attempts} "
                f"runs or more and no crawl asks for {'them' if len(failed) != 1 else 'it'} "
                f"again: {url} ({kind}: {error}, {attempts} runs){more}; see the failures "
                "table, and delete a page's row once it is dealt with",
            )
        )
    return problems
