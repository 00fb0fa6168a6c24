"""`hkarchive`: crawl news into the SQLite archive, run the offline demo, serve a mirror.

Usage errors exit with status 2 and runtime errors with status 1, each with one line on
standard error and no traceback.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import click

from crawler import __version__
from crawler.args import LANG_CHOICES, crawl_window
from crawler.faults import crawl_fault
from crawler.sources import earliest, known_sources
from crawler.sources.config import SourceConfigError
from hkarchive.cli.lazy import LazyGroup
from hkarchive.cli.options import (
    ARCHIVE_HINT,
    day_option,
    db_option,
    format_option,
    mirror_option,
    one_line,
    printable,
    usage_error,
)
from hkarchive.cli.process import check_mirror_reachable, crawl_settings, process_class
from hkarchive.cli.records import write_records
from newsarchive.archive import check_creatable, check_writable, open_archive
from newsarchive.articles import (
    LATEST_QUERY,
    SAMPLE_QUERY,
    article_exists,
    holdings,
    sample_query,
)
from newsarchive.db import (
    CORRUPT,
    ArchiveCorrupt,
    ArchiveError,
    DiskFull,
    NoArchive,
    fault_error,
)
from newsarchive.health import last_run_id, runs_after
from newsarchive.lock import EXIT_LOCKED, LockError, LockHeld, crawl_lock

# The pages the demo crawls, shipped inside the package (package data), so an installed
# hkarchive runs the demo as a checkout does. They are copies of parts of tests/mirror, kept
# byte-identical by tests/test_install.py.
DEMO_MIRROR = Path(__file__).resolve().parents[1] / "demo" / "mirror"


# A module per command; the modules keep their names in this package (hkarchive.cli.export is
# the module, its command is hkarchive.cli.export.export). Each is imported when its command
# runs (hkarchive/cli/lazy.py).
COMMAND_MODULES = {
    "history": "hkarchive.cli.history:history",
    "runs": "hkarchive.cli.health:runs",
    "check": "hkarchive.cli.health:check",
    "reparse": "hkarchive.cli.reparse:reparse",
    "serve": "hkarchive.cli.serve:serve",
    "export": "hkarchive.cli.export:export",
    "extract": "hkarchive.cli.extract:extract",
    "source": "hkarchive.cli.source:source",
    "pairs": "hkarchive.cli.pairs:pairs",
    "search": "hkarchive.cli.search:search",
    "query": "hkarchive.cli.query:query",
}


@click.group(
    cls=LazyGroup,
    lazy=COMMAND_MODULES,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, "--version", prog_name="hkarchive")
def cli() -> None:
    """Crawl Hong Kong public-sector news into a SQLite archive.

    Example: hkarchive crawl govhk --since 2022-05-25 --until 2022-05-25
    """


class StoppedBySignal(Exception):
    """A crawl stopped by SIGTERM or SIGINT: the command exits 128 + the signal's number."""

    def __init__(self, signum: int, message: str) -> None:
        super().__init__(message)
        self.exit_code = 128 + signum


@dataclass
class RunSummary:
    """What a set of crawls did, read back from crawl_runs; the crawls that recorded no run
    (spider, finish reason): they could not start, and fail the set; fault, the one line of a
    full disk that stopped them (crawler/faults.py)."""

    runs: list[dict[str, Any]]
    not_started: list[tuple[str, str]] = field(default_factory=list)
    # The signal (SIGTERM, SIGINT) that stopped the crawls, if one did.
    signal: int | None = None
    fault: str | None = None

    @property
    def errors(self) -> int:
        return sum(int(run["errors"] or 0) for run in self.runs)

    @property
    def failed(self) -> bool:
        return bool(self.not_started) or any(run["status"] != "finished" for run in self.runs)

    def lines(self) -> list[str]:
        out = [f"{spider}: no run recorded ({reason})" for spider, reason in self.not_started]
        for run in self.runs:
            out.append(
                f"{run['spider']}: run {run['id']} {run['status']}: "
                f"{run['pages_fetched'] or 0} pages fetched, "
                f"{run['items_new'] or 0} new, {run['items_updated'] or 0} updated, "
                f"{run['items_unchanged'] or 0} unchanged, "
                + (
                    f"{missing} index pages missing, "
                    if (missing := run["index_pages_missing"])
                    else ""
                )
                + f"{run['errors'] or 0} errors"
            )
        return out

    def fault_line(self) -> str:
        """The fault, and what became of each run it stopped."""
        assert self.fault is not None
        failed = [str(run["id"]) for run in self.runs if run["status"] == "failed"]
        unrecorded = [str(run["id"]) for run in self.runs if run["status"] == "running"]
        line = f"{self.fault}; the crawl stopped"
        if failed:
            line += f", run {', '.join(failed)} marked failed"
        if unrecorded:
            line += (
                f", run {', '.join(unrecorded)} could not be marked failed (left running: the "
                "next crawl marks it interrupted)"
            )
        # What the stopped runs stored waits in the link queue: the next crawl links it.
        return line


