"""Translation pairs: the English and Chinese versions of one release, matched by what they say.

GovHK publishes every release in English and in Chinese under two ids, and nothing in the
archive links the twins. Candidates are the items of one source with the same ``published_at``
(the issue time, to the minute), one English and one Chinese, found through the index on
``(source, published_at)``. Each candidate is scored on what reads the same in both languages;
every signal adds a weight of evidence (a log-odds) and the confidence is their logistic sum:

- ``time``: the same issue time to the minute (0); a bare day, when a page lacked its footer,
  counts against (-2), as a day holds dozens of releases;
- ``media``: twins show the same photos, attachments and videos (gia.info.gov.hk URLs carry
  the English release's id): any shared URL +2, plus 4 times the share of URLs in common;
  none shared while both have media -4; media on one side only -1.5;
- ``numbers``: Arabic numerals, amounts with their scale ($10 billion = 100億元), times of day,
  and dates read in either language (May 25, 五月二十五日, 5月25日 are all 05-25; Chinese
  numerals are read in dates only, where they are unambiguous). The publication day itself is
  left out, since every release of that day says "today (May 25)". Weight
  ``10 * (dice - 0.7)`` on the two multisets, damped while fewer than 8 numbers are seen:
  twins agree on nearly all (dice 0.86 to 1 on the fixtures), other releases on a few, such
  as "14 days" and table row numbers (0.67 at most);
- ``names``: Latin-script words of the Chinese text (InnoHK, Health@InnoHK, MERS, YouTube, web
  addresses) found in the English one: ``3 * (share found - 0.5)``, damped under four names,
  as one department's boilerplate (Facebook, YouTube) is in all its releases;
- ``shape``: the same number of lines (a translation keeps paragraphs, list items and table
  rows): +1 (+0.5 under three lines); off by one 0; further off down to -2;
- ``length``: Chinese letters per English letter, 0.15 to 0.6 in translations, +0.5, else -2;
- ``related``: the two link to archived releases issued at one time (their own twins) +2.5.

The English page's header link to the Chinese page is not used: the archive does not keep it,
and it is a page's claim, not evidence of what the pages say.

Within each issue time the candidates are assigned best confidence first, each item used
once, and none below ``THRESHOLD``. On the fixtures (50 real English releases, 9 Chinese twins
reconstructed in the real template) every twin is paired, with confidence 0.905 (a Hospital
Authority notice: four paragraphs and "14 days") to 1.0, and nothing else. With each Chinese
twin moved onto the issue time of each of the 49 other English releases, none of those 441
pairs reaches the threshold (the highest, 0.593, is another "Suspected MERS case reported");
with all 59 releases given one issue time, the assignment still finds the nine twins and no
other pair. The twins were reconstructed paragraph for paragraph, so ``shape`` agrees on them
more surely than it will on every real pair: the threshold leaves room for it to disagree.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

import sqlite_utils

from newsarchive.clock import hk_now
from newsarchive.db import BATCH, chunks, placeholders, write_transaction
from newsarchive.linking.queue import dequeue
from newsarchive.urls import release_ref

logger = logging.getLogger(__name__)

THRESHOLD = 0.8

# Weights of evidence, in natural log-odds; see the module docstring for what each one means.
BARE_DAY = -2.0
MEDIA_SHARED = 2.0
MEDIA_SHARE = 4.0
MEDIA_NONE_SHARED = -4.0
MEDIA_ONE_SIDE = -1.5
NUMBERS = 10.0
NUMBERS_EVEN = 0.7
NUMBERS_FULL_AT = 8
NAMES = 3.0
NAMES_FULL_AT = 4
SHAPE_SAME = 1.0
SHAPE_SAME_SHORT = 0.5
SHAPE_PER_LINE_OFF = -0.5
SHAPE_WORST = -2.0
LENGTH_RATIO = (0.15, 0.6)
LENGTH_IN = 0.5
LENGTH_OUT = -2.0
RELATED_SAME = 2.5

# --- What a text says in any language ---------------------------------------------------------

_MONTH_NAMES = (
    ("January", "Jan"),
    ("February", "Feb"),
    ("March", "Mar"),
    ("April", "Apr"),
    ("May",),
    ("June", "Jun"),
    ("July", "Jul"),
    ("August", "Aug"),
    ("September", "Sept", "Sep"),
    ("October", "Oct"),
    ("November", "Nov"),
    ("December", "Dec"),
)
MONTHS = {name: number for number, names in enumerate(_MONTH_NAMES, 1) for name in names}
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
# Case-sensitive, so "may" the verb is not a month; "May 2022" (no day) is not a date.
# Each pattern that can only start on a digit or a month's capital says so first, in a
# lookahead: that lets the regex engine skip to such characters instead of trying every one.
_EN_DATE = re.compile(
    rf"(?=[ADFJMNOS\d])\b(?:(?P<m1>{_MONTH})\.?\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?\b"
    rf"|(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<m2>{_MONTH})\b)"
)
_ZH_NUMERAL = "〇零一二三四五六七八九十兩"
_ZH_DATE = re.compile(
    rf"(?=[\d{_ZH_NUMERAL}])(?P<m>\d{{1,2}}|[{_ZH_NUMERAL}]{{1,3}})\s*月\s*"
    rf"(?P<d>\d{{1,2}}|[{_ZH_NUMERAL}]{{1,3}})\s*[日號号]"
)
_ZH_YEAR = re.compile(r"([〇零一二三四五六七八九]{4})\s*年")
# "10.30am" is two numbers, as its Chinese "上午10時30分" is; a bare "10.30" is a decimal.
_EN_TIME = re.compile(r"(?=\d)\b(\d{1,2})[.:](\d{2})\s*(?=a\.?m\b|p\.?m\b|noon\b|hours?\b)", re.I)
_SCALES = {
    "thousand": 3,
    "million": 6,
    "billion": 9,
    "trillion": 12,
    "萬": 4,
    "百萬": 6,
    "千萬": 7,
    "億": 8,
    "萬億": 12,
}
_SCALE = "|".join(sorted(_SCALES, key=len, reverse=True))
# Digits glued to Latin letters (H7N9, P2022052500588) are names, not numbers. Thousands are
# grouped by commas in English and by spaces in Chinese ("2 000名").
_NUMBER = re.compile(
    r"(?=\d)(?<![A-Za-z0-9.,])(\d{1,3}(?:,\d{3})+(?!\d)|\d{1,3}(?: \d{3})+(?![\d,])|\d+)(\.\d+)?"
    rf"(?:\s*({_SCALE})(?![A-Za-z]))?"
)
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[@&.\-'’][A-Za-z0-9]+)*")
# Any month's name: a text without one has no English date.
_ANY_MONTH = re.compile(_MONTH)
_LATIN_JOINER = re.compile(r"[@&.\-'’]")
_ZH_DIGIT = {c: n for n, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "兩": 2}


def chinese_number(text: str) -> int | None:
    """The value of a number written in Arabic digits or Chinese numerals up to 99 (or digit by
    digit, as years are: 二〇二二); None if it is neither."""
    if text.isascii() and text.isdigit():
        return int(text)
    if "十" not in text:
        digits = [_ZH_DIGIT.get(c) for c in text]
        if not digits or None in digits:
            return None
        return int("".join(str(d) for d in digits))
    tens, _, units = text.partition("十")
    tens_value = _ZH_DIGIT.get(tens) if tens else 1
    units_value = _ZH_DIGIT.get(units) if units else 0
    if tens_value is None or units_value is None or len(tens) > 1 or len(units) > 1:
        return None
    return tens_value * 10 + units_value


def _number_token(whole: str, fraction: str | None, scale: str | None) -> str | None:
    try:
        value = Decimal(whole.replace(",", "").replace(" ", "") + (fraction or ""))
    except InvalidOperation:
        return None
    if scale:
        value = value.scaleb(_SCALES[scale.lower()])
    return format(value.normalize(), "f")


def numbers(text: str) -> Counter[str]:
    """The numbers a text gives, language-independent: values ("10000000000" for both "$10
    billion" and "100億元") and dates as MM-DD ("05-25" for "May 25" and "五月二十五日")."""
    return _numbers_in(unicodedata.normalize("NFKC", text))


def _numbers_in(text: str) -> Counter[str]:
    """numbers() of a text already NFKC-normalised."""
    found: Counter[str] = Counter()

    def date(month: int | None, day: int | None) -> str:
        if month and day and 1 <= month <= 12 and 1 <= day <= 31:
            found[f"{month:02d}-{day:02d}"] += 1
        return " "

    # Each substitution only where its pattern could match (the same result, found sooner).
    if _ANY_MONTH.search(text):
        text = _EN_DATE.sub(
            lambda m: date(MONTHS[m["m1"] or m["m2"]], int(m["d1"] or m["d2"])), text
        )
    if "月" in text:
        text = _ZH_DATE.sub(lambda m: date(chinese_number(m["m"]), chinese_number(m["d"])), text)
    if "年" in text:
        text = _ZH_YEAR.sub(lambda m: f" {chinese_number(m[1])} ", text)
    text = _EN_TIME.sub(lambda m: f" {m[1]} {m[2]} ", text)
    for match in _NUMBER.finditer(text):
        token = _number_token(match[1], match[2], match[3])
        if token is not None:
            found[token] += 1
    return found


def latin_names(text: str) -> frozenset[str]:
    """The Latin-script words of a text (two letters or more), case-folded."""
    return _latin_names(unicodedata.normalize("NFKC", text))


def _latin_names(text: str) -> frozenset[str]:
    """latin_names() of a text already NFKC-normalised."""
    return frozenset(t.casefold() for t in set(_LATIN.findall(text)) if len(t) > 1)


def _with_parts(names: frozenset[str]) -> frozenset[str]:
    """Names and their parts, so that "InnoHK" is found in "InnoHK's" and "AIR@InnoHK"."""
    parts = {p for name in names for p in _LATIN_JOINER.split(name) if len(p) > 1}
    return names | parts


def media_key(url: str) -> str:
    """A media URL as compared: without its scheme, host lower-cased (http and https twins)."""
    parts = urlsplit(url.strip())
    query = f"?{parts.query}" if parts.query else ""
    return f"{(parts.hostname or '').lower()}{parts.path}{query}"


# A run of letters and digits: what str.isalnum() is true of (\w is that and "_").
_ALNUM = re.compile(r"[^\W_]+")


def _letters(text: str) -> int:
    """The letters and digits of a text already NFKC-normalised."""
    return sum(map(len, _ALNUM.findall(text)))


@dataclass(frozen=True)
class Fingerprint:
    """What an item says that reads the same in English and Chinese."""

    published_at: str
    numbers: Mapping[str, int]
    names: frozenset[str]
    name_parts: frozenset[str]
    media: frozenset[str]
    lines: int
    letters: int
    related: frozenset[str] = frozenset()

    @property
    def day(self) -> str:
        """The publication day, YYYY-MM-DD."""
        return self.published_at[:10]

    @property
    def timed(self) -> bool:
        """Whether published_at has a time of day (not only the day)."""
        return len(self.published_at) > 10


def fingerprint(
    *,
    published_at: str,
    title: str,
    body_text: str,
    media_urls: Iterable[str] = (),
    related_times: Iterable[str] = (),
) -> Fingerprint:
    """The fingerprint of an item: its numbers and names (title and body), media and shape.

    ``related_times`` are the publication times of the archived items it links to.
    """
    # Normalised once for all that reads it; a line break joins two normalised texts as it
    # joins them before (nothing composes with it).
    body = unicodedata.normalize("NFKC", body_text)
    text = f"{unicodedata.normalize('NFKC', title)}\n{body}"
    names = _latin_names(text)
    return Fingerprint(
        published_at=published_at,
        numbers=_numbers_in(text),
        names=names,
        name_parts=_with_parts(names),
        media=frozenset(media_key(u) for u in media_urls),
        lines=sum(1 for line in body_text.splitlines() if line.strip()),
        letters=_letters(body),
        related=frozenset(related_times),
    )


# --- Scoring a candidate ---------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """A scored candidate: the confidence (0-1) and the evidence behind it (stored as JSON)."""

    confidence: float
    evidence: dict[str, Any]


Signal = tuple[float, dict[str, Any]]


def _media(en: Fingerprint, zh: Fingerprint) -> Signal | None:
    if not en.media and not zh.media:
        return None
    shared = len(en.media & zh.media)
    detail = {"shared": shared, "en": len(en.media), "zh": len(zh.media)}
    if not en.media or not zh.media:
        return MEDIA_ONE_SIDE, detail
    if not shared:
        return MEDIA_NONE_SHARED, detail
    return MEDIA_SHARED + MEDIA_SHARE * shared / len(en.media | zh.media), detail


def _numbers(en: Fingerprint, zh: Fingerprint) -> Signal | None:
    day = en.day[5:]
    mine = Counter({k: v for k, v in en.numbers.items() if k != day})
    theirs = Counter({k: v for k, v in zh.numbers.items() if k != day})
    total = mine.total() + theirs.total()
    if not total:
        return None
    common = mine & theirs
    dice = 2 * common.total() / total
    weight = NUMBERS * (dice - NUMBERS_EVEN) * min(1.0, total / NUMBERS_FULL_AT)
    detail = {
        "shared": sorted(common.elements(), key=_number_order),
        "en": mine.total(),
        "zh": theirs.total(),
    }
    return weight, detail


def _number_order(token: str) -> tuple[int, Decimal | str]:
    return (1, token) if "-" in token else (0, Decimal(token))


def _names(en: Fingerprint, zh: Fingerprint) -> Signal | None:
    if not zh.names:
        return None
    found = zh.names & en.name_parts
    share = len(found) / len(zh.names)
    weight = NAMES * (share - 0.5) * min(1.0, len(zh.names) / NAMES_FULL_AT)
    return weight, {"shared": sorted(found), "zh": len(zh.names)}


def _shape(en: Fingerprint, zh: Fingerprint) -> Signal | None:
    if not en.lines or not zh.lines:
        return None
    off = abs(en.lines - zh.lines)
    if off == 0:
        weight = SHAPE_SAME if en.lines >= 3 else SHAPE_SAME_SHORT
    else:
        weight = max(SHAPE_WORST, SHAPE_PER_LINE_OFF * (off - 1))
    return weight, {"en": en.lines, "zh": zh.lines}


def _length(en: Fingerprint, zh: Fingerprint) -> Signal | None:
    if not en.letters or not zh.letters:
        return None
    ratio = zh.letters / en.letters
    low, high = LENGTH_RATIO
    return (LENGTH_IN if low <= ratio <= high else LENGTH_OUT), {"ratio": round(ratio, 3)}


def _related(en: Fingerprint, zh: Fingerprint) -> Signal | None:
    # Only agreement counts: links to releases at different times may be links to a twin
    # whose time was corrected since, and this pair is not looked at again when it is.
    shared = len(en.related & zh.related)
    return (RELATED_SAME, {"shared_times": shared}) if shared else None


_SIGNALS = {
    "media": _media,
    "numbers": _numbers,
    "names": _names,
    "shape": _shape,
    "length": _length,
    "related": _related,
}


def score(en: Fingerprint, zh: Fingerprint) -> Match:
    """How surely zh is the Chinese version of en; confidence 0 unless published at one time."""
    if en.published_at != zh.published_at:
        return Match(0.0, {"agreed": [], "disagreed": ["time"], "log_odds": None})
    weights: dict[str, float] = {"time": 0.0 if en.timed else BARE_DAY}
    evidence: dict[str, Any] = {"time": en.published_at}
    for name, signal in _SIGNALS.items():
        result = signal(en, zh)
        if result is not None:
            weights[name] = round(result[0], 3)
            evidence[name] = result[1]
    log_odds = sum(weights.values())
    evidence |= {
        "agreed": [n for n, w in weights.items() if w > 0 or (n == "time" and en.timed)],
        "disagreed": [n for n, w in weights.items() if w < 0],
        "weights": weights,
        "log_odds": round(log_odds, 3),
    }
    return Match(round(1 / (1 + math.exp(-log_odds)), 4), evidence)


def assign(candidates: Iterable[tuple[str, str, Match]]) -> list[tuple[str, str, Match]]:
    """Pairs (en_id, zh_id, match) best confidence first, each id used once, none under the
    threshold."""
    ranked = sorted(candidates, key=lambda c: (-c[2].confidence, c[0], c[1]))
    used: set[str] = set()
    chosen = []
    for en_id, zh_id, match in ranked:
        if match.confidence < THRESHOLD:
            break
        if en_id in used or zh_id in used:
            continue
        used.update((en_id, zh_id))
        chosen.append((en_id, zh_id, match))
    return chosen


# --- The archive ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PairReport:
    """What one pairing pass did, and the archive's totals afterwards.

    ``examined``: the articles asked for (every article when none were given); ``slots``:
    issue times whose items were compared; ``candidates``: English-Chinese pairs scored;
    ``written`` and ``removed``: rows of translation_pairs; ``pairs``: rows afterwards.
    """

    examined: int
    slots: int
    candidates: int
    written: int
    removed: int
    pairs: int
    seconds: float

    @property
    def changes(self) -> int:
        """Rows written or deleted in translation_pairs."""
        return self.written + self.removed

    def summary(self) -> str:
        """One line for logs and the command line."""
        return (
            f"{self.pairs} translation pairs; examined {self.examined}, {self.slots} issue "
            f"times, {self.candidates} candidates, {self.changes} rows changed, "
            f"{self.seconds:.2f} s"
        )


@dataclass
class _Tally:
    examined: int = 0
    slots: int = 0
    candidates: int = 0
    written: int = 0
    removed: int = 0


Slot = tuple[str, str]


def pair_releases(
    db: sqlite_utils.Database, article_ids: Iterable[str] | None = None
) -> PairReport:
    """Pair English and Chinese items issued at one time (default: the whole archive).

    With ids, the issue times of those items and of their present twins are compared again
    (a corrected time moves an item to another slot and frees its old twin); without, every
    issue time holding both languages, and pairs whose items no longer share one are removed.
    Running it again changes nothing.
    """
    started = time.perf_counter()
    tally = _Tally()
    if article_ids is None:
        tally.removed += _remove_stale(db)
        tally.examined = int(db.execute("SELECT count(*) FROM articles").fetchone()[0])
        batches: Iterable[list[Slot]] = _all_slots(db)
    else:
        ids = sorted(set(article_ids))
        tally.examined = len(ids)
        slots, unslotted = _slots_of(db, ids)
        tally.removed += _unpair(db, unslotted)
        batches = (list(chunk) for chunk in chunks(slots))
    for batch in batches:
        # One transaction per batch: a slot's pairs are replaced at once, and a first pass over
        # a large archive does not hold the write lock throughout.
        with write_transaction(db):
            for source, published_at in batch:
                _pair_slot(db, source, published_at, tally)
    pairs = int(db.execute("SELECT count(*) FROM translation_pairs").fetchone()[0])
    if article_ids is None:
        dequeue(db, "pairs")  # every item is paired now, queued ones included
    report = PairReport(
        examined=tally.examined,
        slots=tally.slots,
        candidates=tally.candidates,
        written=tally.written,
        removed=tally.removed,
        pairs=pairs,
        seconds=time.perf_counter() - started,
    )
    logger.info("Translation pairs: %s", report.summary())
    return report


_STALE_SQL = """
DELETE FROM translation_pairs WHERE en_id IN (
    SELECT p.en_id FROM translation_pairs p
    JOIN articles e ON e.id = p.en_id
    JOIN articles z ON z.id = p.zh_id
    WHERE e.lang IS NOT 'en' OR z.lang IS NOT 'zh' OR e.source IS NOT z.source
        OR e.published_at IS NULL OR e.published_at IS NOT z.published_at
)
"""


def _remove_stale(db: sqlite_utils.Database) -> int:
    """Delete pairs whose items no longer share a source and an issue time."""
    with write_transaction(db):
        return int(db.execute(_STALE_SQL).rowcount)


# Keyset pagination over the (source, published_at) index: a page of issue times at a time,
# so that pairing the whole archive never holds more than one page in memory.
_SLOTS_SQL = """
SELECT source, published_at FROM articles
WHERE published_at IS NOT NULL AND (source, published_at) > (?, ?)
GROUP BY source, published_at
HAVING sum(lang = 'en') > 0 AND sum(lang = 'zh') > 0
ORDER BY source, published_at
LIMIT ?
"""


def _all_slots(db: sqlite_utils.Database) -> Iterator[list[Slot]]:
    last: Slot = ("", "")
    while True:
        rows = db.execute(_SLOTS_SQL, [*last, BATCH]).fetchall()
        if not rows:
            return
        batch = [(str(source), str(published_at)) for source, published_at in rows]
        yield batch
        last = batch[-1]


def _slots_of(db: sqlite_utils.Database, ids: Sequence[str]) -> tuple[list[Slot], list[str]]:
    """The issue times of the items and of their present twins; the items that have none."""
    partners: set[str] = set()
    for chunk in chunks(ids):
        marks = placeholders(chunk)
        sql = (
            "SELECT en_id, zh_id FROM translation_pairs "
            f"WHERE en_id IN ({marks}) OR zh_id IN ({marks})"
        )
        for en_id, zh_id in db.execute(sql, [*chunk, *chunk]):
            partners.update((en_id, zh_id))
    slots: set[Slot] = set()
    unslotted: list[str] = []
    everyone = sorted(set(ids) | partners)
    for chunk in chunks(everyone):
        sql = f"SELECT id, source, published_at FROM articles WHERE id IN ({placeholders(chunk)})"
        for article_id, source, published_at in db.execute(sql, list(chunk)):
            if published_at:
                slots.add((source, published_at))
            else:
                unslotted.append(article_id)
    return sorted(slots), unslotted


def _unpair(db: sqlite_utils.Database, ids: Sequence[str]) -> int:
    """Delete the pairs of items that can have none (no issue time)."""
    removed = 0
    with write_transaction(db):
        for chunk in chunks(ids):
            marks = placeholders(chunk)
            sql = f"DELETE FROM translation_pairs WHERE en_id IN ({marks}) OR zh_id IN ({marks})"
            removed += int(db.execute(sql, [*chunk, *chunk]).rowcount)
    return removed


@dataclass
class _Member:
    id: str
    lang: str
    title: str
    body_text: str
    media: list[str] = field(default_factory=list)
    related: list[str] = field(default_factory=list)


_MEMBERS_SQL = (
    "SELECT id, lang, title, body_text FROM articles WHERE source = ? AND published_at = ? "
    "ORDER BY id"
)
_MEDIA_SQL = """
SELECT article_id, url FROM images WHERE article_id IN ({0})
UNION ALL SELECT article_id, url FROM attachments WHERE article_id IN ({0})
UNION ALL SELECT article_id, url FROM videos WHERE article_id IN ({0})
"""
_PAIR_COLUMNS = ("en_id", "zh_id", "confidence", "evidence")


def _pair_slot(db: sqlite_utils.Database, source: str, published_at: str, tally: _Tally) -> None:
    """Bring the pairs of one issue time's items in line with their scores."""
    members = [_Member(*row) for row in db.execute(_MEMBERS_SQL, [source, published_at])]
    tally.slots += 1
    en = [m for m in members if m.lang == "en"]
    zh = [m for m in members if m.lang == "zh"]
    desired: dict[str, tuple[str, float, str]] = {}
    if en and zh:
        _load_links(db, source, [*en, *zh])
        prints = {m.id: _fingerprint(m, published_at) for m in [*en, *zh]}
        candidates = [(e.id, z.id, score(prints[e.id], prints[z.id])) for e in en for z in zh]
        tally.candidates += len(candidates)
        for en_id, zh_id, match in assign(candidates):
            evidence = json.dumps(match.evidence, ensure_ascii=False, sort_keys=True)
            desired[en_id] = (zh_id, match.confidence, evidence)
    _write_slot(db, [m.id for m in members], desired, tally)


def _fingerprint(member: _Member, published_at: str) -> Fingerprint:
    return fingerprint(
        published_at=published_at,
        title=member.title or "",
        body_text=member.body_text or "",
        media_urls=member.media,
        related_times=member.related,
    )


def _load_links(db: sqlite_utils.Database, source: str, members: list[_Member]) -> None:
    """Fill in each member's media URLs and the issue times of the archived items it links to."""
    by_id = {m.id: m for m in members}
    ids = list(by_id)
    marks = placeholders(ids)
    for article_id, url in db.execute(_MEDIA_SQL.format(marks), ids * 3):
        by_id[article_id].media.append(url)
    targets: dict[str, list[str]] = {}
    sql = f"SELECT article_id, url FROM related_links WHERE article_id IN ({marks})"
    for article_id, url in db.execute(sql, ids):
        ref = release_ref(url)
        if ref is not None:
            targets.setdefault(f"{source}:{ref.native_id}", []).append(article_id)
    if not targets:
        return
    wanted = sorted(targets)
    sql = f"SELECT id, published_at FROM articles WHERE id IN ({placeholders(wanted)})"
    for target_id, target_time in db.execute(sql, wanted):
        if target_time:
            for article_id in targets[target_id]:
                by_id[article_id].related.append(target_time)


def _write_slot(
    db: sqlite_utils.Database,
    member_ids: list[str],
    desired: dict[str, tuple[str, float, str]],
    tally: _Tally,
) -> None:
    """Replace the pairs touching these items with the desired ones, leaving equal rows alone."""
    marks = placeholders(member_ids)
    sql = (
        f"SELECT {', '.join(_PAIR_COLUMNS)} FROM translation_pairs "
        f"WHERE en_id IN ({marks}) OR zh_id IN ({marks})"
    )
    existing = {
        row[0]: (row[1], row[2], row[3]) for row in db.execute(sql, [*member_ids, *member_ids])
    }
    gone = [en_id for en_id, row in existing.items() if desired.get(en_id) != row]
    new = [(en_id, *row) for en_id, row in desired.items() if existing.get(en_id) != row]
    db.conn.executemany("DELETE FROM translation_pairs WHERE en_id = ?", [[i] for i in gone])
    paired_at = hk_now().isoformat()
    db.conn.executemany(
        "INSERT INTO translation_pairs (en_id, zh_id, confidence, evidence, paired_at) "
        "VALUES (?, ?, ?, ?, ?)",
        [[*row, paired_at] for row in new],
    )
    tally.removed += len([i for i in gone if i not in desired])
    tally.written += len(new)


@dataclass(frozen=True)
class PairCounts:
    """How many English and Chinese items of a source are paired."""

    source: str
    en: int
    zh: int
    pairs: int
    weak: int

    @property
    def rate(self) -> float:
        """Pairs per item of the smaller language (1.0 when every one has its twin)."""
        smaller = min(self.en, self.zh)
        return self.pairs / smaller if smaller else 0.0


def pair_counts(db: sqlite_utils.Database, below: float = 0.9) -> list[PairCounts]:
    """Per source with items in both languages: items, pairs, and pairs under ``below``."""
    rows = db.execute(
        "SELECT a.source, sum(a.lang = 'en'), sum(a.lang = 'zh'), count(p.en_id), "
        "coalesce(sum(p.confidence < ?), 0) FROM articles a "
        "LEFT JOIN translation_pairs p ON p.en_id = a.id "
        "GROUP BY a.source HAVING sum(a.lang = 'en') > 0 AND sum(a.lang = 'zh') > 0 "
        "ORDER BY a.source",
        [below],
    ).fetchall()
    return [PairCounts(str(s), int(e), int(z), int(p), int(w)) for s, e, z, p, w in rows]


@dataclass(frozen=True)
class Twin:
    """An item's translation: the other item of its pair, and how sure the pairing is."""

    article_id: str
    title: str | None
    confidence: float
    # The signals that agreed and disagreed ({"agreed": [...], "disagreed": [...]}).
    evidence: dict[str, Any]
    # The pair's row of translation_pairs: its English and its Chinese item.
    en_id: str
    zh_id: str


def translation_of(db: sqlite_utils.Database, article_id: str) -> Twin | None:
    """The item paired with article_id as its translation, or None when it has none (or the
    archive has no such item)."""
    row = db.execute(
        "SELECT p.en_id, p.zh_id, p.confidence, p.evidence, a.title FROM translation_pairs p "
        "JOIN articles a ON a.id = (CASE WHEN p.en_id = ? THEN p.zh_id ELSE p.en_id END) "
        "WHERE p.en_id = ? OR p.zh_id = ?",
        [article_id, article_id, article_id],
    ).fetchone()
    if row is None:
        return None
    en_id, zh_id, confidence, evidence, title = row
    twin = zh_id if en_id == article_id else en_id
    return Twin(twin, title, float(confidence), json.loads(evidence or "{}"), en_id, zh_id)
