"""`hkarchive pairs`: the English and Chinese versions of releases, paired in the archive."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from hkarchive.cli.options import db_option, format_option, printable, usage_error
from hkarchive.cli.records import write_records
from newsarchive.archive import check_writable, open_archive
from newsarchive.articles import article_exists
from newsarchive.linking.pairs import (
    PairCounts,
    Twin,
    pair_counts,
    pair_releases,
    translation_of,
)
from newsarchive.lock import crawl_lock

WEAK = 0.9


COUNT_FIELDS = ("source", "en", "zh", "pairs", "rate", "weak")
TWIN_FIELDS = ("en_id", "zh_id", "translation_id", "title", "confidence", "evidence")


@click.command("pairs")
@click.argument("ident", metavar="[ID]", required=False)
@click.option(
    "--relink",
    is_flag=True,
    help="Pair every archived item again (idempotent) before printing the counts.",
)
@format_option
@db_option
def pairs(ident: str | None, relink: bool, output_format: str, db_path: str) -> None:
    """Show how many items are paired with their translation, or the twin of item ID.

    Each GovHK release is published in English and in Chinese under two ids; a crawl pairs
    the items it stored by issue time, media, numbers and names (see translation_pairs). Per
    source this prints the items in each language, the pairs, the share of the smaller side
    that is paired (rate), and the pairs under 0.9 confidence (weak). With ID, it prints that
    item's twin, the confidence and the signals that agreed. With --relink, the whole archive
    is paired again first, holding the archive's lock as a crawl does (its report goes to
    standard error with --format json, jsonl or csv).

    Example: hkarchive pairs govhk:P2022052500588
    """
    if relink and ident is not None:
        usage_error("give an article id or --relink, not both")
    with open_archive(db_path, create=False) as db:
        if ident is not None:
            twin = _twin(db, ident)
            records = [] if twin is None else [_twin_record(twin)]
            write_records(
                records, output_format, TWIN_FIELDS, table=lambda _: _twin_lines(ident, twin)
            )
            return
        if relink:
            # It rewrites the pairs: under the archive's lock, as a crawl (LockHeld if taken).
            check_writable(Path(db_path))
            with crawl_lock(db_path):
                report = pair_releases(db)
            click.echo(
                f"paired again: {report.pairs} pairs, {report.changes} rows changed, "
                f"{report.seconds:.2f} s",
                err=output_format != "table",  # standard output holds the records
            )
        counts = pair_counts(db, below=WEAK)
    write_records(
        [asdict(c) | {"rate": round(c.rate, 4)} for c in counts],
        output_format,
        COUNT_FIELDS,
        table=lambda _: _count_lines(counts),
    )


def _count_lines(counts: list[PairCounts]) -> list[str]:
    if not counts:
        return ["no source has items in both languages"]
    return [
        f"{c.source}: {c.en} English, {c.zh} Chinese, {c.pairs} pairs "
        f"({c.rate:.0%} of the smaller side), {c.weak} under {WEAK} confidence"
        for c in counts
    ]


def _twin(db: Any, ident: str) -> Twin | None:
    """The twin of ident, None when it has none; a usage error when there is no such item."""
    twin = translation_of(db, ident)
    if twin is None and not article_exists(db, ident):
        usage_error(f"no article {ident!r} in the archive")
    return twin


def _twin_record(twin: Twin) -> dict[str, Any]:
    return {
        "en_id": twin.en_id,
        "zh_id": twin.zh_id,
        "translation_id": twin.article_id,
        "title": twin.title,
        "confidence": twin.confidence,
        "evidence": twin.evidence,
    }


def _twin_lines(ident: str, twin: Twin | None) -> list[str]:
    if twin is None:
        return [f"{printable(ident)} has no translation paired with it"]
    signals = twin.evidence
    return [
        f"{printable(twin.article_id)}  {printable(twin.title)}",
        f"confidence {twin.confidence:.4f}; agreed: {', '.join(signals.get('agreed', [])) or '-'}; "
        f"disagreed: {', '.join(signals.get('disagreed', [])) or '-'}",
    ]
