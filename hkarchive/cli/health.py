"""`hkarchive runs` and `hkarchive check`: what recent crawls did, and whether the archive is well.

The checks themselves are pure functions in newsarchive/health.py; these commands format them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, fields
from datetime import datetime

import click

from crawler import settings
from hkarchive.cli.options import FloatRange, db_option, format_option
from hkarchive.cli.records import write_records
from newsarchive.archive import open_archive
from newsarchive.clock import hk_now
from newsarchive.db import ArchiveCorrupt, corrupt_message
from newsarchive.health import (
    Problem,
    Run,
    archived_sources,
    check_archive,
    latest_run,
    quick_check,
    recent_runs,
    unchecked,
)
from newsarchive.lock import ArchiveLock, LockError

RUN_COLUMNS = (
    "id",
    "spider",
    "started",
    "duration",
    "status",
    "requests",
    "304s",
    "new/updated/unchanged",
    "failures",
    "errors",
)
# The records of --format json, jsonl and csv: crawl_runs' columns.
RUN_FIELDS = tuple(field.name for field in fields(Run))
PROBLEM_FIELDS = tuple(field.name for field in fields(Problem))
# Bounds of the number options: far beyond any use, and inside what dates and SQLite can take.
MAX_RUNS_SHOWN = 100_000
MAX_SILENT_DAYS = 3650
# Numbers are right-aligned so their digits line up.
_RIGHT = {"id", "duration", "requests", "304s", "failures", "errors"}


def format_duration(started: str | None, finished: str | None) -> str:
    """``45s``, ``12m05s``, ``3h02m``; empty when a time is missing or unreadable."""
    try:
        seconds = int(
            (
                datetime.fromisoformat(finished or "") - datetime.fromisoformat(started or "")
            ).total_seconds()
        )
    except ValueError:
        return ""
    if seconds < 0:
        return ""
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _count(value: int | None) -> str:
    return "" if value is None else str(value)


def _status(run: Run) -> str:
    """The status, with the finish reason when it says more (``failed (disk_full)``,
    ``interrupted (shutdown)``)."""
    status = run.status or ""
    reason = run.finish_reason
    return f"{status} ({reason})" if reason and reason != status else status


def run_cells(run: Run) -> list[str]:
    """One row of `hkarchive runs`, in RUN_COLUMNS order."""
    return [
        str(run.id),
        run.spider,
        (run.started_at or "")[:16].replace("T", " "),
        format_duration(run.started_at, run.finished_at),
        _status(run),
        _count(run.requests),
        _count(run.responses_not_modified),
        f"{run.items_new}/{run.items_updated}/{run.items_unchanged}",
        _count(run.failures),
        str(run.errors),
    ]


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Columns padded to their widest cell, two spaces apart, numbers aligned right."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = []
    for cells in (header, *rows):
        padded = [
            cell.rjust(width) if name in _RIGHT else cell.ljust(width)
            for name, cell, width in zip(header, cells, widths, strict=True)
        ]
        lines.append("  ".join(padded).rstrip())
    return lines


@click.command("runs")
@click.option(
    "--limit",
    default=20,
    show_default=True,
    type=click.IntRange(1, MAX_RUNS_SHOWN),
    help="Runs to show.",
)
@click.option("--source", help="Only the runs of this source (spider).")
@format_option
@db_option
def runs(limit: int, source: str | None, output_format: str, db_path: str) -> None:
    """List recent crawls, newest first: when, how long, what they fetched and stored.

    304s are answers "not modified" to conditional requests; failures are requests that failed
    for good (after retries) and pages that could not be extracted; errors are the error lines
    the crawl logged. Times are Hong Kong time.

    Example: hkarchive runs --limit 10 --source govhk
    """
    with open_archive(db_path, create=False) as db:
        found = recent_runs(db, limit=limit, spider=source)
    if not found and output_format == "table":
        which = f" of {source}" if source else ""
        click.echo(f"no runs{which} in {db_path}")
        return
    write_records(
        [asdict(run) for run in found],
        output_format,
        RUN_FIELDS,
        table=lambda _: format_table(RUN_COLUMNS, [run_cells(run) for run in found]),
    )


def running_pids(db_path: str) -> set[int]:
    """The PID of the crawl holding the archive's lock, if that process is alive."""
    try:
        pid = ArchiveLock(db_path).holder().pid
    except LockError:
        return set()
    if pid is None:
        return set()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return set()
    except PermissionError:
        pass  # alive, run by another user
    return {pid}


