"""`hkarchive pairs`: the English and Chinese versions of releases, paired in the archive."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from hkarchive.cli.options import db_option, printable, usage_error
from newsarchive.archive import check_writable, open_archive
from newsarchive.articles import article_exists
from newsarchive.linking.pairs import pair_counts, pair_releases, translation_of
from newsarchive.lock import crawl_lock

WEAK = 0.9


@click.command("pairs")
@click.argument("ident", metavar="[ID]", required=False)
@click.option(
    "--relink",
    is_flag=True,
    help="Pair every archived item again (idempotent) before printing the counts.",
)
@db_option
def pairs(ident: str | None, relink: bool, db_path: str) -> None:
    """Show how many items are paired with their translation, or the twin of item ID.

    Each GovHK release is published in English and in Chinese under two ids; a crawl pairs
    the items it stored by issue time, media, numbers and names (see translation_pairs). Per
    source this prints the items in each language, the pairs, the share of the smaller side
    that is paired, and the pairs under 0.9 confidence. With ID, it prints that item's twin,
    the confidence and the signals that agreed. With --relink, the whole archive is paired
    again first, holding the archive's lock as a crawl does.

    Example: hkarchive pairs govhk:P2022052500588
    """
    if relink and ident is not None:
        usage_error("give an article id or --relink, not both")
    with open_archive(db_path, create=False) as db:
        if ident is not None:
            for line in _twin_lines(db, ident):
                click.echo(line)
            return
        if relink:
            # It rewrites the pairs: under the archive's lock, as a crawl (LockHeld if taken).
            check_writable(Path(db_path))
            with crawl_lock(db_path):
                report = pair_releases(db)
            click.echo(
                f"paired again: {report.pairs} pairs, {report.changes} rows changed, "
                f"{report.seconds:.2f} s"
            )
        counts = pair_counts(db, below=WEAK)
    if not counts:
        click.echo("no source has items in both languages")
    for c in counts:
        click.echo(
            f"{c.source}: {c.en} English, {c.zh} Chinese, {c.pairs} pairs "
            f"({c.rate:.0%} of the smaller side), {c.weak} under {WEAK} confidence"
        )


def _twin_lines(db: Any, ident: str) -> list[str]:
    twin = translation_of(db, ident)
    if twin is None:
        if article_exists(db, ident):
            return [f"{ident} has no translation paired with it"]
        usage_error(f"no article {ident!r} in the archive")
    signals = twin.evidence
    return [
        f"{printable(twin.article_id)}  {printable(twin.title)}",
        f"confidence {twin.confidence:.4f}; agreed: {', '.join(signals.get('agreed', [])) or '-'}; "
        f"disagreed: {', '.join(signals.get('disagreed', [])) or '-'}",
    ]
