"""Bilingual full-text search: a Chinese-aware FTS5 index of titles and bodies, and its queries.

SQLite's ``unicode61`` tokenizer takes a run of Han characters as one token, so no Chinese
word inside a sentence can be found; the ``trigram`` tokenizer cannot find two-character
words, which most Chinese words are. The index therefore holds a *search form* of each title
and body, made here in Python:

- Latin words (letters and digits) stay words; the table's ``porter unicode61`` tokenizer
  folds their case and stems them (``launch`` finds "launched").
- A run of two or more Han characters (or kana) is rewritten in place as its overlapping
  bigrams: ``創新科技`` becomes ``創新 新科 科技``. A query of two or more characters is the
  phrase of its bigrams, which matches exactly where the characters occur in a row, and since
  the bigrams stay where the run was, a Latin word next to a run stays next to it
  (``InnoHK創新`` is the phrase ``innohk 創新``). A lone Han character stays as itself.
- Every character of those runs is also a token of its own, in the columns ``title_chars``
  and ``body_chars``: a one-character query matches there. They are separate columns because
  FTS5 phrases need consecutive positions: unigrams between the bigrams would break every
  bigram phrase, and unigrams after them would let a phrase match across the seam.

The FTS5 table stores its content (rather than being contentless): SQLite before 3.43 can
only delete a contentless row given its old text, and ``highlight()`` needs the text to mark
what matched. Snippets are cut from the original title and body: each marked token of the
search form is mapped back to the characters it came from, so a reader sees the sentence with
the match marked, not bigrams. ``bm25`` with titles weighted five times bodies is the table's
``rank``, so ``ORDER BY rank`` ranks alike in any client.

The index's ``rowid`` is the item's *search key*, ``articles.search_key``: its minute of
publication (Hong Kong time, counted from 1900) in the high bits and ``articles.rowid`` in the
low 31 (``search_key & 2147483647`` is the article's rowid). FTS5 walks a match's rows in
rowid order, so "newest first" is ``ORDER BY rowid DESC LIMIT n``: it stops at the n-th
match, however many items match and in whatever order they were archived, and a date range
is a range of rowids.

Queries are parsed here (words, ``"phrases"``, ``AND``/``OR``/``NOT``, parentheses, a
trailing ``*`` for a prefix) and rewritten into FTS5 syntax with the same transform. Every
word the user typed reaches ``MATCH`` inside a quoted FTS5 string, as a bound parameter, so
neither SQL nor FTS5 syntax can be injected, and a query the parser rejects raises
``QueryError`` with a one-line reason.

Datasette's search box quotes each whitespace-separated term as a phrase and sends it to
``MATCH`` untransformed: there ``創新`` is one token (a bigram of the index), ``創`` a token of
the ``*_chars`` columns and ``launch`` is stemmed as here, so one- and two-character Chinese
words and English words are found; a longer Chinese word is one token the index does not
hold (type it as two-character pieces, ``創新 科技``), and so is ``InnoHK創新`` typed without
a space.
"""

from __future__ import annotations

import json
import operator
import re
import sqlite3
import unicodedata
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import islice
from typing import Literal

import sqlite_utils

TABLE = "articles_search"
COLUMNS = ("title", "body", "title_chars", "body_chars")
# Weights in COLUMNS order: a word in the title counts five times one in the body.
RANK = "bm25(5.0, 1.0, 5.0, 1.0)"
_CREATE_SQL = (
    f"CREATE VIRTUAL TABLE {TABLE} USING fts5({', '.join(COLUMNS)}, tokenize = 'porter unicode61')"
)

# Han ideographs (with extensions and compatibility forms), 々〆〇, hiragana and katakana:
# scripts written without spaces between words.
_CJK = (
    "\u3005-\u3007\u3041-\u309f\u30a1-\u30fa\u30fc-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\U00020000-\U0003134f"
)
# A CJK run, or a stretch of anything else.
_STRETCH = re.compile(rf"([{_CJK}]+)|[^{_CJK}]+")
# A word of such a stretch: letters and digits (\w without "_").
_WORD = re.compile(r"[^\W_]+")

Span = tuple[int, int]


@dataclass(frozen=True)
class Segment:
    """A word or a CJK run of a text, normalised, and where it is in the text."""

    form: str
    start: int
    end: int
    cjk: bool


