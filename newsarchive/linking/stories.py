"""Stories: one news item and its republications across sources, linked in the archive.

Two items join a story when their bodies are the same after normalisation (equal
``articles.body_hash``: method ``body_hash``) or when the Jaccard similarity of their sets of
character shingles is at least ``THRESHOLD`` (method ``minhash``: MinHash LSH proposes the
pair, the shingle sets confirm it and give the stored similarity). Linked items form connected
groups; a group's earliest item is its original, the others are republications. Items that
match nothing get no story.

Shingles are ``SHINGLE_CHARS`` consecutive letters or digits of the NFKC-normalised,
case-folded body; everything else (spaces, punctuation, full-width or curly variants) is
dropped, so layout and typography do not count, and one k serves English and Chinese. Jaccard
similarities measured at k = 5 (the 128-permutation MinHash estimate in brackets):

- the GovHK release "InnoHK Launch Ceremony concludes with great success" (2022-05-25) and its
  republications: CAiRS 0.995 (0.984); CPII, edited with paragraphs of its own, 0.824 (0.789);
  a Chinese republication edited like CPII's (synthetic, ``tests/stories/``) against the
  Chinese release 0.761 (0.688);
- every pair of the 59 GovHK fixture bodies: unrelated releases at most 0.541 (0.531), the
  Centre for Health Protection's pneumonia updates of 2019-12-31 and 2020-01-03, which repeat
  each other's advice; two different CE speeches at most 0.229; the three English releases of
  2019-12-31 at most 0.118; an English release and its Chinese twin at most 0.007;
- template releases with one headline on different days: up to 0.904 ("Suspected MERS case
  reported"); the hospitals' "daily update on Wuhan-related cases" up to 0.671.

So ``THRESHOLD`` is 0.65, midway between the closest unrelated pair (0.541) and the Chinese
edited republication (0.761), and a near-duplicate joins items of different sources only:
within one source it is a template's next edition, never a copy. Exactly equal bodies join
whatever their sources (a release issued twice). Candidates come from LSH band keys of stored
signatures through an index, within ``WINDOW_DAYS`` of the item's publication day, so
boilerplate published months apart never meets; the estimate is exact enough to discard, not
to decide (its standard error near the threshold is 0.04).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlite_utils

from newsarchive.clock import hk_now
from newsarchive.db import chunks, placeholders, write_transaction
from newsarchive.linking.queue import SIGNATURE_DAY, SIGNATURE_STALE, dequeue

logger = logging.getLogger(__name__)

SHINGLE_CHARS = 5
NUM_PERM = 128
SEED = 1
THRESHOLD = 0.65
# 25 bands of 5 rows: datasketch.lsh._optimal_param(0.65, 128, 0.05, 0.95). A false candidate
# costs one signature comparison, a missed one loses a link, hence the weights: a pair at 0.65
# is proposed with probability 0.95, at 0.70 with 0.99, at 0.20 with 0.008.
BANDS = 25
ROWS = 5
# Candidates whose estimate is this far below THRESHOLD (five standard errors) are dropped
# without reading their bodies.
ESTIMATE_SLACK = 0.2
WINDOW_DAYS = 30
# Shorter bodies (a caption, "Photo only") say nothing about where an item came from.
MIN_BODY_CHARS = 50
# Same-day ties go to GovHK: republishers give a date without a time, and copy the government.
FIRST_SOURCE = "govhk"

_NOT_WORD = re.compile(r"[\W_]+")
_PRIME = np.uint64(0x100000001B3)
_FMIX = (np.uint64(33), np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53))


# The signature is datasketch 2.0's MinHash (scheme "affine32": each 32-bit shingle hash is
# mixed by the MurmurHash3 finaliser, then permuted as a * h + b mod 2**32 with NUM_PERM odd
# multipliers a and offsets b drawn from numpy's RandomState(SEED)), computed here on the
# hashed shingles directly: importing datasketch loads SciPy and aiohttp (+42 MB at the end of
# every crawl) for one multiply and a minimum. tests/test_linking.py checks the signatures are
# datasketch's own, bit for bit. Stored with every signature: a signature made with other
# settings (as datasketch 1.x's "legacy" scheme) is recomputed, never compared.
SCHEME = "affine32"
PARAMS = f"v1 {SCHEME} k{SHINGLE_CHARS} p{NUM_PERM} s{SEED} b{BANDS}x{ROWS}"


def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 permutations for NUM_PERM and SEED: (a, b), each NUM_PERM uint32."""
    draw = np.random.RandomState(SEED)  # datasketch's generator: the same draws, in order
    a = draw.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = draw.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


