"""Kill crawls with SIGKILL at random moments, finish them, and compare with uninterrupted crawls.

    python -m tests.crashtest --kills 20 --seed 7

Builds a mirror from tests/mirror, crawls it once without interruption per scenario (the
reference), then plays rounds on fresh archives: one to three crawls in a row killed with
SIGKILL at a random moment (after a random number of responses, at a random time, while the
crawl links stories and translation pairs at its end, or during start-up), then one crawl that
runs to completion. After every kill the archive must be consistent (`PRAGMA integrity_check`
and `foreign_key_check`, every stored item whole and as in the reference, the search indexes in
step with the articles, every raw capture readable); after the completing run it must equal the
reference: the same items and content hashes, media, links, stories, translation pairs, search
rows, index pages and captured URLs, and no run left "running". The seed is printed; the same
seed replays the same kill points (the moments themselves vary a little with the machine).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator  # type: ignore[import-untyped]  # no hints

from crawler.middlewares.rawcapture import CaptureError, read_capture
from hkarchive.mirror import MirrorServer
from tests.conftest import rows as query

TESTS = Path(__file__).resolve().parent
REPO_ROOT = TESTS.parent
MIRROR = TESTS / "mirror"
GOVHK = "www.info.gov.hk/gia/general"

# The parts of tests/mirror the crash mirror is built from.
MIRROR_PARTS = (
    *(f"{GOVHK}/{month}" for month in ("201912", "202001", "202205", "202206")),
    "www.cairs.hk",
    "www.cpii.hk",
)


@dataclass(frozen=True)
class Scenario:
    """One crawl command, crawled again and again."""

    name: str
    args: tuple[str, ...]

    @property
    def spiders(self) -> int:
        """How many spiders the crawl runs (the sources named before the options)."""
        return next(i for i, arg in enumerate(self.args) if arg.startswith("-"))


SCENARIOS = (
    # 23 releases (19 of them on one day, so a kill often lands among them) and their pairs.
    Scenario("backfill", ("govhk", "--since", "2019-12-31", "--until", "2020-01-09")),
    # Three sources in one process and a story across them (the InnoHK Launch Ceremony).
    Scenario(
        "stories", ("govhk", "cairs", "cpii", "--since", "2022-05-24", "--until", "2022-06-21")
    ),
)

# How a kill moment is chosen, with its weight.
KILL_MODES = {"responses": 4, "time": 2, "closing": 3, "startup": 1}
# Scrapy logs this (INFO) when a spider starts closing: the end-of-crawl steps follow.
CLOSING_LINE = "Closing spider ("
RUN_TIMEOUT = 300.0


class CrashTestFailure(AssertionError):
    """The archive after a kill, or after the completing run, is not what it must be."""


def check(condition: bool, message: str) -> None:
    """Raise CrashTestFailure(message) unless condition holds."""
    if not condition:
        raise CrashTestFailure(message)


def build_mirror(root: Path) -> Path:
    """Copy the crash test's part of tests/mirror to root; returns root."""
    for part in MIRROR_PARTS:
        shutil.copytree(MIRROR / part, root / part)
    return root


# --- running and killing crawls ----------------------------------------------------------------


@dataclass
class Crawl:
    """One `hkarchive crawl` child process: when things happened and how it ended."""

    killed: bool = False
    code: int | None = None
    responses: int = 0
    seconds: float = 0.0
    first_response: float | None = None
    last_response: float | None = None
    closing: float | None = None
    log: list[str] = field(default_factory=list)

    @property
    def tail(self) -> float:
        """Seconds from the last spider's closing to the process's end."""
        return self.seconds - self.closing if self.closing is not None else 0.0


