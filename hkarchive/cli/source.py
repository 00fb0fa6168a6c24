"""`hkarchive source`: the news sources the archive knows, from the one registry."""

from __future__ import annotations

import dataclasses
import json
import re
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import click

from crawler.sources import (
    GOVHK,
    GOVHK_EARLIEST,
    bundled_names,
    clear_cache,
    configs,
    known_sources,
    user_directory,
)
from crawler.sources.config import NAME, SourceConfig, parse_source
from hkarchive.cli.options import (
    db_option,
    format_option,
    mirror_option,
    printable,
    usage_error,
)
from hkarchive.cli.process import crawl_settings, process_class, usable_mirror
from hkarchive.cli.records import write_records
from newsarchive.clock import hk_now
from newsarchive.model import Article

if TYPE_CHECKING:
    from crawler.spiders.discovering import Discovery

HEADER = ("name", "kind", "declared in", "title")


@click.group("source")
def source() -> None:
    """The news sources: GovHK, the bundled ones and the user's (HKARCHIVE_SOURCES)."""


FIELDS = ("name", "kind", "origin", "path", "title")


def source_records() -> list[dict[str, str | None]]:
    """Every source by name: its name, kind, where it comes from (built in, bundled or user),
    the file that declares it (None for GovHK) and its title."""
    declared = configs()
    user_dir = user_directory().resolve()
    records: list[dict[str, str | None]] = []
    for name in known_sources():
        if name == GOVHK:
            title = f"GovHK press releases (from {GOVHK_EARLIEST})"
            records.append(dict(zip(FIELDS, (name, "govhk", "built in", None, title), strict=True)))
            continue
        config = declared[name]
        path = config.path.resolve() if config.path is not None else None
        origin = "user" if path is not None and path.parent == user_dir else "bundled"
        found = (name, config.kind, origin, str(path) if path else None, config.title)
        records.append(dict(zip(FIELDS, found, strict=True)))
    return records