_A, _B = _permutations()
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35))


def shingle_text(body_text: str) -> str:
    """The body as shingled: NFKC-normalised, case-folded, letters and digits only."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", body_text).casefold())


def shingle_set(body_text: str) -> np.ndarray:
    """Sorted distinct 32-bit hashes of a body's shingles; empty if the body is too short."""
    codes = np.frombuffer(shingle_text(body_text).encode("utf-32-le"), dtype="<u4")
    if codes.size < MIN_BODY_CHARS:
        return np.zeros(0, dtype=np.uint32)
    count = codes.size - SHINGLE_CHARS + 1
    # A polynomial hash over code points, computed for every position at once (a Python loop
    # over shingles costs more than the MinHash itself), then the MurmurHash3 finaliser.
    wide = codes.astype(np.uint64)
    hashes = np.zeros(count, dtype=np.uint64)
    for offset in range(SHINGLE_CHARS):
        hashes = hashes * _PRIME + wide[offset : offset + count]
    shift, first, second = _FMIX
    hashes ^= hashes >> shift
    hashes *= first
    hashes ^= hashes >> shift
    hashes *= second
    hashes ^= hashes >> shift
    ordered = np.sort((hashes >> np.uint64(32)).astype(np.uint32))
    # Sorting and dropping repeats is many times faster than np.unique on arrays this size.
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


def jaccard(first: np.ndarray, second: np.ndarray) -> float:
    """The Jaccard similarity of two shingle sets (0.0 if both are empty)."""
    shared = np.intersect1d(first, second, assume_unique=True).size
    union = first.size + second.size - shared
    return shared / union if union else 0.0


def body_similarity(first: str, second: str) -> float:
    """The Jaccard similarity of two bodies' shingle sets, as stored for a minhash link."""
    return round(jaccard(shingle_set(first), shingle_set(second)), 4)


def signature(body_text: str) -> bytes | None:
    """The MinHash signature of a body (NUM_PERM little-endian uint32), None if too short."""
    shingles = shingle_set(body_text)
    if not shingles.size:
        return None
    first, m1, second, m2 = _FMIX32
    mixed = shingles ^ (shingles >> first)
    mixed *= m1
    mixed ^= mixed >> second
    mixed *= m2
    mixed ^= mixed >> first
    # uint32 arithmetic wraps around: the permutations are mod 2**32, as datasketch's.
    permuted = mixed.reshape(-1, 1) * _A + _B
    return bytes(permuted.min(axis=0).astype("<u4").tobytes())


def estimate(first: bytes, second: bytes) -> float:
    """The Jaccard similarity two signatures estimate: the share of equal hash values."""
    a = np.frombuffer(first, dtype="<u4")
    b = np.frombuffer(second, dtype="<u4")
    return int(np.count_nonzero(a == b)) / NUM_PERM


def band_keys(sig: bytes) -> list[int]:
    """One signed 64-bit key per LSH band: items that share a band's key are candidates."""
    width = ROWS * 4
    return [
        int.from_bytes(
            hashlib.blake2b(sig[n * width : (n + 1) * width], digest_size=8).digest(),
            "little",
            signed=True,
        )
        for n in range(BANDS)
    ]


@dataclass(frozen=True)
class LinkReport:
    """What one linking pass did, and the archive's totals afterwards.

    ``examined``: the articles asked for; ``signed``: signatures computed (new or changed
    bodies); ``considered``: articles whose links were recomputed (those asked for, their
    matches, and the members of their stories); ``stories_*`` and ``links_*``: rows written or
    deleted; ``stories`` and ``links``: rows in the archive afterwards; ``seconds`` in all,
    ``signing_seconds`` of them computing signatures.
    """

    examined: int
    signed: int
    considered: int
    stories_written: int
    stories_removed: int
    links_written: int
    links_removed: int
    stories: int
    links: int
    seconds: float
    signing_seconds: float

    @property
    def changes(self) -> int:
        """Rows written or deleted in stories and story_links."""
        return self.stories_written + self.stories_removed + self.links_written + self.links_removed

    def summary(self) -> str:
        """One line for logs and the command line."""
        return (
            f"{self.stories} stories, {self.links} linked items; examined {self.examined}, "
            f"signed {self.signed}, {self.changes} rows changed, {self.seconds:.2f} s"
        )


