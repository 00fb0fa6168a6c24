"""`hkarchive serve`: the demo archive in datasette, read-only, with its metadata and queries."""

from __future__ import annotations

import json
import os
import re
import selectors
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from markupsafe import escape

from hkarchive.cli.serve import METADATA_FILE
from newsarchive.archive import open_archive
from tests.conftest import REPO_ROOT, run_cli

# Runs `hkarchive` with `serve` registered even before cli.py registers it itself.
LAUNCHER = """
import sys
from hkarchive.cli import cli, main
from hkarchive.cli.serve import serve
if "serve" not in cli.commands:
    cli.add_command(serve)
sys.exit(main(sys.argv[1:]))
"""
STARTUP_SECONDS = 60
INNOHK_ZH = "InnoHK創新香港研發平台啟動典禮圓滿舉行"
INNOHK_EN_ID = "govhk:P2022052500588"
INNOHK_ZH_ID = "govhk:P2022052500584"
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")


def cjk_grams(text: str) -> str:
    """Text with each run of Chinese characters indexed as its characters and their pairs."""

    def grams(match: re.Match[str]) -> str:
        run = match.group()
        return " " + " ".join([*run, *(run[i : i + 2] for i in range(len(run) - 1))]) + " "

    return CJK.sub(grams, text)


def add_search_stand_in(db: Path) -> None:
    """A stand-in articles_search (FTS5, rowid = articles.rowid) where the archive has none.

    Chinese runs are indexed as characters and character pairs, so datasette's quoted search
    for one- and two-character words ("創新") matches, as the real index must.
    """
    conn = sqlite3.connect(db)
    try:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'articles_search'").fetchone():
            return
        conn.create_function("cjk_grams", 1, cjk_grams)
        with conn:
            conn.execute("CREATE VIRTUAL TABLE articles_search USING fts5(title, body)")
            conn.execute(
                "INSERT INTO articles_search (rowid, title, body) "
                "SELECT rowid, cjk_grams(title), cjk_grams(body_text) FROM articles"
            )
    finally:
        conn.close()


def add_sample_rows(db: Path) -> None:
    """A translation pair and an earlier version, which the demo crawl does not make."""
    conn = sqlite3.connect(db)
    try:
        with conn:
            conn.execute(
                "INSERT OR IGNORE INTO translation_pairs (en_id, zh_id, confidence, evidence, "
                "paired_at) VALUES (?, ?, 0.97, 'same day, time and photos', "
                "'2022-05-26T09:00:00+08:00')",
                [INNOHK_EN_ID, INNOHK_ZH_ID],
            )
            conn.execute(
                "INSERT OR IGNORE INTO article_versions (article_id, version, fetched_at, "
                "title, published_at, body_text, content_hash, run_id) "
                "SELECT id, 1, first_seen_at, 'An earlier headline', published_at, "
                "'An earlier body.', '0000', first_run_id FROM articles WHERE id = ?",
                [INNOHK_EN_ID],
            )
    finally:
        conn.close()


def demo_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo crawl's archive with the sample rows, built once per test session."""
    db = tmp_path_factory.getbasetemp() / "serve-archive" / "archive.db"
    if not db.exists():
        building = tmp_path_factory.mktemp("serve-build") / "archive.db"
        result = run_cli("demo", "--db", str(building))
        assert result.code == 0, result.stderr[-3000:]
        add_search_stand_in(building)
        add_sample_rows(building)
        db.parent.mkdir(exist_ok=True)
        shutil.move(building, db)
    return db


