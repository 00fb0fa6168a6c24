"""`hkarchive search QUERY...`: full-text search of the archive, in English and Chinese."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, fields

import click

from hkarchive.cli.options import day_option, db_option, format_option, printable, usage_error
from hkarchive.cli.records import write_records
from newsarchive import search as full_text
from newsarchive.archive import open_archive
from newsarchive.articles import source_has_articles
from newsarchive.lock import crawl_lock

BOLD = ("\x1b[1m", "\x1b[22m")
BRACKETS = ("[", "]")


@click.command()
@click.argument("query", nargs=-1, metavar="[QUERY]...")
@click.option(
    "--source", "sources", multiple=True, help="Only items of this source (repeatable), e.g. govhk."
)
@click.option("--lang", type=click.Choice(("en", "zh")), help="Only items in this language.")
@click.option("--since", help="First day of publication, YYYY-MM-DD (or e.g. '7 days ago').")
@click.option("--until", help="Last day of publication, YYYY-MM-DD.")
@click.option(
    "--limit", default=20, show_default=True, type=click.IntRange(1, 1000), help="Most hits shown."
)
@format_option
@click.option(
    "--order",
    default="newest",
    show_default=True,
    type=click.Choice(full_text.ORDERS),
    help="Newest first, or most relevant first: BM25 over every match when at most 5,000 match, "
    "else over the 5,000 newest (narrow with --since/--until, a phrase or rarer words to rank "
    "older ones).",
)
@click.option("--reindex", is_flag=True, help="Rebuild the search index of the whole archive.")
@db_option
def search(
    query: tuple[str, ...],
    sources: tuple[str, ...],
    lang: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    output_format: str,
    order: full_text.Order,
    reindex: bool,
    db_path: str,
) -> None:
    """Find archived items whose title or body matches QUERY, newest first.

    Words are matched in any form (launch finds "launched"); Chinese is matched anywhere,
    one character or more (創, 創新, 創新科技, InnoHK創新). "Quotes" make a phrase, a
    trailing * a prefix; AND (implied between words), OR, NOT and parentheses combine them.
    Each hit shows a snippet with the match marked; --order relevance puts the best matches
    first (of the 5,000 newest matches when more match). With --reindex, rebuild the index
    instead.

    Example: hkarchive search 'InnoHK創新 OR "launch ceremony"' --since 2022-05-01
    """
    text = " ".join(query)
    if reindex == bool(text.strip()):
        usage_error("give a QUERY, or --reindex (not both)")
    if reindex:
        _reindex(db_path)
        return
    first, last = day_option("--since", since), day_option("--until", until)
    if first and last and first > last:
        usage_error(f"--since {first} is after --until {last}")
    try:
        full_text.fts_query(text)  # a malformed query is refused before the archive is opened
    except full_text.QueryError as exc:
        usage_error(str(exc))
    marks = BOLD if output_format == "table" and _stdout_is_terminal() else BRACKETS
    with open_archive(db_path, create=False) as db:
        for source in sources:
            if source_has_articles(db, source):
                continue
            usage_error(f"no items of source {source!r} in the archive")
        try:
            hits = full_text.search(
                db,
                text,
                source=sources,
                lang=lang,
                since=first,
                until=last,
                limit=limit,
                marks=marks,
                order=order,
            )
        except full_text.QueryError as exc:
            usage_error(str(exc))
    _print(hits, output_format)


def _stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def _reindex(db_path: str) -> None:
    started = time.monotonic()
    # Like a crawl, a rebuild writes the whole index: one at a time, and never during a crawl.
    with open_archive(db_path, create=False) as db, crawl_lock(db_path):
        count = full_text.reindex(db)
    click.echo(f"search index rebuilt: {count} items in {time.monotonic() - started:.1f} s")


FIELDS = tuple(field.name for field in fields(full_text.Hit))


def _print(hits: Sequence[full_text.Hit], output_format: str) -> None:
    if output_format == "table" and not hits:
        click.echo("no items match", err=True)
        return
    write_records(
        [asdict(hit) for hit in hits], output_format, FIELDS, table=lambda _: _table(hits)
    )


def _table(hits: Sequence[full_text.Hit]) -> Iterator[str]:
    for number, hit in enumerate(hits, start=1):
        day = (hit.published_at or "")[:10]
        title, snippet = printable(hit.title), printable(hit.snippet)
        yield f"{number:>2}. {day}  {hit.source}  {hit.lang}  {title}  [{printable(hit.id)}]"
        yield f"    {snippet}"
