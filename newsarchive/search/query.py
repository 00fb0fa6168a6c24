"""The query language: words, "phrases", AND/OR/NOT, parentheses and prefix*, read into FTS5."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from newsarchive.search.tokens import segments


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