def segments(text: str) -> Iterator[Segment]:
    """The words and CJK runs of text, in order, NFKC-normalised (full-width letters to ASCII)."""
    for stretch in _STRETCH.finditer(text):
        if stretch.group(1) is not None:
            yield Segment(_normalize_run(stretch.group()), stretch.start(), stretch.end(), True)
            continue
        plain = _plain(stretch.group())
        for word in _WORD.finditer(text, stretch.start(), stretch.end()):
            if form := word.group() if plain else _normalize_word(word.group()):
                yield Segment(form, word.start(), word.end(), False)


def _plain(stretch: str) -> bool:
    """Whether a stretch's words are their own normal form (tested once, not word by word)."""
    return stretch.isascii() or unicodedata.is_normalized("NFKC", stretch)


def _normalize_word(word: str) -> str:
    # A few compatibility characters expand to several words; spaces would split the token.
    return "".join(unicodedata.normalize("NFKC", word).split())


def _normalize_run(run: str) -> str:
    if unicodedata.is_normalized("NFKC", run):
        return run
    # One character for one, so that positions in the run stay positions in the text.
    return "".join(
        norm if len(norm := unicodedata.normalize("NFKC", char)) == 1 else char for char in run
    )


def index_form(text: str) -> tuple[str, str]:
    """A title or body as the index holds it: its words and bigrams, and its CJK characters."""
    # Whole stretches at a time: this runs over every body of the archive on a reindex.
    words: list[str] = []
    chars: list[str] = []
    for stretch in _STRETCH.finditer(text):
        part = stretch.group()
        if stretch.group(1) is None:
            found = _WORD.findall(part)
            words.extend(found if _plain(part) else filter(None, map(_normalize_word, found)))
        elif len(part) == 1:
            words.append(_normalize_run(part))
        else:
            run = _normalize_run(part)
            words.extend(map(operator.add, run[:-1], run[1:]))
            chars.append(" ".join(run))
    return " ".join(words), " ".join(chars)


def token_spans(
    text: str, word_tokens: Sequence[int], char_tokens: Sequence[int]
) -> tuple[list[Span], int, int]:
    """Where in text the given tokens of its index form come from (indexes in ascending order).

    Returns the spans, and how many word and character tokens the form has, which tells
    whether the index was made from this text by this version of the form.
    """
    spans: list[Span] = []
    words = chars = next_word = next_char = 0
    for stretch in _STRETCH.finditer(text):
        start, end = stretch.span()
        if stretch.group(1) is None:
            part = stretch.group()
            found, plain = _WORD.findall(part), _plain(part)
            count = len(found) if plain else sum(map(bool, map(_normalize_word, found)))
            wanted = []
            while next_word < len(word_tokens) and word_tokens[next_word] < words + count:
                wanted.append(word_tokens[next_word] - words)
                next_word += 1
            if wanted:
                matches = _WORD.finditer(text, start, end)
                kept = matches if plain else (m for m in matches if _normalize_word(m.group()))
                where = [m.span() for m in islice(kept, wanted[-1] + 1)]
                spans.extend(where[n] for n in wanted)
            words += count
            continue
        length = end - start
        count, size = (length - 1, 2) if length > 1 else (1, 1)
        while next_word < len(word_tokens) and word_tokens[next_word] < words + count:
            offset = start + word_tokens[next_word] - words
            spans.append((offset, offset + size))
            next_word += 1
        words += count
        if length > 1:
            while next_char < len(char_tokens) and char_tokens[next_char] < chars + length:
                offset = start + char_tokens[next_char] - chars
                spans.append((offset, offset + 1))
                next_char += 1
            chars += length
    return spans, words, chars


def _row(title: str | None, body: str | None) -> tuple[str, str, str, str]:
    """The index's columns for a title and body, in COLUMNS order."""
    title_words, title_chars = index_form(title or "")
    body_words, body_chars = index_form(body or "")
    return title_words, body_words, title_chars, body_chars


_INSERT_SQL = f"INSERT INTO {TABLE} (rowid, {', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?)"

# The search key: minutes since 1900-01-01 00:00 (Hong Kong time, as published_at is written),
# then the article's rowid. Keys stay below 2**63 until the year 10000.
ROWID_BITS = 31
ROWID_MASK = (1 << ROWID_BITS) - 1
_EPOCH = date(1900, 1, 1).toordinal()


