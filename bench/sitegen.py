"""A synthetic GovHK mirror of N release pages, built from the real pages of the test mirror.

Each generated release is a real page of ``tests/mirror`` (an English release and its Chinese
twin) with the release-specific parts swapped by string substitution: the ids, the day folder,
the headline (``<title>``, ``og:title``, ``span#PRHeadlineSpan``), the meta descriptions, the
body inside ``span#pressrelease``, the footer's date and time, and the photo numbers. Titles and
bodies are recombined from the sentences of the real corpus (the golden fixtures), so no two
pages are alike. Days are consecutive, newest last, with ``per_day`` releases each (half
English, half their Chinese twins), and each day gets the daily index pages ``DD.htm`` and
``DDc.htm`` linking its releases as the bundled index pages do (relative links in English,
absolute ones in Chinese).

The templates are cut into literal parts and named slots once; a page is a ``"".join`` of
them, so 100,000 pages take seconds, not minutes.
"""

from __future__ import annotations

import html
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TEMPLATE_MIRROR = REPO / "tests" / "mirror"
FIXTURES = REPO / "tests" / "fixtures" / "govhk"
GENERAL = "www.info.gov.hk/gia/general"

# (day folder, English id, Chinese twin id): every pair of the bundled mirror.
PAIRS = (
    ("201710/01", "P2017100100341", "P2017100100330"),
    ("201812/11", "P2018121100814", "P2018121100806"),
    ("201901/20", "P2019012000892", "P2019012000893"),
    ("201912/31", "P2019123100711", "P2019123100665"),
    ("202001/02", "P2020010200831", "P2020010200773"),
    ("202001/05", "P2020010500493", "P2020010500491"),
    ("202001/06", "P2020010600666", "P2020010600669"),
    ("202001/07", "P2020010700619", "P2020010700614"),
    ("202205/25", "P2022052500588", "P2022052500584"),
)
INDEX_TEMPLATE_DAY = "201812/11"
LAST_DAY = date(2024, 12, 31)

_SLOT = "\x00"
_WEEKDAYS_ZH = "一二三四五六日"
_EN_FOOTER_DATE = re.compile(
    r"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, [A-Z][a-z]+ \d{1,2}, \d{4}"
)
_EN_FOOTER_TIME = re.compile(r"HKT \d{1,2}:\d{2}")
_ZH_FOOTER_DATE = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日（星期.）")
_ZH_FOOTER_TIME = re.compile(r"香港時間\d{1,2}時\d{1,2}分")
_HEADLINE = re.compile(r'(<span id="PRHeadlineSpan">)(.*?)(</span>\s*</div>)', re.S)
_TITLE_TAG = re.compile(r"<title>(.*?)</title>", re.S)
_DESCRIPTION = re.compile(
    r'(<meta (?:name="description"|property="og:description") content=")[^"]*'
)
_OG_TITLE = re.compile(r'(<meta property="og:title" content=")[^"]*')
_PHOTO_NUMBER = re.compile(r"_photo_\d+")
_INDEX_LIST = re.compile(r'(<ul class="list fontSize1">)(.*?)(</ul>)', re.S)
_INDEX_TITLE = re.compile(r"<title>.*?</title>", re.S)
_INDEX_DATE = re.compile(r'(<div class="indexDate fontSize1">)[^<]*')


class Template:
    """A page cut into literal text and named slots, filled by one join."""

    def __init__(self, text: str) -> None:
        """`text` marks each slot as NUL + name + NUL."""
        self.parts = text.split(_SLOT)
        self.names = set(self.parts[1::2])

    def render(self, values: dict[str, str]) -> str:
        """The page with every slot filled; KeyError names a slot left without a value."""
        parts = self.parts.copy()
        for i in range(1, len(parts), 2):
            parts[i] = values[parts[i]]
        return "".join(parts)


def _slot(name: str) -> str:
    return f"{_SLOT}{name}{_SLOT}"


