"""`hkarchive history ID`: the versions of an archived item and what changed between them."""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterator

import click

from hkarchive.cli.options import db_option, printable, usage_error
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


@click.command()
@click.argument("article_id", metavar="ID")
@db_option
def history(article_id: str, db_path: str) -> None:
    """Show the versions of archived item ID and a diff between each and the next.

    Example: hkarchive history govhk:P2022052500588
    """
    with open_archive(db_path, create=False) as db:
        found = article_versions(db, article_id)
    if not found:
        usage_error(f"no article {article_id!r} in the archive")
    click.echo(f"{article_id}: {len(found)} version{'s' if len(found) > 1 else ''}")
    for version in found:
        click.echo(
            f"  {label(version):<20} since {version.fetched_at}  "
            f"{version.content_hash[:12]}  {printable(version.title)}"
        )
    for old, new in itertools.pairwise(found):
        click.echo("")
        for line in diff(old, new):
            click.echo(printable(line))
