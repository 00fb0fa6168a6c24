"""`hkarchive history ID`: the versions of an archived item and what changed between them."""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import click

from hkarchive.cli.options import db_option, format_option, printable, usage_error
from hkarchive.cli.records import write_records
from newsarchive.archive import open_archive
from newsarchive.versions import Version, article_versions


def label(version: Version) -> str:
    """``version 2``, or ``version 3 (current)`` for the current row."""
    return f"version {version.number}" + (" (current)" if version.current else "")


def diff(old: Version, new: Version) -> Iterator[str]:
    """A unified diff of two versions' title, date and body, paragraph by paragraph."""

    def lines(v: Version) -> list[str]:
        return [f"Title: {v.title}", f"Published: {v.published_at}", "", *v.body_text.split("\n")]

    yield from difflib.unified_diff(
        lines(old), lines(new), label(old), label(new), n=1, lineterm=""
    )


FIELDS = (
    "article_id",
    "version",
    "current",
    "first_seen_at",
    "last_seen_at",
    "title",
    "published_at",
    "content_hash",
    "body_text",
)


def record(article_id: str, version: Version) -> dict[str, Any]:
    """A version as a record of FIELDS."""
    return {
        "article_id": article_id,
        "version": version.number,
        "current": version.current,
        "first_seen_at": version.first_seen_at,
        "last_seen_at": version.last_seen_at,
        "title": version.title,
        "published_at": version.published_at,
        "content_hash": version.content_hash,
        "body_text": version.body_text,
    }


def table(article_id: str, found: Sequence[Version]) -> Iterator[str]:
    """The versions, one line each, then the diff between each and the next."""
    yield f"{printable(article_id)}: {len(found)} version{'s' if len(found) > 1 else ''}"
    for version in found:
        yield (
            f"  {label(version):<20} first seen {version.first_seen_at or 'unknown'}  "
            f"last seen {version.last_seen_at}  "
            f"{version.content_hash[:12]}  {printable(version.title)}"
        )
    for old, new in itertools.pairwise(found):
        yield ""
        yield from (printable(line) for line in diff(old, new))


@click.command()
@click.argument("article_id", metavar="ID")
@format_option
@db_option
def history(article_id: str, output_format: str, db_path: str) -> None:
    """Show the versions of archived item ID and a diff between each and the next.

    Each version shows when it was first seen (stored) and last seen (the last fetch that
    found that same content).

    Example: hkarchive history govhk:P2022052500588
    """
    with open_archive(db_path, create=False) as db:
        found = article_versions(db, article_id)
    if not found:
        usage_error(f"no article {article_id!r} in the archive")
    write_records(
        [record(article_id, version) for version in found],
        output_format,
        FIELDS,
        table=lambda _: table(article_id, found),
    )
