"""The archive: schema and migrations, and upserts that never leave half an item behind."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from crawler.items import Article, Link, Photo
from pipelines import archive
from pipelines.archive import ArchiveError, open_archive, upsert_article
from pipelines.normalize import normalize_article
from pipelines.schema import MIGRATIONS, schema_version


def make_article(**changes: object) -> Article:
    article = Article(
        source="govhk",
        native_id="P2022052500588",
        url="http://www.info.gov.hk/gia/general/202205/25/P2022052500588.htm?fontSize=1",
        lang="en",
        title="InnoHK Launch Ceremony concludes with great success (with photos/video)",
        published_at="2022-05-25T20:20:00+08:00",
        body_text="The InnoHK Launch Ceremony was successfully held today (May 25).",
        body_html="<p>The InnoHK Launch Ceremony was successfully held today (May 25).</p>",
        photos=[Photo("https://gia.info.gov.hk/p1.jpg", "https://gia.info.gov.hk/p1t.jpg", "CE")],
        related=[Link("https://www.info.gov.hk/gia/general/202205/25/P2022052500500.htm", "x")],
    )
    for key, value in changes.items():
        setattr(article, key, value)
    return normalize_article(article)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "archive.db"


def test_new_archive_has_every_table_in_wal_mode(db_path: Path) -> None:
    db = open_archive(db_path)
    tables = set(db.table_names())
    assert {"articles", "images", "attachments", "videos", "related_links", "crawl_runs"} <= tables
    assert "articles_fts" in tables
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert schema_version(db) == len(MIGRATIONS)


def test_reopening_migrates_nothing_and_keeps_rows(db_path: Path) -> None:
    db = open_archive(db_path)
    upsert_article(db, make_article(), seen_at="2026-01-01T00:00:00+08:00", run_id=None)
    db.close()
    again = open_archive(db_path)
    assert again.table("articles").count == 1
    assert schema_version(again) == len(MIGRATIONS)


def test_archive_from_a_newer_version_is_refused(db_path: Path) -> None:
    open_archive(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(ArchiveError, match="newer"):
        open_archive(db_path)


def test_upsert_inserts_then_only_moves_last_seen_when_unchanged(db_path: Path) -> None:
    db = open_archive(db_path)
    first = make_article()
    assert upsert_article(db, first, seen_at="2026-01-01T00:00:00+08:00", run_id=1) == "new"
    before = db.table("articles").get(first.id)
    again = make_article(body_html="<div>same text, other markup</div>")
    assert upsert_article(db, again, seen_at="2026-01-02T00:00:00+08:00", run_id=2) == "unchanged"
    after = db.table("articles").get(first.id)
    assert after.pop("last_seen_at") == "2026-01-02T00:00:00+08:00"
    assert after.pop("last_run_id") == 2
    assert before.pop("last_seen_at") == "2026-01-01T00:00:00+08:00"
    before.pop("last_run_id")
    assert after == before, "unchanged content must stay untouched, markup included"
    assert after["url"] == "https://www.info.gov.hk/gia/general/202205/25/P2022052500588.htm"


def test_changed_content_updates_row_and_replaces_media(db_path: Path) -> None:
    db = open_archive(db_path)
    upsert_article(db, make_article(), seen_at="2026-01-01T00:00:00+08:00", run_id=1)
    changed = make_article(title="Corrected title", photos=[])
    assert upsert_article(db, changed, seen_at="2026-01-03T00:00:00+08:00", run_id=2) == "updated"
    row = db.table("articles").get(changed.id)
    assert row["title"] == "Corrected title"
    assert row["first_seen_at"] == "2026-01-01T00:00:00+08:00"
    assert row["last_changed_at"] == "2026-01-03T00:00:00+08:00"
    assert db.table("images").count == 0
    assert db.table("related_links").count == 1


def test_failure_inside_an_upsert_leaves_nothing(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = open_archive(db_path)

    def explode(*args: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(archive, "_replace_children", explode)
    with pytest.raises(RuntimeError):
        upsert_article(db, make_article(), seen_at="2026-01-01T00:00:00+08:00", run_id=1)
    assert db.table("articles").count == 0
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_full_text_search_finds_stemmed_english(db_path: Path) -> None:
    db = open_archive(db_path)
    upsert_article(db, make_article(), seen_at="2026-01-01T00:00:00+08:00", run_id=1)
    hits = db.execute(
        "SELECT a.id FROM articles_fts JOIN articles a ON a.rowid = articles_fts.rowid "
        "WHERE articles_fts MATCH ?",
        ["concluding"],  # the title says "concludes"
    ).fetchall()
    assert hits == [("govhk:P2022052500588",)]


def test_directory_is_not_an_archive(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="directory"):
        open_archive(tmp_path)