def publication_minute(published_at: str | None) -> int:
    """Minutes from 1900-01-01 00:00 to an ISO 8601 publication time (0 when there is none).

    A bare day counts from its midnight; seconds and the offset (always +08:00 in the archive)
    are not read.
    """
    if not published_at:
        return 0
    try:
        day = date.fromisoformat(published_at[:10])
    except ValueError:
        return 0
    minutes = (day.toordinal() - _EPOCH) * 1440
    clock = published_at[11:16]
    if published_at[10:11] == "T" and clock[2:3] == ":" and clock.replace(":", "").isdigit():
        hour, minute = int(clock[:2]), int(clock[3:])
        if hour < 24 and minute < 60:
            minutes += hour * 60 + minute
    return max(0, minutes)


def search_key(published_at: str | None, rowid: int) -> int:
    """The index rowid of the article with this rowid and publication time."""
    if not 0 < rowid <= ROWID_MASK:
        raise ValueError(f"article rowid {rowid} is beyond the search index's {ROWID_BITS} bits")
    return publication_minute(published_at) << ROWID_BITS | rowid


def _day_key(day: date) -> int:
    """The first search key of a day."""
    return publication_minute(day.isoformat()) << ROWID_BITS


def index_article(
    db: sqlite_utils.Database, old_key: int | None, key: int, title: str | None, body: str | None
) -> None:
    """Write an article's row of the index under its key, replacing its row under old_key
    (inside the caller's transaction; articles.search_key is the caller's to set)."""
    # The new key's row too: one left by an article deleted without its index row.
    for stale in {old_key, key} - {None}:
        db.execute(f"DELETE FROM {TABLE} WHERE rowid = ?", [stale])
    db.execute(_INSERT_SQL, [key, *_row(title, body)])


_BY_ROWID_SQL = (
    "SELECT rowid, published_at, search_key FROM articles WHERE rowid > ? ORDER BY rowid LIMIT ?"
)
_KEY_ORDER_SQL = "SELECT search_key FROM articles ORDER BY search_key"


def create_search_table(db: sqlite_utils.Database) -> None:
    """Create the empty search index with its ranking."""
    db.execute(_CREATE_SQL)
    db.execute(f"INSERT INTO {TABLE} ({TABLE}, rank) VALUES ('rank', ?)", [RANK])


def reindex(db: sqlite_utils.Database, *, batch: int = 1000) -> int:
    """Rebuild the search index of every article in one transaction; returns how many."""
    with db.atomic():
        # Dropping is far quicker than deleting: FTS5 deletes a stored row by re-reading it.
        db.execute(f"DROP TABLE IF EXISTS {TABLE}")
        create_search_table(db)
        # Every key at once, in rowid order: a row is rewritten whole when a column changes,
        # so one pass in storage order is far quicker than updates in any other order.
        last = 0
        while page := db.conn.execute(_BY_ROWID_SQL, [last, batch]).fetchall():
            keys = ((search_key(published, rowid), rowid, old) for rowid, published, old in page)
            db.conn.executemany(
                "UPDATE articles SET search_key = ? WHERE rowid = ?",
                [(key, rowid) for key, rowid, old in keys if key != old],
            )
            last = page[-1][0]
        # Then the index in key order (read from the search_key index): FTS5 starts a new
        # segment whenever a rowid is lower than the one before.
        order = array("q", (k for (k,) in db.conn.execute(_KEY_ORDER_SQL)))
        for start in range(0, len(order), batch):
            chunk = order[start : start + batch]
            rows = db.conn.execute(
                "SELECT search_key, title, body_text FROM articles "
                f"WHERE search_key IN ({', '.join('?' * len(chunk))}) ORDER BY search_key",
                list(chunk),
            )
            db.conn.executemany(_INSERT_SQL, [(key, *_row(t, b)) for key, t, b in rows])
        db.execute(f"INSERT INTO {TABLE} ({TABLE}) VALUES ('optimize')")
    return len(order)


# --- queries ---------------------------------------------------------------------------------


class QueryError(ValueError):
    """A search query the syntax rejects; the message says why in one line."""


_OPERATORS = ("AND", "OR", "NOT")
_MAX_DEPTH = 20  # parentheses; deeper is no real query


@dataclass(frozen=True)
class _Lexeme:
    kind: Literal["text", "op", "(", ")"]
    value: str
    position: int  # 1-based, for messages
    prefix: bool = False


@dataclass(frozen=True)
class Leaf:
    """A word or quoted phrase of a query; prefix when it ended with ``*``."""

    text: str
    prefix: bool = False