@dataclass(frozen=True)
class KillPoint:
    """When to kill: after `responses` served, at `seconds` after the start or the first
    response, `seconds` after the spider starts closing, or once `stored` items are archived."""

    mode: str
    responses: int = 0
    seconds: float = 0.0
    stored: int = 0

    def describe(self) -> str:
        return {
            "responses": f"after {self.responses} response(s)",
            "time": f"{self.seconds:.2f} s after the first response",
            "closing": f"{self.seconds:.2f} s after the spider started closing",
            "startup": f"{self.seconds:.2f} s after start, before any response",
            "stored": f"once {self.stored} item(s) are archived",
        }[self.mode]

    def due(self, crawl: Crawl, served: int, now: float, db: Path) -> bool:
        if self.mode == "stored":
            return archived_items(db) >= self.stored
        if self.mode == "responses":
            return served >= self.responses
        if self.mode == "time":
            return crawl.first_response is not None and now >= crawl.first_response + self.seconds
        if self.mode == "closing":
            return crawl.closing is not None and now >= crawl.closing + self.seconds
        return now >= self.seconds


def archived_items(db: Path) -> int:
    """How many items the archive holds now (0 before its schema exists)."""
    try:
        return int(query(db, "SELECT count(*) FROM articles")[0][0]) if db.exists() else 0
    except sqlite3.Error:
        return 0


def run_crawl(
    server: MirrorServer, db: Path, scenario: Scenario, kill: KillPoint | None = None
) -> Crawl:
    """Run the scenario's crawl into db, SIGKILLed at `kill` unless it finishes first."""
    server.reset_counts()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HKARCHIVE_")}
    command = [sys.executable, "-m", "hkarchive", "crawl", *scenario.args,
               "--mirror", server.url, "--db", str(db)]  # fmt: skip
    crawl = Crawl()
    started = time.monotonic()
    child = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
    )

    def read_log() -> None:
        assert child.stderr is not None
        closing = 0
        for line in child.stderr:
            # The end-of-crawl steps begin when the last spider starts closing.
            if CLOSING_LINE in line:
                closing += 1
                if closing == scenario.spiders:
                    crawl.closing = time.monotonic() - started
            crawl.log.append(line.rstrip("\n"))

    reader = threading.Thread(target=read_log, daemon=True)
    reader.start()
    try:
        while child.poll() is None:
            now = time.monotonic() - started
            check(now < RUN_TIMEOUT, f"the crawl ran for more than {RUN_TIMEOUT:.0f} s")
            served = sum(server.statuses.values())
            if served and crawl.first_response is None:
                crawl.first_response = now
            if served != crawl.responses:
                crawl.responses, crawl.last_response = served, now
            if kill is not None and kill.due(crawl, served, now, db):
                child.send_signal(signal.SIGKILL)
                crawl.killed = True
                break
            time.sleep(0.002)  # polling the mirror's counter and the log, not a readiness wait
        crawl.code = child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
        reader.join(timeout=30)
        assert child.stderr is not None
        child.stderr.close()
        crawl.seconds = time.monotonic() - started
    crawl.responses = max(crawl.responses, sum(server.statuses.values()))
    # A kill sent just as the crawl exited on its own does not count as a kill.
    crawl.killed = crawl.killed and crawl.code == -signal.SIGKILL
    return crawl


# --- what the archive holds ---------------------------------------------------------------------

ITEM_SQL = "SELECT id, content_hash, title, published_at, url, lang, body_hash FROM articles"
SEARCH_SQL = (
    "SELECT a.id, s.title, s.body, s.title_chars, s.body_chars "
    "FROM articles_search s JOIN articles a ON a.search_key = s.rowid"
)
LINKS_SQL = (
    "SELECT story_id, article_id, role, linked_to, round(similarity, 6), method "
    "FROM story_links ORDER BY article_id"
)
PAIRS_SQL = "SELECT en_id, zh_id, round(confidence, 6), evidence FROM translation_pairs ORDER BY 1"
CHILD_TABLES = {
    "images": "url, thumbnail_url, caption, name, size_label, size_bytes",
    "attachments": "url, title",
    "videos": "url, title",
    "related_links": "url, title",
}


def items(db: Path) -> dict[str, tuple[Any, ...]]:
    """Each article's content and media, by id: what one transaction must write whole."""
    found: dict[str, list[Any]] = {row[0]: [row[1:]] for row in query(db, ITEM_SQL)}
    for table, columns in CHILD_TABLES.items():
        children: dict[str, list[tuple[Any, ...]]] = {}
        for row in query(db, f"SELECT article_id, position, {columns} FROM {table} ORDER BY 1, 2"):
            children.setdefault(row[0], []).append(row[1:])
        for article_id in children:
            check(article_id in found, f"{table} rows of {article_id}, which is not archived")
        for article_id, entry in found.items():
            entry.append(tuple(children.get(article_id, ())))
    return {article_id: tuple(entry) for article_id, entry in found.items()}


