"""The contentless search index: rows removed exactly as indexed, snippets as with the text stored.

FTS5 removes a contentless row only given the values it was indexed from; a wrong removal
corrupts the index without an error (``integrity-check`` does not see it). These tests compare
every token instance the index holds, as fts5vocab lists them, with those of a fresh rebuild.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from newsarchive.archive import open_archive
from newsarchive.articles import upsert_article
from newsarchive.model import Article
from newsarchive.search import (
    COLUMNS,
    TABLE,
    create_search_table,
    fts_query,
    index_form,
    reindex,
    search,
)
from newsarchive.search import find as search_module
from newsarchive.search.index import STALE_TABLE, index_row, mend_index
from pipelines.normalize import normalize_article
from tests.conftest import FIXTURES, archive_at_schema

SEEN = "2026-01-01T00:00:00+08:00"


def fixture_texts() -> list[tuple[str, str, str]]:
    """(lang, title, body) of every extracted fixture page with a body."""
    texts = []
    for path in sorted(FIXTURES.glob("**/expected.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("body_text") and data.get("title"):
            texts.append((data.get("lang") or "en", data["title"], data["body_text"]))
    return texts


TEXTS = fixture_texts()


def article(n: int, lang: str, title: str, body: str, day: int = 1) -> Article:
    return normalize_article(
        Article(
            source="govhk",
            native_id=f"T{n}",
            url=f"https://news.example.org/T{n}",
            lang=lang,
            title=title,
            published_at=f"2022-05-{day:02d}T10:{n % 60:02d}:00+08:00",
            body_text=body,
            body_html=f"<p>{body}</p>",
        )
    )


def instances(db: sqlite_utils.Database) -> list[tuple[Any, ...]]:
    """Every token instance the search index holds: term, row, column, offset."""
    db.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_vocab USING fts5vocab(main, {TABLE}, "
        "instance)"
    )
    rows = db.execute("SELECT term, doc, col, offset FROM temp.search_vocab ORDER BY 1, 2, 3, 4")
    return rows.fetchall()


def rebuilt_instances(db: sqlite_utils.Database) -> list[tuple[Any, ...]]:
    """The instances of an index built afresh from the articles as they are."""
    rows = db.execute("SELECT search_key, title, body_text FROM articles").fetchall()
    fresh = sqlite_utils.Database(sqlite3.connect(":memory:"))
    create_search_table(fresh)
    fresh.conn.executemany(
        f"INSERT INTO {TABLE} (rowid, {', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?)",
        [(key, *index_row(title, body)) for key, title, body in rows],
    )
    return instances(fresh)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    archive = open_archive(tmp_path / "archive.db")
    yield archive
    archive.close()


def test_the_index_holds_no_copy_of_the_text(db: sqlite_utils.Database) -> None:
    assert f"{TABLE}_content" not in db.table_names()
    sql = db.execute("SELECT sql FROM sqlite_master WHERE name = ?", [TABLE]).fetchone()[0]
    assert "content=''" in sql


def test_many_updates_and_deletes_leave_the_index_as_a_rebuild_would(
    db: sqlite_utils.Database,
) -> None:
    rng = random.Random(16)
    assert len(TEXTS) > 20
    # Deleted articles leave their versions behind: only the index is checked here.
    db.execute("PRAGMA foreign_keys = OFF")
    stored: set[int] = set()
    for step in range(400):
        n = rng.randrange(40)
        lang, title, body = rng.choice(TEXTS)
        action = rng.random()
        if action < 0.6 or n not in stored:
            # Stored through the crawl's path: new, or a changed title, body or day.
            if n in stored and rng.random() < 0.3:
                title = db.execute(
                    "SELECT title FROM articles WHERE native_id = ?", [f"T{n}"]
                ).fetchone()[0]  # the same title, another body
            cut = body[: rng.randrange(1, len(body) + 1)]
            upsert_article(db, article(n, lang, title, cut, rng.choice((1, 2))), seen_at=SEEN,
                           run_id=None)  # fmt: skip
            stored.add(n)
        elif action < 0.8:
            # Changed by plain SQL, as a repair or an extractor bug would: the next write mends.
            column = rng.choice(("title", "body_text"))
            with db.atomic():
                db.execute(
                    f"UPDATE articles SET {column} = ? WHERE native_id = ?", [body[:200], f"T{n}"]
                )
        else:
            # Deleted by plain SQL: its index row waits in the stale table.
            with db.atomic():
                db.execute("DELETE FROM articles WHERE native_id = ?", [f"T{n}"])
            stored.discard(n)
        if step % 50 == 49:
            with db.atomic():
                mend_index(db)
            assert instances(db) == rebuilt_instances(db), f"after step {step}"
    with db.atomic():
        mend_index(db)
    assert db.execute(f"SELECT count(*) FROM {STALE_TABLE}").fetchone() == (0,)
    assert instances(db) == rebuilt_instances(db)
    keys = db.execute(f"SELECT rowid FROM {TABLE} ORDER BY 1").fetchall()
    assert keys == db.execute("SELECT search_key FROM articles ORDER BY 1").fetchall()
    # And after a rebuild, the same again.
    reindex(db)
    assert instances(db) == rebuilt_instances(db)


def test_rows_deleted_by_plain_sql_leave_the_index_at_the_next_write(
    db: sqlite_utils.Database,
) -> None:
    first = article(1, "en", "Harbour ferry timetable", "The ferry leaves at noon.")
    second = article(2, "zh", "渡輪時間表", "渡輪於中午開出。")
    for item in (first, second):
        upsert_article(db, item, seen_at=SEEN, run_id=None)
    db.execute("DELETE FROM articles")
    db.conn.commit()
    assert db.execute(f"SELECT count(*) FROM {STALE_TABLE}").fetchone() == (2,)
    assert search(db, "ferry") == []  # no article: no hit, though the row is still indexed
    third = article(3, "en", "Tram timetable", "The tram leaves at one.")
    upsert_article(db, third, seen_at=SEEN, run_id=None)
    assert db.execute(f"SELECT count(*) FROM {STALE_TABLE}").fetchone() == (0,)
    assert instances(db) == rebuilt_instances(db)
    assert [hit.id for hit in search(db, "timetable")] == [third.id]


# --- snippets --------------------------------------------------------------------------------

_OPEN, _CLOSE = search_module._OPEN, search_module._CLOSE


class StoredText:
    """Snippets as made before the index was contentless: highlight() of an index that stores
    its text (every article's), then the same excerpt."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.index = sqlite3.connect(":memory:")
        self.index.execute(
            f"CREATE VIRTUAL TABLE s USING fts5({', '.join(COLUMNS)}, "
            "tokenize = 'porter unicode61')"
        )
        articles = db.execute(
            "SELECT search_key, id, source, lang, published_at, title, url, body_text FROM articles"
        ).fetchall()
        self.index.executemany(
            f"INSERT INTO s (rowid, {', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?)",
            [(row[0], *index_row(row[5], row[7])) for row in articles],
        )
        self.articles = {row[0]: row[1:] for row in articles}

    def snippets(self, match: str, keys: list[int], marks: tuple[str, str]) -> list[str]:
        columns = ", ".join(f"highlight(s, {n}, ?, ?)" for n in range(len(COLUMNS)))
        marked = {
            row[0]: row[1:]
            for row in self.index.execute(
                f"SELECT rowid, {columns} FROM s WHERE s MATCH ?", [_OPEN, _CLOSE] * 4 + [match]
            )
        }
        return [
            search_module._hit(self.articles[key], marked[key], None, marks).snippet for key in keys
        ]


def queries(rng: random.Random) -> Iterator[str]:
    """Words, Chinese words of one to four characters, phrases and operators of the texts."""
    for lang, title, body in rng.sample(TEXTS, 16):
        text = title + " " + body
        words = [w for w in index_form(text)[0].split() if w.isascii() and len(w) > 2]
        runs = [r for r in index_form(text)[1].split("  ") if r]
        chinese = "".join(index_form(text)[1].split())
        if words:
            yield rng.choice(words)
            yield " ".join(rng.sample(words, min(2, len(words))))
            start = rng.randrange(len(words))
            yield '"' + " ".join(words[start : start + 2]) + '"'
            yield f"{rng.choice(words)} OR {rng.choice(words)}"
            yield f"{rng.choice(words)[:4]}*"
        if chinese:
            for size in (1, 2, 3, 4):
                start = rng.randrange(max(1, len(chinese) - size))
                yield chinese[start : start + size]
            yield f"{chinese[:2]} NOT {chinese[-2:]}"
        del lang, runs


def test_snippets_are_those_of_an_index_that_stores_its_text(db: sqlite_utils.Database) -> None:
    for n, (lang, title, body) in enumerate(TEXTS):
        upsert_article(db, article(n, lang, title, body, 1 + n % 28), seen_at=SEEN, run_id=None)
    reference = StoredText(db)
    rng = random.Random(8)
    compared = 0
    for query in queries(rng):
        match = fts_query(query)
        for order in ("newest", "relevance"):
            hits = search(db, query, limit=10, order=order)
            keys = [
                db.execute("SELECT search_key FROM articles WHERE id = ?", [h.id]).fetchone()[0]
                for h in hits
            ]
            expected = reference.snippets(match, keys, ("[", "]"))
            assert [hit.snippet for hit in hits] == expected, query
            compared += len(hits)
    assert compared > 200


def test_an_archive_of_schema_11_is_upgraded_to_a_contentless_index(tmp_path: Path) -> None:
    from newsarchive.articles import article_row
    from newsarchive.schema import MIGRATIONS, schema_version

    path = tmp_path / "old.db"
    old = archive_at_schema(path, 11)
    # Schema 11's index stored its text.
    old.execute(f"DROP TABLE {TABLE}")
    old.execute(
        f"CREATE VIRTUAL TABLE {TABLE} USING fts5({', '.join(COLUMNS)}, "
        "tokenize = 'porter unicode61')"
    )
    items = [article(n, lang, title, body) for n, (lang, title, body) in enumerate(TEXTS[:12])]
    for n, item in enumerate(items, start=1):
        old.table("articles").insert(article_row(item) | {"first_seen_at": SEEN, "rowid": n})
    old.execute("UPDATE articles SET search_key = rowid")  # rekeyed below by the rebuild
    rows = old.execute("SELECT search_key, title, body_text FROM articles").fetchall()
    old.conn.executemany(
        f"INSERT INTO {TABLE} (rowid, {', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?)",
        [(key, *index_row(title, body)) for key, title, body in rows],
    )
    old.conn.commit()
    assert f"{TABLE}_content" in old.table_names()
    old.close()
    db = open_archive(path)
    try:
        assert schema_version(db) == len(MIGRATIONS)
        assert f"{TABLE}_content" not in db.table_names()
        assert instances(db) == rebuilt_instances(db)
        keys = db.execute(f"SELECT rowid FROM {TABLE} ORDER BY 1").fetchall()
        assert keys == db.execute("SELECT search_key FROM articles ORDER BY 1").fetchall()
        word = index_form(items[0].title)[0].split()[0]
        assert items[0].id in [hit.id for hit in search(db, word, limit=50)]
        # Changed and deleted as any archive is.
        db.execute("DELETE FROM articles WHERE id = ?", [items[1].id])
        db.conn.commit()
        upsert_article(db, article(0, "en", "Renamed", "A new body."), seen_at=SEEN, run_id=None)
        assert instances(db) == rebuilt_instances(db)
    finally:
        db.close()