def run_crawls(
    crawls: Sequence[tuple[str, dict[str, str]]],
    db_path: str,
    mirror: str | None,
    log_level: str = "INFO",
    extra_settings: dict[str, Any] | None = None,
) -> RunSummary:
    """Run spiders (name, arguments) together in this process into the archive at db_path;
    returns their crawl_runs rows."""
    settings = crawl_settings(db_path, mirror, log_level, extra_settings)
    with open_archive(db_path) as db:
        last = last_run_id(db)
    process = process_class()(settings)
    crawlers = [process.create_crawler(source) for source, _ in crawls]
    for crawler, (_, spider_args) in zip(crawlers, crawls, strict=True):
        process.crawl(crawler, **spider_args)
    process.start()
    faults = [fault for crawler in crawlers if (fault := crawl_fault(crawler))]
    if faults and faults[0][0] == CORRUPT:
        raise ArchiveCorrupt(faults[0][1])  # nothing more is read from it either
    with open_archive(db_path) as db:
        runs = runs_after(db, last)
    # A crawl that could not start (the archive stayed locked, say) has no run to show.
    not_started = [
        (crawler.spidercls.name, str(stats.get_value("finish_reason") or "not started"))
        for crawler in crawlers
        if (stats := crawler.stats) is None or stats.get_value("hkarchive/run_id") is None
    ]
    return RunSummary(runs, not_started, process.stopped_by, faults[0][1] if faults else None)


def _check_archive(db_path: str) -> None:
    """A usage error unless db_path is an archive, or a place where one can be created.

    An existing archive is opened (and migrated); a new one (or an empty file, which becomes
    one) is not created yet, so a crawl that stops on a later check (a mirror that is down)
    leaves no file behind.
    """
    path = Path(db_path)
    try:
        if path.is_file() and path.stat().st_size > 0:
            check_writable(path)
            open_archive(path).close()
            return
        check_creatable(path)
    except (ArchiveCorrupt, DiskFull):
        raise  # the file or the disk, not the argument: a runtime error
    except ArchiveError as exc:
        usage_error(str(exc))


def _check_log_file(log_file: str) -> None:
    """A usage error unless the log can be appended to: checked before anything is written."""
    folder = Path(log_file).parent
    if not folder.is_dir():
        usage_error(f"--log-file {log_file}: no directory {folder}")
    if not os.access(folder, os.W_OK) or (
        Path(log_file).exists() and not os.access(log_file, os.W_OK)
    ):
        usage_error(f"--log-file {log_file}: cannot write there")


def _log_level(verbose: bool, quiet: bool) -> str:
    return "DEBUG" if verbose else "WARNING" if quiet else "INFO"