@dataclass
class Server:
    """A running `hkarchive serve` child process."""

    url: str
    process: subprocess.Popen[str]
    stderr: Path

    def get(self, path: str, **params: str) -> tuple[int, str]:
        """GET a path below the server's root: (status, body), also for 4xx answers."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        try:
            with urllib.request.urlopen(self.url + path.lstrip("/") + query, timeout=30) as r:
                return r.status, r.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8")

    def json(self, path: str, **params: str) -> Any:
        status, body = self.get(path, **params)
        assert status == 200, f"{path}: {status} {body[:500]}"
        return json.loads(body)


def serve_command(*args: str) -> list[str]:
    return [sys.executable, "-c", LAUNCHER, "serve", *args]


def child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("HKARCHIVE_")}


def _announced_url(process: subprocess.Popen[str], stderr: Path) -> str:
    """The URL `serve` prints once its socket listens; fails when the child ends first."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout=STARTUP_SECONDS):
            pytest.fail(f"serve printed nothing in {STARTUP_SECONDS}s: {stderr.read_text()}")
    line = process.stdout.readline()
    match = re.search(r"at (http://\S+/) ", line)
    assert match, f"no URL in {line!r}; stderr: {stderr.read_text()[-3000:]}"
    return match.group(1)


def wait_until_ready(server: Server) -> None:
    """Poll the server until it answers (the socket listens before the URL is printed)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            status, _ = server.get("-/versions.json")
        except OSError:
            status = 0
        if status == 200:
            return
        assert server.process.poll() is None, server.stderr.read_text()[-3000:]
        assert time.monotonic() < deadline, "serve did not answer in time"
        time.sleep(0.05)


@contextmanager
def serving(db: Path, log_dir: Path, *args: str) -> Iterator[Server]:
    """`hkarchive serve --port 0` on db until the block ends, then Ctrl-C (SIGINT)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    stderr = log_dir / "serve.stderr"
    with stderr.open("w") as err:
        process = subprocess.Popen(
            serve_command("--db", str(db), "--port", "0", *args),
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            cwd=REPO_ROOT,
            env=child_env(),
        )
    drain: threading.Thread | None = None
    try:
        server = Server(_announced_url(process, stderr), process, stderr)
        # Whatever the server prints next (datasette prints a traceback of every failed query
        # when rich is installed) must not fill the pipe and stop it.
        drain = threading.Thread(target=_drain, args=(process, log_dir / "serve.stdout"))
        drain.start()
        wait_until_ready(server)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if drain is not None:
            drain.join(timeout=30)
        assert process.stdout is not None
        process.stdout.close()


def _drain(process: subprocess.Popen[str], log: Path) -> None:
    assert process.stdout is not None
    with log.open("w", encoding="utf-8") as out:
        for line in process.stdout:
            out.write(line)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_archive(tmp_path_factory)