@dataclass(frozen=True)
class _Item:
    id: str
    source: str
    body_hash: str | None
    signature: bytes
    day: str
    published_at: str
    first_seen_at: str

    @property
    def order(self) -> tuple[str, int, str, str, str]:
        """Sort key: earliest day first, GovHK first within a day, then time, then first seen."""
        return (
            self.day,
            0 if self.source == FIRST_SOURCE else 1,
            self.published_at,
            self.first_seen_at,
            self.id,
        )


Edge = tuple[float, str]


def link_stories(db: sqlite_utils.Database, article_ids: Iterable[str] | None = None) -> LinkReport:
    """Link articles (default: every article) into stories with everything they match.

    Signatures of new or changed bodies are computed first; then the stories of the given
    articles, of their matches and of the stories those were in are recomputed. Running it
    again changes nothing.
    """
    started = time.perf_counter()
    ids = None if article_ids is None else sorted(set(article_ids))
    examined, signed = _refresh_signatures(db, ids)
    signing_seconds = time.perf_counter() - started
    with write_transaction(db):
        graph = _Graph(db)
        graph.explore(_existing_ids(db, ids))
        written = _write_stories(db, graph)
        stories = int(db.execute("SELECT count(*) FROM stories").fetchone()[0])
        links = int(db.execute("SELECT count(*) FROM story_links").fetchone()[0])
        if ids is None:
            dequeue(db, "stories")  # every item is linked now, queued ones included
    report = LinkReport(
        examined=examined,
        signed=signed,
        considered=len(graph.visited),
        stories=stories,
        links=links,
        seconds=time.perf_counter() - started,
        signing_seconds=signing_seconds,
        **written,
    )
    logger.info("Stories: %s", report.summary())
    return report


def _existing_ids(db: sqlite_utils.Database, ids: list[str] | None) -> list[str]:
    if ids is None:
        return [row[0] for row in db.execute("SELECT id FROM articles ORDER BY id")]
    found: list[str] = []
    for chunk in chunks(ids):
        sql = f"SELECT id FROM articles WHERE id IN ({placeholders(chunk)})"
        found.extend(row[0] for row in db.execute(sql, list(chunk)))
    return sorted(found)


# Stale too when its MinHash parameters have changed since.
_STATE_SQL = f"""
SELECT a.id, {SIGNATURE_STALE} OR m.params IS NOT ?
FROM articles a LEFT JOIN article_minhash m ON m.article_id = a.id
"""

_SIGN_SQL = f"""
SELECT id, source, body_hash, {SIGNATURE_DAY}, body_text FROM articles a WHERE id IN ({{}})
"""


def _refresh_signatures(db: sqlite_utils.Database, ids: list[str] | None) -> tuple[int, int]:
    """Compute signatures whose body, day or parameters changed; returns (examined, computed)."""
    if ids is None:
        rows = db.execute(_STATE_SQL, [PARAMS]).fetchall()
    else:
        rows = []
        for chunk in chunks(ids):
            sql = f"{_STATE_SQL} WHERE a.id IN ({placeholders(chunk)})"
            rows.extend(db.execute(sql, [PARAMS, *chunk]).fetchall())
    stale = [article_id for article_id, outdated in rows if outdated]
    for batch in chunks(stale):
        # One transaction per batch: a signature and its band keys are always written together,
        # and a long first pass over a large archive does not hold the write lock throughout.
        with write_transaction(db):
            _write_signatures(db, batch)
    return len(rows), len(stale)


def _write_signatures(db: sqlite_utils.Database, ids: Sequence[str]) -> None:
    rows: list[list[Any]] = []
    bands: list[list[Any]] = []
    found = db.execute(_SIGN_SQL.format(placeholders(ids)), list(ids)).fetchall()
    for article_id, source, body_hash, day, body_text in found:
        sig = signature(body_text or "")
        rows.append([article_id, body_hash, day, PARAMS, sig])
        if sig is not None:
            bands.extend(
                [article_id, band, key, day, source] for band, key in enumerate(band_keys(sig))
            )
    db.conn.executemany("DELETE FROM minhash_bands WHERE article_id = ?", [[i] for i in ids])
    db.conn.executemany(
        "INSERT INTO article_minhash (article_id, body_hash, day, params, signature) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (article_id) DO UPDATE SET "
        "body_hash = excluded.body_hash, day = excluded.day, params = excluded.params, "
        "signature = excluded.signature",
        rows,
    )
    db.conn.executemany(
        "INSERT INTO minhash_bands (article_id, band, key, day, source) VALUES (?, ?, ?, ?, ?)",
        bands,
    )


