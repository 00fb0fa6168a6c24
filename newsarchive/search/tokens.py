"""The search form of a text: words, Chinese bigrams and characters, and where each came from."""

from __future__ import annotations

import operator
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice

# Han ideographs (with extensions and compatibility forms), 々〆〇, hiragana and katakana:
# scripts written without spaces between words.
CJK = (
    "\u3005-\u3007\u3041-\u309f\u30a1-\u30fa\u30fc-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\U00020000-\U0003134f"
)
# A CJK run, or a stretch of anything else.
_STRETCH = re.compile(rf"([{CJK}]+)|[^{CJK}]+")
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
