"""Security: SQL is parameterised, datasette cannot write, stored and shown HTML is sanitised.

The hostile pages under tests/hostile/ are synthetic (see tests/hostile/PROVENANCE.md): real
page templates of the three sources carrying the attacks of tests/hostile/payload.html.
"""

from __future__ import annotations

import ast
import asyncio
import html
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from lxml import html as lxml_html
from scrapy.http import TextResponse

from crawler.extract.dispatch import extract_items
from crawler.extract.sanitize import sanitize_html
from hkarchive.cli import main
from hkarchive.cli.options import printable
from newsarchive.archive import open_archive
from newsarchive.articles import upsert_article
from newsarchive.model import Article
from pipelines.normalize import normalize_article
from pipelines.validate import problems
from tests.conftest import REPO_ROOT
from tests.test_search import ARTICLES, SEEN, store

HOSTILE = REPO_ROOT / "tests" / "hostile"

# --- (a) SQL: hostile text through search and every filter -------------------------------------

NASTY = [
    "'",
    '"',
    "';",
    "'; DROP TABLE articles; --",
    '"; DELETE FROM articles_search; --',
    "1' OR '1'='1",
    "launch*",
    "*",
    "NEAR(launch InnoHK, 2)",
    "NEAR(",
    "launch AND OR ceremony",
    "title:InnoHK",
    "{title body}: x",
    "^InnoHK",
    "(launch",
    "launch)",
    "((((",
    "a\x00b",
    "\x00",
    "%",
    "_",
    "\\",
    "launch -- comment",
    "/* c */ launch",
]

# Each place hostile text goes in: the arguments around it ({} is replaced by the text).
PLACES = {
    "search query": ["search", "{}"],
    "search --source": ["search", "launch", "--source", "{}"],
    "search --lang": ["search", "launch", "--lang", "{}"],
    "search --since": ["search", "launch", "--since", "{}"],
    "search --until": ["search", "launch", "--until", "{}"],
    "export --source": ["export", "--format", "jsonl", "--source", "{}"],
    "export --lang": ["export", "--format", "jsonl", "--lang", "{}"],
    "export --since": ["export", "--format", "jsonl", "--since", "{}"],
    "export --until": ["export", "--format", "csv", "--until", "{}"],
    "history ID": ["history", "{}"],
    "runs --source": ["runs", "--source", "{}"],
    "story ID": ["story", "{}"],
    "pairs ID": ["pairs", "{}"],
}


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("security") / "archive.db"
    db = open_archive(path)
    store(db, *ARTICLES)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return path


def _content(path: Path) -> list[Any]:
    """Every row of every table, to tell a changed archive from an unchanged one."""
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return [(t, conn.execute(f'SELECT * FROM "{t}"').fetchall()) for t in sorted(tables)]
    finally:
        conn.close()