def _table(records: list[dict[str, str | None]]) -> list[str]:
    """Name, kind and declaration aligned, the title last (as wide as it is)."""
    rows = [HEADER] + [
        (
            r["name"] or "",
            r["kind"] or "",
            f"{r['origin']}: {r['path']}" if r["path"] else r["origin"] or "",
            r["title"] or "",
        )
        for r in records
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    return [
        "  ".join([*(c.ljust(w) for c, w in zip(row[:3], widths, strict=True)), row[3]])
        for row in rows
    ]


@source.command("list")
@format_option
@db_option
def source_list(output_format: str, db_path: str) -> None:
    """List every source: name, kind, the file that declares it, and its title.

    GovHK is built in; every other source is a TOML file, bundled with hkarchive or in the
    directory HKARCHIVE_SOURCES names (where a file replaces a bundled source of its name).

    Example: hkarchive source list
    """
    del db_path  # accepted like on every command; the sources are files, not archive rows
    records = source_records()
    write_records(records, output_format, FIELDS, table=lambda _: _table(records))


# --- probing a site ----------------------------------------------------------------------------


@dataclass
class Probe:
    """What a trial crawl (into a throwaway archive) gave: its items, what discovery found (for
    a source that discovers), and the crawl's stats."""

    items: list[Article]
    found: Discovery | None
    stats: dict[str, Any]


def probe(
    spider: str | type[Any], mirror: str | None, limit: int, log_level: str = "ERROR"
) -> Probe:
    """Crawl a source into a temporary archive until `limit` items are stored, then forget the
    archive: nothing is written where the user keeps one."""
    from scrapy import signals

    items: list[Article] = []

    def scraped(item: Any, **_: Any) -> None:
        if isinstance(item, Article):
            items.append(item)

    with tempfile.TemporaryDirectory(prefix="hkarchive-probe-") as scratch:
        archive = str(Path(scratch) / "probe.db")
        settings = crawl_settings(archive, mirror, log_level, {"CLOSESPIDER_ITEMCOUNT": limit})
        process = process_class()(settings)
        crawler = process.create_crawler(spider)
        crawler.signals.connect(scraped, signal=signals.item_scraped, weak=False)
        process.crawl(crawler)
        process.start()
        stats = crawler.stats.get_stats() if crawler.stats is not None else {}
        found = getattr(crawler.spider, "found", None)
    return Probe(items[:limit], found, stats)


def _words(text: str, limit: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


def print_items(items: list[Article]) -> None:
    """Each item's fields, a few lines apiece."""
    for item in items:
        method = item.extraction.get("published_at", "?")
        click.echo(f"  {printable(item.title)}")
        click.echo(f"    {item.url}")
        click.echo(
            f"    {item.published_at} (date: {method}), {item.lang}, {len(item.photos)} photos, "
            f"{len(item.body_text)} characters"
        )
        click.echo(f"    {printable(_words(item.body_text))}")


# --- source add ----------------------------------------------------------------------------------


def _base_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        usage_error(f"not an http(s) URL: {url!r}")
    if any(c.isspace() for c in url.strip()):
        usage_error(f"not an http(s) URL: {url!r} (it holds a space)")
    return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")


def _default_name(base: str) -> str:
    host = (urlsplit(base).hostname or "").removeprefix("www.")
    name = re.sub(r"[^a-z0-9]+", "_", host.split(".")[0].lower()).strip("_")
    return name if NAME.fullmatch(name) else f"site_{name}"


def _check_name(name: str, folder: Path) -> Path:
    if not NAME.fullmatch(name):
        usage_error(
            f"invalid source name {name!r}: use lower-case letters, digits and _, "
            "starting with a letter"
        )
    if name in bundled_names():
        usage_error(f"source name {name!r} is taken by a bundled source: choose another --name")
    target = folder / f"{name}.toml"
    if target.exists():
        usage_error(f"source {name!r} exists already ({target}): remove the file to add it again")
    return target


def _toml(config: SourceConfig, found: Discovery, languages: list[str]) -> str:
    """The source file `source add` writes: kind auto, with what discovery found as comments."""
    lines = [
        f"# Added by `hkarchive source add` on {hk_now():%Y-%m-%d}. Kind `auto`: every crawl",
        "# finds the site's articles again (API, feeds, sitemaps, listing pages).",
        f"# Found: route {found.route}"
        + (f", platform {found.platform}" if found.platform else "")
        + (f", feed {found.feeds[0]}" if found.feeds else "")
        + (f", sitemap {found.sitemaps[0]}" if found.sitemaps else ""),
        f"name = {json.dumps(config.name)}",
        f"title = {json.dumps(config.title, ensure_ascii=False)}",
        'kind = "auto"',
        f"base_url = {json.dumps(config.base_url)}",
        f"languages = {json.dumps(languages)}",
    ]
    if len(languages) > 1 and found.lang_by_path:
        lines.append("\n[lang_by_path]")
        lines += [
            f"{json.dumps(prefix)} = {json.dumps(code)}"
            for prefix, code in found.lang_by_path.items()
        ]
    return "\n".join(lines) + "\n"


def _refusal(url: str, found: Discovery | None) -> str:
    if found is None:
        return f"{url}: the site could not be probed"
    if found.home_problem:
        return found.home_problem
    if found.unanswered:
        return (
            f"{url}: the site did not answer every request ({found.unanswered[0]}): try again later"
        )
    if found.oversize:
        return f"{url}: nothing article-like found; {found.oversize[0]} is too large to read"
    if found.unreadable:
        return f"{url}: nothing article-like found; {found.unreadable[0]}"
    return f"{url}: nothing article-like found (no REST API, feed, sitemap or article links)"


def _report(url: str, found: Discovery, languages: list[str]) -> None:
    def listed(values: list[str]) -> str:
        return ", ".join(values) if values else "none found"

    click.echo(f"Probed {url}")
    click.echo(f"  site:       {printable(found.title) or '(no name given)'}")
    click.echo(f"  platform:   {found.platform or 'not recognised'}")
    api = "answers" if found.api else ("refused or absent" if found.platform else "not tried")
    click.echo(f"  REST API:   {api}")
    click.echo(f"  feeds:      {listed(found.feeds)}")
    click.echo(f"  sitemaps:   {listed(found.sitemaps)}")
    by_path = ", ".join(f"{p} {c}" for p, c in found.lang_by_path.items())
    click.echo(
        f"  languages:  {', '.join(languages)}" + (f" (by path: {by_path})" if by_path else "")
    )
    if found.other_paths:
        others = ", ".join(found.other_paths)
        click.echo(f"  not crawled: {others} (the site's versions in other languages)")
    route = found.route or "none"
    if found.pattern:
        route += f" (article URLs like {found.pattern})"
    click.echo(f"  route:      {route}")


@source.command("add")
@click.argument("url")
@click.option("--name", help="The source's name (default: from the host, e.g. cpii).")
@click.option("--title", help="The source's title (default: the site's own name).")
@mirror_option
@db_option
def source_add(
    url: str, name: str | None, title: str | None, mirror: str | None, db_path: str
) -> None:
    """Add a news site by its address: probe it, show what was found, write NAME.toml.

    The probe asks what every crawl of the new source will ask: the WordPress REST API, the
    feeds the home page links (and the usual feed paths), the sitemaps robots.txt names (and
    the usual sitemap paths), and last the listing pages whose links look like articles. It
    prints what it found with a sample of five items (title, date and how it was found, the
    first words of the body), then writes NAME.toml of kind `auto` into the user's sources
    folder (HKARCHIVE_SOURCES, default $XDG_CONFIG_HOME/hkarchive/sources; created if missing).
    Nothing is written to the archive, and nothing at all when no article is found (exit 1).

    Example: hkarchive source add https://www.cairs.hk/ --name cairs2
    """
    del db_path  # accepted like on every command; a source is a file, not archive rows
    base = _base_url(url)
    name = name if name is not None else _default_name(base)
    folder = user_directory()
    target = _check_name(name, folder)
    if folder.exists() and not folder.is_dir():
        usage_error(f"the sources folder {folder} is not a directory")
    mirror = usable_mirror(mirror)
    config = SourceConfig(
        name=name, title=title or name, kind="auto", base_url=base, languages=("en", "zh")
    )
    from crawler.spiderloader import spider_class

    # On stdout, with the report it announces: a refusal is then the one line on stderr.
    click.echo(f"Probing {base}/ …")
    # Discovery's own errors are said once, by the refusal below.
    result = probe(spider_class(config), mirror, SAMPLE, log_level="CRITICAL")
    found = result.found
    if found is None or found.route is None or not result.items:
        raise click.ClickException(_refusal(base + "/", found))
    languages = sorted({*found.languages, *(item.lang for item in result.items)} & {"en", "zh"})
    config = dataclasses.replace(config, title=title or found.title or name)
    _report(base + "/", found, languages)
    click.echo(f"\nA sample of {len(result.items)} items:")
    print_items(result.items)
    text = _toml(config, found, languages or ["en"])
    parse_source(target, tomllib.loads(text))  # what is written is a source that loads
    partial = target.with_name(f".{target.name}.partial")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial.write_text(text, encoding="utf-8")
        partial.replace(target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise click.ClickException(f"could not write {target}: {exc}") from exc
    clear_cache()
    click.echo(f"\nWrote {target}. Crawl it: hkarchive crawl {name}")


SAMPLE = 5


# --- source test ---------------------------------------------------------------------------------


@source.command("test")
@click.argument("name")
@click.option("--limit", type=click.IntRange(1, 1000), default=5, show_default=True,
              help="How many items to fetch.")  # fmt: skip
@mirror_option
@db_option
def source_test(name: str, limit: int, mirror: str | None, db_path: str) -> None:
    """Fetch a few items of a source and print their fields, writing nothing to the archive.

    Example: hkarchive source test cpii --limit 3
    """
    del db_path  # the items go to a throwaway archive
    known = known_sources()
    if name not in known:
        usage_error(f"unknown source {name!r} (available: {', '.join(known)})")
    mirror = usable_mirror(mirror)
    result = probe(name, mirror, limit)
    if result.found is not None and result.found.route:
        click.echo(f"{name}: articles found through {result.found.route}")
    failed = int(result.stats.get("hkarchive/extract_failed", 0))
    click.echo(
        f"{name}: {len(result.items)} items" + (f", {failed} pages not read" if failed else "")
    )
    print_items(result.items)
    if not result.items:
        raise click.ClickException(
            _refusal(configs()[name].base_url + "/", result.found)
            if name in configs() and result.found is not None
            else f"{name}: no items (see the log above)"
        )
