"""`hkarchive export`: the archive's articles as JSON Lines, JSON or CSV, in constant memory.

Articles are read batch by batch (newsarchive/exports.py) and every article is written before
the next batch is read, so an export of any size holds one batch.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import click
import sqlite_utils

from crawler.sources import known_sources
from hkarchive.cli.options import (
    day_option,
    db_option,
    output_format_option,
    printable,
    usage_error,
)
from hkarchive.cli.records import Record, TextSink, write_records
from newsarchive.archive import open_archive
from newsarchive.exports import (
    ARTICLE_COLUMNS,
    CHILDREN,
    LINK_COLUMNS,
    ExportFilter,
    iter_articles,
    read_snapshot,
)

# CSV is flat: each nested list becomes a count and its URLs joined by ";" (a ";" inside a URL
# is written %3B, which names the same resource); body_html is left out (it is the markup of
# body_text, and a spreadsheet cell is no place for it).
CSV_CHILD_NAMES = {
    "images": "image",
    "attachments": "attachment",
    "videos": "video",
    "related_links": "related",
}
CSV_ARTICLE_COLUMNS = (*(c for c in ARTICLE_COLUMNS if c != "body_html"), *LINK_COLUMNS)
CSV_COLUMNS = (
    *CSV_ARTICLE_COLUMNS,
    *(f"{name}_{part}" for name in CSV_CHILD_NAMES.values() for part in ("count", "urls")),
)


# JSON and JSON Lines: every column, the links, and the media nested as lists.
FIELDS = (*ARTICLE_COLUMNS, *LINK_COLUMNS, *CHILDREN)


def csv_record(article: dict[str, Any]) -> dict[str, Any]:
    """An article as one flat CSV row (CSV_COLUMNS)."""
    row = {c: article[c] for c in CSV_ARTICLE_COLUMNS}
    for table, name in CSV_CHILD_NAMES.items():
        entries = article[table]
        row[f"{name}_count"] = len(entries)
        row[f"{name}_urls"] = ";".join(e["url"].replace(";", "%3B") for e in entries)
    return row


def table_lines(articles: Iterable[Record]) -> Iterator[str]:
    """One line per article, as it comes: time, source, language, title and id."""
    for a in articles:
        when = (a["published_at"] or "")[:16].replace("T", " ")
        yield f"{when:<16}  {a['source']}  {a['lang']}  {printable(a['title'])}  [{a['id']}]"


def export_articles(
    db: sqlite_utils.Database, stream: TextSink, fmt: str, selection: ExportFilter
) -> int:
    """Write the selected articles to stream in fmt (jsonl, json, csv or table); returns how
    many. The whole export reads one snapshot of the archive, even while a crawl writes to it.
    """
    with read_snapshot(db):
        articles = iter_articles(db, selection)
        if fmt == "csv":
            return write_records(map(csv_record, articles), fmt, CSV_COLUMNS, out=stream)
        return write_records(articles, fmt, FIELDS, table=table_lines, out=stream)


class _Utf8(TextSink):
    """Standard output as UTF-8 whatever the locale; it is never closed here."""

    def __init__(self, binary: BinaryIO) -> None:
        self.binary = binary

    def write(self, text: str, /) -> int:
        return self.binary.write(text.encode("utf-8"))


@contextmanager
def output(out: str | None) -> Iterator[TextSink]:
    """Standard output, or a temporary file beside ``out`` that is renamed to ``out`` when the
    block ends without an error (and removed when it fails), so no half file is ever left."""
    if out is None:
        binary: BinaryIO | None = getattr(sys.stdout, "buffer", None)
        if binary is None:  # a text-only stand-in for stdout: it does its own encoding
            yield sys.stdout
            return
        sys.stdout.flush()
        yield _Utf8(binary)
        binary.flush()
        return
    target = Path(out)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        Path(temporary).replace(target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _check_out(out: str | None) -> None:
    if out is None:
        return
    target = Path(out)
    if target.is_dir():
        usage_error(f"--out {out}: is a directory")
    if not target.parent.is_dir():
        usage_error(f"--out {out}: no directory {target.parent}")
    if not os.access(target.parent, os.W_OK):
        usage_error(f"--out {out}: cannot write in {target.parent}")


@click.command("export")
@output_format_option(default="jsonl")
@click.option(
    "--source",
    "sources",
    multiple=True,
    metavar="S",
    help="Only this source's articles (repeatable; default: every source).",
)
@click.option("--lang", type=click.Choice(["en", "zh"]), help="Only articles in this language.")
@click.option("--since", help="First publication day, YYYY-MM-DD (or e.g. 'yesterday').")
@click.option("--until", help="Last publication day, YYYY-MM-DD (or e.g. 'today').")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Write to this file (replaced only when the export is complete); default: stdout.",
)
@db_option
def export(
    output_format: str,
    sources: tuple[str, ...],
    lang: str | None,
    since: str | None,
    until: str | None,
    out: str | None,
    db_path: str,
) -> None:
    """Export archived articles, oldest first, as JSON Lines (the default), JSON or CSV (UTF-8).

    JSON Lines: one object per article with its columns, the id of its translation
    (translation_id) and its story number (story_id), and its images, attachments, videos and
    related_links nested as lists (JSON: one array of those objects). CSV: one row per article
    with a header; each list becomes a count and a column of its URLs joined by ";"
    (image_count, image_urls, ...), and body_html is left out. table: a line per article.
    --since and --until select by publication day in Hong Kong time; articles without a
    publication date are exported only when neither is given.

    Example: hkarchive export --format jsonl --source govhk --since 2022-05-01 --out may.jsonl
    """
    available = known_sources()
    unknown = [s for s in sources if s not in available]
    if unknown:
        usage_error(f"unknown source {unknown[0]!r} (available: {', '.join(available)})")
    first, last = day_option("--since", since), day_option("--until", until)
    if first and last and first > last:
        usage_error(f"--since {first} is after --until {last}")
    _check_out(out)
    selection = ExportFilter(tuple(sorted(set(sources))), lang, first, last)
    with open_archive(db_path, create=False) as db:
        try:
            with output(out) as stream:
                count = export_articles(db, stream, output_format, selection)
        except OSError as exc:
            if out is None:
                raise  # a closed pipe (| head) is click's to handle, quietly
            raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from exc
    if out is not None:
        click.echo(f"exported {count} articles to {out}", err=True)