def search_rows(db: Path) -> dict[str, tuple[Any, ...]]:
    """The Chinese-aware search index's row of each article, by id."""
    return {row[0]: row[1:] for row in query(db, SEARCH_SQL)}


def stories(db: Path) -> list[tuple[Any, ...]]:
    """Every story with its members, independent of story numbers."""
    links: dict[int, list[tuple[Any, ...]]] = {}
    for story_id, *link in query(db, LINKS_SQL):
        links.setdefault(story_id, []).append(tuple(link))
    return sorted(
        (original, first, members, sources, tuple(links.get(story_id, ())))
        for story_id, original, first, members, sources in query(
            db, "SELECT id, original_id, first_published_at, members, sources FROM stories"
        )
    )


def archive_state(db: Path) -> dict[str, Any]:
    """What must be equal between an interrupted-then-resumed and an uninterrupted crawl."""
    return {
        "items": items(db),
        "versions": query(db, "SELECT article_id, version FROM article_versions ORDER BY 1, 2"),
        "search": search_rows(db),
        "stories": stories(db),
        "pairs": query(db, PAIRS_SQL),
        "listing_pages": query(
            db, "SELECT url, source, status, items FROM listing_pages ORDER BY 1"
        ),
        "captured": sorted(set(query(db, "SELECT url, status FROM raw_captures"))),
    }


def difference(state: dict[str, Any], reference: dict[str, Any]) -> str:
    """Which parts of the state differ from the reference, briefly."""
    parts = []
    for key, expected in reference.items():
        got = state[key]
        if got == expected:
            continue
        if isinstance(expected, dict):
            missing = sorted(set(expected) - set(got))[:5]
            extra = sorted(set(got) - set(expected))[:5]
            changed = sorted(k for k in set(got) & set(expected) if got[k] != expected[k])[:5]
            parts.append(f"{key}: missing {missing}, extra {extra}, different {changed}")
        else:
            missing = [row for row in expected if row not in got][:3]
            extra = [row for row in got if row not in expected][:3]
            parts.append(f"{key}: missing {missing}, extra {extra}")
    return "; ".join(parts)


# --- checks ---------------------------------------------------------------------------------------


