"""Benchmark: link N synthetic archived items into stories, rerun it, and time both passes.

Bodies are paragraphs of the GovHK fixtures, sampled, shuffled and perturbed; items come from
several sources over a year; a few per cent are planted republications of a GovHK item by
another source (lightly edited, or verbatim). Run from a checkout:

    python bench/stories.py --items 10000
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from newsarchive.archive import open_archive
from newsarchive.articles import upsert_article
from newsarchive.linking.stories import LinkReport, link_stories
from newsarchive.model import Article
from pipelines.normalize import normalize_article

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "govhk"
OTHER_SOURCES = ("cairs", "cpii", "hkstp", "cuhk", "polyu")
FIRST_DAY = date(2022, 1, 1)
TABLES = ("stories", "story_links", "article_minhash", "minhash_bands")


def paragraphs() -> dict[str, list[str]]:
    """Paragraphs of every GovHK fixture body, by language."""
    pool: dict[str, list[str]] = {"en": [], "zh": []}
    for path in sorted(FIXTURES.glob("*/expected.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if "body_text" in data:
            paras = [p for p in data["body_text"].split("\n\n") if len(p) >= 40]
            pool[data["lang"]].extend(paras)
    if not pool["en"] or not pool["zh"]:
        sys.exit(f"no fixture bodies under {FIXTURES}: run from a checkout")
    return pool


@dataclass
class Corpus:
    """The synthetic items, and which pairs were planted as one story."""

    articles: list[Article] = field(default_factory=list)
    planted: list[tuple[str, str]] = field(default_factory=list)


def perturb(paragraph: str, rng: random.Random, swaps: int | None = None) -> str:
    """The paragraph with words (or Chinese characters) swapped: 1 in 15 unless told."""
    words = paragraph.split(" ")
    unit: list[str] = words if len(words) > 5 else list(paragraph)
    for _ in range(max(1, len(unit) // 15) if swaps is None else swaps):
        i, j = rng.randrange(len(unit)), rng.randrange(len(unit))
        unit[i], unit[j] = unit[j], unit[i]
    return (" " if unit is words else "").join(unit)


def make_article(source: str, serial: int, lang: str, day: date, body: str) -> Article:
    """A normalised item as a spider would yield it."""
    published = f"{day.isoformat()}T{9 + serial % 10:02d}:{serial % 60:02d}:00+08:00"
    return normalize_article(
        Article(
            source=source,
            native_id=f"B{serial:07d}",
            url=f"https://bench.invalid/{source}/{serial}",
            lang=lang,
            title=f"Synthetic item {serial}",
            published_at=published if source == "govhk" else day.isoformat(),
            body_text=body,
            body_html="",
        )
    )


def republish(body: str, lang: str, rng: random.Random) -> str:
    """A republication as the InnoHK centres make them: a phrase changed, a credit added."""
    paras = body.split("\n\n")
    i = rng.randrange(len(paras))
    paras[i] = perturb(paras[i], rng, swaps=2)
    paras.append("資料來源：政府新聞稿" if lang == "zh" else "Source: Press Release, GovHK")
    return "\n\n".join(paras)


def build(items: int, seed: int) -> Corpus:
    """items synthetic articles; about 5% near-duplicate and 1% verbatim republications."""
    rng = random.Random(seed)  # noqa: S311  # reproducible synthetic data, not security
    pool = paragraphs()
    corpus = Corpus()
    govhk: list[tuple[Article, date]] = []
    for serial in range(items):
        day = FIRST_DAY + timedelta(days=rng.randrange(365))
        if govhk and rng.random() < 0.06:
            original, published = rng.choice(govhk[-200:])
            exact = rng.random() < 1 / 6
            text = original.body_text
            body = text if exact else republish(text, original.lang, rng)
            when = published + timedelta(rng.randrange(8))
            copy = make_article(rng.choice(OTHER_SOURCES), serial, original.lang, when, body)
            corpus.articles.append(copy)
            corpus.planted.append((original.id, copy.id))
            continue
        lang = "zh" if rng.random() < 0.25 else "en"
        chosen = rng.sample(pool[lang], rng.randint(2, 7))
        body = "\n\n".join(perturb(p, rng) for p in chosen)
        source = "govhk" if rng.random() < 0.7 else rng.choice(OTHER_SOURCES)
        article = make_article(source, serial, lang, day, body)
        corpus.articles.append(article)
        if source == "govhk":
            govhk.append((article, day))
    return corpus


def snapshot(db: sqlite_utils.Database) -> dict[str, list[Any]]:
    """Every row the linker writes, in a fixed order."""
    return {
        table: db.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall() for table in TABLES
    }


def planted_found(db: sqlite_utils.Database, planted: list[tuple[str, str]]) -> int:
    """How many planted pairs ended up in the same story."""
    story = dict(db.execute("SELECT article_id, story_id FROM story_links").fetchall())
    return sum(1 for a, b in planted if a in story and story.get(a) == story.get(b))


def stray_members(db: sqlite_utils.Database, planted: list[tuple[str, str]]) -> int:
    """Linked items that no planted pair accounts for (false joins)."""
    expected = {i for pair in planted for i in pair}
    linked = {row[0] for row in db.execute("SELECT article_id FROM story_links")}
    return len(linked - expected)


def row(name: str, seconds: float, report: LinkReport) -> str:
    """One line of the results table."""
    return (
        f"{name:<24}{seconds:>9.2f}{report.signing_seconds:>9.2f}{report.signed:>8}"
        f"{report.stories:>9}{report.links:>8}{report.changes:>9}"
    )


def timed_link(db: sqlite_utils.Database, ids: list[str] | None = None) -> tuple[float, LinkReport]:
    """link_stories with its wall-clock time."""
    started = time.perf_counter()
    report = link_stories(db, ids)
    return time.perf_counter() - started, report


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 1 if the rerun changed anything."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000, help="synthetic items (10000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
    args = parser.parse_args(argv)
    corpus = build(args.items, args.seed)
    extra = build(max(args.items // 100, 10), args.seed + 1)
    with tempfile.TemporaryDirectory() as tmp:
        db = open_archive(Path(tmp) / "bench.db")
        started = time.perf_counter()
        store(db, corpus.articles, "2026-01-01T00:00:00+08:00")
        stored = time.perf_counter() - started
        first_time, first = timed_link(db)
        before = snapshot(db)
        again_time, again = timed_link(db)
        identical = snapshot(db) == before
        found = planted_found(db, corpus.planted)
        stray = stray_members(db, corpus.planted)
        renumbered = renumber(extra.articles, args.items)
        store(db, renumbered, "2026-01-02T00:00:00+08:00")
        new_time, new = timed_link(db, [a.id for a in renumbered])
        db.close()
    for line in describe(corpus, stored):
        print(line)
    print(
        f"{'pass':<24}{'seconds':>9}{'signing':>9}{'signed':>8}{'stories':>9}{'links':>8}"
        f"{'changed':>9}"
    )
    print(row("full link", first_time, first))
    print(row("rerun (idempotent)", again_time, again))
    print(row(f"{len(renumbered)} new items", new_time, new))
    print(
        f"planted pairs in one story: {found}/{len(corpus.planted)}; items linked outside "
        f"a planted pair: {stray}"
    )
    print(f"rerun left every row identical: {'yes' if identical else 'NO'}")
    return 0 if identical and again.changes == 0 else 1


def store(db: sqlite_utils.Database, articles: list[Article], seen_at: str) -> None:
    """Archive the items in one transaction (each upsert is a savepoint inside it)."""
    with db.atomic():
        for article in articles:
            upsert_article(db, article, seen_at=seen_at, run_id=None)


def renumber(articles: list[Article], start: int) -> list[Article]:
    """The items with native ids after the main corpus's, so they arrive as new."""
    for offset, article in enumerate(articles):
        article.native_id = f"B{start + offset:07d}"
    return articles


def describe(corpus: Corpus, stored: float) -> Iterator[str]:
    """Lines describing the synthetic archive."""
    counts: dict[str, int] = {}
    for article in corpus.articles:
        counts[article.source] = counts.get(article.source, 0) + 1
    chars = sum(len(a.body_text) for a in corpus.articles) / max(len(corpus.articles), 1)
    by_source = ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda x: -x[1]))
    yield f"items: {len(corpus.articles)} ({by_source}); mean body {chars:,.0f} characters"
    yield f"planted republications: {len(corpus.planted)}; archived in {stored:.1f} s"


if __name__ == "__main__":
    sys.exit(main())