@dataclass(frozen=True)
class ReleaseTemplate:
    """One real release page made a template, with how its body paragraphs are written."""

    lang: str
    template: Template
    paragraph_end: str
    indent: str
    photos: int


def _cut_release(text: str, folder: str, en_id: str, zh_id: str, lang: str) -> ReleaseTemplate:
    start_tag = text.index('<span id="pressrelease"')
    body_start = text.index(">", start_tag) + 1
    ends = [text.find(m, body_start) for m in ('<div class="controlDisplay2', '<div class="mB15')]
    body_end = min(e for e in ends if e >= 0)
    body = text[body_start:body_end]
    newline = "\r\n" if "\r\n" in body else "\n"
    br = "<br />" if "<br />" in body else "<br/>" if "<br/>" in body else "<br>"
    text = f"{text[:body_start]}{newline}{_slot('BODY')}{newline}{text[body_end:]}"
    text = _HEADLINE.sub(lambda m: f"{m[1]}<span>{_slot('TITLE')}</span>{m[3]}", text, count=1)
    text = _TITLE_TAG.sub(f"<title>{_slot('TITLE')}</title>", text, count=1)
    text = _OG_TITLE.sub(lambda m: m[1] + _slot("TITLE"), text)
    text = _DESCRIPTION.sub(lambda m: m[1] + _slot("DESCRIPTION"), text)
    if lang == "en":
        text = _EN_FOOTER_DATE.sub(_slot("DATE"), text)
        text = _EN_FOOTER_TIME.sub(f"HKT {_slot('TIME')}", text)
    else:
        text = _ZH_FOOTER_DATE.sub(_slot("DATE"), text)
        text = _ZH_FOOTER_TIME.sub(_slot("TIME"), text)
    photos = 0

    def photo(_: re.Match[str]) -> str:
        nonlocal photos
        photos += 1
        return f"_photo_{_slot(f'PHOTO{photos - 1}')}"

    text = _PHOTO_NUMBER.sub(photo, text)
    text = text.replace(en_id, _slot("EN_ID")).replace(zh_id, _slot("ZH_ID"))
    text = text.replace(folder, _slot("FOLDER"))
    template = Template(text)
    missing = {"BODY", "TITLE", "DATE", "TIME", "EN_ID", "ZH_ID"} - template.names
    if missing:
        raise ValueError(f"template {folder}/{en_id if lang == 'en' else zh_id}: no {missing}")
    indent = "     " if lang == "en" else "\u3000\u3000"
    return ReleaseTemplate(lang, template, f"{br}{newline}{br}{newline}", indent, photos)


def _cut_index(text: str, folder: str) -> Template:
    text = _INDEX_LIST.sub(lambda m: f"{m[1]}{_slot('ITEMS')}{m[3]}", text, count=1)
    text = _INDEX_TITLE.sub(f"<title>{_slot('TITLE')}</title>", text, count=1)
    text = _INDEX_DATE.sub(lambda m: m[1] + _slot("DATE"), text, count=1)
    return Template(text.replace(folder, _slot("FOLDER")))


def _read(relative: str) -> str:
    # newline="" keeps CR LF: the raw pages are served byte for byte as captured.
    with (TEMPLATE_MIRROR / GENERAL / relative).open(encoding="utf-8", newline="") as f:
        return f.read()


def load_templates() -> list[tuple[ReleaseTemplate, ReleaseTemplate]]:
    """(English, Chinese) templates of every release pair of the bundled mirror."""
    pairs = []
    for folder, en_id, zh_id in PAIRS:
        en = _cut_release(_read(f"{folder}/{en_id}.htm"), folder, en_id, zh_id, "en")
        zh = _cut_release(_read(f"{folder}/{zh_id}.htm"), folder, en_id, zh_id, "zh")
        pairs.append((en, zh))
    return pairs


@dataclass
class Corpus:
    """Titles and sentences of the real releases, by language."""

    titles: dict[str, list[str]] = field(default_factory=lambda: {"en": [], "zh": []})
    sentences: dict[str, list[str]] = field(default_factory=lambda: {"en": [], "zh": []})