def check_consistent(db: Path, reference: dict[str, Any]) -> int:
    """Check an archive a kill may have left; returns how many items it holds."""
    if not db.exists():
        return 0
    check(query(db, "PRAGMA integrity_check") == [("ok",)], "PRAGMA integrity_check failed")
    tables = {row[0] for row in query(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "articles_search" not in tables:  # killed before the schema was committed
        check("articles" not in tables, "a schema without its search index")
        return 0
    problems = query(db, "PRAGMA foreign_key_check")
    check(not problems, f"PRAGMA foreign_key_check: {problems[:5]}")
    stored = items(db)
    for article_id, item in stored.items():
        expected = reference["items"].get(article_id)
        check(expected is not None, f"{article_id} is archived but not in the reference")
        check(item == expected, f"{article_id} differs from the reference: {item} != {expected}")
    for table in ("articles_fts", "articles_search"):
        try:
            query(db, f"INSERT INTO {table} ({table}, rank) VALUES ('integrity-check', 1)")
        except sqlite3.DatabaseError as exc:
            raise CrashTestFailure(f"{table} integrity-check: {exc}") from exc
    indexed = query(db, "SELECT rowid FROM articles_search ORDER BY 1")
    check(
        indexed == query(db, "SELECT search_key FROM articles ORDER BY 1"),
        "articles_search rows are not one per article",
    )
    check_captures(db)
    return len(stored)


def check_captures(db: Path) -> None:
    """Every raw capture reads back as the response it indexes, each record indexed once;
    the WARC files of finished runs are whole."""
    rows = query(db, "SELECT url, status, warc_file, warc_offset, warc_length FROM raw_captures")
    places = Counter((row[2], row[3]) for row in rows)
    check(max(places.values(), default=1) == 1, "two captures index one WARC record")
    for url, status, warc_file, offset, length in rows:
        try:
            kept = read_capture(db.parent / warc_file, offset, length)
        except CaptureError as exc:
            raise CrashTestFailure(f"capture of {url} unreadable: {exc}") from exc
        check((kept.url, kept.status) == (url, status), f"capture of {url} holds {kept.url}")
    finished = query(
        db,
        "SELECT DISTINCT c.warc_file FROM raw_captures c JOIN crawl_runs r ON r.id = c.run_id "
        "WHERE r.status = 'finished'",
    )
    for (warc_file,) in finished:
        with (db.parent / warc_file).open("rb") as stream:
            for record in ArchiveIterator(stream, check_digests=True):
                record.content_stream().read()
                check(record.digest_checker.passed is not False, f"{warc_file}: bad digest")


def check_complete(db: Path, reference: dict[str, Any], killed_runs: int) -> None:
    """Check an archive after the completing run against the uninterrupted crawl's; at most
    killed_runs runs (one per spider of each killed crawl) may have been interrupted."""
    check_consistent(db, reference)
    state = archive_state(db)
    check(state == reference, f"not the uninterrupted crawl's: {difference(state, reference)}")
    statuses = Counter(row[0] for row in query(db, "SELECT status FROM crawl_runs"))
    check("running" not in statuses, f"runs left running: {dict(statuses)}")
    check(
        statuses["interrupted"] <= killed_runs,
        f"{statuses['interrupted']} runs interrupted by {killed_runs} kills",
    )


# --- the rounds -----------------------------------------------------------------------------------


@dataclass
class Reference:
    """An uninterrupted crawl of a scenario: its archive's state and its timings."""

    state: dict[str, Any]
    crawl: Crawl


@dataclass
class Kill:
    """One kill done: in which round, of which scenario, where."""

    round: int
    scenario: str
    point: KillPoint
    items_before: int
    items_after: int
    responses: int


@dataclass
class Report:
    """What a crash test did."""

    seed: int
    kills: list[Kill] = field(default_factory=list)
    rounds: int = 0
    early_finishes: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        modes = Counter(kill.point.mode for kill in self.kills)
        streaks = Counter(Counter(kill.round for kill in self.kills).values())
        return (
            f"crash test, seed {self.seed}: {len(self.kills)} SIGKILLs in {self.rounds} rounds "
            f"({', '.join(f'{n} {mode}' for mode, n in sorted(modes.items()))}; "
            f"rounds with 1/2/3 kills in a row: {streaks[1]}/{streaks[2]}/{streaks[3]}; "
            f"{self.early_finishes} crawls finished before their kill point), "
            f"every archive consistent and equal to the uninterrupted crawl's, "
            f"{self.seconds:.0f} s"
        )


def reference_crawl(server: MirrorServer, work: Path, scenario: Scenario) -> Reference:
    """Crawl the scenario without interruption."""
    db = work / f"reference-{scenario.name}" / "archive.db"
    crawl = run_crawl(server, db, scenario)
    check(crawl.code == 0, f"the reference crawl failed: {crawl.log[-20:]}")
    state = archive_state(db)
    check(bool(state["items"]), "the reference crawl archived nothing")
    check(crawl.first_response is not None and crawl.closing is not None, "no timings")
    return Reference(state, crawl)


def choose_kill(rng: random.Random, reference: Crawl, expected_responses: int) -> KillPoint:
    """A random kill moment, in one of the KILL_MODES."""
    mode = rng.choices(list(KILL_MODES), weights=list(KILL_MODES.values()))[0]
    assert reference.first_response is not None and reference.last_response is not None
    if mode == "responses":
        return KillPoint(mode, responses=rng.randint(1, max(1, expected_responses)))
    if mode == "time":
        # A resumed crawl has less to fetch: its moments are drawn from a shorter span.
        share = min(1.0, expected_responses / max(1, reference.responses))
        active = (reference.last_response - reference.first_response) * share + reference.tail
        return KillPoint(mode, seconds=rng.uniform(0, active))
    if mode == "closing":
        return KillPoint(mode, seconds=rng.uniform(0, reference.tail))
    return KillPoint(mode, seconds=rng.uniform(0, reference.first_response))


def play_round(
    number: int,
    kills: int,
    rng: random.Random,
    server: MirrorServer,
    work: Path,
    scenario: Scenario,
    reference: Reference,
    report: Report,
    say: Any,
) -> None:
    """Kill up to `kills` crawls of a fresh archive in a row, then finish it and compare."""
    db = work / f"round-{number}" / "archive.db"
    total = len(reference.state["items"])
    stored = 0
    killed = 0
    for _ in range(kills):
        # A resumed crawl reads every index page again and fetches only the missing releases.
        expected = reference.crawl.responses - stored
        point = choose_kill(rng, reference.crawl, expected)
        crawl = run_crawl(server, db, scenario, point)
        if not crawl.killed:
            check(crawl.code == 0, f"the crawl failed (status {crawl.code}): {crawl.log[-20:]}")
            report.early_finishes += 1
            say(f"  round {number} ({scenario.name}): finished before the kill {point.describe()}")
            break
        killed += 1
        after = check_consistent(db, reference.state)
        report.kills.append(Kill(number, scenario.name, point, stored, after, crawl.responses))
        say(
            f"  round {number} ({scenario.name}): killed {point.describe()} "
            f"({crawl.responses} served): {stored} -> {after} of {total} items, consistent"
        )
        stored = after
    else:
        crawl = run_crawl(server, db, scenario)
        check(crawl.code == 0, f"the re-run failed (status {crawl.code}): {crawl.log[-20:]}")
    check_complete(db, reference.state, killed * scenario.spiders)
    say(f"  round {number} ({scenario.name}): completed, equal to the uninterrupted crawl")


@dataclass
class Site:
    """The crash mirror being served, and each scenario's uninterrupted crawl of it."""

    server: MirrorServer
    references: dict[str, Reference]


@contextmanager
def crash_site(work: Path) -> Iterator[Site]:
    """Serve the crash mirror and crawl each scenario once without interruption."""
    with MirrorServer(build_mirror(work / "mirror")).start() as server:
        yield Site(server, {s.name: reference_crawl(server, work, s) for s in SCENARIOS})


def run(kills: int, seed: int, site: Site, work: Path, say: Any = print) -> Report:
    """Kill crawls at least `kills` times; raises CrashTestFailure naming the seed."""
    rng = random.Random(seed)
    report = Report(seed)
    started = time.monotonic()
    round_number = 0
    try:
        while len(report.kills) < kills:
            round_number += 1
            scenario = SCENARIOS[(round_number - 1) % len(SCENARIOS)]
            in_a_row = min(rng.choice((1, 2, 2, 3)), kills - len(report.kills))
            reference = site.references[scenario.name]
            play_round(
                round_number, in_a_row, rng, site.server, work / f"seed-{seed}", scenario,
                reference, report, say,
            )  # fmt: skip
            report.rounds = round_number
    except CrashTestFailure as exc:
        raise CrashTestFailure(
            f"seed {seed}, round {round_number}: {exc} "
            f"(replay: python -m tests.crashtest --kills {kills} --seed {seed} --keep)"
        ) from exc
    report.seconds = time.monotonic() - started
    return report


def main(argv: list[str] | None = None) -> int:
    """Run the crash test from the command line; exit status 1 when it fails."""
    parser = argparse.ArgumentParser(prog="python -m tests.crashtest", description=__doc__)
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs to do (default 20)")
    parser.add_argument("--seed", type=int, help="random seed (default: a new one, printed)")
    parser.add_argument("--keep", action="store_true", help="keep the archives and print where")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the summary")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
    print(f"crash test: {args.kills} kills, seed {seed}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="hkarchive-crash-"))

    def say(line: str) -> None:
        if not args.quiet:
            print(line, flush=True)

    started = time.monotonic()
    try:
        with crash_site(work) as site:
            report = run(args.kills, seed, site, work, say)
    except CrashTestFailure as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"archives kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{report.summary()}; {time.monotonic() - started:.0f} s with the reference crawls")
    return 0


if __name__ == "__main__":
    sys.exit(main())
