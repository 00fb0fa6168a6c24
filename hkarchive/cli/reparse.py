"""`hkarchive reparse`: extract items again from the raw captures, without the network.

After an extractor fix, the archive is brought up to date from the responses kept in the WARC
files (``raw_captures``) instead of fetching every page again.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import sqlite_utils

from crawler.extract import ExtractionError
from crawler.sources import known_sources
from hkarchive.cli.options import db_option, usage_error
from newsarchive.archive import check_writable, open_archive
from newsarchive.articles import upsert_article
from newsarchive.captures import CaptureRef, latest_captures
from newsarchive.clock import hk_now
from newsarchive.db import CORRUPT, storage_fault
from newsarchive.lock import crawl_lock
from newsarchive.model import Article
from newsarchive.runs import begin_run, finish_run

SPIDER = "reparse"


@dataclass
class ReparseReport:
    """What a reparse did; ``problems`` holds one line per capture or item that failed."""

    run_id: int
    captures: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    invalid: int = 0
    errors: int = 0
    # Items in a language other than English or Chinese: not archived, as by a crawl.
    other_language: int = 0
    problems: list[str] = field(default_factory=list)
    on_problem: Callable[[str], None] | None = None

    def problem(self, line: str, *, invalid: bool = False) -> None:
        """Count a failed capture or item (an error, or an invalid item) and report it."""
        if invalid:
            self.invalid += 1
        else:
            self.errors += 1
        self.problems.append(line)
        if self.on_problem is not None:
            self.on_problem(line)

    def summary(self) -> str:
        """The one-line summary printed at the end."""
        return (
            f"reparse: run {self.run_id}: {self.captures} captures read, "
            f"{self.outcomes['new']} new, {self.outcomes['updated']} updated, "
            f"{self.outcomes['unchanged']} unchanged, {self.invalid} invalid, "
            f"{self.errors} errors"
            + (f", {self.other_language} in other languages" if self.other_language else "")
        )


def _items(capture: CaptureRef, root: Path, report: ReparseReport) -> Iterator[tuple[Article, str]]:
    """The valid, normalised items of one capture, with the capture's fetch time."""
    from scrapy.http import TextResponse

    from crawler.extract.dispatch import extract_items
    from crawler.middlewares.rawcapture import CaptureError, read_capture
    from crawler.sources.config import LANGS
    from pipelines.normalize import normalize_article
    from pipelines.validate import problems

    try:
        stored = read_capture(root / capture.warc_file, capture.offset, capture.length)
    except CaptureError as exc:
        report.problem(f"{capture.label}: {exc}")
        return
    report.captures += 1
    response = stored.response()
    if not isinstance(response, TextResponse):
        return
    entry_errors: list[ExtractionError] = []
    try:
        found = extract_items(capture.source, response, entry_errors)
    except ExtractionError as exc:
        entry_errors.append(exc)
        found = []
    for failure in entry_errors:
        report.problem(f"{capture.label}: cannot extract: {failure}")
    for article in found:
        normalize_article(article)
        if article.lang not in LANGS:
            report.other_language += 1  # as a crawl does: counted, not archived
            continue
        wrong = problems(article)
        if wrong:
            report.problem(f"{capture.label}: invalid item {article.id}: {'; '.join(wrong)}",
                           invalid=True)  # fmt: skip
            continue
        yield article, capture.fetched_at


