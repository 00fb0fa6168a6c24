"""`hkarchive serve`: browse the archive in datasette, read-only, with the project's metadata."""

from __future__ import annotations

import asyncio
import importlib
import os
import re
import socket
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from hkarchive.cli.options import ARCHIVE_HINT, db_option
from newsarchive.archive import limit_sqlite_heap
from newsarchive.db import CORRUPT, corrupt_message, storage_fault
from newsarchive.schema import read_layout

DATASETTE_DIR = Path(__file__).resolve().parent.parent / "datasette"
METADATA_FILE = DATASETTE_DIR / "metadata.yaml"
# The name the shipped metadata gives the database; it is renamed after the file served.
SHIPPED_NAME = "archive"
SEARCH_TABLE = "articles_search"
# The English index every archive has, for archives that predate the Chinese one.
FALLBACK_SEARCH_TABLE = "articles_fts"
# The most SQLite may allocate in the serving process, all connections together: a query
# that would need more (a row of many 4 MB values) fails "out of memory" instead of taking the
# machine's. Reading needs a few MB: searching and faceting 300,000 articles (1.6 GB) works
# within 8 MB. The plugin (hkarchive/datasette_plugin.py) sets the per-query limits.
SQLITE_HEAP_LIMIT = 64 * 1024 * 1024
INSTALL_HINT = (
    'datasette is not installed: pip install "hkarchive[serve]" '
    '(from a checkout: pip install -e ".[serve]")'
)


@dataclass(frozen=True)
class Archive:
    """What serving needs to know about the archive file."""

    path: Path
    name: str
    search_table: str
    media_dir: Path | None
    # articles_search keyed by articles.search_key (schema 9); older indexes by articles.rowid
    search_keyed: bool = True


def inspect_archive(db_path: str) -> Archive:
    """Check that db_path is an archive, reading it without writing; a ClickException if not."""
    path = Path(db_path)
    if path.is_dir():
        # A runtime error, as every command that reads the archive reports a bad one.
        raise click.ClickException(f"cannot serve {path}: it is a directory")
    if not path.is_file():
        raise click.ClickException(
            f"no archive at {path.absolute()} (create one with hkarchive crawl or demo, "
            f"or {ARCHIVE_HINT})"
        )
    # Reading a WAL archive creates its -wal and -shm files; a refused file is left as it was.
    sidecars = [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]
    absent = [p for p in sidecars if not p.exists()]
    try:
        layout = read_layout(path)
    except sqlite3.Error as exc:
        _remove_empty_wal(absent)
        if storage_fault(exc) == CORRUPT:
            raise click.ClickException(corrupt_message(path, str(exc))) from exc
        raise click.ClickException(f"cannot read {path} as an archive: {exc}") from exc
    tables = layout.names
    if "articles" not in tables:
        _remove_empty_wal(absent)
        raise click.ClickException(f"{path} is not an hkarchive archive (no articles table)")
    media = path.parent / "media"
    return Archive(
        path=path,
        name=path.stem,
        search_table=SEARCH_TABLE if SEARCH_TABLE in tables else FALLBACK_SEARCH_TABLE,
        media_dir=media if media.is_dir() else None,
        search_keyed=SEARCH_TABLE in tables and "search_key" in layout.article_columns,
    )


def _remove_empty_wal(created: list[Path]) -> None:
    """Remove the -wal and -shm files a refused read created, if the -wal holds nothing."""
    wal = next((p for p in created if p.name.endswith("-wal")), None)
    if wal is not None and wal.exists() and wal.stat().st_size > 0:
        return
    for sidecar in created:
        sidecar.unlink(missing_ok=True)


def build_metadata(archive: Archive, shipped: dict[str, Any]) -> dict[str, Any]:
    """The shipped metadata adapted to this archive: its name, search table and media folder."""
    metadata = dict(shipped)
    databases = dict(metadata.get("databases") or {})
    database = databases.pop(SHIPPED_NAME, {})
    if not archive.search_keyed:
        database = _retarget_search(database, archive.search_table)
    databases[archive.name] = database
    metadata["databases"] = databases
    if "description_html" in metadata:
        links = re.compile(rf'href="/{SHIPPED_NAME}(?=[/"?])')
        metadata["description_html"] = links.sub(
            f'href="/{_url_name(archive.name)}', metadata["description_html"]
        )
    if archive.media_dir is not None:
        plugins = dict(metadata.get("plugins") or {})
        plugins["hkarchive"] = {"media_url": "/media/"}
        metadata["plugins"] = plugins
    return metadata


def _url_name(name: str) -> str:
    from datasette.utils import tilde_encode  # type: ignore[import-untyped]

    encoded: str = tilde_encode(name)
    return encoded


