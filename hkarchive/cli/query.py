"""`hkarchive query SQL`: read-only SQL of the user's own over the archive.

The SQL runs in newsarchive/query.py; this module only binds the parameters and prints.
"""

from __future__ import annotations

import click

from hkarchive.cli.options import db_option, format_option, usage_error
from hkarchive.cli.records import write_records
from newsarchive.query import QueryError, read_query


@click.command("query")
@click.argument("sql")
@click.option(
    "--param",
    "params",
    nargs=2,
    multiple=True,
    metavar="NAME VALUE",
    help="Bind VALUE (as text) to :NAME in the SQL (repeatable).",
)
@format_option
@db_option
def query(sql: str, params: tuple[tuple[str, str], ...], output_format: str, db_path: str) -> None:
    """Run SQL (one statement) on the archive, read-only, and print its rows.

    The archive is opened read-only: a statement that would write (INSERT, UPDATE, DELETE,
    CREATE, DROP, ATTACH, a PRAGMA that sets a value) is refused, as is SQL that SQLite
    rejects, with one line and exit status 2.

    Example: hkarchive query "select id, title from articles where lang = :l" --param l zh
    """
    try:
        with read_query(db_path, sql, dict(params)) as (columns, rows):
            write_records(rows, output_format, columns)
    except QueryError as exc:
        usage_error(str(exc))
