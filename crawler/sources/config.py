"""Source configs: one TOML file per news site under crawler/sources/, validated when loaded.

A site is added with a file and no Python. Kinds: ``auto`` (only ``name``, ``title`` and
``base_url``: the crawl finds the site's API, feeds, sitemaps or listing pages itself),
``feed`` (its ``feed_url``), ``sitemap`` (its ``sitemap_urls``, else those robots.txt names),
``wordpress`` (REST API, feed, then listing pages) and ``html`` (listing pages and a
``detail_pattern``). An error
names the file and the key, e.g. ``cairs.toml: key 'detail_pattern': invalid regex (...)``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.dates import FIRST_DAY, LAST_DAY

SOURCES_DIR = Path(__file__).resolve().parent
KINDS = ("auto", "feed", "sitemap", "wordpress", "html")
LANGS = ("en", "zh")
SELECTOR_FIELDS = ("title", "date", "body", "category", "images")
# A source name: a lower-case slug, also its file name and its spider name.
NAME = re.compile(r"[a-z][a-z0-9_]*")


class SourceConfigError(ValueError):
    """A source config that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class SourceConfig:
    """One news source, as declared in its TOML file."""

    name: str
    title: str
    kind: str
    base_url: str
    languages: tuple[str, ...] = ("en",)
    listing_urls: tuple[str, ...] = ()
    detail_pattern: re.Pattern[str] | None = None
    next_page: str | None = None
    max_pages: int = 20
    lang_by_path: dict[str, str] = field(default_factory=dict)
    selectors: dict[str, str] = field(default_factory=dict)
    api: bool = True
    feed_url: str | None = None
    sitemap_urls: tuple[str, ...] = ()
    per_page: int = 20
    earliest: date | None = None
    path: Path | None = None

    @property
    def domains(self) -> list[str]:
        """Hosts the source may be crawled on: its own, with and without www."""
        host = urlsplit(self.base_url).hostname or ""
        bare = host.removeprefix("www.")
        return sorted({host, bare, f"www.{bare}"})


# key: (type, required, kinds it applies to or None for all)
_KEYS: dict[str, tuple[type, bool]] = {
    "name": (str, True),
    "title": (str, True),
    "kind": (str, True),
    "base_url": (str, True),
    "languages": (list, False),
    "listing_urls": (list, False),
    "detail_pattern": (str, False),
    "next_page": (str, False),
    "max_pages": (int, False),
    "lang_by_path": (dict, False),
    "selectors": (dict, False),
    "api": (bool, False),
    "feed_url": (str, False),
    "sitemap_urls": (list, False),
    "per_page": (int, False),
    "earliest": (str, False),
}
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _fail(path: Path, key: str, problem: str) -> SourceConfigError:
    return SourceConfigError(f"{path.name}: key {key!r}: {problem}")