_WINDOW = (f"-{WINDOW_DAYS} days", f"+{WINDOW_DAYS} days")

# CROSS JOIN keeps SQLite from reordering: the (small) frontier must drive the lookups, or the
# planner may scan every band row to find the frontier's.
_BAND_PAIRS_SQL = """
SELECT DISTINCT s.article_id, o.article_id
FROM story_frontier f
CROSS JOIN minhash_bands s ON s.article_id = f.article_id
CROSS JOIN minhash_bands o ON o.band = s.band AND o.key = s.key
    AND o.day BETWEEN date(s.day, ?) AND date(s.day, ?)
WHERE o.source <> s.source
"""

_HASH_PAIRS_SQL = """
SELECT s.article_id, o.article_id
FROM story_frontier f
CROSS JOIN article_minhash s ON s.article_id = f.article_id
CROSS JOIN article_minhash o ON o.body_hash = s.body_hash
    AND o.day BETWEEN date(s.day, ?) AND date(s.day, ?)
WHERE o.article_id <> s.article_id AND s.signature IS NOT NULL AND o.signature IS NOT NULL
"""

_OLD_MEMBERS_SQL = """
SELECT article_id FROM story_links WHERE story_id IN (
    SELECT l.story_id FROM story_frontier f CROSS JOIN story_links l ON l.article_id = f.article_id
)
"""

_ITEMS_SQL = """
SELECT m.article_id, a.source, m.body_hash, m.signature, m.day,
       coalesce(a.published_at, ''), coalesce(a.first_seen_at, '')
FROM article_minhash m JOIN articles a ON a.id = m.article_id
WHERE m.signature IS NOT NULL AND m.article_id IN ({})
"""