_EN_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"(])")
_ZH_SENTENCE = re.compile(r"(?<=[。！？])")


def load_corpus() -> Corpus:
    """Every GovHK fixture's title and body sentences (escaped for HTML), by language."""
    corpus = Corpus()
    for path in sorted(FIXTURES.glob("*/expected.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        lang = data.get("lang")
        if lang not in ("en", "zh") or "body_text" not in data:
            continue
        corpus.titles[lang].append(data["title"])
        splitter = _EN_SENTENCE if lang == "en" else _ZH_SENTENCE
        for paragraph in data["body_text"].split("\n"):
            for sentence in splitter.split(paragraph.strip()):
                if len(sentence.strip()) >= (20 if lang == "en" else 8):
                    corpus.sentences[lang].append(html.escape(sentence.strip(), quote=False))
    if not corpus.sentences["en"] or not corpus.sentences["zh"]:
        raise SystemExit(f"no GovHK fixtures under {FIXTURES}: run from a checkout")
    return corpus


@dataclass(frozen=True)
class Release:
    """One generated release: what the extractor should find on its page."""

    native_id: str
    lang: str
    day: date
    time: str
    title: str
    path: str


@dataclass
class Site:
    """A generated mirror: its directory, its days and what it holds."""

    root: Path
    first_day: date
    last_day: date
    releases: int = 0
    index_pages: int = 0
    bytes_written: int = 0
    seconds: float = 0.0
    samples: list[Release] = field(default_factory=list)

    def urls(self) -> Iterator[str]:
        """Every page of the site as the live URL it stands for: index pages, then releases."""
        base = self.root / GENERAL
        for path in sorted(base.glob("*/*.htm")):
            yield f"https://{GENERAL}/{path.relative_to(base).as_posix()}"
        for path in sorted(base.glob("*/*/*.htm")):
            yield f"https://{GENERAL}/{path.relative_to(base).as_posix()}"


def _en_date(day: date) -> str:
    return f"{day:%A}, {day:%B} {day.day}, {day.year}"


def _zh_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日（星期{_WEEKDAYS_ZH[day.weekday()]}）"


class Generator:
    """Writes days of releases and their index pages from the templates and the corpus."""

    def __init__(self, root: Path, seed: int = 1997) -> None:
        """Write into `root` (the mirror directory, HOST/PATH inside)."""
        self.root = root
        self.rng = random.Random(seed)  # noqa: S311  # seeded synthetic data, not security
        self.pairs = load_templates()
        self.corpus = load_corpus()
        en_index = _read(f"{INDEX_TEMPLATE_DAY}.htm")
        zh_index = _read(f"{INDEX_TEMPLATE_DAY}c.htm")
        self.index = {
            "en": _cut_index(en_index, INDEX_TEMPLATE_DAY),
            "zh": _cut_index(zh_index, INDEX_TEMPLATE_DAY),
        }
        self.photo_serial = 1_000_000

    def title(self, lang: str) -> str:
        """Half of one real headline joined to half of another."""
        a, b = self.rng.sample(self.corpus.titles[lang], 2)
        if lang == "en":
            wa, wb = a.split(), b.split()
            return " ".join(wa[: max(1, len(wa) // 2)] + wb[len(wb) // 2 :])
        return a[: max(1, len(a) // 2)] + b[len(b) // 2 :]

    def body(self, template: ReleaseTemplate) -> tuple[str, str]:
        """(body HTML for the template, its first sentence) from 3 to 10 shuffled paragraphs."""
        sentences = self.corpus.sentences[template.lang]
        joiner = " " if template.lang == "en" else ""
        paragraphs = [
            joiner.join(self.rng.choices(sentences, k=self.rng.randint(1, 4)))
            for _ in range(self.rng.randint(3, 10))
        ]
        parts = [template.indent + p for p in paragraphs]
        return template.paragraph_end.join(parts), paragraphs[0]

    def generate(self, pages: int, per_day: int = 20) -> Site:
        """Write `pages` release pages (rounded up to whole days), ending on LAST_DAY."""
        per_lang = max(1, per_day // 2)
        days = max(1, -(-pages // (2 * per_lang)))
        first = LAST_DAY - timedelta(days=days - 1)
        site = Site(self.root, first, LAST_DAY)
        remaining = pages
        for offset in range(days):
            count = min(per_lang, -(-remaining // 2))
            self._day(site, first + timedelta(days=offset), count)
            remaining -= 2 * count
        return site

    def _day(self, site: Site, day: date, count: int) -> None:
        folder = f"{day:%Y%m}/{day:%d}"
        day_dir = self.root / GENERAL / folder
        day_dir.mkdir(parents=True, exist_ok=True)
        listed: dict[str, list[str]] = {"en": [], "zh": []}
        stamp = f"{day:%Y%m%d}"
        for k in range(count):
            en_id, zh_id = f"P{stamp}{2 * k + 101:05d}", f"P{stamp}{2 * k + 102:05d}"
            minutes = 8 * 60 + (k * 14 * 60) // max(count, 1) + self.rng.randint(0, 9)
            time = f"{minutes // 60:02d}:{minutes % 60:02d}"
            pair = self.rng.choice(self.pairs)
            most = max(pair[0].photos, pair[1].photos)
            photos = {f"PHOTO{i}": str(self.photo_serial + i) for i in range(most)}
            self.photo_serial += most
            for template, own_id in zip(pair, (en_id, zh_id), strict=True):
                lang = template.lang
                title = self.title(lang)
                body, first_sentence = self.body(template)
                values = {
                    "EN_ID": en_id,
                    "ZH_ID": zh_id,
                    "FOLDER": folder,
                    "TITLE": html.escape(title),
                    "DESCRIPTION": html.escape(html.unescape(first_sentence[:150]) + "..."),
                    "BODY": body,
                    "DATE": _en_date(day) if lang == "en" else _zh_date(day),
                    "TIME": time if lang == "en" else f"香港時間{time[:2]}時{time[3:]}分",
                    **photos,
                }
                data = template.template.render(values).encode("utf-8")
                (day_dir / f"{own_id}.htm").write_bytes(data)
                site.releases += 1
                site.bytes_written += len(data)
                href = (
                    f"{day:%d}/{own_id}.htm"
                    if lang == "en"
                    else (f"https://{GENERAL}/{folder}/{own_id}.htm")
                )
                listed[lang].append(
                    f'\n\t\t\t<li><a href="{href}">{html.escape(title, quote=False)}</a> '
                    f'<span class="time">{time}</span></li>'
                )
                if len(site.samples) < 400 and self.rng.random() < 0.05:
                    path = f"{GENERAL}/{folder}/{own_id}.htm"
                    site.samples.append(Release(own_id, lang, day, time, title, path))
        for lang, items in listed.items():
            shown = _en_date(day) if lang == "en" else _zh_date(day)
            page = self.index[lang].render(
                {
                    "ITEMS": "".join(items) + "\n\t\t",
                    "FOLDER": folder,
                    "DATE": shown,
                    "TITLE": f"Press Releases - {shown}" if lang == "en" else f"新聞公報 - {shown}",
                }
            )
            name = f"{day:%d}.htm" if lang == "en" else f"{day:%d}c.htm"
            data = page.encode("utf-8")
            (day_dir.parent / name).write_bytes(data)
            site.index_pages += 1
            site.bytes_written += len(data)


def generate(root: Path, pages: int, per_day: int = 20, seed: int = 1997) -> Site:
    """Generate a mirror of `pages` releases in `root` and time it."""
    import time

    started = time.perf_counter()
    site = Generator(root, seed).generate(pages, per_day)
    site.seconds = time.perf_counter() - started
    return site