def _http_url(path: Path, key: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _fail(path, key, f"not an http(s) URL: {value!r}")
    return value


def _strings(path: Path, key: str, value: list[Any]) -> tuple[str, ...]:
    if not all(isinstance(item, str) for item in value):
        raise _fail(path, key, "expected a list of strings")
    return tuple(value)


def _day(path: Path, key: str, value: str) -> date:
    """A day written YYYY-MM-DD, within the days a command line may name."""
    try:
        day = date.fromisoformat(value) if _DAY.fullmatch(value) else None
    except ValueError:
        day = None
    if day is None or not FIRST_DAY <= day <= LAST_DAY:
        raise _fail(path, key, f"expected a day from {FIRST_DAY} to {LAST_DAY} as YYYY-MM-DD")
    return day


def parse_source(path: Path, data: dict[str, Any]) -> SourceConfig:
    """Validate one parsed TOML document into a SourceConfig."""
    if isinstance(data.get("earliest"), date):
        # A TOML date (earliest = 2020-01-01) is read like the string; a date-time is refused.
        data = {**data, "earliest": data["earliest"].isoformat()}
    for key in data:
        if key not in _KEYS:
            raise _fail(path, key, f"unknown key (known: {', '.join(_KEYS)})")
    for key, (kind, required) in _KEYS.items():
        if key not in data:
            if required:
                raise _fail(path, key, "missing")
            continue
        value = data[key]
        # bool is an int in Python; a TOML "true" must not pass as max_pages.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise _fail(path, key, f"expected {kind.__name__}, got {type(value).__name__}")
    name = data["name"]
    if not NAME.fullmatch(name) or name != path.stem:
        raise _fail(path, "name", f"must be a lower-case slug equal to the file name {path.stem!r}")
    if data["kind"] not in KINDS:
        raise _fail(path, "kind", f"{data['kind']!r} is not one of {', '.join(KINDS)}")
    languages = _strings(path, "languages", data.get("languages", ["en"]))
    if not languages or any(lang not in LANGS for lang in languages):
        raise _fail(path, "languages", f"expected some of {', '.join(LANGS)}")
    listing = _strings(path, "listing_urls", data.get("listing_urls", []))
    for url in listing:
        _http_url(path, "listing_urls", url)
    pattern = None
    if "detail_pattern" in data:
        try:
            pattern = re.compile(data["detail_pattern"])
        except re.error as exc:
            raise _fail(path, "detail_pattern", f"invalid regex ({exc})") from None
    if data["kind"] == "html" and (not listing or pattern is None):
        missing = "listing_urls" if not listing else "detail_pattern"
        raise _fail(path, missing, "required for kind 'html'")
    if data["kind"] == "feed" and "feed_url" not in data:
        raise _fail(path, "feed_url", "required for kind 'feed'")
    sitemaps = _strings(path, "sitemap_urls", data.get("sitemap_urls", []))
    for url in sitemaps:
        _http_url(path, "sitemap_urls", url)
    selectors = data.get("selectors", {})
    for key, value in selectors.items():
        if key not in SELECTOR_FIELDS:
            raise _fail(path, f"selectors.{key}", f"unknown field (known: {SELECTOR_FIELDS})")
        if not isinstance(value, str) or not value.strip():
            raise _fail(path, f"selectors.{key}", "expected a CSS selector string")
    lang_by_path = data.get("lang_by_path", {})
    for prefix, lang in lang_by_path.items():
        if lang not in LANGS:
            raise _fail(path, f"lang_by_path.{prefix}", f"{lang!r} is not one of {LANGS}")
    for key in ("max_pages", "per_page"):
        if key in data and data[key] < 1:
            raise _fail(path, key, "must be at least 1")
    return SourceConfig(
        name=name,
        title=data["title"],
        kind=data["kind"],
        base_url=_http_url(path, "base_url", data["base_url"]).rstrip("/"),
        languages=languages,
        listing_urls=listing,
        detail_pattern=pattern,
        next_page=data.get("next_page"),
        max_pages=data.get("max_pages", 20),
        lang_by_path=dict(lang_by_path),
        selectors=dict(selectors),
        api=data.get("api", True),
        feed_url=_http_url(path, "feed_url", data["feed_url"]) if "feed_url" in data else None,
        sitemap_urls=sitemaps,
        per_page=data.get("per_page", 20),
        earliest=_day(path, "earliest", data["earliest"]) if "earliest" in data else None,
        path=path,
    )


def load_source(path: Path) -> SourceConfig:
    """Read and validate one TOML source file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SourceConfigError(f"{path.name}: not valid TOML ({exc})") from None
    return parse_source(path, data)


def load_sources(
    directory: Path = SOURCES_DIR, extra: str | Path | None = None
) -> dict[str, SourceConfig]:
    """Every source config in a directory, by name, then those of an extra directory.

    A file in the extra directory replaces a bundled source of the same name.
    """
    paths = sorted(directory.glob("*.toml"))
    if extra:
        # A folder not made yet holds no sources (`hkarchive source add` creates it).
        extra_dir = Path(extra)
        if extra_dir.exists() and not extra_dir.is_dir():
            raise SourceConfigError(f"{extra_dir}: the sources folder is not a directory")
        paths += sorted(extra_dir.glob("*.toml")) if extra_dir.is_dir() else []
    return {cfg.name: cfg for cfg in map(load_source, paths)}