@pytest.mark.parametrize("place", PLACES)
def test_hostile_text_in_every_filter_is_data_never_sql(
    place: str, archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before_bytes, before_rows = archive.read_bytes(), _content(archive)
    for value in NASTY:
        args = [a.replace("{}", value) for a in PLACES[place]]
        capsys.readouterr()
        code = main([*args, "--db", str(archive)])
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
        assert code in (0, 2), (value, captured.err)
        if code == 2:  # refused as input (no such item, not a day, malformed query): one line
            lines = captured.err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("hkarchive: error: "), captured.err
        assert "sqlite" not in captured.err.lower(), captured.err
    assert _content(archive) == before_rows
    assert archive.read_bytes() == before_bytes


def test_hostile_queries_find_their_words_as_plain_text(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Operators and column names in a query are words, so these still find the launch."""
    for query in ("InnoHK + launch", "'; launch; --", '"launch"', "launch* --", "^launch"):
        capsys.readouterr()
        assert main(["search", query, "--format", "json", "--db", str(archive)]) == 0, query
        hits = json.loads(capsys.readouterr().out)
        assert "govhk:P2022052500588" in [h["id"] for h in hits], query


# Interpolated into SQL text, each reviewed: a fixed identifier, a list of "?", or an integer.
REVIEWED_SQL_INTERPOLATIONS = {
    ("hkarchive/cli/__init__.py", "db_path"): "an error message mentioning a table, not SQL",
    ("newsarchive/exports.py", "', '.join(columns)"): "column names of the CHILDREN constant",
    ("newsarchive/exports.py", "format:columns"): "a.<name> for ARTICLE_COLUMNS",
    ("newsarchive/exports.py", "format:where"): "ExportFilter.where(): fixed clauses with ?",
    ("newsarchive/exports.py", "marks"): "one ? per id",
    ("newsarchive/exports.py", "table"): "a key of the CHILDREN constant",
    ("newsarchive/captures.py", "format:placeholders(sources)"): "one ? per source",
    ("newsarchive/archive.py", "limit"): "an int, formatted :d (a float or text raises)",
    ("hkarchive/datasette_plugin.py", "col"): "escape_sqlite(column)",
    ("hkarchive/datasette_plugin.py", "self.length"): "an int of the facet class",
    ("hkarchive/datasette_plugin.py", "self.sql"): "datasette's own table SQL",
    ("hkarchive/datasette_plugin.py", "size + 1"): "datasette's facet size, int",
    ("crawler/seen.py", "placeholders(langs)"): "one ? per language",
    ("crawler/seen.py", "placeholders(chunk)"): "one ? per id",
    ("crawler/seen.py", "placeholders(wanted)"): "one ? per URL",
    ("newsarchive/articles.py", "', '.join(MEDIA_FIELDS)"): "column names, a constant",
    ("newsarchive/runs.py", "placeholders(runs)"): "one ? per run id",
    ("newsarchive/articles.py", "', '.join(columns)"): "article_row() keys, fixed names",
    ("newsarchive/articles.py", "', '.join('?' * len(columns))"): "one ? per column",
    ("newsarchive/articles.py", "', '.join('?' * (len(columns) + 2))"): "one ? per column",
    ("newsarchive/articles.py", "assignments"): "'<name> = ?' for fixed column names",
    ("newsarchive/articles.py", "names"): "column names of the _CHILDREN constant",
    ("newsarchive/articles.py", "updates"): "'<name> = excluded.<name>', fixed names",
    ("newsarchive/articles.py", "table"): "a key of the _CHILDREN constant",
    ("newsarchive/health.py", "_RUN_COLUMNS"): "column names, a constant",
    ("newsarchive/health.py", "where"): "'' or 'WHERE spider = ?'",
    ("newsarchive/health.py", "LIVE_RUN"): "a fixed SQL condition on a run's row, a constant",
    ("newsarchive/reader.py", "columns"): "the reader's columns, a constant",
    ("newsarchive/linking/pairs.py", "', '.join(_PAIR_COLUMNS)"): "column names, a constant",
    ("newsarchive/linking/pairs.py", "placeholders(chunk)"): "one ? per id",
    ("newsarchive/linking/pairs.py", "placeholders(wanted)"): "one ? per id",
    ("newsarchive/linking/pairs.py", "format:marks"): "one ? per id",
    ("newsarchive/linking/pairs.py", "marks"): "one ? per id",
    ("newsarchive/schema.py", "steps"): "the migration number, an int formatted :d",
    ("newsarchive/search/index.py", "', '.join(COLUMNS)"): "column names, a constant",
    ("newsarchive/search/index.py", "TABLE"): "the search table's name, a constant",
    ("newsarchive/search/index.py", "STALE_TABLE"): "the stale table's name, a constant",
    ("newsarchive/search/find.py", "TABLE"): "the search table's name, a constant",
    ("newsarchive/search/find.py", "n"): "a column number, an int from range()",
    ("newsarchive/search/index.py", "placeholders(chunk)"): "one ? per rowid",
    ("newsarchive/search/find.py", "_ON"): "a fixed join condition with an int constant",
    ("newsarchive/search/find.py", "_JOIN"): "a fixed join of the search table, a constant",
    ("newsarchive/search/find.py", "_NEWEST_FIRST"): "a fixed ORDER BY ... LIMIT ?, a constant",
    ("newsarchive/search/find.py", "keys"): "_key_range(): rowid bounds, ints formatted :d",
    ("newsarchive/search/find.py", "where"): "_filters(): fixed clauses with ?",
    ("newsarchive/linking/stories.py", "SIGNATURE_DAY"): "a fixed SQL expression, a constant",
    ("newsarchive/linking/stories.py", "SIGNATURE_STALE"): "a fixed SQL condition, a constant",
    ("newsarchive/linking/stories.py", "_STATE_SQL"): "a fixed query, a constant",
    ("newsarchive/health.py", "placeholders(pids)"): "one ? per running crawl's pid",
    ("newsarchive/linking/queue.py", "SIGNATURE_STALE"): "a fixed SQL condition, a constant",
    ("newsarchive/linking/queue.py", "placeholders(running_runs)"): "one ? per run id",
    ("newsarchive/linking/queue.py", "placeholders(chunk)"): "one ? per id",
    ("newsarchive/linking/stories.py", "placeholders(chunk)"): "one ? per id",
    ("newsarchive/linking/stories.py", "columns"): (
        "column names of _LINK_COLUMNS or _STORY_COLUMNS"
    ),
    ("newsarchive/linking/stories.py", "format:placeholders(chunk)"): "one ? per id",
    ("newsarchive/linking/stories.py", "format:placeholders(ids)"): "one ? per id",
}
_SQL_TEXT = re.compile(
    r"(?i:\bselect\b.*\bfrom\b|\binsert into\b|\bdelete from\b|\bupdate \S+ set\b|\bpragma\b"
    r"|\bcreate (?:virtual )?(?:table|index)\b|\bdrop table\b)|\bWHERE\b|\bFROM\b|\bSET\b",
    re.S,
)


def sql_interpolations(root: Path) -> set[tuple[str, str]]:
    """(file, expression) for every value put into SQL text by an f-string or str.format."""
    found: set[tuple[str, str]] = set()
    packages = ("hkarchive", "crawler", "pipelines", "newsarchive")
    for path in sorted(p for package in packages for p in (root / package).rglob("*.py")):
        name = path.relative_to(root).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.JoinedStr):
                text = "".join(str(v.value) for v in node.values if isinstance(v, ast.Constant))
                if _SQL_TEXT.search(text):
                    found |= {
                        (name, ast.unparse(v.value))
                        for v in node.values
                        if isinstance(v, ast.FormattedValue)
                    }
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                base = node.func.value
                text = str(base.value) if isinstance(base, ast.Constant) else ast.unparse(base)
                if node.func.attr == "format" and (_SQL_TEXT.search(text) or text.endswith("_SQL")):
                    args = [*node.args, *(k.value for k in node.keywords)]
                    found |= {(name, "format:" + ast.unparse(a)) for a in args}
    return found


def test_sql_text_interpolates_only_reviewed_identifiers() -> None:
    """Values reach SQL as bound parameters; a new interpolation must be reviewed and listed."""
    found = sql_interpolations(REPO_ROOT)
    assert found, "the scan must see the project's SQL"
    unreviewed = sorted(found - REVIEWED_SQL_INTERPOLATIONS.keys())
    assert unreviewed == [], "SQL built from these values: bind them, or review and list them"


def test_the_scan_catches_a_value_put_into_sql(tmp_path: Path) -> None:
    (tmp_path / "crawler").mkdir()
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "crawler" / "bad.py").write_text(
        "def f(db, name):\n    return db.execute(f\"SELECT * FROM articles WHERE id = '{name}'\")\n"
    )
    assert sql_interpolations(tmp_path) == {("crawler/bad.py", "name")}


# --- (c) Hostile pages: extraction, the item pipeline, the archive ----------------------------

HOSTILE_PAGES = {
    "govhk release (GovHK extractor)": (
        "govhk",
        "https://www.info.gov.hk/gia/general/202205/25/P2022052599991.htm",
        "govhk-release.html",
        "text/html; charset=utf-8",
    ),
    "cairs detail (generic extractor)": (
        "cairs",
        "https://www.cairs.hk/en/news_detail/index/999",
        "cairs-detail.html",
        "text/html; charset=UTF-8",
    ),
    "cpii REST API (WordPress content.rendered)": (
        "cpii",
        "https://www.cpii.hk/wp-json/wp/v2/posts?_embed=1&orderby=date&order=desc&page=1&per_page=20",
        "cpii-api.json",
        "application/json; charset=UTF-8",
    ),
    "cpii feed (WordPress content:encoded)": (
        "cpii",
        "https://www.cpii.hk/feed/",
        "cpii-feed.xml",
        "application/rss+xml; charset=UTF-8",
    ),
}
# The attacks the payload carries; each must be in it, so the fixtures test what they claim.
VECTORS = [
    "<script>",
    "<SCRIPT SRC=",
    "onerror=",
    "ONERROR=",
    'href="javascript:',
    "JaVaScRiPt:",
    "&#106;&#97;&#118;&#97;",
    "&#x6A;avascript",
    "java&#x09;script:",
    "java&#x0A;script:",
    "&#x20;javascript:",
    "vbscript:",
    "data:text/html",
    "data:image/svg+xml",
    "<svg onload=",
    "xlink:href=",
    "<iframe src=",
    "srcdoc=",
    "<object data=",
    "<embed src=",
    "<style>",
    "expression(",
    "<base href=",
    'http-equiv="refresh"',
    '<link rel="stylesheet"',
    "<form action=",
    "formaction=",
    "ontoggle=",
    "<source onerror=",
    "<math>",
    "<noscript>",
    "<template>",
    "<!-- <script>",
    "onclick=",
    "onmouseover=",
    'srcset="javascript:',
]
FORBIDDEN_TAGS = {
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "base",
    "meta", "link", "form", "input", "button", "svg", "math", "template", "noscript",
}  # fmt: skip
URL_ATTRIBUTES = {"href", "src", "srcset", "action", "formaction", "poster", "cite", "data"}
_IGNORED = re.compile(r"[\x00-\x20\x7f]+")


def unsafe_url(value: str) -> bool:
    """A URL a browser would run or render as a page: javascript:, vbscript:, data:."""
    compact = _IGNORED.sub("", unquote(html.unescape(value))).lower()
    return compact.startswith(("javascript:", "vbscript:", "data:", "livescript:"))


def hostile_parts(fragment: str) -> list[str]:
    """Every dangerous thing in an HTML fragment, described; [] for safe HTML."""
    found = ["'<script' in the text"] if "<script" in fragment.lower() else []
    root = lxml_html.fragment_fromstring(fragment or "<p></p>", create_parent="div")
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag.lower() in FORBIDDEN_TAGS:
            found.append(f"<{el.tag}>")
        for name, value in el.attrib.items():
            lowered = name.lower()
            if lowered.startswith("on") or lowered in {"style", "srcdoc", "formaction"}:
                found.append(f"<{el.tag} {name}>")
            elif lowered.split(":")[-1] in URL_ATTRIBUTES:
                urls = [p.split()[0] for p in value.split(",") if p.strip()]
                if any(unsafe_url(u) for u in (urls if lowered == "srcset" else [value])):
                    found.append(f"<{el.tag} {name}={value!r}>")
    return found


def test_the_checker_sees_every_attack_in_the_payload() -> None:
    payload = (HOSTILE / "payload.html").read_text(encoding="utf-8")
    for vector in VECTORS:
        assert vector in payload, vector
    assert len(hostile_parts(payload)) >= 30
    assert hostile_parts('<p>fine <a href="https://example.org/">link</a></p>') == []


def _items(source: str, url: str, file: str, content_type: str) -> list[Article]:
    body = (HOSTILE / file).read_bytes()
    response = TextResponse(url=url, body=body, headers={"Content-Type": content_type})
    errors: list[Any] = []
    items = extract_items(source, response, errors)
    assert errors == []
    return items


@pytest.fixture(scope="module")
def hostile_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hostile pages extracted, normalised, validated and stored as a crawl stores them."""
    path = tmp_path_factory.mktemp("hostile") / "archive.db"
    db = open_archive(path)
    for source, url, file, content_type in HOSTILE_PAGES.values():
        for article in _items(source, url, file, content_type):
            normalize_article(article)
            assert problems(article) == [], (file, problems(article))
            upsert_article(db, article, seen_at=SEEN, run_id=None)
    db.close()
    return path


def _stored(path: Path) -> Iterator[dict[str, Any]]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        yield from (dict(r) for r in conn.execute("SELECT * FROM articles ORDER BY id"))
    finally:
        conn.close()


@pytest.mark.parametrize("page", HOSTILE_PAGES)
def test_hostile_page_is_stored_with_safe_body_html(page: str, hostile_archive: Path) -> None:
    source, url, file, content_type = HOSTILE_PAGES[page]
    ids = {a.id for a in _items(source, url, file, content_type)}
    rows = [row for row in _stored(hostile_archive) if row["id"] in ids]
    assert rows, f"{file}: nothing stored"
    for row in rows:
        assert hostile_parts(row["body_html"]) == [], row["id"]
        # Sanitised, not wiped: the text and the good link around the attacks are kept.
        assert "Hostile paragraph one" in row["body_html"]
        assert "Hostile paragraph two" in row["body_text"]
        assert '<a href="https://www.example.org/ok">a good link</a>' in row["body_html"]


def test_hostile_media_links_are_not_stored(hostile_archive: Path) -> None:
    conn = sqlite3.connect(hostile_archive)
    try:
        urls = [
            url
            for table, column in [
                ("images", "url"),
                ("images", "thumbnail_url"),
                ("attachments", "url"),
                ("videos", "url"),
                ("related_links", "url"),
                ("articles", "url"),
            ]
            for (url,) in conn.execute(f"SELECT {column} FROM {table}")
            if url is not None
        ]
    finally:
        conn.close()
    assert urls, "the hostile pages have photos"
    assert all(url.startswith(("https://", "http://")) for url in urls), urls


def test_the_sanitiser_refuses_disguised_schemes() -> None:
    for href in ("java%09script:alert(1)", "JAVA%0ASCRIPT:x", "%6Aavascript:x", " vbscript:x"):
        assert sanitize_html(f'<a href="{href}">x</a>') == "<a>x</a>", href
    kept = '<a href="https://example.org/a%20b">x</a>'
    assert sanitize_html(kept) == kept
    assert sanitize_html('<a href="/gia/general/today.htm">x</a>') == (
        '<a href="/gia/general/today.htm">x</a>'
    )


# --- Showing archived content: exports, the terminal, datasette ------------------------------


def test_export_carries_only_the_sanitised_html(
    hostile_archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["export", "--format", "jsonl", "--db", str(hostile_archive)]) == 0
    items = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(items) == 3  # the API and the feed carry the same CPII post: one item
    for item in items:
        assert hostile_parts(item["body_html"]) == [], item["id"]
    capsys.readouterr()
    assert main(["export", "--format", "csv", "--db", str(hostile_archive)]) == 0
    # CSV leaves body_html out; a title is text (this one reads "<script>..." as words).
    assert "body_html" not in capsys.readouterr().out.splitlines()[0]


def test_control_characters_in_archived_text_never_reach_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.test_search import make_article

    db_path = tmp_path / "archive.db"
    db = open_archive(db_path)
    evil = make_article(
        "P2022052500001",
        "Launch \x1b]0;owned\x07 \x1b[2J\x9b31m title",
        "The launch \x1b]52;c;cGF5bG9hZA==\x07 body.",
    )
    store(db, evil)
    db.close()
    for args in (["search", "launch"], ["history", evil.id]):
        capsys.readouterr()
        assert main([*args, "--db", str(db_path)]) == 0
        out = capsys.readouterr().out
        assert "Launch" in out
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", out), repr(out)
    assert printable("\x1b[1mlaunch\x1b[22m \x1b]0;x\x07") == "\x1b[1mlaunch\x1b[22m ]0;x"


def _datasette(path: Path, *, allow_sql: bool) -> Any:
    pytest.importorskip("datasette")
    from hkarchive.cli.serve import inspect_archive, make_datasette

    ds = make_datasette(inspect_archive(str(path)), allow_sql)
    asyncio.run(ds.invoke_startup())
    return ds


def _get(ds: Any, path: str, **params: str) -> tuple[int, str]:
    response = asyncio.run(ds.client.get(path, params=params))
    return response.status_code, response.text


WRITES = [
    "delete from articles",
    "update articles set title = 'changed'",
    "insert into crawl_runs (spider) values ('x')",
    "drop table articles",
    "select 1; delete from articles",
    "pragma journal_mode = delete",
    "attach database 'x.db' as x",
    "vacuum",
]


@pytest.mark.parametrize("allow_sql", [False, True], ids=["default", "--allow-sql"])
def test_datasette_refuses_every_write(allow_sql: bool, archive: Path, tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    db.write_bytes(archive.read_bytes())
    before = _content(db)
    ds = _datasette(db, allow_sql=allow_sql)
    status, _ = _get(ds, "/archive.json", sql="select count(*) from articles")
    assert status == (200 if allow_sql else 403)
    for sql in WRITES:
        status, body = _get(ds, "/archive.json", sql=sql)
        # Refused as not a SELECT (400), or as own SQL at all without --allow-sql (403).
        assert status in (400, 403), (sql, status, body[:300])
    for path in ("/archive/articles/-/insert", "/archive/-/create", "/archive/articles/-/drop"):
        response = asyncio.run(ds.client.post(path, json={"row": {"id": "x"}}))
        assert response.status_code >= 400, path
    # The connections datasette reads through cannot write even when asked directly.
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        asyncio.run(ds.get_database("archive").execute("delete from articles"))
    assert not any(query.get("write") for query in _canned_queries(ds))
    assert _content(db) == before


def test_datasette_refuses_sql_longer_than_its_limit(archive: Path) -> None:
    """A statement of 200 kB is refused before SQLite parses it (the limit is 100 kB); no URL
    carries one that long, so it is sent to the connection datasette serves from directly."""
    ds = _datasette(archive, allow_sql=True)
    database = ds.get_database("archive")
    rows = asyncio.run(database.execute("select 1 as one -- " + "x" * 50_000)).rows
    assert [tuple(row) for row in rows] == [(1,)]
    with pytest.raises(sqlite3.DataError, match="query string is too large"):
        asyncio.run(database.execute("select 1 as one -- " + "x" * 200_000))


def _canned_queries(ds: Any) -> list[dict[str, Any]]:
    databases = ds.metadata().get("databases") or {}
    return [q for d in databases.values() for q in (d.get("queries") or {}).values()]


def test_datasette_shows_hostile_html_sanitised_and_text_escaped(
    hostile_archive: Path, tmp_path: Path
) -> None:
    """Even an archive whose body_html was tampered with after sanitising is shown clean."""
    db = tmp_path / "archive.db"
    db.write_bytes(hostile_archive.read_bytes())
    payload = (HOSTILE / "payload.html").read_text(encoding="utf-8")
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE articles SET body_html = ? WHERE source = 'cairs'", [payload])
        conn.execute(
            "UPDATE articles SET title = ? WHERE source = 'cairs'",
            ["<script>alert('title')</script>"],
        )
    conn.close()
    ds = _datasette(db, allow_sql=False)
    (row_id,) = [r["id"] for r in _stored(db) if r["source"] == "cairs"]
    status, page = _get(ds, "/archive/articles/" + row_id.replace(":", "~3A").replace("/", "~2F"))
    assert status == 200
    shown = page.split('<details class="hk-html">', 1)[1].split("</details>", 1)[0]
    assert "Hostile paragraph one" in shown
    assert hostile_parts(shown) == []
    assert "<script>alert('title')" not in page
    assert "&lt;script&gt;alert(" in page
    # The table opens on its compact columns (a redirect); ?_all=1 shows them all.
    status, listing = _get(ds, "/archive/articles", _size="max", _all="1")
    assert status == 200
    assert "alert(" not in "".join(re.findall(r"<(?!/)[^>]*>", listing))
    # The reader's page of the item: its body sanitised again, its title escaped.
    status, read = _get(ds, "/-/article/" + row_id)
    assert status == 200
    text = read.split('<div class="hk-text">', 1)[1].split("</div>", 1)[0]
    assert "Hostile paragraph one" in text
    assert hostile_parts(text) == []
    assert "<script>alert('title')" not in read
    assert "&lt;script&gt;alert(" in read


MARKUP_NAME = "<img src=x onerror=alert('name')><script>alert('name')</script>"


def test_markup_in_captions_and_attachment_names_is_stored_as_text_and_shown_escaped(
    tmp_path: Path,
) -> None:
    """A real release whose photo caption and attachment name carry markup (as escaped text,
    the only way a page can show it): the archive keeps the text, datasette shows it escaped."""
    from tests.conftest import FIXTURES

    page = (FIXTURES / "govhk" / "P2019040900615" / "body.html").read_text(encoding="utf-8")
    escaped = html.escape(MARKUP_NAME)
    page = page.replace(
        "<span>Hong Kong's Role in the Guangdong-Hong Kong-Macao Greater Bay Area</span>",
        f"<span>{escaped}</span>",
    )
    caption = "The Chief Executive, Mrs Carrie Lam, this morning (April 9)"
    assert page.count(caption) >= 2  # the link's title and the image's alt
    page = page.replace(caption, escaped)
    url = "https://www.info.gov.hk/gia/general/201904/09/P2019040900615.htm"
    response = TextResponse(url=url, body=page.encode(), headers={"Content-Type": "text/html"})
    [article] = extract_items("govhk", response, [])
    db_path = tmp_path / "archive.db"
    with open_archive(db_path) as db:
        upsert_article(db, normalize_article(article), seen_at=SEEN, run_id=None)
    conn = sqlite3.connect(db_path)
    titles = [r[0] for r in conn.execute("SELECT title FROM attachments")]
    captions = [r[0] for r in conn.execute("SELECT caption FROM images")]
    conn.close()
    assert MARKUP_NAME in titles
    assert any(c.startswith(MARKUP_NAME) for c in captions), captions
    ds = _datasette(db_path, allow_sql=False)
    for path in (
        "/archive/attachments",
        "/archive/images",
        "/archive/articles/govhk~3AP2019040900615",
    ):
        status, shown = _get(ds, path)
        assert status == 200, path
        assert "onerror=alert('name')" not in "".join(re.findall(r"<(?!/)[^>]*>", shown)), path
        assert "<script>alert('name')" not in shown, path
        if "/articles/" not in path:  # the article's page shows neither
            assert "&lt;script&gt;alert(" in shown, path  # shown, as text