class _Graph:
    """The matches among a set of articles, grown from seeds until no story is left half-seen."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.visited: set[str] = set()
        self.items: dict[str, _Item] = {}
        self.edges: dict[tuple[str, str], Edge] = {}
        self.checked: set[tuple[str, str]] = set()
        self.shingles: dict[str, np.ndarray] = {}

    def explore(self, seeds: Iterable[str]) -> None:
        """Visit the seeds, their matches and the members of every story any of them is in."""
        self.db.execute(
            "CREATE TEMP TABLE IF NOT EXISTS story_frontier (article_id TEXT PRIMARY KEY)"
        )
        frontier = sorted(set(seeds))
        while frontier:
            self.visited.update(frontier)
            self.db.execute("DELETE FROM story_frontier")
            self.db.conn.executemany(
                "INSERT INTO story_frontier (article_id) VALUES (?)", [[i] for i in frontier]
            )
            reached = self._match_frontier()
            reached.update(row[0] for row in self.db.execute(_OLD_MEMBERS_SQL))
            frontier = sorted(reached - self.visited)
        self.db.execute("DROP TABLE story_frontier")

    def _match_frontier(self) -> set[str]:
        found = self.db.execute(_BAND_PAIRS_SQL, _WINDOW).fetchall()
        found += self.db.execute(_HASH_PAIRS_SQL, _WINDOW).fetchall()
        pairs = {(min(a, b), max(a, b)) for a, b in found} - self.checked
        self.checked |= pairs
        self._load_items({i for pair in pairs for i in pair})
        to_compare = []
        for pair in sorted(pairs):
            first, second = self.items[pair[0]], self.items[pair[1]]
            if first.body_hash is not None and first.body_hash == second.body_hash:
                self.edges[pair] = (1.0, "body_hash")
            elif _worth_comparing(first, second):
                to_compare.append(pair)
        self._load_shingles({i for pair in to_compare for i in pair})
        for pair in to_compare:
            score = round(jaccard(self.shingles[pair[0]], self.shingles[pair[1]]), 4)
            if score >= THRESHOLD:
                self.edges[pair] = (score, "minhash")
        return {i for pair in pairs if pair in self.edges for i in pair}

    def _load_items(self, ids: set[str]) -> None:
        missing = sorted(ids - self.items.keys())
        for chunk in chunks(missing):
            for row in self.db.execute(_ITEMS_SQL.format(placeholders(chunk)), list(chunk)):
                self.items[row[0]] = _Item(*row)

    def _load_shingles(self, ids: set[str]) -> None:
        missing = sorted(ids - self.shingles.keys())
        for chunk in chunks(missing):
            sql = f"SELECT id, body_text FROM articles WHERE id IN ({placeholders(chunk)})"
            for article_id, body_text in self.db.execute(sql, list(chunk)):
                self.shingles[article_id] = shingle_set(body_text or "")

    def components(self) -> list[list[_Item]]:
        """Groups of two or more linked items, each sorted original first; earliest group first."""
        parent = {node: node for pair in self.edges for node in pair}

        def root(node: str) -> str:
            while parent[node] != node:
                parent[node] = parent[parent[node]]
                node = parent[node]
            return node

        for first, second in self.edges:
            parent[root(first)] = root(second)
        groups: dict[str, list[_Item]] = {}
        for node in parent:
            groups.setdefault(root(node), []).append(self.items[node])
        ordered = [sorted(group, key=lambda item: item.order) for group in groups.values()]
        return sorted(ordered, key=lambda group: group[0].order)

    def link_of(self, item: _Item, original: _Item, group: list[_Item]) -> tuple[str, Edge]:
        """The match a republication is shown with: the original if it matched it directly."""
        direct = self.edges.get((min(item.id, original.id), max(item.id, original.id)))
        if direct is not None:
            return original.id, direct
        matches = [
            (other, self.edges[key])
            for other in group
            if (key := (min(item.id, other.id), max(item.id, other.id))) in self.edges
        ]
        other, edge = min(matches, key=lambda m: (m[1][1] != "body_hash", -m[1][0], m[0].order))
        return other.id, edge


def _worth_comparing(first: _Item, second: _Item) -> bool:
    """Whether two different bodies may be republications: other sources, estimate not far off."""
    if first.source == second.source:
        # Within one source a near-duplicate is the next edition of a template (a daily update),
        # not a republication.
        return False
    return estimate(first.signature, second.signature) >= THRESHOLD - ESTIMATE_SLACK


def _desired(
    graph: _Graph, old_ids: dict[str, int], next_id: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The story rows and link rows the visited articles should have."""
    stories: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    claimed: set[int] = set()
    for group in graph.components():
        original = group[0]
        story_id = _claim(group, old_ids, claimed)
        if story_id is None:
            story_id = next_id
            next_id += 1
        claimed.add(story_id)
        stories.append(
            {
                "id": story_id,
                "original_id": original.id,
                "first_published_at": original.published_at or original.day,
                "members": len(group),
                "sources": ",".join(sorted({item.source for item in group})),
            }
        )
        links.append(_link_row(original.id, story_id, "original", None, None, None))
        for item in group[1:]:
            linked_to, (score, method) = graph.link_of(item, original, group)
            links.append(_link_row(item.id, story_id, "republication", linked_to, score, method))
    return stories, links


def _claim(group: list[_Item], old_ids: dict[str, int], claimed: set[int]) -> int | None:
    """The existing story number a group keeps: its original's, else its members' most common."""
    counts: dict[int, int] = {}
    for item in group:
        if item.id in old_ids:
            counts[old_ids[item.id]] = counts.get(old_ids[item.id], 0) + 1
    original_story = old_ids.get(group[0].id)
    choices = sorted(counts, key=lambda s: (s != original_story, -counts[s], s))
    return next((s for s in choices if s not in claimed), None)


def _link_row(
    article_id: str,
    story_id: int,
    role: str,
    linked_to: str | None,
    score: float | None,
    method: str | None,
) -> dict[str, Any]:
    return {
        "article_id": article_id,
        "story_id": story_id,
        "role": role,
        "linked_to": linked_to,
        "similarity": score,
        "method": method,
    }


_LINK_COLUMNS = ("article_id", "story_id", "role", "linked_to", "similarity", "method")
_STORY_COLUMNS = ("id", "original_id", "first_published_at", "members", "sources")