def run_reparse(
    db: sqlite_utils.Database,
    db_path: str,
    sources: Sequence[str],
    on_problem: Callable[[str], None] | None = None,
) -> ReparseReport:
    """Extract every source's latest 200 captures again and upsert the items, as a crawl would.

    An item found in several captures (an API page and a feed) is stored once, as read from
    the latest of them. Items are stored with the fetch time of their capture. Each failure
    is passed to on_problem as one line as it happens.
    """
    from crawler.middlewares.rawcapture import archive_dir

    # Begun as a crawl's run is (the caller holds the lock, as a crawl does): killed runs are
    # marked interrupted, and their stored items linked with this reparse's at its end.
    run_id = begin_run(db, SPIDER, {"sources": list(sources)}, pid=os.getpid()).id
    report = ReparseReport(run_id, on_problem=on_problem)
    status = "failed"
    try:
        root = archive_dir(db_path)
        # Newest capture first, so an item in several captures is stored once, as last seen;
        # only ids are remembered, never whole items.
        stored: set[str] = set()
        for capture in latest_captures(db, sources):
            for article, fetched_at in _items(capture, root, report):
                if article.id in stored:
                    continue
                stored.add(article.id)
                outcome = upsert_article(
                    db, article, seen_at=fetched_at, run_id=run_id, fetched=False
                )
                report.outcomes[outcome] += 1
        _link(db, report)
        status = "finished"
    finally:
        # Nothing more goes into a damaged archive, not even the run's end.
        if storage_fault(sys.exc_info()[1]) != CORRUPT:
            _finish(db, report, status)
    return report


def _link(db: sqlite_utils.Database, report: ReparseReport) -> None:
    """Link the changed items (and any other queued) into stories and translation pairs, as a
    crawl's end does."""
    from newsarchive.linking.steps import link_queued

    for message, exc in link_queued(db).failures:
        if storage_fault(exc):
            raise exc  # a full disk or a damaged archive stops the reparse
        report.problem(f"{message}: {exc}")


def _finish(db: sqlite_utils.Database, report: ReparseReport, status: str) -> None:
    stats: dict[str, Any] = {
        "hkarchive/reparse/captures_read": report.captures,
        "hkarchive/reparse/errors": report.errors,
        "hkarchive/reparse/invalid": report.invalid,
        "hkarchive/items_other_language": report.other_language,
        **{f"hkarchive/items_{k}": v for k, v in sorted(report.outcomes.items())},
    }
    finish_run(
        db,
        report.run_id,
        {
            "finished_at": hk_now().isoformat(),
            "status": status,
            "finish_reason": status,
            "pages_fetched": 0,
            "requests": 0,
            "responses_not_modified": 0,
            "failures": report.errors,
            "items_new": report.outcomes["new"],
            "items_updated": report.outcomes["updated"],
            "items_unchanged": report.outcomes["unchanged"],
            "items_dropped": report.invalid,
            # A crawl counts an invalid item as an error too (its drop is logged as one).
            "errors": report.errors + report.invalid,
            "stats": json.dumps(stats, sort_keys=True),
        },
    )


@click.command("reparse")
@click.option(
    "--source",
    "sources",
    multiple=True,
    metavar="S",
    help="Only this source's captures (repeatable; default: every source).",
)
@db_option
def reparse(sources: tuple[str, ...], db_path: str) -> None:
    """Extract items again from the raw responses kept in the archive, without the network.

    For every URL, the latest capture answered with 200 is read from its WARC file and
    extracted with the current extractors; items are stored as a crawl stores them (new,
    updated with the previous version kept, or unchanged) and linked into stories. Items
    outside any date window are kept. A missing WARC file or a torn record is reported and
    counted as an error. Like a crawl, it holds the archive's lock while it runs.

    Example: hkarchive reparse --source govhk
    """
    available = known_sources()
    unknown = [s for s in sources if s not in available]
    if unknown:
        usage_error(f"unknown source {unknown[0]!r} (available: {', '.join(available)})")
    chosen = sorted(set(sources)) if sources else available
    # A reparse writes: an archive this user cannot write is refused before it is opened, as
    # opening it would leave SQLite's -wal and -shm files beside it (a missing or unusable
    # --db is left to open_archive, whose error says what it is).
    if Path(db_path).is_file():
        check_writable(Path(db_path))
    # The archive's lock, as a crawl takes it: one writer at a time (LockHeld if another has it).
    with open_archive(db_path, create=False) as db, crawl_lock(db_path):
        report = run_reparse(
            db, db_path, chosen, lambda line: click.echo(f"hkarchive: {line}", err=True)
        )
    click.echo(report.summary())
    if report.captures == 0 and not report.errors:
        click.echo("no raw captures of these sources in the archive: crawl them first")
    if report.errors or report.invalid:
        raise click.ClickException(
            f"reparse finished with {report.errors} errors and {report.invalid} invalid items"
        )