def _retarget_search(database: dict[str, Any], table: str) -> dict[str, Any]:
    """Search through `table`, whose rowid is articles.rowid (the English index, or the Chinese
    one of an archive not yet upgraded to search keys)."""
    pattern = re.compile(rf"\b{SEARCH_TABLE}\b")
    tables = {name: dict(meta) for name, meta in (database.get("tables") or {}).items()}
    if tables.get("articles", {}).get("fts_table") == SEARCH_TABLE:
        tables["articles"]["fts_table"] = table
        tables["articles"]["fts_pk"] = "rowid"
    queries = {
        name: {**query, "sql": pattern.sub(table, query["sql"]).replace(_KEYED_JOIN, _ROWID_JOIN)}
        for name, query in (database.get("queries") or {}).items()
    }
    return {**database, "tables": tables, "queries": queries}


# How the shipped queries join the search index to the articles, and how an older index joins.
_KEYED_JOIN = "a.search_key = s.rowid"
_ROWID_JOIN = "a.rowid = s.rowid"


def load_shipped_metadata() -> dict[str, Any]:
    """The metadata shipped with the package (hkarchive/datasette/metadata.yaml)."""
    from datasette.utils import parse_metadata

    data: dict[str, Any] = parse_metadata(METADATA_FILE.read_text(encoding="utf-8"))
    return data


def _require_datasette() -> None:
    try:
        importlib.import_module("datasette")
    except ImportError as exc:
        raise click.ClickException(INSTALL_HINT) from exc


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: any free port), bound before datasette starts."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        # create_server's message repeats the address; the errno's own text is enough.
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise click.ClickException(f"cannot serve on {host}:{port}: {reason}") from exc


def _url(host: str, sock: socket.socket) -> str:
    port = sock.getsockname()[1]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def make_datasette(archive: Archive, allow_sql: bool) -> Any:
    """A Datasette instance serving the archive read-only with the project's metadata."""
    from datasette.app import Datasette  # type: ignore[import-untyped]

    # Where rich is installed, datasette prints every failed query's traceback with its local
    # variables to standard output (a visitor's refused SQL included), and in-process it
    # fails outright, outside an except block. The error page says what went wrong already.
    # (Imported after datasette.app, which loads datasette's plugins, this project's among
    # them, in their order.)
    setattr(importlib.import_module("datasette.handle_exception"), "rich", None)  # noqa: B010
    static = [("media", str(archive.media_dir))] if archive.media_dir else []
    # Datasette opens a file that is not --immutable with mode=ro: it cannot write, and it sees
    # what a crawl commits meanwhile (immutable would assume the file never changes).
    return Datasette(
        files=[str(archive.path)],
        metadata=build_metadata(archive, load_shipped_metadata()),
        static_mounts=static,
        settings={"default_allow_sql": allow_sql},
    )


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port",
    default=8001,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0: any free port).",
)
@click.option("--allow-sql", is_flag=True, help="Let visitors run their own (read-only) SQL.")
@db_option
def serve(host: str, port: int, allow_sql: bool, db_path: str) -> None:
    """Browse the archive in datasette, read-only, until interrupted (Ctrl-C).

    Serves the articles with facets (source, language, year, month, category), a search box
    for English and Chinese, and ready-made queries (latest items, search, stories,
    translation pairs, photos, revisions, crawl runs). Visitors cannot write; they run SQL
    of their own only with --allow-sql, and every query within limits (a second, 4 MB a value,
    64 MB a result). Needs the optional datasette extra (hkarchive[serve]).

    Example: hkarchive serve --port 8001
    """
    _require_datasette()
    import uvicorn

    archive = inspect_archive(db_path)
    if archive.search_table != SEARCH_TABLE:
        click.echo(
            f"hkarchive: note: {archive.path} has no Chinese search index ({SEARCH_TABLE}); "
            f"searching uses the English index {archive.search_table}",
            err=True,
        )
    limit_sqlite_heap(SQLITE_HEAP_LIMIT)
    ds = make_datasette(archive, allow_sql)
    asyncio.run(ds.invoke_startup())
    sock = _bind(host, port)
    config = uvicorn.Config(ds.app(), log_level="warning", lifespan="on")
    click.echo(
        f"Serving {archive.path} read-only at {_url(host, sock)} "
        f"(own SQL {'allowed' if allow_sql else 'off: --allow-sql to allow'}; Ctrl-C to stop)"
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        # uvicorn has shut down cleanly and re-raised the Ctrl-C: stopping is the normal end.
        click.echo("stopped")
    finally:
        sock.close()
