"""Searching: the hits of a query, newest first or by relevance, with marked excerpts."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import sqlite_utils

from newsarchive.db import placeholders
from newsarchive.search.index import ROWID_MASK, TABLE, day_key, marked_rows
from newsarchive.search.query import QueryError, fts_query
from newsarchive.search.tokens import CJK, Span, token_spans


@dataclass(frozen=True)
class Hit:
    """An article that matched, with a snippet marking the match.

    score is relevance (higher is better) when hits are ordered by relevance, None when they
    are ordered by date.
    """

    id: str
    source: str
    lang: str
    published_at: str | None
    title: str
    url: str
    snippet: str
    score: float | None


Order = Literal["newest", "relevance"]
ORDERS: tuple[Order, ...] = ("newest", "relevance")

# Markers for highlight(): control characters never occur in a search form.
_OPEN, _CLOSE = "\x01", "\x02"
SNIPPET_WIDTH = {"zh": 80}  # characters; Chinese characters are twice as wide as Latin ones
DEFAULT_SNIPPET_WIDTH = 160

# Newest first: the index is read in descending key order, each match joined to its article
# and tested against the filters, until a page of hits is found. Filters that reject most
# matches (a small source, a distant window of days) could make that read long: after
# _LONGEST_WALK matches without a page of hits, the filtered matches are sorted instead.
_LONGEST_WALK = 5000

# By relevance: BM25 is computed for at most this many matches, the newest ones (in the
# filters and the days asked for). A query with no more matches than this is ranked exactly;
# one with more ranks its RANKED newest matches, which keeps a common word of a million
# articles as quick as a rare one.
RANKED = 5000


def search(
    db: sqlite_utils.Database,
    query: str,
    *,
    source: str | Sequence[str] | None = None,
    lang: str | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = 20,
    marks: tuple[str, str] = ("[", "]"),
    order: Order = "newest",
    ranked: int = RANKED,
) -> list[Hit]:
    """The articles matching query, newest first (or most relevant first), each with a snippet.

    ``since`` and ``until`` are days of publication (both included); ``marks`` go around
    every match in the snippet. ``order="relevance"`` orders by BM25: exactly, when at most
    ``ranked`` articles match (in the sources, language and days asked for); otherwise among
    the ``ranked`` newest of those matches only, so older ones are ranked by narrowing the
    search (days, a phrase, rarer words). Raises QueryError for a query the syntax rejects.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    if ranked < 1:
        raise ValueError(f"ranked must be at least 1, not {ranked}")
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}, not {order!r}")
    match = fts_query(query)
    where, params = _filters(source, lang)
    first, last = _key_range(since, until)
    try:
        # One read transaction: the hits' snippets come from the snapshot that found them.
        with db.atomic():
            if order == "relevance":
                found = _most_relevant(db, match, first, last, where, params, limit, ranked)
            else:
                found = _newest(db, match, _keys(first, last), where, params, limit)
            return _hits(db, match, found, marks)
    except sqlite3.OperationalError as exc:
        # The parser only writes valid FTS5; should SQLite still refuse, say so in one line.
        if str(exc).startswith("fts5:"):
            raise QueryError(f"cannot search for {query!r}: {exc}") from exc
        raise


_NEWEST_FIRST = "ORDER BY s.rowid DESC LIMIT ?"
# The index row of an article: its key's low bits are the article's rowid.
_ON = f"ON a.rowid = (s.rowid & {ROWID_MASK})"
_JOIN = f"FROM {TABLE} s CROSS JOIN articles a {_ON}"


def _key_range(since: date | None, until: date | None) -> tuple[int | None, int | None]:
    """The days of publication as a range of index rowids: the first, and the first after."""
    first = day_key(since) if since else None
    last = day_key(until + timedelta(days=1)) if until else None
    return first, last


def _keys(first: int | None, after: int | None) -> str:
    """SQL conditions for a range of index rowids (which FTS5 reads directly): one bound each
    way, so that FTS5 seeks to it rather than SQLite filtering what FTS5 reads."""
    clauses = []
    if first is not None:
        clauses.append(f" AND s.rowid >= {first:d}")
    if after is not None:
        clauses.append(f" AND s.rowid < {after:d}")
    return "".join(clauses)


