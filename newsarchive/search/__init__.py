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

The FTS5 table is contentless (``content=''``, since schema 12): it stores the index and no
copy of the search forms. SQLite before 3.43 removes a contentless row only given the values
it was indexed from, which are computed again from the article's title and body (triggers on
``articles`` keep those of every indexed row an UPDATE or DELETE changes; see ``index``).
``highlight()`` needs the text: the hits' titles and bodies are indexed again in memory and
the query run there. Snippets are cut from the original title and body: each marked token of
the search form is mapped back to the characters it came from, so a reader sees the sentence
with the match marked, not bigrams. ``bm25`` with titles weighted five times bodies is the table's
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

from newsarchive.search.find import (
    DEFAULT_SNIPPET_WIDTH,
    ORDERS,
    SNIPPET_WIDTH,
    Hit,
    Order,
    excerpt,
    search,
)
from newsarchive.search.index import (
    COLUMNS,
    RANK,
    ROWID_BITS,
    ROWID_MASK,
    TABLE,
    IndexGaps,
    create_search_table,
    index_article,
    index_gaps,
    index_row,
    mend_index,
    publication_minute,
    reindex,
    search_key,
)
from newsarchive.search.query import Leaf, Node, Operation, QueryError, fts_query, parse_query
from newsarchive.search.tokens import Segment, Span, index_form, segments, token_spans

__all__ = [
    "COLUMNS",
    "DEFAULT_SNIPPET_WIDTH",
    "ORDERS",
    "RANK",
    "ROWID_BITS",
    "ROWID_MASK",
    "SNIPPET_WIDTH",
    "TABLE",
    "Hit",
    "IndexGaps",
    "Leaf",
    "Node",
    "Operation",
    "Order",
    "QueryError",
    "Segment",
    "Span",
    "create_search_table",
    "excerpt",
    "fts_query",
    "index_article",
    "index_form",
    "index_gaps",
    "index_row",
    "mend_index",
    "parse_query",
    "publication_minute",
    "reindex",
    "search",
    "search_key",
    "segments",
    "token_spans",
]