@cli.command()
@click.argument("sources", nargs=-1, metavar="[SOURCE]...")
@click.option("--since", help="First day to crawl, YYYY-MM-DD (default: yesterday, HK time).")
@click.option("--until", help="Last day to crawl, YYYY-MM-DD (default: today, HK time).")
@click.option(
    "--lang",
    default="all",
    show_default=True,
    type=click.Choice(LANG_CHOICES),
    help="Which language's releases to crawl.",
)
@mirror_option
@click.option(
    "--refresh",
    is_flag=True,
    help="Fetch archived items again even when not due for a revisit.",
)
@click.option("--media", is_flag=True, help="Download photos and attachments too.")
@click.option("--log-file", type=click.Path(dir_okay=False), help="Append the log to this file.")
@click.option("-v", "--verbose", is_flag=True, help="Log every request (DEBUG).")
@click.option("-q", "--quiet", is_flag=True, help="Log only warnings and errors.")
@db_option
def crawl(
    sources: tuple[str, ...],
    since: str | None,
    until: str | None,
    lang: str,
    mirror: str | None,
    refresh: bool,
    media: bool,
    log_file: str | None,
    verbose: bool,
    quiet: bool,
    db_path: str,
) -> None:
    """Crawl SOURCEs (default: all of them) into the archive.

    Example: hkarchive crawl govhk --since 2022-05-20 --until 2022-05-25 --lang en
    """
    from crawler.mirror import check_mirror_url  # Scrapy's: loaded by commands that crawl

    available = known_sources()
    unknown = [s for s in sources if s not in available]
    if unknown:
        usage_error(f"unknown source {unknown[0]!r} (available: {', '.join(available)})")
    # Parsed once, here: the spiders are given the days themselves, so a relative day ("3 days
    # ago") is the same day for every source however long the crawl takes to start them.
    first, last = day_option("--since", since), day_option("--until", until)
    try:
        crawl_window(since=first, until=last, lang=lang)
        mirror = check_mirror_url(mirror) if mirror is not None else None
    except ValueError as exc:
        usage_error(str(exc))
    # A window before a source's first day is clipped by its spider; one with no day after it
    # is refused here, before anything is written.
    for source in sources or available:
        try:
            crawl_window(since=first, until=last, lang=lang, earliest=earliest(source))
        except ValueError as exc:
            usage_error(f"{source}: {exc}")
    if log_file:
        _check_log_file(log_file)
    _check_archive(db_path)
    # Before the archive is created or locked, so a mirror that is down leaves nothing behind.
    if mirror:
        check_mirror_reachable(mirror)
    with crawl_lock(db_path):
        spider_args = {"lang": lang, "refresh": "1" if refresh else ""}
        if first:
            spider_args["since"] = first.isoformat()
        if last:
            spider_args["until"] = last.isoformat()
        crawls = [(source, spider_args) for source in (sources or available)]
        extra: dict[str, Any] = {"HKARCHIVE_MEDIA": media}
        if log_file:
            extra["LOG_FILE"] = log_file
        summary = run_crawls(crawls, db_path, mirror, _log_level(verbose, quiet), extra)
        _report(summary, db_path)


def _report(summary: RunSummary, db_path: str) -> None:
    for line in summary.lines():
        click.echo(line)
    if summary.fault:
        raise click.ClickException(summary.fault_line())
    if summary.signal is not None:
        name = signal.Signals(summary.signal).name
        raise StoppedBySignal(
            summary.signal,
            f"crawl stopped by {name}: the pages in hand were stored and the runs marked "
            "interrupted; the next crawl fetches the rest",
        )
    if summary.not_started:
        spiders = ", ".join(spider for spider, _ in summary.not_started)
        raise click.ClickException(
            f"could not start the crawl of {spiders} in {db_path}; see the log above"
        )
    if summary.failed or summary.errors:
        raise click.ClickException(
            f"crawl finished with {summary.errors} errors; see the log above and "
            f"the crawl_runs table in {db_path}"
        )


_INDEX_NAME = re.compile(r"(\d{2})c?\.htm")


def mirror_days(mirror_dir: Path) -> list[str]:
    """Days that have a GovHK daily index page in a mirror directory, as YYYY-MM-DD."""
    base = mirror_dir / "www.info.gov.hk" / "gia" / "general"
    days = set()
    for page in base.glob("[0-9]" * 6 + "/*.htm"):
        match = _INDEX_NAME.fullmatch(page.name)
        month = page.parent.name
        if match:
            days.add(f"{month[:4]}-{month[4:]}-{match[1]}")
    return sorted(days)