def _most_relevant(
    db: sqlite_utils.Database,
    match: str,
    first: int | None,
    after: int | None,
    where: str,
    params: list[object],
    limit: int,
    ranked: int,
) -> list[tuple[int, float | None]]:
    """The best matches by BM25 among the newest `ranked` (all of them when no more match).

    The newest matches are read in the index's order, without BM25: the `ranked`-th one, if
    another follows it, is the first key ranked. Without filters the index is read alone;
    with them each match is joined to its article as it is read (as newest first does), so
    that `ranked` matches in the filters are ranked, however many outside them are skipped.
    """
    keys = _keys(first, after)
    if where:
        walk = (
            f"SELECT s.rowid {_JOIN} WHERE s.{TABLE} MATCH ?{keys}{where} {_NEWEST_FIRST} OFFSET ?"
        )
    else:
        walk = (
            f"SELECT s.rowid FROM {TABLE} s WHERE s.{TABLE} MATCH ?{keys} {_NEWEST_FIRST} OFFSET ?"
        )
    bound = db.execute(walk, [match, *params, 2, ranked - 1]).fetchall()
    if len(bound) == 2:  # more than `ranked` match: rank the newest `ranked`
        keys = _keys(bound[0][0], after)
    if where:
        sql = f"SELECT s.rowid, s.rank {_JOIN} WHERE s.{TABLE} MATCH ?{keys}{where} "
    else:
        sql = f"SELECT s.rowid, s.rank FROM {TABLE} s WHERE s.{TABLE} MATCH ?{keys} "
    sql += "ORDER BY s.rank, s.rowid DESC LIMIT ?"  # best first (bm25 is lower for better)
    return [(key, rank) for key, rank in db.execute(sql, [match, *params, limit])]


def _newest(
    db: sqlite_utils.Database,
    match: str,
    keys: str,
    where: str,
    params: list[object],
    limit: int,
) -> list[tuple[int, float | None]]:
    """The newest matches (by minute of publication, then archive order)."""
    if not where:
        sql = f"SELECT s.rowid FROM {TABLE} s WHERE s.{TABLE} MATCH ?{keys} {_NEWEST_FIRST}"
        return [(key, None) for (key,) in db.execute(sql, [match, limit])]
    # CROSS JOIN keeps the index outside, read newest first; each match's filters are a column.
    walk = f"SELECT s.rowid, 1{where} {_JOIN} WHERE s.{TABLE} MATCH ?{keys} {_NEWEST_FIRST}"
    found: list[tuple[int, float | None]] = []
    walked = 0
    for key, wanted in db.execute(walk, [*params, match, _LONGEST_WALK]):
        walked += 1
        if wanted:
            found.append((key, None))
            if len(found) == limit:
                return found
    if walked < _LONGEST_WALK:
        return found  # every match was tested
    sql = (
        # A plain JOIN: the planner may start from the articles the filters pick.
        f"SELECT s.rowid FROM {TABLE} s JOIN articles a {_ON} "
        f"WHERE s.{TABLE} MATCH ?{keys}{where} {_NEWEST_FIRST}"
    )
    return [(key, None) for (key,) in db.execute(sql, [match, *params, limit])]


def _filters(source: str | Sequence[str] | None, lang: str | None) -> tuple[str, list[object]]:
    """SQL conditions on the article (alias a) for sources and a language, and their values.

    Days of publication are not among them: they are a range of the index's rowids.
    """
    clauses: list[str] = []
    params: list[object] = []
    sources = [source] if isinstance(source, str) else list(source or [])
    if sources:
        clauses.append(f"a.source IN ({placeholders(sources)})")
        params.extend(sources)
    if lang:
        clauses.append("a.lang = ?")
        params.append(lang)
    return "".join(f" AND {clause}" for clause in clauses), params


_ARTICLES_SQL = (
    "SELECT rowid, id, source, lang, published_at, title, url, body_text FROM articles "
    "WHERE rowid IN"
)


def _hits(
    db: sqlite_utils.Database,
    match: str,
    found: list[tuple[int, float | None]],
    marks: tuple[str, str],
) -> list[Hit]:
    """The found items (key and rank) as hits, with their snippets, in the order found.

    The index holds no text (it is contentless): the hits' titles and bodies are indexed
    again in memory, where highlight() marks what the query matched.
    """
    keys = [key for key, _ in found]
    if not keys:
        return []
    rowids = [key & ROWID_MASK for key in keys]
    articles = {
        row[0]: row[1:] for row in db.execute(f"{_ARTICLES_SQL} ({placeholders(rowids)})", rowids)
    }
    texts = [
        (key, article[4], article[6])
        for key in keys
        if (article := articles.get(key & ROWID_MASK)) is not None
    ]
    marked = marked_rows(match, texts, (_OPEN, _CLOSE))
    # A hit whose article changed since it was indexed may not match its text: no marks.
    unmarked = ("", "", "", "")
    return [
        _hit(articles[key & ROWID_MASK], marked.get(key, unmarked), rank, marks)
        for key, rank in found
        if key & ROWID_MASK in articles
    ]