@dataclass(frozen=True)
class Operation:
    """AND, OR or NOT over two or more parts (NOT: the first part without any of the others)."""

    operator: str
    parts: tuple[Node, ...]


Node = Leaf | Operation

_WORD_END = re.compile(r'[\s"()]')


def _lex(query: str) -> list[_Lexeme]:
    lexemes: list[_Lexeme] = []
    i = 0
    while i < len(query):
        char = query[i]
        if char.isspace():
            i += 1
        elif char in "()":
            lexemes.append(_Lexeme("(" if char == "(" else ")", char, i + 1))
            i += 1
        elif char == '"':
            end = query.find('"', i + 1)
            if end < 0:
                raise QueryError(f'unbalanced quote: the " at character {i + 1} is never closed')
            prefix = query.startswith("*", end + 1)
            phrase = query[i + 1 : end]
            if not any(segments(phrase)):
                raise QueryError(f"empty phrase at character {i + 1}: nothing to search for")
            lexemes.append(_Lexeme("text", phrase, i + 1, prefix))
            i = end + 1 + prefix
        else:
            match = _WORD_END.search(query, i)
            end = match.start() if match else len(query)
            word = query[i:end]
            if word in _OPERATORS:
                lexemes.append(_Lexeme("op", word, i + 1))
            elif any(segments(word)):
                # Punctuation alone ("-", "&") is dropped, as the index has none.
                lexemes.append(_Lexeme("text", word.rstrip("*"), i + 1, word.endswith("*")))
            i = end
    return lexemes


class _Parser:
    """Recursive descent: OR binds loosest, then AND (also implied by juxtaposition), then NOT."""

    def __init__(self, lexemes: list[_Lexeme]) -> None:
        self.lexemes = lexemes
        self.index = 0
        self.open: list[_Lexeme] = []  # parentheses not yet closed

    def peek(self) -> _Lexeme | None:
        return self.lexemes[self.index] if self.index < len(self.lexemes) else None

    def take(self) -> _Lexeme:
        lexeme = self.lexemes[self.index]
        self.index += 1
        return lexeme

    def parse(self) -> Node:
        node = self.any_of()
        extra = self.peek()
        if extra is not None:  # only a ")" stops a complete expression early
            raise QueryError(
                f"unbalanced parenthesis: the ) at character {extra.position} closes nothing"
            )
        return node

    def any_of(self) -> Node:
        parts = [self.all_of(None)]
        while self._at_op("OR"):
            parts.append(self.all_of(self.take()))
        return parts[0] if len(parts) == 1 else Operation("OR", tuple(parts))

    def all_of(self, after: _Lexeme | None) -> Node:
        parts = [self.excluding(after)]
        while (lexeme := self.peek()) is not None and lexeme.kind != ")":
            if lexeme.kind == "op" and lexeme.value != "AND":
                break
            parts.append(self.excluding(self.take() if lexeme.kind == "op" else None))
        return parts[0] if len(parts) == 1 else Operation("AND", tuple(parts))

    def excluding(self, after: _Lexeme | None) -> Node:
        parts = [self.term(after)]
        while self._at_op("NOT"):
            parts.append(self.term(self.take()))
        return parts[0] if len(parts) == 1 else Operation("NOT", tuple(parts))

    def term(self, after: _Lexeme | None) -> Node:
        """A word, a phrase or a parenthesised query; after is the operator just read."""
        lexeme = self.peek()
        if lexeme is None or lexeme.kind in ("op", ")"):
            raise QueryError(self._missing_term(lexeme, after))
        self.take()
        if lexeme.kind == "text":
            return Leaf(lexeme.value, lexeme.prefix)
        if len(self.open) == _MAX_DEPTH:
            raise QueryError(f"parentheses nested more than {_MAX_DEPTH} deep")
        self.open.append(lexeme)
        node = self.any_of()
        if not self._at(")"):
            raise QueryError(
                f"unbalanced parenthesis: the ( at character {lexeme.position} is never closed"
            )
        self.take()
        self.open.pop()
        return node

    def _missing_term(self, lexeme: _Lexeme | None, after: _Lexeme | None) -> str:
        """Why no search term stands where one must."""
        if lexeme is not None and lexeme.kind == "op" and lexeme.value == "NOT":
            return (
                f"NOT at character {lexeme.position} needs a search term before it (write: a NOT b)"
            )
        if after is not None:
            return f"{after.value} at character {after.position} needs a search term on each side"
        if lexeme is None:
            if self.open:
                return (
                    "unbalanced parenthesis: the ( at character "
                    f"{self.open[-1].position} is never closed"
                )
            return "nothing to search for"
        if lexeme.kind == "op":
            return f"{lexeme.value} at character {lexeme.position} needs a search term on each side"
        if not self.open:
            return f"unbalanced parenthesis: the ) at character {lexeme.position} closes nothing"
        return f"empty parentheses at character {self.open[-1].position}"

    def _at(self, kind: str) -> bool:
        lexeme = self.peek()
        return lexeme is not None and lexeme.kind == kind

    def _at_op(self, operator: str) -> bool:
        lexeme = self.peek()
        return lexeme is not None and lexeme.kind == "op" and lexeme.value == operator