@click.command("check")
@click.option(
    "--silent-days",
    default=2,
    show_default=True,
    type=click.IntRange(1, MAX_SILENT_DAYS),
    help="Days without new items (or without any crawl) before a daily source is reported.",
)
@click.option(
    "--coverage-drop",
    default=0.2,
    show_default=True,
    type=FloatRange(0, 1),
    help="Fall in a field's coverage, from its recent median, that is reported.",
)
@click.option(
    "--max-attempts",
    # The crawls' own cap, HKARCHIVE_OVERRIDES included.
    default=settings.HKARCHIVE_OVERRIDES.get(
        "HKARCHIVE_FAILURE_MAX_ATTEMPTS", settings.HKARCHIVE_FAILURE_MAX_ATTEMPTS
    ),
    show_default=True,
    type=click.IntRange(1),
    help="Runs a failed page is asked for again (the crawls' cap): pages at it are reported.",
)
@format_option
@db_option
def check(
    silent_days: int, coverage_drop: float, max_attempts: int, output_format: str, db_path: str
) -> None:
    """Check the archive's health; exit 1 listing every problem, or print "ok".

    First the file itself: SQLite's quick_check reads every page (about a second per GB once
    cached; the time is shown); a damaged archive stops the check with one line.
    Reported, per source: a last run that failed, logged errors, or never finished (killed);
    no new items for --silent-days days from a source that normally publishes daily (GovHK,
    and any source with items on most days of the month before); no crawl at all for as long;
    a field (title, date, body, images) whose coverage in the latest run fell more than
    --coverage-drop below its median over the runs before (a site redesign); items not
    linked; pages that failed in --max-attempts runs, which no crawl asks for any more; and
    where the search index and the articles disagree. Problems go to
    standard error, one per line; the "ok" line to standard output. With --format json, jsonl
    or csv the problems (kind, source, message) go to standard output, the last line to
    standard error.

    Silence and a stopped schedule are judged by live runs only: a run through a mirror, or a
    backfill of days before the day before it started, says nothing of them. Where no run was
    live (the demo's archive, a backfill), a line on standard output says what was not checked.

    Example: hkarchive check --silent-days 3
    """
    now = hk_now()
    with open_archive(db_path, create=False) as db:
        damage, seconds = quick_check(db)
        if damage:
            more = f" and {len(damage) - 1} more" if len(damage) > 1 else ""
            raise ArchiveCorrupt(corrupt_message(db_path, f"quick_check: {damage[0]}{more}"))
        checked = f"quick_check ok in {seconds:.2f} s"
        problems = check_archive(
            db,
            now=now,
            silent_days=silent_days,
            coverage_drop=coverage_drop,
            running_pids=running_pids(db_path),
            max_attempts=max_attempts,
        )
        skipped = unchecked(db, now=now, silent_days=silent_days)
        sources = archived_sources(db)
        last = latest_run(db)
    # What was not checked: on standard output with the table, beside the records otherwise.
    for note in skipped:
        click.echo(str(note), err=output_format != "table")
    if output_format == "table":
        for problem in problems:
            click.echo(str(problem), err=True)
    else:
        write_records([asdict(problem) for problem in problems], output_format, PROBLEM_FIELDS)
    if problems:
        raise click.ClickException(
            f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {db_path} ({checked})"
        )
    click.echo(
        f"ok: {db_path}: {len(sources)} sources ({', '.join(sources)}), "
        f"last run {last[0]} started {(last[1] or '')[:16].replace('T', ' ')}, {checked}",
        err=output_format != "table",  # standard output holds the records (none)
    )
