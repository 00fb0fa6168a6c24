"""`hkarchive history ID`: the versions of an archived item and what changed between them."""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import click

from hkarchive.cli.options import db_option, printable, usage_error
from newsarchive.archive import open_archive


@dataclass(frozen=True)
class Version:
    """One state of an item: an archived earlier version, or the current row."""

    number: int
    fetched_at: str
    title: str
    published_at: str | None
    body_text: str
    content_hash: str
    current: bool = False

    def label(self) -> str:
        return f"version {self.number}" + (" (current)" if self.current else "")


def versions(db: Any, article_id: str) -> list[Version]:
    """Every version of an item, oldest first, ending with the current one; empty if unknown."""
    current = db.execute(
        "SELECT title, published_at, body_text, content_hash, "
        "coalesce(last_changed_at, first_seen_at) FROM articles WHERE id = ?",
        [article_id],
    ).fetchone()
    if current is None:
        return []
    earlier = [
        Version(number, fetched or "", title or "", published, body or "", digest)
        for number, fetched, title, published, body, digest in db.execute(
            "SELECT version, fetched_at, title, published_at, body_text, content_hash "
            "FROM article_versions WHERE article_id = ? ORDER BY version",
            [article_id],
        )
    ]
    title, published, body, digest, since = current
    return [*earlier, Version(len(earlier) + 1, since, title, published, body, digest, True)]


def diff(old: Version, new: Version) -> Iterator[str]:
    """A unified diff of two versions' title, date and body, paragraph by paragraph."""

    def lines(v: Version) -> list[str]:
        return [f"Title: {v.title}", f"Published: {v.published_at}", "", *v.body_text.split("\n")]

    yield from difflib.unified_diff(
        lines(old), lines(new), old.label(), new.label(), n=1, lineterm=""
    )


@click.command()
@click.argument("article_id", metavar="ID")
@db_option
def history(article_id: str, db_path: str) -> None:
    """Show the versions of archived item ID and a diff between each and the next.

    Example: hkarchive history govhk:P2022052500588
    """
    with open_archive(db_path, create=False) as db:
        found = versions(db, article_id)
    if not found:
        usage_error(f"no article {article_id!r} in the archive")
    click.echo(f"{article_id}: {len(found)} version{'s' if len(found) > 1 else ''}")
    for version in found:
        click.echo(
            f"  {version.label():<20} since {version.fetched_at}  "
            f"{version.content_hash[:12]}  {printable(version.title)}"
        )
    for old, new in itertools.pairwise(found):
        click.echo("")
        for line in diff(old, new):
            click.echo(printable(line))
