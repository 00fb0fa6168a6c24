"""What every `hkarchive` command shares: the --db option and usage errors.

Commands live in modules of their own (``cli_*.py``) and are registered on the group in cli.py.
"""

from __future__ import annotations

from typing import NoReturn

import click

DEFAULT_DB = "data/archive.db"

db_option = click.option(
    "--db",
    "db_path",
    envvar="HKARCHIVE_DB",
    default=DEFAULT_DB,
    show_default=True,
    show_envvar=True,
    type=click.Path(dir_okay=False),
    help="The SQLite archive.",
)


def usage_error(message: str) -> NoReturn:
    """Stop with a usage error: one line, exit status 2."""
    raise click.UsageError(message)