def _hit(
    article: Sequence[str | None],
    marked: Sequence[str],
    rank: float | None,
    marks: tuple[str, str],
) -> Hit:
    article_id, source, lang, published_at, title, url, body = article
    assert article_id is not None and source is not None and lang is not None and url is not None
    title, body = title or "", body or ""
    width = SNIPPET_WIDTH.get(lang, DEFAULT_SNIPPET_WIDTH)
    body_spans = _spans(body, marked[1], marked[3])
    if body_spans:
        snippet = excerpt(body, body_spans, width, marks)
    elif title_spans := _spans(title, marked[0], marked[2]):
        snippet = excerpt(title, title_spans, width, marks)
    else:
        snippet = excerpt(body, [], width, marks)
    # bm25 is negative, more so for better matches.
    score = None if rank is None else -rank
    return Hit(article_id, source, lang, published_at, title, url, snippet, score)


def _spans(text: str, marked_words: str, marked_chars: str) -> list[Span]:
    """The spans of text whose tokens highlight() marked in its two columns."""
    word_count, word_tokens = _marked_tokens(marked_words)
    char_count, char_tokens = _marked_tokens(marked_chars)
    # The first matches are enough to place a snippet; a common word can have thousands.
    spans, words, chars = token_spans(text, word_tokens[:_MAX_MARKS], char_tokens[:_MAX_MARKS])
    if (words, chars) != (word_count, char_count):
        return []  # indexed from another text or form: reindex() mends it
    return spans


_MAX_MARKS = 200
_MARKED = re.compile(f"{_OPEN}[^{_CLOSE}]*{_CLOSE}")


def _marked_tokens(highlighted: str) -> tuple[int, list[int]]:
    """How many space-separated tokens a highlighted index form has, and which are marked."""
    count = highlighted.count(" ") + 1 if highlighted else 0
    marked: list[int] = []
    position = before = 0
    for match in _MARKED.finditer(highlighted):
        # Markers hold no spaces, so the spaces before a mark number the tokens before it.
        before += highlighted.count(" ", position, match.start())
        last = before + highlighted.count(" ", match.start(), match.end())
        marked.extend(range(max(before, marked[-1] + 1 if marked else 0), last + 1))
        before, position = last, match.end()
    return count, marked


def _merge(text: str, spans: Iterable[Span]) -> list[Span]:
    """Overlapping spans (bigrams) as one, and spans only whitespace apart (a phrase) too."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and (start <= merged[-1][1] or text[merged[-1][1] : start].isspace()):
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


_SPACE = re.compile(r"\s+")


def excerpt(text: str, spans: Iterable[Span], width: int, marks: tuple[str, str]) -> str:
    """About width characters of text around the densest group of spans, each one marked."""
    merged = _merge(text, spans)
    start, end = _window(text, merged, width)
    out = ["…" if start > 0 else ""]
    position = start
    for span_start, span_end in merged:
        a, b = max(span_start, start), min(span_end, end)
        if a >= b:
            continue
        out += [text[position:a], marks[0], text[a:b], marks[1]]
        position = b
    out += [text[position:end], "…" if end < len(text) else ""]
    return _SPACE.sub(" ", "".join(out)).strip()


def _window(text: str, spans: list[Span], width: int) -> Span:
    """The part of text to show: the most spans that fit in width, with some context first."""
    if not spans:
        return 0, _word_end(text, min(len(text), width), width // 2)
    best, best_count, j = 0, 0, 0
    for i, (first, _) in enumerate(spans):
        j = max(j, i)
        while j + 1 < len(spans) and spans[j + 1][1] - first <= width:
            j += 1
        if j - i + 1 > best_count:
            best, best_count = i, j - i + 1
    first, last = spans[best][0], spans[best + best_count - 1][1]
    start = max(0, first - max(0, width - (last - first)) // 3)
    end = min(len(text), max(last, start + width))
    return _word_start(text, start, first), _word_end(text, end, last)


_LATIN_WORD_CHAR = re.compile(rf"[^\W_{CJK}]")


def _inside_word(text: str, position: int) -> bool:
    """Whether position falls between two characters of one Latin word (CJK has no words)."""
    return (
        0 < position < len(text)
        and _LATIN_WORD_CHAR.match(text, position - 1) is not None
        and _LATIN_WORD_CHAR.match(text, position) is not None
    )


def _word_start(text: str, start: int, limit: int) -> int:
    """Move start forward past a cut word (never beyond limit)."""
    while start < limit and _inside_word(text, start):
        start += 1
    return start


def _word_end(text: str, end: int, floor: int) -> int:
    """Move end back before a cut word (never below floor)."""
    while end > floor and _inside_word(text, end):
        end -= 1
    return end
