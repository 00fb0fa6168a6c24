"""`hkarchive source`: the news sources the archive knows, from the one registry."""

from __future__ import annotations

import click

from crawler.sources import GOVHK, GOVHK_EARLIEST, configs, known_sources, user_directory
from hkarchive.cli.options import db_option

HEADER = ("name", "kind", "declared in", "title")


@click.group("source")
def source() -> None:
    """The news sources: GovHK, the bundled ones and the user's (HKARCHIVE_SOURCES)."""


def source_rows() -> list[tuple[str, str, str, str]]:
    """(name, kind, where it is declared, title) of every source, by name."""
    declared = configs()
    user_dir = user_directory().resolve()
    rows = []
    for name in known_sources():
        if name == GOVHK:
            title = f"GovHK press releases (from {GOVHK_EARLIEST})"
            rows.append((name, "govhk", "built in", title))
            continue
        config = declared[name]
        path = config.path.resolve() if config.path is not None else None
        origin = "user" if path is not None and path.parent == user_dir else "bundled"
        rows.append((name, config.kind, f"{origin}: {path}", config.title))
    return rows


@source.command("list")
@db_option
def source_list(db_path: str) -> None:
    """List every source: name, kind, the file that declares it, and its title.

    GovHK is built in; every other source is a TOML file, bundled with hkarchive or in the
    directory HKARCHIVE_SOURCES names (where a file replaces a bundled source of its name).

    Example: hkarchive source list
    """
    del db_path  # accepted like on every command; the sources are files, not archive rows
    rows = [HEADER, *source_rows()]
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)]
        click.echo("  ".join([*cells, row[3]]))