@cli.command()
@click.option("-v", "--verbose", is_flag=True, help="Show the crawl's log.")
@db_option
def demo(verbose: bool, db_path: str) -> None:
    """Crawl the bundled mirror of captured pages into the archive, offline, and show it.

    Serves the mirror installed with hkarchive on 127.0.0.1, crawls every day it holds in
    English and Chinese, then prints what was archived and a sample query.

    Example: hkarchive demo --db /tmp/demo.db
    """
    from hkarchive.mirror import MirrorServer

    if not DEMO_MIRROR.is_dir():
        raise click.ClickException(
            f"the demo mirror is missing ({DEMO_MIRROR}): reinstall hkarchive"
        )
    _check_archive(db_path)
    with crawl_lock(db_path), tempfile.TemporaryDirectory(prefix="hkarchive-demo-") as folder:
        # The demo's sources: the bundled ones and a site added by its address alone (as
        # `hkarchive source add` writes it), not the user's own.
        (Path(folder) / f"{DEMO_SITE}.toml").write_text(DEMO_SITE_TOML, encoding="utf-8")
        days = mirror_days(DEMO_MIRROR)
        centres = [name for name in known_sources(folder) if name != "govhk"]
        click.echo(
            f"Serving the bundled mirror on 127.0.0.1: {len(days)} days of GovHK releases "
            f"and the news of {', '.join(centres)} ({DEMO_SITE}: a reconstructed site added "
            "by its address alone, kind auto)"
        )
        crawls = [("govhk", {"days": ",".join(days), "lang": "all"})]
        crawls += [(name, {"since": DEMO_SINCE}) for name in centres]
        with MirrorServer(DEMO_MIRROR).start() as server:
            summary = run_crawls(crawls, db_path, server.url, "INFO" if verbose else "ERROR",
                                 {"HKARCHIVE_SOURCES": folder})  # fmt: skip
        for line in summary.lines():
            click.echo(line)
        if summary.fault:
            raise click.ClickException(summary.fault_line())
        _print_archive_summary(db_path)
        if summary.failed or summary.errors:
            raise click.ClickException(f"the demo crawl had {summary.errors} errors")


# The centres' news in the bundled mirror goes back to 2022.
DEMO_SINCE = "2022-01-01"
# A bilingual site of the mirror (/en/, /tc/; reconstructed, see tests/PROVENANCE.md) that no
# file describes but this: `hkarchive source add https://www.smartcity.example/` writes it.
DEMO_SITE = "smartcity"
DEMO_SITE_TOML = """\
name = "smartcity"
title = "Hong Kong Smart City Research Centre (reconstructed)"
kind = "auto"
base_url = "https://www.smartcity.example"
languages = ["en", "zh"]
"""
DEMO_STORY = "govhk:P2022052500588"


def _print_archive_summary(db_path: str) -> None:
    with open_archive(db_path) as db:
        click.echo(f"\nArchive {db_path}:")
        for held in holdings(db):
            click.echo(
                f"  {held.source} {held.lang}: {held.items} items, {held.photos} photos, "
                f"published {(held.first or '')[:10]} to {(held.last or '')[:10]}"
            )
        story = _story_lines(db, DEMO_STORY)
        click.echo(f"\nThe InnoHK launch ceremony across sources (hkarchive story {DEMO_STORY}):")
        for line in story:
            click.echo(f"  {line}")
        click.echo(f"\nSample query (full-text search for 'InnoHK'):\n  {SAMPLE_QUERY}")
        for row in sample_query(db):
            click.echo(f"  {row['published_at']}  {row['lang']}  {printable(row['title'])}")
        click.echo(f'\nTry: sqlite3 {db_path} "{LATEST_QUERY}"')


@cli.group()
def mirror() -> None:
    """Serve a directory of captured pages as a mirror of the sites."""


