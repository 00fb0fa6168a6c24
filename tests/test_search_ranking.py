"""Relevance order: exact BM25 when few articles match, BM25 among the newest matches otherwise.

Every expectation is read from the index itself (``ORDER BY rank`` on the FTS5 table, no
bound), then cut to the newest matches in the filters: the order search() must give.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlite_utils

from newsarchive.archive import open_archive
from newsarchive.model import Article
from newsarchive.search import TABLE, fts_query, search
from newsarchive.search import find as search_module
from tests.test_search import make_article, store

# Twelve English and twelve Chinese articles, one a day. The word occurs a different number of
# times in each (in bodies of one length, so BM25 follows the count), and most often in the
# oldest: ranking every match puts the oldest first, ranking the newest few never does.
COUNTS = (12, 3, 7, 1, 10, 5, 2, 8, 11, 4, 6, 9)
LENGTH = 14
SOURCES = ("govhk", "cairs", "cpii")


def _articles() -> Iterator[Article]:
    for n, count in enumerate(COUNTS):
        day = f"2023-03-{n + 1:02d}T10:00:00+08:00"
        source = SOURCES[n % len(SOURCES)]
        body = " ".join(["harbour"] * count + ["notice"] * (LENGTH - count))
        yield make_article(f"en-{n}", f"Release {n}", body, source=source, published_at=day)
        body = "海港" * count + "公告" * (LENGTH - count)
        zh_day = f"2023-04-{n + 1:02d}T10:00:00+08:00"
        yield make_article(
            f"zh-{n}", f"新聞公報{n}", body, source=source, lang="zh", published_at=zh_day
        )
    # Articles without either word: BM25 weighs a word by how few articles have it.
    for n in range(40):
        day = f"2023-02-{n % 28 + 1:02d}T09:00:00+08:00"
        yield make_article(f"other-{n}", "Weather", "Sunny and dry notice", published_at=day)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    archive = open_archive(tmp_path / "archive.db")
    store(archive, *_articles())
    yield archive
    archive.close()


Row = tuple[int, float, str, str, str, str]  # key, rank, id, source, lang, published_at


def by_bm25(db: sqlite_utils.Database, query: str) -> list[Row]:
    """Every match of query, best first, straight from the index: no bound, no filter."""
    sql = (
        f"SELECT s.rowid, s.rank, a.id, a.source, a.lang, a.published_at FROM {TABLE} s "
        f"JOIN articles a ON a.search_key = s.rowid WHERE s.{TABLE} MATCH ? "
        "ORDER BY s.rank, s.rowid DESC"
    )
    return [tuple(row) for row in db.execute(sql, [fts_query(query)])]


def expected(
    db: sqlite_utils.Database,
    query: str,
    ranked: int,
    limit: int = 20,
    wanted: Callable[[Row], bool] = lambda row: True,
) -> list[str]:
    """The ids search() should give: the best of the `ranked` newest matches that are wanted."""
    matches = [row for row in by_bm25(db, query) if wanted(row)]
    newest = {row[0] for row in sorted(matches, reverse=True)[:ranked]}
    return [row[2] for row in matches if row[0] in newest][:limit]


def ids(db: sqlite_utils.Database, query: str, **options: object) -> list[str]:
    hits = search(db, query, order="relevance", **options)  # type: ignore[arg-type]
    return [hit.id for hit in hits]


def test_the_default_bound_is_five_thousand_matches() -> None:
    assert search_module.RANKED == 5000


@pytest.mark.parametrize("query", ["harbour", "海港"])
@pytest.mark.parametrize("ranked", [12, 13, 5000])
def test_no_more_matches_than_ranked_are_in_exact_bm25_order(
    db: sqlite_utils.Database, query: str, ranked: int
) -> None:
    full = [row[2] for row in by_bm25(db, query)]
    assert len(full) == 12
    assert ids(db, query, ranked=ranked) == full
    # The oldest has the word most often: exact BM25 puts it first.
    assert full[0] in ("govhk:en-0", "govhk:zh-0")


@pytest.mark.parametrize("query", ["harbour", "海港"])
@pytest.mark.parametrize("ranked", [1, 3, 5, 11])
def test_more_matches_than_ranked_are_the_newest_ones_in_bm25_order(
    db: sqlite_utils.Database, query: str, ranked: int
) -> None:
    found = ids(db, query, ranked=ranked)
    assert found == expected(db, query, ranked)
    assert len(found) == ranked
    # Only the newest `ranked` are ranked: the oldest (the best match of all) is not among them.
    newest_first = [hit.id for hit in search(db, query, limit=50)]
    assert set(found) == set(newest_first[:ranked])
    assert "govhk:en-0" not in found and "govhk:zh-0" not in found


def test_limit_cuts_the_ranked_matches(db: sqlite_utils.Database) -> None:
    assert ids(db, "harbour", ranked=5, limit=2) == expected(db, "harbour", 5, limit=2)
    assert len(ids(db, "harbour", ranked=5, limit=2)) == 2


def test_the_bound_counts_matches_in_the_source_and_language_asked_for(
    db: sqlite_utils.Database,
) -> None:
    query = "harbour OR 海港"
    assert ids(db, query, ranked=3, source="cairs") == expected(
        db, query, 3, wanted=lambda row: row[3] == "cairs"
    )
    assert len(ids(db, query, ranked=3, source="cairs")) == 3
    both = ["cairs", "cpii"]
    assert ids(db, query, ranked=4, source=both, lang="zh") == expected(
        db, query, 4, wanted=lambda row: row[3] in both and row[4] == "zh"
    )
    # The newest four matches are all Chinese (April): English ones are still ranked.
    found = ids(db, query, ranked=4, lang="en")
    assert found == expected(db, query, 4, wanted=lambda row: row[4] == "en")
    assert len(found) == 4 and all(":en-" in hit for hit in found)
    # Fewer matches in the filters than the bound: all ranked, exactly.
    assert ids(db, query, ranked=5, source="cpii", lang="en") == expected(
        db, query, 50, wanted=lambda row: row[3] == "cpii" and row[4] == "en"
    )


def test_the_bound_counts_matches_in_the_days_asked_for(db: sqlite_utils.Database) -> None:
    since, until = date(2023, 3, 2), date(2023, 3, 9)

    def in_days(row: Row) -> bool:
        return since.isoformat() <= row[5][:10] <= until.isoformat()

    found = ids(db, "harbour", ranked=3, since=since, until=until)
    assert found == expected(db, "harbour", 3, wanted=in_days)
    assert {hit.split(":")[1] for hit in found} == {f"en-{n}" for n in range(6, 9)}
    found = ids(db, "harbour", ranked=4, since=since, until=until, source="cairs")
    assert found == expected(db, "harbour", 4, wanted=lambda r: in_days(r) and r[3] == "cairs")
    assert len(found) == 3  # days 2-9 hold three of cairs's matches: all ranked
    assert ids(db, "harbour", ranked=3, until=date(2023, 3, 5)) == expected(
        db, "harbour", 3, wanted=lambda row: row[5][:10] <= "2023-03-05"
    )


def test_relevance_hits_have_the_bm25_score_best_first(db: sqlite_utils.Database) -> None:
    ranks = {row[2]: row[1] for row in by_bm25(db, "harbour")}
    for ranked in (3, 5000):
        hits = search(db, "harbour", order="relevance", ranked=ranked)
        scores = [hit.score for hit in hits]
        assert None not in scores
        assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
        for hit in hits:
            assert hit.score == pytest.approx(-ranks[hit.id])
            assert hit.snippet.startswith("[harbour")


def test_ranked_must_be_positive(db: sqlite_utils.Database) -> None:
    with pytest.raises(ValueError, match="ranked"):
        search(db, "harbour", order="relevance", ranked=0)
