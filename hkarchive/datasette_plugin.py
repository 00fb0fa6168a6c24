"""Datasette plugin for the archive: readable bodies, photo thumbnails, year and month facets.

Registered as an entry point (``[project.entry-points.datasette]`` in pyproject.toml), so
datasette loads it wherever hkarchive is installed: `hkarchive serve` and plain `datasette`."""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import nh3
from datasette import hookimpl as datasette_hookimpl  # type: ignore[import-untyped]
from datasette.database import QueryInterrupted  # type: ignore[import-untyped]
from datasette.facets import Facet  # type: ignore[import-untyped]
from datasette.utils import (  # type: ignore[import-untyped]
    escape_sqlite,
    path_with_added_args,
    path_with_removed_args,
    tilde_encode,
)
from datasette.utils.asgi import Response  # type: ignore[import-untyped]
from markupsafe import Markup

from newsarchive.search import fts_query

Hook = TypeVar("Hook", bound=Callable[..., Any])


def hookimpl(function: Hook) -> Hook:
    """Datasette's hook marker, keeping the hook's type."""
    marked: Hook = datasette_hookimpl(function)
    return marked


PLUGIN = "hkarchive"
CSS_PATH = "/-/hkarchive.css"
# Columns of canned queries that hold an article id: linked to the article's row page.
ARTICLE_ID_COLUMNS = frozenset({"article_id", "original_id", "en_id", "zh_id"})
# Photos are listed in the images table; inside a body they would be fetched from the
# publisher's site by every visitor who opens the HTML.
BODY_HTML_TAGS = nh3.ALLOWED_TAGS - {"img"}

CSS = """\
.hk-body { white-space: pre-wrap; max-width: 60em; }
/* Tables and query results show the start of a body; its row page shows all of it. */
body.table .hk-body, body.query .hk-body { max-height: 7.5em; overflow: hidden; }
details.hk-html summary { cursor: pointer; color: #555; }
.hk-html-body { max-width: 60em; white-space: normal; border-left: 3px solid #ddd;
  padding-left: 0.8em; }
img.hk-thumb { max-width: 160px; max-height: 120px; display: block; }
/* Column descriptions as a compact scrolling list: the rows stay in sight below them. */
dl.column-descriptions { display: grid; grid-template-columns: max-content 1fr;
  gap: 0.1em 1em; font-size: 0.85em; max-height: 9.5em; overflow-y: auto; }
dl.column-descriptions dt, dl.column-descriptions dd { margin: 0; }
"""


def _is_web_url(value: str) -> bool:
    return value.startswith(("https://", "http://"))


def _row_value(row: Any, key: str) -> Any:
    try:
        return row[key]
    except (IndexError, KeyError):
        return None


def _thumbnail(row: Any, value: str) -> Markup:
    full = _row_value(row, "url")
    href = full if isinstance(full, str) and _is_web_url(full) else value
    return Markup('<a href="{}"><img class="hk-thumb" src="{}" alt="" loading="lazy"></a>').format(
        href, value
    )


def _media_link(datasette: Any, value: str) -> Markup | None:
    media_url = (datasette.plugin_config(PLUGIN) or {}).get("media_url")
    # local_path is relative to the archive's directory ("media/full/<sha1>.jpg").
    if not media_url or not value.startswith("media/") or ".." in value.split("/"):
        return None
    href = media_url.rstrip("/") + "/" + value.removeprefix("media/")
    return Markup('<a href="{}">{}</a>').format(href, value)


@hookimpl
def render_cell(
    row: Any, value: Any, column: str, table: str | None, database: str, datasette: Any
) -> Markup | None:
    """Bodies with their line breaks, sanitised HTML folded away, photos as thumbnails."""
    if not isinstance(value, str) or not value:
        return None
    if column in ("body_text", "excerpt"):
        return Markup('<div class="hk-body">{}</div>').format(value)
    if column == "body_html":
        # Stored sanitised already; cleaned again because the archive is only a file.
        clean = nh3.clean(value, tags=BODY_HTML_TAGS)
        return Markup(
            '<details class="hk-html"><summary>HTML, {:,} characters</summary>'
            '<div class="hk-html-body">{}</div></details>'
        ).format(len(value), Markup(clean))  # noqa: S704 (nh3 made it safe)
    if column == "thumbnail_url" and _is_web_url(value):
        return _thumbnail(row, value)
    if column == "local_path":
        return _media_link(datasette, value)
    if table is None and column in ARTICLE_ID_COLUMNS:
        href = datasette.urls.row(database, "articles", tilde_encode(value))
        return Markup('<a href="{}">{}</a>').format(href, value)
    return None


def _phrase(query: str) -> str:
    return '"' + query.replace('"', '""') + '"'


def fts_match(query: str | None) -> str:
    """The FTS5 expression for a search as the archive reads it; the phrase when it cannot."""
    if not query or not query.strip():
        return '""'
    try:
        return fts_query(query)  # the archive's own syntax: longer Chinese words, AND/OR/NOT
    except ValueError:
        return _phrase(query)  # a malformed query is searched for as typed, as the box does


# What one query may take, whoever wrote it (hkarchive serve --allow-sql lets visitors write
# their own). Time is datasette's: sql_time_limit_ms, enforced by the progress handler it sets
# around every query (SQLite keeps one per connection, so one set here would be replaced).
# That handler runs between steps of SQLite's virtual machine, every 1,000 of them: a step
# that builds one huge value (randomblob(1000000000): 1 GB, seconds) would outlast it. So:
# - no string, blob or row over MAX_VALUE_BYTES (SQLITE_LIMIT_LENGTH), which keeps each step
#   short and small; a press release is some 20-100 kB (a stored value over the limit could
#   not be shown);
# - no statement over MAX_SQL_BYTES of SQL (SQLITE_LIMIT_SQL_LENGTH);
# - no result over MAX_RESULT_BYTES of text and blobs, counted row by row as the rows are
#   read: 1,000 rows of zeroblob(4000000) are built within the time limit.
# `hkarchive serve` also caps what SQLite may allocate in its process (hkarchive/cli/serve.py).
MAX_VALUE_BYTES = 4 * 1024 * 1024
MAX_SQL_BYTES = 100_000
MAX_RESULT_BYTES = 64 * 1024 * 1024


