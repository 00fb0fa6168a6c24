"""Scale of the archive: build synthetic archives of 100k and 1M articles, then time search.

Rows are English and Chinese releases whose titles and bodies are recombined sentences of
the real corpus, spread over 1997-2024. They are written by bulk INSERT into the real schema
(``open_archive`` creates it; the triggers keep ``articles_fts`` in step) and the bilingual
index is built by the project's own ``newsarchive.search.reindex``, which makes each article's
search form as the crawl's ``upsert_article`` does. That per-article path is timed on a small
sample beside it. Queries go through ``newsarchive.search.search``, the function
``hkarchive search`` calls, in both orders (newest first, by relevance); the first search after
opening an archive dropped from the page cache is timed too, and the archive's parts are
measured with SQLite's dbstat. Built archives are cached (keyed by size and format version) so
a second run only queries them.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import sqlite3
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.sitegen import Corpus, load_corpus
from newsarchive.archive import open_archive
from newsarchive.articles import upsert_article
from newsarchive.model import Article
from newsarchive.search import ORDERS, Order, search
from pipelines.normalize import normalize_article

FORMAT = 1  # bump when the synthetic rows change, so cached archives are rebuilt
FIRST_DAY = date(1997, 7, 1)
DAYS = (date(2024, 12, 31) - FIRST_DAY).days
BATCH = 10_000
_COLUMNS = (
    "id, source, native_id, url, lang, title, published_at, body_text, body_html, "
    "content_hash, body_hash, extraction, first_seen_at, last_seen_at"
)
_INSERT = f"INSERT INTO articles ({_COLUMNS}) VALUES ({', '.join('?' * 14)})"
_WORD = re.compile(r"[A-Za-z]{3,}")
_STOP = frozenset(
    ("the", "and", "for", "that", "with", "this", "are", "was", "from", "has", "have", "will",
     "which", "been", "its", "not", "but", "their", "they", "also", "were", "his", "her", "our",
     "all", "any", "can", "may", "more", "other", "said", "such", "than", "these", "who")
)  # fmt: skip


class Rows:
    """Synthetic article texts drawn from the corpus, deterministic for a seed."""

    def __init__(self, corpus: Corpus, seed: int) -> None:
        """Plain-text sentences of `corpus` (the generator's are HTML-escaped)."""
        import html

        self.rng = random.Random(seed)  # noqa: S311  # seeded synthetic data, not security
        self.titles = corpus.titles
        self.sentences = {k: [html.unescape(s) for s in v] for k, v in corpus.sentences.items()}

    def text(self, lang: str) -> tuple[str, str]:
        """(title, body) of one article."""
        rng, joiner = self.rng, " " if lang == "en" else ""
        a, b = rng.sample(self.titles[lang], 2)
        if lang == "en":
            wa, wb = a.split(), b.split()
            title = " ".join(wa[: max(1, len(wa) // 2)] + wb[len(wb) // 2 :])
        else:
            title = a[: max(1, len(a) // 2)] + b[len(b) // 2 :]
        body = "\n\n".join(
            joiner.join(rng.choices(self.sentences[lang], k=rng.randint(1, 4)))
            for _ in range(rng.randint(3, 10))
        )
        return title, body


def _rows(rows: Rows, start: int, count: int) -> Iterator[tuple[Any, ...]]:
    for n in range(start, start + count):
        lang = "en" if n % 2 == 0 else "zh"
        title, body = rows.text(lang)
        day = FIRST_DAY + timedelta(days=(n * 7919) % DAYS)
        native = f"S{n:09d}"
        digest = hashlib.sha256(f"{n}{title}".encode()).hexdigest()
        yield (
            f"govhk:{native}",
            "govhk",
            native,
            f"https://bench.invalid/{native}.htm",
            lang,
            title,
            f"{day.isoformat()}T{9 + n % 12:02d}:{n % 60:02d}:00+08:00",
            body,
            "",
            digest,
            digest,
            "{}",
            "2026-01-01T00:00:00+08:00",
            "2026-01-01T00:00:00+08:00",
        )


def build(path: Path, articles: int, seed: int = 7) -> dict[str, Any]:
    """Build an archive of `articles` synthetic rows at path; returns its build figures."""
    from newsarchive.search import reindex

    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    rows = Rows(load_corpus(), seed)
    db = open_archive(path)
    started = time.perf_counter()
    for start in range(0, articles, BATCH):
        with db.atomic():
            db.conn.executemany(_INSERT, _rows(rows, start, min(BATCH, articles - start)))
    inserted = time.perf_counter()
    reindex(db)
    indexed = time.perf_counter()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.execute("ANALYZE")
    db.close()
    size = path.stat().st_size
    return {
        "articles": articles,
        "insert_s": inserted - started,
        "search_index_s": indexed - inserted,
        "build_s": indexed - started,
        "bulk_articles_per_s": articles / (indexed - started),
        "file_bytes": size,
        "mb_per_1000_articles": size / 1e6 / articles * 1000,
    }


def upsert_rate(path: Path, articles: int = 2000, seed: int = 11) -> dict[str, Any]:
    """Articles per second through upsert_article (the crawl's store path), one transaction each."""
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    rows = Rows(load_corpus(), seed)
    items = []
    for n in range(articles):
        lang = "en" if n % 2 == 0 else "zh"
        title, body = rows.text(lang)
        day = FIRST_DAY + timedelta(days=(n * 7919) % DAYS)
        items.append(
            normalize_article(
                Article(
                    source="govhk",
                    native_id=f"U{n:09d}",
                    url=f"https://bench.invalid/U{n:09d}.htm",
                    lang=lang,
                    title=title,
                    published_at=f"{day.isoformat()}T10:00:00+08:00",
                    body_text=body,
                    body_html="",
                )
            )
        )
    db = open_archive(path)
    started = time.perf_counter()
    for item in items:
        upsert_article(db, item, seen_at="2026-01-01T00:00:00+08:00", run_id=None)
    seconds = time.perf_counter() - started
    db.close()
    return {"articles": articles, "seconds": seconds, "articles_per_s": articles / seconds}


def queries(seed: int = 3) -> dict[str, list[str]]:
    """About 50 English and 50 Chinese queries: common and rare words, phrases, 2- and 4-character
    Chinese words, all taken from the corpus."""
    corpus = load_corpus()
    rng = random.Random(seed)  # noqa: S311  # seeded synthetic data, not security
    rows = Rows(corpus, seed)
    en_text = " ".join(rows.sentences["en"])
    words = Counter(w.lower() for w in _WORD.findall(en_text) if w.lower() not in _STOP)
    ranked = [w for w, _ in words.most_common()]
    common = ranked[:20]
    rare = rng.sample([w for w, n in words.items() if n == 1], 15)
    pairs = []
    for sentence in rng.sample(rows.sentences["en"], 40):
        found = _WORD.findall(sentence)
        if len(found) >= 3:
            i = rng.randrange(len(found) - 1)
            pairs.append(f'"{found[i]} {found[i + 1]}"')
    zh_text = "".join(rows.sentences["zh"])
    han = re.compile(r"[\u4e00-\u9fff]{4,}")
    runs = han.findall(zh_text)
    bigrams = Counter(r[i : i + 2] for r in runs for i in range(len(r) - 1))
    zh_common = [b for b, _ in bigrams.most_common(20)]
    zh_rare = rng.sample([b for b, n in bigrams.items() if n == 1], 10)
    zh_four = []
    for r in rng.sample(runs, 20):
        i = rng.randrange(len(r) - 3)
        zh_four.append(r[i : i + 4])
    return {"en": common + rare + pairs[:15], "zh": zh_common + zh_rare + zh_four}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def latency(path: Path, passes: int = 1, order: Order = "newest") -> dict[str, Any]:
    """p50/p95 ms of search() in one order over the English and the Chinese queries, top 20
    hits each, in a warm archive."""
    db = open_archive(path, create=False)
    by_lang: dict[str, Any] = {}
    sets = queries()
    for q in sets["en"][:3] + sets["zh"][:3]:  # warm the page cache and SQLite's
        search(db, q, limit=20, order=order)
    for lang, qs in sets.items():
        samples: list[float] = []
        hits: list[int] = []
        slowest: tuple[float, str] = (0.0, "")
        for _ in range(passes):
            for q in qs:
                started = time.perf_counter()
                found = search(db, q, limit=20, order=order)
                ms = (time.perf_counter() - started) * 1000
                samples.append(ms)
                hits.append(len(found))
                slowest = max(slowest, (ms, q))
        by_lang[lang] = {
            "order": order,
            "queries": len(qs),
            "passes": passes,
            "p50_ms": statistics.median(samples),
            "p95_ms": _percentile(samples, 0.95),
            "max_ms": max(samples),
            "slowest_query": slowest[1],
            "queries_with_hits": sum(1 for h in hits if h) // passes,
        }
    db.close()
    return by_lang


def _drop_from_page_cache(path: Path) -> None:
    """Ask the kernel to forget the cached pages of the archive (and of its WAL, if any)."""
    for part in (path, path.with_name(path.name + "-wal")):
        if not part.exists():
            continue
        fd = os.open(part, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def cold(path: Path, repeats: int = 5) -> dict[str, Any]:
    """The first search of a fresh connection to an archive dropped from the page cache.

    Each repetition drops the file from the cache, opens the archive and times its first
    search: `repeats` queries spread over each language's list, in both orders. Opening
    (migration check included) is timed apart.
    """
    sets = queries()
    samples: dict[str, list[float]] = {}
    opening: list[float] = []
    runs: list[dict[str, Any]] = []
    for order in ORDERS:
        for lang, qs in sets.items():
            for n in range(repeats):
                q = qs[n * len(qs) // repeats]
                _drop_from_page_cache(path)
                started = time.perf_counter()
                db = open_archive(path, create=False)
                opened = time.perf_counter()
                found = search(db, q, limit=20, order=order)
                ms = (time.perf_counter() - opened) * 1000
                db.close()
                opening.append((opened - started) * 1000)
                samples.setdefault(order, []).append(ms)
                runs.append({"order": order, "lang": lang, "query": q, "ms": ms,
                             "hits": len(found)})  # fmt: skip
    every = [ms for order in samples.values() for ms in order]
    return {
        "repeats": repeats,
        "p50_ms": statistics.median(every),
        "p95_ms": _percentile(every, 0.95),
        "max_ms": max(every),
        "by_order": {
            order: {"p50_ms": statistics.median(ms), "p95_ms": _percentile(ms, 0.95)}
            for order, ms in samples.items()
        },
        "open_p50_ms": statistics.median(opening),
        "runs": runs,
    }


def _part(name: str, schema: dict[str, tuple[str, str, str]]) -> str:
    """The part of the archive a b-tree belongs to: a table (a virtual table's shadow tables
    fold under it), or a table's indexes."""
    kind, table, _ = schema.get(name, ("table", name, ""))
    virtual = sorted(
        (n for n, (_, _, sql) in schema.items() if sql.upper().startswith("CREATE VIRTUAL")),
        key=len,
        reverse=True,
    )
    owner = next((v for v in virtual if table == v or table.startswith(f"{v}_")), None)
    if owner:
        return owner
    return f"{table} indexes" if kind == "index" else table


def storage(path: Path, articles: int) -> dict[str, Any]:
    """Bytes per b-tree of the archive (SQLite's dbstat), folded into parts, and as MB per
    1,000 articles."""
    db = sqlite3.connect(path)
    try:
        schema = {
            name: (kind, table, sql or "")
            for name, kind, table, sql in db.execute(
                "SELECT name, type, tbl_name, sql FROM sqlite_schema"
            )
        }
        sizes = dict(db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"))
    finally:
        db.close()
    parts: Counter[str] = Counter()
    shadows: dict[str, dict[str, float]] = {}
    mb = 1000 / articles / 1e6  # bytes to MB per 1,000 articles
    for name, size in sorted(sizes.items(), key=lambda item: -item[1]):
        part = _part(name, schema)
        parts[part] += size
        if part != name and schema.get(name, ("",))[0] == "table":
            # A virtual table's shadow table: "articles_search_data" is its "data".
            shadows.setdefault(part, {})[name.removeprefix(f"{part}_")] = size * mb
    return {
        "bytes": sizes,
        "parts_bytes": dict(parts.most_common()),
        "mb_per_1000_articles": {part: size * mb for part, size in parts.most_common()},
        "shadow_mb_per_1000_articles": shadows,
        "total_mb_per_1000_articles": sum(parts.values()) * mb,
    }


def measure(
    cache: Path,
    sizes: list[int],
    passes: int,
    rebuild: bool,
    upsert_rows: int = 2000,
    cold_repeats: int = 5,
) -> dict[str, Any]:
    """Build (or reuse) an archive per size, then measure its parts and time searches in it:
    newest first and by relevance in a warm archive, and the first search of a cold one."""
    cache.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "upsert": upsert_rate(cache / "upsert.db", upsert_rows),
        "queries": queries(),
        "sizes": {},
    }
    for size in sizes:
        db_path = cache / f"search-{size}-v{FORMAT}.db"
        meta_path = db_path.with_suffix(".json")
        if rebuild or not (db_path.exists() and meta_path.exists()):
            meta = build(db_path, size)
            meta_path.write_text(json.dumps(meta), encoding="utf-8")
            meta["cached"] = False
        else:
            meta = json.loads(meta_path.read_text(encoding="utf-8")) | {"cached": True}
        if "storage" not in meta:  # a full read of the archive: once per build
            meta["storage"] = storage(db_path, size)
            meta_path.write_text(json.dumps(meta), encoding="utf-8")
        results["sizes"][str(size)] = meta | {
            "latency": latency(db_path, passes, "newest"),
            "latency_relevance": latency(db_path, passes, "relevance"),
            "cold": cold(db_path, cold_repeats),
        }
    return results
