"""What every `hkarchive` command shares: the --db and --format options and usage errors.

Commands live in modules of their own in this package and are registered on the group in its
``__init__.py``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date
from typing import Any, NoReturn, TypeVar

import click

from crawler.dates import parse_day
from newsarchive import DEFAULT_ARCHIVE

FC = TypeVar("FC", bound=Callable[..., Any])


def _remember_db(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Note the archive a command uses where `main` finds it: a damaged archive is named in
    the one line that stops the command, wherever SQLite found the damage."""
    if isinstance(ctx.obj, dict):
        ctx.obj["db_path"] = value
    return value


db_option = click.option(
    "--db",
    "db_path",
    envvar="HKARCHIVE_DB",
    default=DEFAULT_ARCHIVE,
    show_default=True,
    show_envvar=True,
    type=click.Path(dir_okay=False),
    callback=_remember_db,
    help="The SQLite archive.",
)


# What an error about a missing archive adds: how to name another.
ARCHIVE_HINT = "use --db PATH or set HKARCHIVE_DB"


class FloatRange(click.FloatRange):
    """click's FloatRange, refusing NaN, which compares false with both bounds and so slips
    through them (and infinities, for a range open at one end)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def usage_error(message: str) -> NoReturn:
    """Stop with a usage error: one line, exit status 2."""
    raise click.UsageError(message)


def day_option(option: str, value: str | None) -> date | None:
    """A day given to an option such as --since, or a usage error naming the option."""
    if value is None:
        return None
    try:
        return parse_day(value)
    except ValueError as exc:
        usage_error(f"{option}: {exc}")


_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


def one_line(message: str) -> str:
    """A message on one line (click puts each choice of a missing option on a line of its own)."""
    return _LINE_BREAKS.sub(" ", message.strip())


# Control characters (C0 but tab and newline, DEL, C1) in archived text could drive the
# terminal it is printed to (an escape sequence in a fetched title can retitle the window or
# write the clipboard). Only the bold marks search adds itself are kept.
_CONTROL = re.compile(r"(\x1b\[(?:1|22)m)|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str | None) -> str:
    """Archived (fetched) text made safe to print on a terminal: control characters removed."""
    return _CONTROL.sub(lambda m: m[1] or "", text or "")


# Every command that fetches (crawl, source add, source test) takes a mirror the same way.
mirror_option = click.option(
    "--mirror",
    envvar="HKARCHIVE_MIRROR",
    show_envvar=True,
    help="Fetch https://HOST/PATH from MIRROR/HOST/PATH instead (items keep their real URLs).",
)


FORMATS = ("table", "json", "jsonl", "csv")


def output_format_option(default: str = "table") -> Callable[[FC], FC]:
    """The --format option of every command that prints data (see hkarchive/cli/records.py)."""
    return click.option(
        "--format",
        "output_format",
        default=default,
        show_default=True,
        type=click.Choice(FORMATS),
        help="table to read; json (one array), jsonl (an object a line) or csv to process.",
    )


# The usual one: a table unless asked otherwise.
format_option = output_format_option()