@mirror.command("serve")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@db_option
def mirror_serve(directory: str, host: str, port: int, db_path: str) -> None:
    """Serve DIRECTORY, laid out as DIRECTORY/HOST/PATH, over HTTP until interrupted.

    A path ending in / is served from index.html; a query string is part of the file name.
    Crawl it with: hkarchive crawl --mirror http://127.0.0.1:8000

    Example: hkarchive mirror serve tests/mirror --port 8000
    """
    from hkarchive.mirror import serve

    del db_path  # accepted like on every command; serving reads no archive
    try:
        serve(directory, host=host, port=port)
    except OSError as exc:
        raise click.ClickException(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from exc


STORY_FIELDS = (
    "story_id",
    "article_id",
    "role",
    "similarity",
    "method",
    "linked_to",
    "source",
    "published_at",
    "title",
)
RELINK_FIELDS = ("stories", "links", "changes", "seconds")


@cli.command()
@click.argument("ident", metavar="[ID]", required=False)
@click.option(
    "--relink",
    is_flag=True,
    help="Link every archived item into stories again (idempotent) and print the counts.",
)
@format_option
@db_option
def story(ident: str | None, relink: bool, output_format: str, db_path: str) -> None:
    """Show the story ID belongs to: the original item first, then its republications.

    ID is an article id (govhk:P2022052500588) or a story number. Each line shows the role,
    the similarity to the item it was linked to (1.000 for an identical body), source, date
    and title. With --relink, link the whole archive again instead.

    Example: hkarchive story govhk:P2022052500588
    """
    from newsarchive.linking.stories import link_stories

    if relink == (ident is not None):
        usage_error("give an article id or story number, or --relink (not both)")
    with open_archive(db_path, create=False) as db:
        if ident is None:
            # It rewrites the links: under the archive's lock, as a crawl (LockHeld if taken).
            check_writable(Path(db_path))
            with crawl_lock(db_path):
                report = link_stories(db)
            counts = {
                "stories": report.stories,
                "links": report.links,
                "changes": report.changes,
                "seconds": round(report.seconds, 2),
            }
            line = (
                f"stories: {report.stories}, linked items: {report.links}, "
                f"rows changed: {report.changes}, seconds: {report.seconds:.2f}"
            )
            write_records([counts], output_format, RELINK_FIELDS, table=lambda _: [line])
            return
        story_id, members = _story(db, ident)
    if story_id is None:
        records: list[dict[str, Any]] = []
    else:
        records = [{"story_id": story_id, **asdict(m)} for m in members]
    write_records(
        records,
        output_format,
        STORY_FIELDS,
        table=lambda _: _story_table(ident, story_id, members),
    )


def _story(db: Any, ident: str) -> tuple[int | None, list[Any]]:
    """The story ID is in and its members; (None, []) for an item in no story, and a usage
    error when the archive has no such ID."""
    from newsarchive.linking.stories import find_story, story_members

    story_id = find_story(db, ident)
    if story_id is not None:
        return story_id, story_members(db, story_id)
    if not ident.isdigit() and article_exists(db, ident):
        return None, []
    raise click.UsageError(f"no article or story {ident!r} in the archive")


def _story_table(ident: str, story_id: int | None, members: Sequence[Any]) -> list[str]:
    if story_id is None:
        return [f"{printable(ident)} is in no story: no other archived item matches it"]
    return _format_story(story_id, members)


def _story_lines(db: Any, ident: str) -> list[str]:
    """The lines `hkarchive story ID` prints; a usage error when the archive has no such ID."""
    story_id, members = _story(db, ident)
    return _story_table(ident, story_id, members)


def _format_story(story_id: int, members: Sequence[Any]) -> list[str]:
    original = members[0].article_id
    sources = ", ".join(sorted({m.source for m in members}))
    lines = [f"story {story_id}: {len(members)} items from {sources}"]
    for m in members:
        score = "" if m.similarity is None else f"{m.similarity:.3f}"
        via = f" (via {m.linked_to})" if m.linked_to not in (None, original) else ""
        lines.append(
            f"{m.role:<13}  {score:>5}  {m.source:<6}  {(m.published_at or '')[:10]:<10}  "
            f"{printable(m.title)}  [{printable(m.article_id)}]{via}"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; usage errors exit 2 and runtime errors 1, each with one line, no traceback.

    A crawl refused because another holds the archive exits 75 (EX_TEMPFAIL: try again later).
    """
    state: dict[str, Any] = {}  # the --db of the command (hkarchive/cli/options.py)
    try:
        cli.main(args=list(argv) if argv is not None else None, standalone_mode=False, obj=state)
    except click.UsageError as exc:
        click.echo(f"hkarchive: error: {one_line(exc.format_message())}", err=True)
        return 2
    except click.ClickException as exc:
        click.echo(f"hkarchive: error: {one_line(exc.format_message())}", err=True)
        return 1
    except click.Abort:
        click.echo("hkarchive: interrupted", err=True)
        return 1
    except LockHeld as exc:
        click.echo(f"hkarchive: error: {one_line(str(exc))}", err=True)
        return EXIT_LOCKED
    except StoppedBySignal as exc:
        click.echo(f"hkarchive: {exc}", err=True)
        return exc.exit_code
    except NoArchive as exc:
        click.echo(f"hkarchive: error: {one_line(str(exc))} ({ARCHIVE_HINT})", err=True)
        return 1
    except (ArchiveError, SourceConfigError, LockError) as exc:
        click.echo(f"hkarchive: error: {one_line(str(exc))}", err=True)
        return 1
    except sqlite3.Error as exc:
        # The archive went bad under a command (a torn page read mid-query, a full disk).
        fault = fault_error(state.get("db_path", "the archive"), exc)
        message = str(fault) if fault else f"the archive cannot be read or written: {exc}"
        click.echo(f"hkarchive: error: {one_line(message)}", err=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
