"""Datasette plugin for the archive: readable bodies, photo thumbnails, year and month facets.

Registered as an entry point (``[project.entry-points.datasette]`` in pyproject.toml), so
datasette loads it wherever hkarchive is installed: `hkarchive serve` and plain `datasette`."""

from __future__ import annotations

import difflib
import json
import re
import sqlite3
import urllib.parse
import weakref
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import nh3
import sqlite_utils
from datasette import hookimpl as datasette_hookimpl  # type: ignore[import-untyped]
from datasette.database import QueryInterrupted  # type: ignore[import-untyped]
from datasette.facets import Facet  # type: ignore[import-untyped]
from datasette.utils import (  # type: ignore[import-untyped]
    escape_sqlite,
    path_with_added_args,
    path_with_removed_args,
    tilde_encode,
)
from datasette.utils.asgi import NotFound, Response  # type: ignore[import-untyped]
from lxml import html as lxml_html
from markupsafe import Markup, escape

from crawler.extract.parts import IMAGE_FILE
from crawler.extract.text import to_html
from crawler.sources import configs
from newsarchive.reader import ArticlePage, article_page
from newsarchive.search import fts_query
from newsarchive.search.find import search
from newsarchive.search.query import QueryError

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
/* Traditional Chinese is shown by the first of these a system has (Debian: fonts-noto-cjk). */
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  "Noto Sans CJK TC", "Noto Sans TC", "PingFang TC", "Microsoft JhengHei", "Source Han Sans TC",
  "WenQuanYi Micro Hei", sans-serif; }
/* The articles table: one line per item. */
body.table .hk-body { max-height: 1.45em; max-width: 36em; white-space: nowrap;
  text-overflow: ellipsis; }
/* The reader: article and search pages. */
.hk-story { max-width: 42em; margin: 0 auto; line-height: 1.6; font-size: 1.05rem; }
.hk-headline { font-size: 1.9rem; line-height: 1.25; margin: 0.2em 0 0.3em; border: 0;
  padding: 0; }
.hk-kicker, .hk-meta, .hk-note, .hk-hit-meta, .hk-count { color: #555; font-size: 0.9rem;
  margin: 0.2em 0; }
.hk-meta { margin-bottom: 1.2em; }
.hk-text p { margin: 0 0 1em; }
.hk-text { overflow-wrap: anywhere; }
.hk-text table { border-collapse: collapse; max-width: 100%; display: block; overflow-x: auto; }
.hk-photos { display: grid; grid-template-columns: repeat(auto-fill, minmax(14em, 1fr));
  gap: 1em; }