def parse_query(query: str) -> Node:
    """The query as a tree of words, phrases and operators; QueryError when it is malformed."""
    try:
        lexemes = _lex(query)
        if not lexemes:
            raise QueryError("nothing to search for")
        return _Parser(lexemes).parse()
    except QueryError as exc:
        raise QueryError(f"cannot search for {query!r}: {exc}") from None


def _fts_string(tokens: Sequence[str], prefix: bool) -> str:
    escaped = " ".join(tokens).replace('"', '""')
    return f'"{escaped}"' + (" *" if prefix else "")


def _leaf_to_fts(leaf: Leaf) -> str:
    """A word or phrase as FTS5 phrases over the search form (ANDed where adjacency is lost)."""
    segs = list(segments(leaf.text))
    pieces: list[str] = []
    tokens: list[str] = []
    for n, seg in enumerate(segs):
        if seg.cjk and len(seg.form) == 1 and n == 0 and len(segs) > 1:
            # In the text this character may end a longer run, whose last token is a bigram
            # ending in it: no phrase can say "a token ending in", so it is sought on its own.
            pieces.append(_fts_string([seg.form], prefix=False))
        elif seg.cjk and len(seg.form) > 1:
            tokens.extend(seg.form[i : i + 2] for i in range(len(seg.form) - 1))
        else:
            tokens.append(seg.form)
    last = segs[-1]
    if last.cjk and len(last.form) == 1 and len(segs) > 1:
        # The text's run may go on after this character: its first token is then a bigram
        # starting with it, which a prefix matches.
        prefix = True
    else:
        prefix = leaf.prefix and not last.cjk
    if tokens:
        pieces.append(_fts_string(tokens, prefix))
    return pieces[0] if len(pieces) == 1 else "(" + " AND ".join(pieces) + ")"


def _to_fts(node: Node) -> str:
    if isinstance(node, Leaf):
        return _leaf_to_fts(node)
    if node.operator == "NOT":
        # Nested explicitly: a NOT b NOT c is a without b and without c.
        first, *rest = node.parts
        expression = _to_fts(first)
        for part in rest:
            expression = f"({expression} NOT {_to_fts(part)})"
        return expression
    return "(" + f" {node.operator} ".join(_to_fts(part) for part in node.parts) + ")"


def fts_query(query: str) -> str:
    """The FTS5 MATCH expression for a user's query; QueryError when the query is malformed."""
    return _to_fts(parse_query(query))


# --- searching -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """An article that matched, with a snippet marking the match.

    score is relevance (higher is better) when hits are ordered by relevance, None when they
    are ordered by date: ranking every match is what makes a search of a big archive slow.
    """

    id: str
    source: str
    lang: str
    published_at: str | None
    title: str
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
) -> list[Hit]:
    """The articles matching query, newest first (or most relevant first), each with a snippet.

    ``since`` and ``until`` are days of publication (both included); ``marks`` go around
    every match in the snippet. ``order="relevance"`` ranks every match by BM25, which takes
    time in proportion to the number of matches. Raises QueryError for a query the syntax
    rejects.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}, not {order!r}")
    match = fts_query(query)
    where, params = _filters(source, lang)
    keys = _key_range(since, until)
    try:
        # One read transaction: the hits' snippets come from the snapshot that found them.
        with db.atomic():
            if order == "relevance":
                found = _most_relevant(db, match, keys + where, params, limit)
            else:
                found = _newest(db, match, keys, where, params, limit)
            return _hits(db, match, found, marks, newest=order == "newest")
    except sqlite3.OperationalError as exc:
        # The parser only writes valid FTS5; should SQLite still refuse, say so in one line.
        if str(exc).startswith("fts5:"):
            raise QueryError(f"cannot search for {query!r}: {exc}") from exc
        raise