class ResultBudget:
    """A row factory around datasette's (sqlite3.Row) that counts the text and blob bytes each
    query (cursor) returns and stops the query once they pass MAX_RESULT_BYTES."""

    def __init__(self, make_row: Callable[[sqlite3.Cursor, tuple[Any, ...]], Any] | None):
        self.make_row = make_row
        self.spent: weakref.WeakKeyDictionary[sqlite3.Cursor, int] = weakref.WeakKeyDictionary()

    def __call__(self, cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Any:
        spent = self.spent.get(cursor, 0)
        spent += sum(len(value) for value in row if isinstance(value, str | bytes))
        if spent > MAX_RESULT_BYTES:
            raise sqlite3.OperationalError(
                f"query result over {MAX_RESULT_BYTES // (1024 * 1024)} MB: "
                "ask for fewer rows or columns"
            )
        self.spent[cursor] = spent
        return row if self.make_row is None else self.make_row(cursor, row)


@hookimpl
def prepare_connection(conn: sqlite3.Connection) -> None:
    """The limits every query runs under (above); hkarchive_match(q), what the canned search
    query hands to MATCH."""
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, MAX_SQL_BYTES)
    conn.row_factory = ResultBudget(conn.row_factory)
    conn.create_function("hkarchive_match", 1, fts_match, deterministic=True)


@hookimpl
def handle_exception(datasette: Any, request: Any, exception: BaseException) -> Any:
    """A query that ran into the serving process's memory cap (SQLITE_HEAP_LIMIT in
    hkarchive/cli/serve.py): a bad request (400) with the reason, in datasette's own error
    page, not a server error."""
    if not isinstance(exception, MemoryError):
        return None
    from datasette.handle_exception import (  # type: ignore[import-untyped]
        handle_exception as datasette_error_page,
    )
    from datasette.views.base import DatasetteError  # type: ignore[import-untyped]

    refused = DatasetteError("the query needs more memory than this server allows", status=400)
    return datasette_error_page(datasette, request, refused)


@hookimpl
def extra_css_urls(datasette: Any) -> list[str]:
    """The plugin's stylesheet, on every page."""
    return [datasette.urls.path(CSS_PATH)]


async def _css() -> Any:
    return Response(CSS, content_type="text/css; charset=utf-8")


@hookimpl
def register_routes() -> list[tuple[str, Any]]:
    """Serve the stylesheet from the plugin itself, so no static directory is needed."""
    return [(r"^/-/hkarchive\.css$", _css)]


class _PrefixFacet(Facet):  # type: ignore[misc]
    """Facet an ISO date-time column by its first `length` characters (year or month)."""

    type = ""
    length = 0

    async def suggest(self) -> list[dict[str, Any]]:
        # Offered through the metadata or ?_facet_year=COLUMN, never suggested.
        return []

    async def facet_results(self) -> tuple[list[dict[str, Any]], list[str]]:
        results: list[dict[str, Any]] = []
        timed_out: list[str] = []
        size = self.get_facet_size()
        for source_and_config in self.get_configs():
            config = source_and_config["config"]
            column = config.get("column") or config["simple"]
            try:
                results.append(
                    await self._one(
                        column, size, hideable=source_and_config["source"] != "metadata"
                    )
                )
            except QueryInterrupted:
                timed_out.append(column)
        return results, timed_out

    async def _one(self, column: str, size: int, *, hideable: bool) -> dict[str, Any]:
        col = escape_sqlite(column)
        # Newest first: a year or month list reads as a calendar, not as a ranking.
        sql = (
            f"select substr({col}, 1, {self.length}) as value, count(*) as count "
            f"from ({self.sql}) where length({col}) >= {self.length} "
            f"group by value order by value desc limit {size + 1}"
        )
        rows = await self.ds.execute(
            self.database,
            sql,
            self.params,
            truncate=False,
            custom_time_limit=self.ds.setting("facet_time_limit_ms"),
        )
        key = f"{column}__startswith"
        chosen = set(self.request.args.getlist(key))
        values = []
        for row in rows.rows[:size]:
            value = row["value"]
            selected = value in chosen
            # Choosing a month replaces a chosen year: both filter on the same prefix.
            toggle = (
                path_with_removed_args(self.request, {key: value})
                if selected
                else path_with_added_args(self.request, {key: value})
            )
            values.append(
                {
                    "value": value,
                    "label": value,
                    "count": row["count"],
                    "toggle_url": self.ds.absolute_url(self.request, toggle),
                    "selected": selected,
                }
            )
        return {
            "name": column,
            "type": self.type,
            "results": values,
            "hideable": hideable,
            "toggle_url": path_with_removed_args(self.request, {f"_facet_{self.type}": column}),
            "truncated": len(rows) > size,
        }


class YearFacet(_PrefixFacet):
    """published_at by year: ?_facet_year=published_at."""

    type = "year"
    length = 4


class MonthFacet(_PrefixFacet):
    """published_at by month: ?_facet_month=published_at."""

    type = "month"
    length = 7


@hookimpl
def register_facet_classes() -> list[type[Facet]]:
    """The year and month facets."""
    return [YearFacet, MonthFacet]