@pytest.fixture(scope="module")
def server(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(archive, tmp_path_factory.mktemp("serve")) as running:
        yield running


@pytest.fixture(scope="module")
def sql_server(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serving(archive, tmp_path_factory.mktemp("serve-sql"), "--allow-sql") as running:
        yield running


def count(db: Path, sql: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def shipped_metadata() -> dict[str, Any]:
    metadata: dict[str, Any] = yaml.safe_load(METADATA_FILE.read_text(encoding="utf-8"))
    return metadata


def shipped_queries() -> list[str]:
    return list(shipped_metadata()["databases"]["archive"]["queries"])


def test_no_canned_query_hides_a_table() -> None:
    database = shipped_metadata()["databases"]["archive"]
    tables = set(database["tables"]) | {"articles_search", "articles_fts"}
    assert not tables & set(database["queries"])


def query_rows(server: Server, name: str, **params: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = server.json(f"archive/{name}.json", _shape="array", **params)
    return rows


def test_serve_is_a_command_of_hkarchive() -> None:
    result = run_cli("serve", "--help")
    assert result.code == 0, result.stderr
    assert "--allow-sql" in result.stdout


def test_demo_archive_indexes_every_article_for_search(archive: Path) -> None:
    indexed = count(archive, "SELECT count(*) FROM articles_search")
    assert indexed == count(archive, "SELECT count(*) FROM articles"), (
        "articles_search does not hold every article of the demo crawl"
    )


def test_home_page_shows_the_title_description_and_sources(server: Server) -> None:
    status, html = server.get("")
    assert status == 200
    assert "<h1>HK News Archive</h1>" in html
    assert "InnoHK research centres" in html
    assert "GovHK press releases (info.gov.hk)" in html
    metadata = server.json("-/metadata.json")
    assert metadata["title"] == "HK News Archive"


def test_articles_are_sorted_newest_first_with_the_shipped_facets(
    server: Server, archive: Path
) -> None:
    data = server.json("archive/articles.json", _shape="objects", _size="100")
    dates = [row["published_at"] for row in data["rows"]]
    assert len(dates) == count(archive, "SELECT count(*) FROM articles")
    assert dates == sorted(dates, reverse=True)
    facets = {(f["name"], f["type"]): f for f in data["facet_results"].values()}
    # The months come once a year is chosen: every year's would push the rows off the screen.
    assert set(facets) == {
        ("source", "column"),
        ("lang", "column"),
        ("published_at", "year"),
        ("category", "column"),
    }
    years = {r["value"]: r["count"] for r in facets["published_at", "year"]["results"]}
    assert years["2022"] == count(
        archive, "SELECT count(*) FROM articles WHERE published_at LIKE '2022%'"
    )
    in_2022 = server.json(
        "archive/articles.json", _shape="objects", published_at__startswith="2022"
    )
    facets = {(f["name"], f["type"]): f for f in in_2022["facet_results"].values()}
    months = [r["value"] for r in facets["published_at", "month"]["results"]]
    assert "2022-05" in months
    assert months == sorted(months, reverse=True)
    sources = {r["value"] for r in facets["source", "column"]["results"]}
    assert sources == {"govhk", "cairs", "cpii", "smartcity"}


def test_choosing_a_month_filters_the_articles(server: Server, archive: Path) -> None:
    data = server.json("archive/articles.json", _shape="objects", published_at__startswith="2022")
    month = next(
        value
        for facet in data["facet_results"].values()
        if facet["type"] == "month"
        for value in facet["results"]
        if value["value"] == "2022-05"
    )
    toggle = urllib.parse.urlsplit(month["toggle_url"])
    assert "published_at__startswith=2022-05" in toggle.query
    chosen = server.json(f"{toggle.path}?{toggle.query}")
    assert chosen["filtered_table_rows_count"] == month["count"]
    assert {row["published_at"][:7] for row in chosen["rows"]} == {"2022-05"}


def test_columns_are_described(server: Server) -> None:
    status, html = server.get("archive/articles")
    assert status == 200
    assert 'data-column-description="When it was published' in html


@pytest.mark.parametrize("word", ["創新", "典禮", "港"])
def test_search_box_finds_chinese_words(server: Server, word: str) -> None:
    data = server.json("archive/articles.json", _search=word, _shape="objects")
    titles = [row["title"] for row in data["rows"]]
    assert any(title.startswith(INNOHK_ZH) for title in titles), titles
    assert all(row["lang"] == "zh" for row in data["rows"])


def test_search_box_finds_english_words(server: Server) -> None:
    data = server.json("archive/articles.json", _search="InnoHK Launch", _shape="objects")
    ids = {row["id"] for row in data["rows"]}
    assert INNOHK_EN_ID in ids
    _, html = server.get("archive/articles")
    assert '<input id="_search"' in html


def test_search_box_of_an_archive_without_the_chinese_index_uses_the_english_one(
    tmp_path: Path,
) -> None:
    db = tmp_path / "old.db"
    open_archive(db).close()
    conn = sqlite3.connect(db)
    conn.execute("DROP TABLE IF EXISTS articles_search")
    conn.close()
    with serving(db, tmp_path / "logs") as old:
        data = old.json("old/articles.json", _search="InnoHK")
        assert data["rows"] == []
        assert old.json("old/search.json", q="InnoHK")["rows"] == []
        _, home = old.get("")
        assert 'href="/old/articles"' in home
        assert 'href="/old"' in home
    assert "no Chinese search index (articles_search)" in old.stderr.read_text()


@pytest.mark.parametrize("name", shipped_queries())
def test_every_canned_query_answers_json(server: Server, name: str) -> None:
    data = server.json(f"archive/{name}.json", q="創新")
    assert data["ok"] is True
    assert data["columns"]


def test_latest_items_per_source(server: Server) -> None:
    rows = query_rows(server, "latest_by_source")
    per_source = {
        source: [r for r in rows if r["source"] == source] for source in ("govhk", "cairs", "cpii")
    }
    assert {s: len(r) for s, r in per_source.items()} == {"govhk": 10, "cairs": 5, "cpii": 5}
    govhk = [r["published_at"] for r in per_source["govhk"]]
    assert govhk == sorted(govhk, reverse=True)


@pytest.mark.parametrize(
    ("q", "expected"),
    # A stray quote is no FTS syntax error: q is searched for as a phrase.
    [
        ("創新", INNOHK_ZH_ID),
        ("研發平台", INNOHK_ZH_ID),  # longer than the box's two characters
        ("InnoHK", INNOHK_EN_ID),
        ('Launch "Ceremony', INNOHK_EN_ID),
    ],
)
def test_search_query_finds_both_languages(server: Server, q: str, expected: str) -> None:
    rows = query_rows(server, "search", q=q)
    assert expected in {r["article_id"] for r in rows}


def test_stories_told_by_more_than_one_source(server: Server) -> None:
    rows = query_rows(server, "stories_across_sources")
    assert [(r["original_id"], r["sources"]) for r in rows] == [
        (INNOHK_EN_ID, "cairs,cpii,govhk,smartcity"),
        # The Chinese release, republished by the bilingual site in Chinese.
        ("govhk:P2022052500584", "govhk,smartcity"),
    ]
    assert "cairs: InnoHK Launch Ceremony" in rows[0]["republications"]


def test_english_chinese_pairs(server: Server) -> None:
    rows = query_rows(server, "english_chinese_pairs")
    pairs = {r["en_id"]: r for r in rows}
    assert INNOHK_EN_ID in pairs, "the demo crawl pairs the InnoHK release with its twin"
    assert pairs[INNOHK_EN_ID]["zh_id"] == INNOHK_ZH_ID
    assert pairs[INNOHK_EN_ID]["zh_title"].startswith(INNOHK_ZH)
    assert len({r["zh_id"] for r in rows}) == len(rows), "each Chinese item pairs once"


def test_items_with_photos(server: Server, archive: Path) -> None:
    rows = query_rows(server, "items_with_photos")
    assert len(rows) == count(archive, "SELECT count(DISTINCT article_id) FROM images")
    assert all(r["photos"] >= 1 and r["thumbnail_url"].startswith("http") for r in rows)


def test_recent_revisions_and_crawl_runs(server: Server, archive: Path) -> None:
    revisions = query_rows(server, "recent_revisions")
    assert [(r["article_id"], r["earlier_title"]) for r in revisions] == [
        (INNOHK_EN_ID, "An earlier headline")
    ]
    runs = query_rows(server, "recent_crawl_runs")
    assert len(runs) == count(archive, "SELECT count(*) FROM crawl_runs")
    assert {r["spider"] for r in runs} == {"govhk", "cairs", "cpii", "smartcity"}


def test_own_sql_is_refused_without_allow_sql(server: Server) -> None:
    status, _ = server.get("archive.json", sql="select count(*) from articles")
    assert status == 403
    _, html = server.get("archive")
    assert "<textarea" not in html
    assert server.json("-/metadata.json").get("allow_sql") is None


def test_own_sql_runs_with_allow_sql(sql_server: Server, archive: Path) -> None:
    rows = sql_server.json("archive.json", sql="select count(*) as n from articles", _shape="array")
    assert rows == [{"n": count(archive, "SELECT count(*) FROM articles")}]


@pytest.mark.parametrize(
    "sql",
    [
        "delete from articles",
        "update articles set title = 'changed'",
        "insert into crawl_runs (spider) values ('x')",
        "drop table articles",
        "select 1; delete from articles",
        "pragma journal_mode = delete",
    ],
)
def test_write_sql_is_refused_even_with_allow_sql(
    sql_server: Server, archive: Path, sql: str
) -> None:
    before = count(archive, "SELECT count(*) FROM articles")
    status, body = sql_server.get("archive.json", sql=sql)
    assert status == 400, body[:500]
    assert count(archive, "SELECT count(*) FROM articles") == before
    assert count(archive, "SELECT count(*) FROM articles WHERE title = 'changed'") == 0


def peak_memory_mb(pid: int) -> int | None:
    """The most memory a process has held at once so far (VmHWM), in MB; None without /proc."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(match[1]) // 1024 if match else None


# Queries that asked a server without limits for 1 GB, 300 MB and 500 MB.
HUNGRY_SQL = {
    "one value of 1 GB": ("select length(randomblob(1000000000))", "string or blob too big"),
    "300 rows of 1 MB": (
        "with recursive n(i) as (select 1 union all select i + 1 from n limit 300) "
        "select zeroblob(1000000) as z from n",
        "query result over 64 MB",
    ),
    "a row of 64 values of 4 MB": (
        "select " + ", ".join(["zeroblob(4000000)"] * 64),
        "more memory than this server allows",
    ),
}


@pytest.mark.parametrize(("sql", "reason"), HUNGRY_SQL.values(), ids=HUNGRY_SQL.keys())
def test_own_sql_cannot_take_the_servers_memory(
    archive: Path, tmp_path: Path, sql: str, reason: str
) -> None:
    with serving(archive, tmp_path, "--allow-sql") as fresh:
        before = peak_memory_mb(fresh.process.pid)
        status, body = fresh.get("archive.json", sql=sql)
        after = peak_memory_mb(fresh.process.pid)
        assert status == 400, body[:500]
        assert reason in json.loads(body)["error"]
        if before is not None and after is not None:
            assert after - before < 200, f"the query took {after - before} MB"
        assert fresh.json("archive.json", sql="select 1 as one", _shape="array") == [{"one": 1}]


def test_own_sql_that_never_ends_is_stopped_by_the_time_limit(sql_server: Server) -> None:
    """Datasette's time limit (a progress handler) still holds over the plugin's limits, for
    a query whose every step builds the largest value allowed."""
    sql = (
        "with recursive n(i) as (select 1 union all select i + 1 from n) "
        "select count(*) from n where length(randomblob(4000000)) > 0"
    )
    started = time.monotonic()
    status, body = sql_server.get("archive.json", sql=sql)
    assert status == 400, body[:500]
    assert "took too long" in json.loads(body)["error"]
    assert time.monotonic() - started < 20


def test_new_rows_show_while_serving(tmp_path: Path, archive: Path) -> None:
    db = tmp_path / "archive.db"
    shutil.copy(archive, db)
    with serving(db, tmp_path / "logs") as live:
        before = live.json("archive/crawl_runs.json", _shape="objects")["filtered_table_rows_count"]
        # As a crawl writes: WAL mode, one committed transaction.
        with open_archive(db) as writer:
            writer.execute("INSERT INTO crawl_runs (spider, status) VALUES ('govhk', 'running')")
            writer.conn.commit()
        after = live.json("archive/crawl_runs.json", _shape="objects")
        assert after["filtered_table_rows_count"] == before + 1


def test_bodies_are_readable_and_photos_are_thumbnails(server: Server) -> None:
    status, html = server.get("archive/articles/" + INNOHK_EN_ID.replace(":", "~3A"))
    assert status == 200
    assert re.search(r'<div class="hk-body">[^<]*\n\n', html), "body_text keeps its paragraphs"
    assert '<details class="hk-html"><summary>HTML, ' in html
    assert "<script" not in html.split('<details class="hk-html">', 1)[1].split("</details>")[0]
    status, html = server.get("archive/images", article_id=INNOHK_EN_ID)
    assert '<img class="hk-thumb" src="https://' in html
    status, css = server.get("-/hkarchive.css")
    assert status == 200 and "white-space: pre-wrap" in css


def test_query_results_link_article_ids_to_their_rows(server: Server) -> None:
    _, html = server.get("archive/search", q="創新")
    assert 'href="/archive/articles/govhk~3AP2022052500584"' in html


def test_ctrl_c_stops_the_server_cleanly(archive: Path, tmp_path: Path) -> None:
    with serving(archive, tmp_path) as running:
        host, port = (
            urllib.parse.urlsplit(running.url).hostname,
            urllib.parse.urlsplit(running.url).port,
        )
        running.process.send_signal(signal.SIGINT)
        assert running.process.wait(timeout=30) == 0, running.stderr.read_text()
    # What it printed after its URL, read from its pipe while it ran.
    assert (tmp_path / "serve.stdout").read_text(encoding="utf-8").strip() == "stopped"
    with pytest.raises(OSError):
        socket.create_connection((host, port), timeout=5).close()


def test_missing_datasette_is_one_line_telling_how_to_install_it(archive: Path) -> None:
    blocked = "import sys; sys.modules['datasette'] = None\n" + LAUNCHER
    done = subprocess.run(
        [sys.executable, "-c", blocked, "serve", "--db", str(archive)],
        capture_output=True, text=True, cwd=REPO_ROOT, env=child_env(), timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        'hkarchive: error: datasette is not installed: pip install "hkarchive[serve]" '
        '(from a checkout: pip install -e ".[serve]")'
    ]


def test_a_missing_archive_or_a_busy_port_is_one_line(tmp_path: Path, archive: Path) -> None:
    done = subprocess.run(
        serve_command("--db", str(tmp_path / "none.db")),
        capture_output=True, text=True, cwd=REPO_ROOT, env=child_env(), timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith("hkarchive: error: no archive at ")
    assert not (tmp_path / "none.db").exists()
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = str(busy.getsockname()[1])
        done = subprocess.run(
            serve_command("--db", str(archive), "--port", port),
            capture_output=True, text=True, cwd=REPO_ROOT, env=child_env(), timeout=120,
            check=False,
        )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"hkarchive: error: cannot serve on 127.0.0.1:{port}: Address already in use"
    ]


def test_downloaded_photos_are_served_from_the_media_folder(tmp_path: Path, archive: Path) -> None:
    db = tmp_path / "archive.db"
    shutil.copy(archive, db)
    (tmp_path / "media" / "full").mkdir(parents=True)
    (tmp_path / "media" / "full" / "0a4f.jpg").write_text("a photo")
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "UPDATE images SET local_path = 'media/full/0a4f.jpg' "
            "WHERE article_id = ? AND position = 1",
            [INNOHK_EN_ID],
        )
    conn.close()
    with serving(db, tmp_path / "logs") as media:
        _, html = media.get("archive/images", article_id=INNOHK_EN_ID)
        assert '<a href="/media/full/0a4f.jpg">media/full/0a4f.jpg</a>' in html
        assert media.get("media/full/0a4f.jpg") == (200, "a photo")
        assert media.get("media/../archive.db")[0] == 404
        # The thumbnail and the reader show the archive's copy, so they show offline.
        assert '<img class="hk-thumb" src="/media/full/0a4f.jpg"' in html
        _, page = media.get("-/article/" + INNOHK_EN_ID)
        assert '<a href="/media/full/0a4f.jpg"><img src="/media/full/0a4f.jpg"' in page


# --- The reader ---------------------------------------------------------------------------------


def test_articles_table_opens_on_its_compact_columns(server: Server) -> None:
    request = urllib.request.Request(server.url + "archive/articles?_search=InnoHK")
    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as answer:
        opener.open(request, timeout=30)
    answer.value.close()
    assert answer.value.code == 302
    location = urllib.parse.urlsplit(answer.value.headers["Location"])
    args = urllib.parse.parse_qs(location.query)
    assert args["_search"] == ["InnoHK"]
    assert args["_col"] == ["published_at", "source", "lang", "title", "body_text"]
    status, html = server.get("archive/articles")  # the redirect followed
    headers = re.findall(r'<th [^>]*class="col-([a-z_]+)', html)
    assert {"published_at", "source", "lang", "title", "body_text"} <= set(headers)
    assert not {"etag", "content_hash", "extraction", "next_visit_at"} & set(headers)
    assert 'class="hk-read" href="/-/article/govhk:P2022052500588"' in html
    # Every column is one link away, and a choice of columns is kept as given.
    status, every = server.get("archive/articles", _all="1")
    assert status == 200
    assert {"etag", "content_hash", "extraction"} <= set(
        re.findall(r'<th [^>]*class="col-([a-z_]+)', every)
    )
    status, chosen = server.get("archive/articles", _col="title")
    assert "col-body_text" not in chosen


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def test_article_page_reads_like_the_original(server: Server) -> None:
    status, html = server.get("-/article/govhk:P2022052500588")
    assert status == 200
    assert '<h1 class="hk-headline">InnoHK Launch Ceremony concludes with great success' in html
    assert '<time datetime="2022-05-25T20:20:00+08:00">25 May 2022, 20:20 HKT</time>' in html
    assert 'href="https://www.info.gov.hk/gia/general/202205/25/P2022052500588.htm"' in html
    assert 'class="hk-translation" href="/-/article/govhk:P2022052500584"' in html
    assert html.count('<figure class="hk-photo">') == 4
    assert html.count("<figcaption>") == 4
    # The story: the CAiRS and CPII republications, linked with their similarity.
    assert 'href="/-/article/cairs:en/36"' in html
    assert 'href="/-/article/cpii:2022/06/02/innohk-launch-ceremony"' in html
    # The sample earlier version, with what changed.
    assert "Version 1" in html
    assert '<div class="hk-diff-del">An earlier body.</div>' in html


def test_article_page_in_chinese(server: Server) -> None:
    status, html = server.get("-/article/govhk:P2022052500584")
    assert status == 200
    assert f'<h1 class="hk-headline">{INNOHK_ZH}' in html
    assert 'lang="zh-Hant-HK"' in html
    assert "2022年5月25日 20:20（香港時間）" in html
    assert 'class="hk-translation" href="/-/article/govhk:P2022052500588"' in html


def test_article_page_of_an_unknown_item_is_not_found(server: Server) -> None:
    status, html = server.get("-/article/govhk:P1999")
    assert status == 404
    assert "govhk:P1999" in html


@pytest.mark.parametrize(("query", "title"), [("創新", INNOHK_ZH), ("InnoHK", "InnoHK Launch")])
def test_search_page_finds_both_languages_with_snippets(
    server: Server, query: str, title: str
) -> None:
    status, html = server.get("-/search", q=query)
    assert status == 200
    hits = re.findall(r'<a class="hk-hit-title" href="([^"]+)">([^<]+)</a>', html)
    assert any(found.startswith(title) for _, found in hits), hits
    assert all(href.startswith("/-/article/") for href, _ in hits)
    assert f"<mark>{query}</mark>" in html


def test_search_page_says_what_is_wrong_with_a_query(server: Server) -> None:
    status, html = server.get("-/search", q='"unclosed')
    assert status == 200
    assert 'class="hk-error"' in html


def test_every_demo_article_opens_in_the_reader(server: Server, archive: Path) -> None:
    conn = sqlite3.connect(archive)
    try:
        rows = conn.execute("SELECT id, title FROM articles ORDER BY id").fetchall()
    finally:
        conn.close()
    assert len(rows) > 50
    for ident, title in rows:
        status, html = server.get("-/article/" + urllib.parse.quote(ident, safe="/:"))
        assert status == 200, ident
        assert f'<h1 class="hk-headline">{escape(title)}</h1>' in html, ident
