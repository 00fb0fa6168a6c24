"""Where a crawl's CPU goes: each stage of ours timed alone, per page, on the same pages.

The crawl section of bench/run.py gives the whole (CPU ms per page of `hkarchive crawl`
against bare Scrapy's); this gives its parts outside the engine, so that a lead to make the
crawl cheaper can be sized before it is built. Every stage runs in this process, on generated
release pages held in memory, in the order a crawl runs them:

- extract: `extract_release` on a fresh `HtmlResponse` (the lxml parse included);
- worker hand-off: what sending a page to the extraction worker and its item back costs
  beyond the extraction (`Page.of`, pickling both ways, the document the worker reads);
- normalize: `normalize_article`;
- capture: one WARC record written and indexed (`WarcFile.write`), and the gzip of it alone;
- store: `upsert_article` of each item in its own transaction, as the store pipeline does,
  and, as leads, 16 items in one transaction (without a savepoint per item), and each item
  in its own transaction but unindexed, then both full-text indexes built in bulk at the end
  (what indexing at the end of a crawl would cost, `articles_fts` rebuilt from its content);
- link: the end-of-crawl linking of every item stored (stories and translation pairs).

    python -m bench.budget --pages 2000
"""

from __future__ import annotations

import argparse
import contextlib
import pickle
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest import mock

from scrapy.http import HtmlResponse

from bench.extraction import HEADERS, sample_paths
from bench.sitegen import generate
from crawler.extract.govhk import extract_release
from crawler.middlewares.rawcapture import GZIP_LEVEL, WarcFile
from crawler.offload import Page
from newsarchive import articles
from newsarchive.archive import open_archive
from newsarchive.clock import HKT
from newsarchive.db import write_transaction
from newsarchive.linking.steps import link_queued
from newsarchive.model import Article
from newsarchive.search import reindex
from pipelines.normalize import normalize_article

SEEN = "2026-01-01T00:00:00+08:00"
BATCH = 16


def _timed(work: Callable[[], Any]) -> float:
    """CPU seconds work takes in this process."""
    started = time.process_time()
    work()
    return time.process_time() - started


def _no_savepoints() -> contextlib.AbstractContextManager[Any]:
    """upsert_article joins the caller's transaction instead of opening a savepoint in it."""

    @contextlib.contextmanager
    def joined(db: Any) -> Iterator[Any]:
        if db.conn.in_transaction:
            yield db
            return
        with write_transaction(db):
            yield db

    return mock.patch.object(articles, "write_transaction", joined)


def measure(root: Path, pages: int) -> dict[str, float]:
    """CPU ms per page of each stage over up to `pages` release pages of the mirror at root."""
    sample = [(path.read_bytes(), url) for path, url in sample_paths(root, pages)]
    count = len(sample)

    def responses() -> list[HtmlResponse]:
        return [HtmlResponse(url=url, body=body, headers=HEADERS) for body, url in sample]

    found: list[Article] = []
    pages_read = responses()
    results: dict[str, float] = {}
    results["extract"] = _timed(lambda: found.extend(extract_release(r) for r in pages_read))

    def hand_off() -> None:
        for response, article in zip(responses(), found, strict=True):
            # Our own bytes, as the worker's pipe carries them.
            pickle.loads(pickle.dumps(Page.of(response))).for_extraction()  # noqa: S301
            pickle.loads(pickle.dumps(article))  # noqa: S301

    results["worker hand-off"] = _timed(hand_off)
    items: list[Article] = []
    results["normalize"] = _timed(lambda: items.extend(normalize_article(a) for a in found))
    with tempfile.TemporaryDirectory() as scratch:
        db_path = Path(scratch) / "archive.db"
        db = open_archive(db_path)
        warc = WarcFile(db_path, "budget.warc.gz", {"software": "bench"}, db=db)
        fetched = datetime(2026, 1, 1, tzinfo=HKT)
        captured = responses()
        results["capture"] = _timed(
            lambda: [warc.write(r, run_id=None, source="govhk", fetched=fetched) for r in captured]
        )
        warc.close()

        def gzip_only() -> None:
            for body, _ in sample:
                squeeze = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS + 16)
                squeeze.compress(body)
                squeeze.flush()

        results[f"  of it: gzip at level {GZIP_LEVEL}"] = _timed(gzip_only)

        def store() -> None:
            for item in items:
                articles.upsert_article(db, item, seen_at=SEEN, run_id=None)

        results["store, 1 item per transaction"] = _timed(store)
        stored = db.execute("SELECT count(*) FROM articles").fetchone()[0]
        if stored != count:  # a stage that did less than the crawl does would time too little
            raise SystemExit(f"stored {stored} articles of {count} pages")
        results["link (stories, pairs)"] = _timed(lambda: link_queued(db))
        db.close()
        batched = open_archive(Path(scratch) / "batched.db")

        def store_batched() -> None:
            with _no_savepoints():
                for start in range(0, len(items), BATCH):
                    with write_transaction(batched):
                        for item in items[start : start + BATCH]:
                            articles.upsert_article(batched, item, seen_at=SEEN, run_id=None)

        results[f"  lead: store, {BATCH} items per transaction"] = _timed(store_batched)
        batched.close()
        bulk = open_archive(Path(scratch) / "bulk.db")
        bulk.execute("DROP TRIGGER articles_ai")  # articles_fts: rebuilt from articles below

        def store_unindexed() -> None:
            with mock.patch.object(articles, "index_article", lambda *_: None):
                for item in items:
                    articles.upsert_article(bulk, item, seen_at=SEEN, run_id=None)

        def index_in_bulk() -> None:
            reindex(bulk)
            with write_transaction(bulk):
                bulk.execute("INSERT INTO articles_fts (articles_fts) VALUES ('rebuild')")

        results["  lead: store unindexed, 1 item per transaction"] = _timed(store_unindexed)
        results["  lead: then both indexes built in bulk"] = _timed(index_in_bulk)
        indexed = bulk.execute("SELECT count(*) FROM articles_search_docsize").fetchone()[0]
        if indexed != count:
            raise SystemExit(f"indexed {indexed} articles of {count} in bulk")
        bulk.close()
    return {stage: seconds * 1000 / count for stage, seconds in results.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000, help="release pages (default 2000)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        site = generate(Path(scratch), args.pages)
        costs = measure(site.root, args.pages)
    main_stages = [s for s in costs if not s.startswith(" ")]
    print(f"{args.pages:,} pages; CPU ms per page, each stage alone in one process")
    print("| stage | CPU ms/page |\n|---|---|")
    for stage, ms in costs.items():
        print(f"| {stage} | {ms:.3f} |")
    print(f"| sum of the stages | {sum(costs[s] for s in main_stages):.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
