"""`hkarchive query`: the user's SQL on the archive, read-only, in every output format."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from hkarchive.cli import main
from newsarchive.archive import open_archive
from newsarchive.articles import upsert_article
from tests.test_archive import make_article

SEEN = "2026-01-01T00:00:00+08:00"
SELECT = "select id, lang, title from articles where lang = :lang order by id"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Two English items and a Chinese one."""
    path = tmp_path / "archive.db"
    with open_archive(path) as db:
        for native_id, lang, title in (
            ("P1", "en", "First"),
            ("P2", "en", "Second"),
            ("P3", "zh", "創新香港"),
        ):
            article = make_article(native_id=native_id, lang=lang, title=title)
            upsert_article(db, article, seen_at=SEEN, run_id=None)
    return path


def query(
    capsys: pytest.CaptureFixture[str], *args: str, db: Path | None = None
) -> tuple[int, str, str]:
    code = main(["query", *args, *(["--db", str(db)] if db else [])])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_select_with_parameters_in_every_format(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = query(capsys, SELECT, "--param", "lang", "en", db=db_path)
    assert code == 0
    assert out.splitlines() == [
        "id        lang  title",
        "govhk:P1  en    First",
        "govhk:P2  en    Second",
    ]
    expected = [
        {"id": "govhk:P1", "lang": "en", "title": "First"},
        {"id": "govhk:P2", "lang": "en", "title": "Second"},
    ]
    assert json.loads(query(capsys, SELECT, "--param", "lang", "en", "--format", "json",
                            db=db_path)[1]) == expected  # fmt: skip
    jsonl = query(capsys, SELECT, "--param", "lang", "en", "--format", "jsonl", db=db_path)[1]
    assert [json.loads(line) for line in jsonl.splitlines()] == expected
    rows = query(capsys, SELECT, "--param", "lang", "en", "--format", "csv", db=db_path)[1]
    assert list(csv.DictReader(io.StringIO(rows))) == expected
    chinese = query(capsys, SELECT, "--param", "lang", "zh", "--format", "jsonl", db=db_path)[1]
    assert json.loads(chinese)["title"] == "創新香港"
    assert "創新香港" in chinese


def test_several_parameters_and_the_archive_from_the_environment(
    db_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HKARCHIVE_DB", str(db_path))
    sql = "select count(*) as n from articles where lang = :lang and title <> :not"
    code, out, _ = query(capsys, sql, "--param", "lang", "en", "--param", "not", "First",
                         "--format", "json")  # fmt: skip
    assert (code, json.loads(out)) == (0, [{"n": 1}])


WRITES = {
    "insert": "insert into crawl_runs (spider) values ('x')",
    "update": "update articles set title = 'x'",
    "delete": "delete from articles",
    "delete in a CTE": "with x as (select 1) delete from articles",
    "create": "create table t (x)",
    "create temp": "create temp table t (x)",
    "drop": "drop table articles",
    "alter": "alter table articles add column x",
    "attach": "attach database 'other.db' as other",
    "pragma write": "pragma user_version = 1",
    "pragma journal mode": "pragma journal_mode = delete",
    "vacuum into": "vacuum into 'copy.db'",
    "schema": "update sqlite_master set sql = ''",
}


@pytest.mark.parametrize("sql", WRITES.values(), ids=WRITES.keys())
def test_a_write_is_refused_with_one_line_and_changes_nothing(
    db_path: Path, sql: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(db_path.parent)
    before = db_path.read_bytes()
    files = {p.name for p in db_path.parent.iterdir()}
    code, out, err = query(capsys, sql, db=db_path)
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1 and err.startswith("hkarchive: error: ")
    assert db_path.read_bytes() == before
    # No other database was made (an attached or vacuumed copy).
    assert sorted(p.name for p in db_path.parent.iterdir() if p.suffix == ".db") == ["archive.db"]
    left = {p.name for p in db_path.parent.iterdir()}
    assert left <= {*files, "archive.db-wal", "archive.db-shm"}
    with open_archive(db_path, create=False) as db:
        assert db.execute("select count(*) from articles").fetchone()[0] == 3
        assert db.execute("select count(*) from crawl_runs").fetchone()[0] == 0


def test_reading_pragmas_and_full_text_search_are_allowed(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = query(capsys, "pragma table_info(articles)", "--format", "jsonl", db=db_path)
    assert code == 0 and '"name": "url"' in out
    sql = (
        "select a.id from articles_search s join articles a on a.search_key = s.rowid "
        "where articles_search match 'second'"
    )
    assert query(capsys, sql, "--format", "csv", db=db_path)[:2] == (0, "id\r\ngovhk:P2\r\n")


BAD = {
    "syntax": ("select nothing from", "syntax error"),
    "no such table": ("select * from nowhere", "no such table: nowhere"),
    "two statements": ("select 1; select 2", "one statement"),
    "missing parameter": ("select :missing", ":missing"),
}


@pytest.mark.parametrize(("sql", "message"), BAD.values(), ids=BAD.keys())
def test_bad_sql_is_a_usage_error_in_one_line(
    db_path: Path, sql: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = query(capsys, sql, db=db_path)
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1 and message in err


def test_a_missing_archive_is_a_runtime_error_and_is_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "none.db"
    code, out, err = query(capsys, "select 1", db=missing)
    assert (code, out) == (1, "")
    assert err == (
        f"hkarchive: error: no archive at {missing} (use --db PATH or set HKARCHIVE_DB)\n"
    )
    assert not missing.exists()