def _write_stories(db: sqlite_utils.Database, graph: _Graph) -> dict[str, int]:
    """Bring stories and story_links in line with the graph, touching only rows that differ."""
    old_links = _old_links(db, graph.visited)
    old_ids = {article_id: int(row["story_id"]) for article_id, row in old_links.items()}
    old_stories = _old_stories(db, set(old_ids.values()))
    # New stories are numbered after the highest existing one: a live number keeps its meaning.
    last = int(db.execute("SELECT coalesce(max(id), 0) FROM stories").fetchone()[0])
    stories, links = _desired(graph, old_ids, last + 1)
    new_stories = [s for s in stories if old_stories.get(s["id"]) != s]
    new_links = [link for link in links if old_links.get(link["article_id"]) != link]
    gone_links = sorted(old_links.keys() - {link["article_id"] for link in links})
    gone_stories = sorted(old_stories.keys() - {s["id"] for s in stories})
    db.conn.executemany(
        "INSERT INTO stories (id, original_id, first_published_at, members, sources) "
        "VALUES (:id, :original_id, :first_published_at, :members, :sources) "
        "ON CONFLICT (id) DO UPDATE SET original_id = excluded.original_id, "
        "first_published_at = excluded.first_published_at, members = excluded.members, "
        "sources = excluded.sources",
        new_stories,
    )
    linked_at = hk_now().isoformat()
    db.conn.executemany(
        "INSERT INTO story_links (article_id, story_id, role, linked_to, similarity, method, "
        "linked_at) VALUES (:article_id, :story_id, :role, :linked_to, :similarity, :method, "
        ":linked_at) ON CONFLICT (article_id) DO UPDATE SET story_id = excluded.story_id, "
        "role = excluded.role, linked_to = excluded.linked_to, "
        "similarity = excluded.similarity, method = excluded.method, "
        "linked_at = excluded.linked_at",
        [{**link, "linked_at": linked_at} for link in new_links],
    )
    db.conn.executemany("DELETE FROM story_links WHERE article_id = ?", [[i] for i in gone_links])
    db.conn.executemany("DELETE FROM stories WHERE id = ?", [[i] for i in gone_stories])
    return {
        "stories_written": len(new_stories),
        "stories_removed": len(gone_stories),
        "links_written": len(new_links),
        "links_removed": len(gone_links),
    }


def _old_links(db: sqlite_utils.Database, ids: set[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    columns = ", ".join(_LINK_COLUMNS)
    for chunk in chunks(sorted(ids)):
        sql = f"SELECT {columns} FROM story_links WHERE article_id IN ({placeholders(chunk)})"
        for row in db.execute(sql, list(chunk)):
            found[row[0]] = dict(zip(_LINK_COLUMNS, row, strict=True))
    return found


def _old_stories(db: sqlite_utils.Database, ids: set[int]) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    columns = ", ".join(_STORY_COLUMNS)
    for chunk in chunks(sorted(ids)):
        sql = f"SELECT {columns} FROM stories WHERE id IN ({placeholders(chunk)})"
        for row in db.execute(sql, list(chunk)):
            found[int(row[0])] = dict(zip(_STORY_COLUMNS, row, strict=True))
    return found


@dataclass(frozen=True)
class Member:
    """One item of a story as `hkarchive story` shows it."""

    article_id: str
    source: str
    published_at: str | None
    title: str
    role: str
    linked_to: str | None
    similarity: float | None
    method: str | None


def find_story(db: sqlite_utils.Database, ident: str) -> int | None:
    """The story number ident names (a story number, or the id of an article in a story)."""
    if ident.isdigit():
        if len(ident) > 18:  # beyond SQLite's integers: names no story, and cannot be bound
            return None
        row = db.execute("SELECT id FROM stories WHERE id = ?", [int(ident)]).fetchone()
    else:
        row = db.execute(
            "SELECT story_id FROM story_links WHERE article_id = ?", [ident]
        ).fetchone()
    return None if row is None else int(row[0])


def story_members(db: sqlite_utils.Database, story_id: int) -> list[Member]:
    """A story's items, original first, then republications in publication order."""
    rows = db.execute(
        "SELECT l.article_id, a.source, a.published_at, a.title, l.role, l.linked_to, "
        "l.similarity, l.method FROM story_links l JOIN articles a ON a.id = l.article_id "
        "WHERE l.story_id = ? ORDER BY l.role <> 'original', "
        "substr(coalesce(a.published_at, a.first_seen_at), 1, 10), a.source <> ?, "
        "a.published_at, a.first_seen_at, a.id",
        [story_id, FIRST_SOURCE],
    ).fetchall()
    return [Member(*row) for row in rows]