.hk-photos h2 { grid-column: 1 / -1; }
.hk-photo { margin: 0; }
/* A photo not yet loaded (or offline, from the publisher's site) keeps its place as a box. */
.hk-photo img { width: 100%; aspect-ratio: 3 / 2; object-fit: cover; display: block;
  background: #e8e8e8; }
.hk-photo figcaption { font-size: 0.85rem; color: #444; margin-top: 0.3em; }
.hk-story h2 { font-size: 1.15rem; margin: 1.4em 0 0.5em; }
.hk-members table { width: 100%; border-collapse: collapse; font-size: 0.9rem; }
.hk-members td, .hk-members th { text-align: left; padding: 0.25em 0.4em;
  border-bottom: 1px solid #ddd; vertical-align: top; }
.hk-members tr.hk-this { background: #f6f6e8; }
.hk-diff { font-size: 0.9rem; white-space: pre-wrap; overflow-wrap: anywhere; }
.hk-diff-del { background: #fde8e8; text-decoration: line-through; }
.hk-diff-ins { background: #e6f6e6; }
.hk-diff-same { color: #666; }
.hk-search-form { display: flex; flex-wrap: wrap; gap: 0.4em; margin: 0.6em 0 1em; }
.hk-search-form input[type=search] { flex: 1 1 14em; font-size: 1rem; padding: 0.3em; }
.hk-hits { padding-left: 1.4em; }
.hk-hit { margin-bottom: 1em; }
.hk-hit-title { font-size: 1.1rem; }
.hk-snippet { margin: 0.2em 0; }
.hk-snippet mark { background: #fff2a8; }
.hk-error { color: #a00; }
@media (max-width: 40em) {
  .hk-story { font-size: 1rem; }
  .hk-headline { font-size: 1.5rem; }
  .hk-members th:nth-child(4), .hk-members td:nth-child(4) { display: none; }
}
"""


def _is_web_url(value: str) -> bool:
    return value.startswith(("https://", "http://"))


def _row_value(row: Any, key: str) -> Any:
    try:
        return row[key]
    except (IndexError, KeyError):
        return None


def _thumbnail(datasette: Any, row: Any, value: str) -> Markup:
    """A photo's thumbnail linked to the full-size photo: the archive's own copy where
    ``--media`` downloaded it and the server serves it (so it shows offline), else the
    publisher's."""
    local_path = _row_value(row, "local_path")
    local = _local(datasette, local_path if isinstance(local_path, str) else None)
    full = _row_value(row, "url")
    href = local or (full if isinstance(full, str) and _is_web_url(full) else value)
    return Markup('<a href="{}"><img class="hk-thumb" src="{}" alt="" loading="lazy"></a>').format(
        href, local or value
    )


def _media_link(datasette: Any, value: str) -> Markup | None:
    href = _local(datasette, value)
    return None if href is None else Markup('<a href="{}">{}</a>').format(href, value)


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
        return _thumbnail(datasette, row, value)
    if column == "local_path":
        return _media_link(datasette, value)
    if table == "articles" and column == "title" and isinstance(_row_value(row, "id"), str):
        href = article_href(datasette, _row_value(row, "id"))
        return Markup('<a class="hk-read" href="{}">{}</a>').format(href, value)
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


# The articles table opens on these columns; ?_all=1 (linked from its description) shows every
# column, and any ?_col= or ?_nocol= choice is kept as given.
COMPACT_COLUMNS = ("published_at", "source", "lang", "title", "body_text")
_OWN_CHOICE = ("_col", "_nocol", "_all")


def compact_location(datasette: Any, path: str, query: str) -> str | None:
    """Where a request for the articles table's HTML page goes to open on the compact
    columns; None for any other request."""
    parts = path.strip("/").split("/")
    if len(parts) != 2 or parts[1] != "articles" or parts[0] not in datasette.databases:
        return None
    args = urllib.parse.parse_qsl(query, keep_blank_values=True)
    if any(key in _OWN_CHOICE for key, _ in args):
        return None
    args += [("_col", column) for column in COMPACT_COLUMNS]
    return f"{path}?{urllib.parse.urlencode(args)}"


@hookimpl
def asgi_wrapper(datasette: Any) -> Callable[[Any], Any]:
    """Open the articles table on its compact columns (a redirect adding ?_col=...)."""

    def wrap(app: Any) -> Any:
        async def compact(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope.get("type") == "http" and scope.get("method") in ("GET", "HEAD"):
                query = scope.get("query_string", b"").decode("latin-1")
                location = compact_location(datasette, scope.get("path", ""), query)
                if location is not None:
                    headers = [(b"location", location.encode("utf-8")), (b"content-length", b"0")]
                    await send({"type": "http.response.start", "status": 302, "headers": headers})
                    await send({"type": "http.response.body", "body": b""})
                    return
            await app(scope, receive, send)

        return compact

    return wrap


@hookimpl
def extra_css_urls(datasette: Any) -> list[str]:
    """The plugin's stylesheet, on every page."""
    return [datasette.urls.path(CSS_PATH)]


async def _css() -> Any:
    return Response(CSS, content_type="text/css; charset=utf-8")


@hookimpl
def register_routes() -> list[tuple[str, Any]]:
    """The stylesheet (served by the plugin itself, so no static directory is needed), and
    the reader: an article's page and the search page."""
    return [
        (r"^/-/hkarchive\.css$", _css),
        (r"^/-/article/(?P<ident>.+)$", _article_view),
        (r"^/-/search$", _search_view),
    ]


# --- The reader ---------------------------------------------------------------------------------

TEMPLATES = Path(__file__).parent / "datasette" / "templates"
ARTICLE_PATH = "/-/article/"
SEARCH_PATH = "/-/search"
LANG_NAMES = {"en": "English", "zh": "中文"}
HTML_LANG = {"en": "en", "zh": "zh-Hant-HK"}
SEARCH_LIMIT = 50
# Markers for the snippets' matches: control characters never occur in a search form.
_MARK = ("\x01", "\x02")


def article_href(datasette: Any, ident: str) -> str:
    """The reader's page of an article."""
    return str(datasette.urls.path(ARTICLE_PATH + urllib.parse.quote(ident, safe="/:")))


# Each reader template read and compiled once per datasette (per Jinja environment), not on
# every request.
_COMPILED: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def _template(datasette: Any, name: str) -> Any:
    compiled = _COMPILED.setdefault(datasette.jinja_env, {})
    if name not in compiled:
        text = (TEMPLATES / name).read_text(encoding="utf-8")
        compiled[name] = datasette.jinja_env.from_string(text)
    return compiled[name]


def _source_name(source: str) -> str:
    if source == "govhk":
        return "GovHK press release"
    try:
        config = configs().get(source)
    except Exception:  # a bad user source file: the reader still shows the item
        config = None
    return config.title if config is not None else source


def _shown_time(value: str | None, lang: str) -> str:
    """A stored date or date-time as a reader reads it, in Hong Kong time."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    timed = "T" in value
    if lang == "zh":
        day = f"{moment.year}年{moment.month}月{moment.day}日"
        return f"{day} {moment:%H:%M}（香港時間）" if timed else day
    day = f"{moment.day} {moment:%B %Y}"
    return f"{day}, {moment:%H:%M} HKT" if timed else day


# A body whose HTML has blocks of its own is shown as that HTML; one laid out with line breaks
# and spaces (GovHK's releases) reads better as the paragraphs of its text.
_BLOCKS = re.compile(r"<(?:p|ul|ol|table|h[2-6]|blockquote|pre)\b", re.IGNORECASE)


def _body(article: dict[str, Any]) -> Markup:
    """The body as paragraphs: its sanitised HTML (photos are shown from the images table)
    when that HTML has paragraphs, else the paragraphs of its text."""
    markup = article.get("body_html") or ""
    if _BLOCKS.search(markup):
        fragment = lxml_html.fragment_fromstring(nh3.clean(markup, tags=BODY_HTML_TAGS),
                                                 create_parent="div")  # fmt: skip
        # Links to the photos' files ("4.jpg (4.09 MB)"): the photos are shown below.
        for link in fragment.xpath(".//a[@href]"):
            if IMAGE_FILE.search(urllib.parse.urlsplit(link.get("href")).path):
                link.drop_tree()
        for empty in fragment.xpath(".//p[not(normalize-space()) and not(*)]"):
            empty.drop_tree()
        return Markup(to_html(fragment))  # noqa: S704 (nh3 made it safe)
    return Markup("").join(
        Markup("<p>{}</p>").format(p) for p in _paragraphs(article.get("body_text"))
    )


def _local(datasette: Any, local_path: str | None) -> str | None:
    """The URL of a downloaded copy (``--media``) where the server serves the media folder;
    local_path is relative to the archive's directory ("media/full/<sha1>.jpg")."""
    media_url = (datasette.plugin_config(PLUGIN) or {}).get("media_url")
    if not media_url or not local_path or not local_path.startswith("media/"):
        return None
    if ".." in local_path.split("/"):
        return None
    return str(media_url).rstrip("/") + "/" + local_path.removeprefix("media/")


def _paragraphs(text: str | None) -> list[str]:
    """A stored body_text's paragraphs (a blank line apart)."""
    return [p.strip() for p in (text or "").split("\n\n") if p.strip()]


def _changes(page: ArticlePage) -> list[dict[str, Any]]:
    """Each earlier version with what the next one changed, paragraph by paragraph."""
    changes = []
    for older, newer in zip(page.versions, page.versions[1:], strict=False):
        before, after = _paragraphs(older.body_text), _paragraphs(newer.body_text)
        lines: list[dict[str, str]] = []
        if older.title != newer.title:
            lines += [{"kind": "del", "text": older.title}, {"kind": "ins", "text": newer.title}]
        matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
        for tag, a1, a2, b1, b2 in matcher.get_opcodes():
            if tag == "equal":
                kept = before[a1:a2]
                shown = kept if len(kept) <= 2 else [kept[0], "…", kept[-1]]
                lines += [{"kind": "same", "text": text} for text in shown]
                continue
            lines += [{"kind": "del", "text": text} for text in before[a1:a2]]
            lines += [{"kind": "ins", "text": text} for text in after[b1:b2]]
        changes.append(
            {
                "number": older.number,
                "first_seen_at": older.first_seen_at or "",
                "last_seen_at": older.last_seen_at,
                "title": older.title,
                "lines": lines,
            }
        )
    return changes


async def _article_view(datasette: Any, request: Any) -> Any:
    # Datasette routes on the raw path: an id's "?" (detail.php?id=12) arrives as %3F.
    ident = urllib.parse.unquote(request.url_vars["ident"])
    database = datasette.get_database()
    page = await database.execute_fn(lambda conn: article_page(sqlite_utils.Database(conn), ident))
    if page is None:
        raise NotFound(f"The archive has no item {ident}")
    article = page.article
    lang = article.get("lang") or "en"
    photos = []
    for image in page.images:
        local = _local(datasette, image.get("local_path"))
        shown = local or image.get("thumbnail_url") or image["url"]
        photos.append(
            {
                "src": shown,
                "href": local or image["url"],
                "caption": image.get("caption") or image.get("name") or "",
            }
        )
    attachments = [
        {
            "href": _local(datasette, a.get("local_path")) or a["url"],
            "title": a.get("title"),
            "url": a["url"],
        }
        for a in page.attachments
    ]
    members = [
        {
            **vars(member),
            "href": article_href(datasette, member.article_id),
            "published": _shown_time(member.published_at, lang),
        }
        for member in page.members
    ]
    twin = page.twin
    twin_lang = "zh" if lang == "en" else "en"
    methods = json.loads(article.get("extraction") or "{}")
    first_seen = (
        "The page shows no date: this is when the archive first saw the item."
        if methods.get("published_at") == "first-seen"
        else ""
    )
    context = {
        "article": article,
        "database": database.name,
        "source_name": _source_name(article["source"]),
        "lang_name": LANG_NAMES.get(lang, lang),
        "html_lang": HTML_LANG.get(lang, lang),
        "published": _shown_time(article.get("published_at"), lang),
        "body": _body(article),
        "photos": photos,
        "attachments": attachments,
        "videos": page.videos,
        "twin": twin,
        "twin_href": article_href(datasette, twin.article_id) if twin else None,
        "twin_lang": HTML_LANG[twin_lang],
        "twin_label": "中文版" if lang == "en" else "English version",
        "story_id": page.story_id,
        "members": members,
        "changes": _changes(page),
        "first_seen": first_seen,
        "row_href": datasette.urls.row(database.name, "articles", tilde_encode(ident)),
        "search_href": datasette.urls.path(SEARCH_PATH),
    }
    html = await datasette.render_template(
        _template(datasette, "hkarchive_article.html"), context, request=request
    )
    return Response.html(html)


def _snippet(text: str) -> Markup:
    """A snippet with its matches marked, the rest escaped."""
    escaped = str(escape(text))
    return Markup(escaped.replace(_MARK[0], "<mark>").replace(_MARK[1], "</mark>"))  # noqa: S704


async def _search_view(datasette: Any, request: Any) -> Any:
    q = (request.args.get("q") or "").strip()
    lang = request.args.get("lang") or ""
    database = datasette.get_database()
    hits: list[dict[str, Any]] = []
    error = ""
    more = False
    if q:
        try:
            found = await database.execute_fn(
                lambda conn: search(
                    sqlite_utils.Database(conn),
                    q,
                    lang=lang if lang in LANG_NAMES else None,
                    limit=SEARCH_LIMIT + 1,
                    marks=_MARK,
                )
            )
        except QueryError as exc:
            error = str(exc)
            found = []
        more = len(found) > SEARCH_LIMIT
        hits = [
            {
                "href": article_href(datasette, hit.id),
                "title": hit.title,
                "source": hit.source,
                "published_at": hit.published_at,
                "lang": LANG_NAMES.get(hit.lang, hit.lang),
                "html_lang": HTML_LANG.get(hit.lang, hit.lang),
                "snippet": _snippet(hit.snippet),
            }
            for hit in found[:SEARCH_LIMIT]
        ]
    context = {
        "q": q,
        "lang": lang,
        "hits": hits,
        "more": more,
        "error": error,
        "database": database.name,
        "action": datasette.urls.path(SEARCH_PATH),
    }
    html = await datasette.render_template(
        _template(datasette, "hkarchive_search.html"), context, request=request
    )
    return Response.html(html)


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
    """published_at by month: ?_facet_month=published_at, shown once a year is chosen (the
    months of every year would push the rows off the first screen)."""

    type = "month"
    length = 7

    async def facet_results(self) -> tuple[list[dict[str, Any]], list[str]]:
        chosen = [
            value
            for key in self.request.args
            if key.endswith("__startswith")
            for value in self.request.args.getlist(key)
        ]
        if not any(len(value) >= YearFacet.length for value in chosen):
            return [], []
        return await super().facet_results()


@hookimpl
def register_facet_classes() -> list[type[Facet]]:
    """The year and month facets."""
    return [YearFacet, MonthFacet]