_NEWEST_FIRST = "ORDER BY s.rowid DESC LIMIT ?"
# The index row of an article: its key's low bits are the article's rowid.
_ON = f"ON a.rowid = (s.rowid & {ROWID_MASK})"
_JOIN = f"FROM {TABLE} s CROSS JOIN articles a {_ON}"


def _key_range(since: date | None, until: date | None) -> str:
    """The days of publication as a range of index rowids (which FTS5 reads directly)."""
    clauses = []
    if since:
        clauses.append(f" AND s.rowid >= {_day_key(since):d}")
    if until:
        clauses.append(f" AND s.rowid < {_day_key(until + timedelta(days=1)):d}")
    return "".join(clauses)


def _most_relevant(
    db: sqlite_utils.Database, match: str, where: str, params: list[object], limit: int
) -> list[tuple[int, float | None]]:
    sql = (
        f"SELECT s.rowid, s.rank {_JOIN} WHERE s.{TABLE} MATCH ?{where} "
        "ORDER BY s.rank, s.rowid DESC LIMIT ?"
    )
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
        clauses.append(f"a.source IN ({', '.join('?' * len(sources))})")
        params.extend(sources)
    if lang:
        clauses.append("a.lang = ?")
        params.append(lang)
    return "".join(f" AND {clause}" for clause in clauses), params


# Hits are highlighted by ranges of keys: one lookup of the query's terms per range, not per
# hit. Keys this far apart (hits of one minute) are still read as one range.
_RUN_GAP = 32


def _runs(keys: Iterable[int]) -> Iterator[tuple[int, int]]:
    """The first and last of each run of keys, no two neighbours more than _RUN_GAP apart."""
    ordered = sorted(keys)
    start = 0
    for end in range(1, len(ordered) + 1):
        if end == len(ordered) or ordered[end] - ordered[end - 1] > _RUN_GAP:
            yield ordered[start], ordered[end - 1]
            start = end


_ARTICLES_SQL = (
    "SELECT rowid, id, source, lang, published_at, title, body_text FROM articles WHERE rowid IN"
)
# Other matches inside a range of hits are read but not highlighted: that is the costly part.
_HIGHLIGHT_SQL = (
    "SELECT rowid, "
    + ", ".join(
        f"CASE WHEN rowid IN (SELECT value FROM json_each(:hits)) "
        f"THEN highlight({TABLE}, {n}, :open, :close) END"
        for n in range(len(COLUMNS))
    )
    + f" FROM {TABLE} WHERE {TABLE} MATCH :match AND rowid BETWEEN :first AND :last"
)


def _hits(
    db: sqlite_utils.Database,
    match: str,
    found: list[tuple[int, float | None]],
    marks: tuple[str, str],
    *,
    newest: bool,
) -> list[Hit]:
    """The found items (key and rank) as hits, with their snippets, in the order found.

    The newest matches are the matches of one range of keys, read at once; the most relevant
    are anywhere, read a run of neighbouring keys at a time.
    """
    keys = [key for key, _ in found]
    if not keys:
        return []
    wanted = set(keys)
    marked: dict[int, list[str]] = {}
    hits = json.dumps(keys)
    for first, last in [(min(keys), max(keys))] if newest else _runs(keys):
        args = {"hits": hits, "open": _OPEN, "close": _CLOSE, "match": match}
        rows = db.execute(_HIGHLIGHT_SQL, args | {"first": first, "last": last})
        marked.update((row[0], row[1:]) for row in rows if row[0] in wanted)
    rowids = [key & ROWID_MASK for key in keys]
    articles = {
        row[0]: row[1:]
        for row in db.execute(f"{_ARTICLES_SQL} ({', '.join('?' * len(rowids))})", rowids)
    }
    return [
        _hit(articles[key & ROWID_MASK], marked[key], rank, marks)
        for key, rank in found
        if key in marked and key & ROWID_MASK in articles
    ]


def _hit(
    article: Sequence[str | None],
    marked: Sequence[str],
    rank: float | None,
    marks: tuple[str, str],
) -> Hit:
    article_id, source, lang, published_at, title, body = article
    assert article_id is not None and source is not None and lang is not None
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
    return Hit(
        article_id, source, lang, published_at, title, snippet, None if rank is None else -rank
    )


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


_LATIN_WORD_CHAR = re.compile(rf"[^\W_{_CJK}]")


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
