"""Full-text search: English with stemming, Chinese of any length, mixed text, filters, snippets."""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import TypedDict, Unpack

import pytest
import sqlite_utils

from hkarchive.cli import cli, main
from hkarchive.cli.search import search as search_command
from newsarchive.archive import open_archive
from newsarchive.articles import article_row, upsert_article
from newsarchive.model import Article
from newsarchive.schema import MIGRATIONS, migrate, schema_version
from newsarchive.search import (
    ROWID_MASK,
    QueryError,
    excerpt,
    fts_query,
    index_form,
    publication_minute,
    reindex,
    search,
    search_key,
    token_spans,
)
from newsarchive.search import find as search_module
from pipelines.normalize import normalize_article
from tests.conftest import FIXTURES, archive_at_schema

try:
    from datasette.utils import escape_fts  # type: ignore[import-untyped]
except ImportError:  # datasette is optional here; its quoting of the search box, as documented

    def escape_fts(query: str) -> str:
        if query.count('"') % 2:
            query += '"'
        terms = [t for t in re.split(r'\s+|(".*?")', query) if t and t != '""']
        return " ".join(t if t.startswith('"') else f'"{t}"' for t in terms)


SEEN = "2026-01-01T00:00:00+08:00"
ZH_RELEASE = json.loads(
    (FIXTURES / "govhk" / "P2022052500584" / "expected.json").read_text(encoding="utf-8")
)


def make_article(
    native_id: str,
    title: str,
    body: str,
    *,
    source: str = "govhk",
    lang: str = "en",
    published_at: str = "2022-05-25T20:20:00+08:00",
) -> Article:
    return normalize_article(
        Article(
            source=source,
            native_id=native_id,
            url=f"https://news.example.org/{source}/{native_id}",
            lang=lang,
            title=title,
            published_at=published_at,
            body_text=body,
            body_html=f"<p>{body}</p>",
        )
    )


EN_LAUNCH = make_article(
    "P2022052500588",
    "InnoHK Launch Ceremony concludes with great success (with photos/video)",
    "The InnoHK Launch Ceremony was successfully held today (May 25). The Chief Executive "
    "launched the research clusters, which bring together scientists from around the world.",
)
ZH_LAUNCH = make_article("P2022052500584", ZH_RELEASE["title"], ZH_RELEASE["body_text"], lang="zh")
EN_ROBOTS = make_article(
    "news/63",
    "Centre news: robots in the laboratory",
    "Our robots were shown at the InnoHK exhibition. Innovation and technology drive the centre.",
    source="cairs",
    published_at="2022-06-02T10:00:00+08:00",
)
ZH_EXHIBITION = make_article(
    "2022/06/10/exhibition",
    "科技展覽五月份開幕",
    "展覽於2022年5月25日開幕，並於5月份巡迴各區。主題：創，新（兩個字之間有標點）。",
    source="cpii",
    lang="zh",
    published_at="2022-06-10",
)
ARTICLES = (EN_LAUNCH, ZH_LAUNCH, EN_ROBOTS, ZH_EXHIBITION)


def store(db: sqlite_utils.Database, *articles: Article) -> None:
    for article in articles:
        upsert_article(db, article, seen_at=SEEN, run_id=None)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "archive.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[sqlite_utils.Database]:
    archive = open_archive(db_path)
    store(archive, *ARTICLES)
    yield archive
    archive.close()


class Filters(TypedDict, total=False):
    """The keyword arguments of `search` that narrow its hits."""

    source: str | Sequence[str]
    lang: str
    since: date
    until: date


class Options(Filters, total=False):
    """Filters, and how many hits at most."""

    limit: int


def ids(db: sqlite_utils.Database, query: str, **options: Unpack[Options]) -> list[str]:
    return [hit.id for hit in search(db, query, **options)]


def test_index_form_keeps_words_and_writes_han_runs_as_bigrams_and_characters() -> None:
    words, chars = index_form("InnoHK創新香港（ＡＩＲ）5月")
    assert words == "InnoHK 創新 新香 香港 AIR 5 月"
    assert chars == "創 新 香 港"


TRICKY = [
    "InnoHK創新香港研發平台（InnoHK）於2022年5月25日，「創」",
    "ＩｎｎｏＨＫ　全形 ＡＢＣ１２３ and café naïve",  # full-width letters, accents
    "株式会社㈱ ½ ﷺ 並\uf900豈 ㍻ 々〆〇 カタカナ ｶﾀｶﾅ",  # compatibility characters
    "Health@InnoHK, AIR@InnoHK; 2 000 名 — \u00a0\n\n段落",
    "",
    "。，、",
]


@pytest.mark.parametrize("text", TRICKY)
def test_every_token_maps_back_to_the_text_it_came_from(text: str) -> None:
    words, chars = index_form(text)
    for tokens, marked in ((words.split(), "words"), (chars.split(), "chars")):
        every = range(len(tokens))
        spans, word_count, char_count = token_spans(
            text, every if marked == "words" else [], every if marked == "chars" else []
        )
        assert (word_count, char_count) == (len(words.split()), len(chars.split()))
        for token, (start, end) in zip(tokens, spans, strict=True):
            assert index_form(text[start:end])[0] == token


def test_english_words_match_in_any_form() -> None:
    db = open_archive(":memory:")
    store(db, *ARTICLES)
    assert ids(db, "launch") == [EN_LAUNCH.id]
    assert ids(db, "concluding") == [EN_LAUNCH.id]  # the title says "concludes"
    assert ids(db, "LAUNCHES") == [EN_LAUNCH.id]
    assert ids(db, "innov*") == [EN_ROBOTS.id]


def test_quoted_phrase_needs_its_words_in_a_row(db: sqlite_utils.Database) -> None:
    assert ids(db, '"launch ceremony"') == [EN_LAUNCH.id]
    assert ids(db, '"ceremony launch"') == []
    assert ids(db, "ceremony launch") == [EN_LAUNCH.id]


def test_and_or_not_and_parentheses_combine_terms(db: sqlite_utils.Database) -> None:
    assert ids(db, "robots AND exhibition") == [EN_ROBOTS.id]
    assert ids(db, "robots AND ceremony") == []
    assert sorted(ids(db, "robots OR ceremony")) == sorted([EN_LAUNCH.id, EN_ROBOTS.id])
    assert ids(db, "InnoHK NOT robots NOT 創新") == [EN_LAUNCH.id]
    assert sorted(ids(db, "(robots OR ceremony) scientists")) == [EN_LAUNCH.id]
    assert ids(db, "robots and exhibition") == [EN_ROBOTS.id], "lower case: plain words"


@pytest.mark.parametrize(
    "query",
    ["創", "創新", "創新科技", "研發平台", "香港特別行政區", "啟動典禮", "圓滿舉行", "科研人員"],
)
def test_chinese_words_of_any_length_are_found_in_title_or_body(
    db: sqlite_utils.Database, query: str
) -> None:
    assert ZH_LAUNCH.id in ids(db, query)
    assert ids(db, query, lang="en") == []


def test_a_chinese_word_is_not_found_across_punctuation(db: sqlite_utils.Database) -> None:
    assert "創，新" in ZH_EXHIBITION.body_text
    assert ids(db, "創新") == [ZH_LAUNCH.id]
    assert ids(db, "新科技") == [ZH_LAUNCH.id]
    assert ids(db, "技創") == []


def test_latin_words_inside_chinese_text_are_found(db: sqlite_utils.Database) -> None:
    assert ids(db, "InnoHK創新") == [ZH_LAUNCH.id]
    assert ids(db, "InnoHK創新香港研發平台") == [ZH_LAUNCH.id]
    assert sorted(ids(db, "InnoHK")) == sorted([EN_LAUNCH.id, ZH_LAUNCH.id, EN_ROBOTS.id])
    assert ids(db, "InnoHK", lang="zh") == [ZH_LAUNCH.id]
    assert ids(db, "Health@InnoHK") == [ZH_LAUNCH.id]
    assert ids(db, "InnoHK啟動儀式") == [ZH_LAUNCH.id]  # "主持InnoHK啟動儀式"
    assert ids(db, "InnoHK科技") == []


def test_one_character_before_a_latin_word_matches_the_end_of_a_longer_run(
    db: sqlite_utils.Database,
) -> None:
    # The text says "主持InnoHK": among the words the index holds the bigram 主持, never 持.
    assert ids(db, "持InnoHK") == [ZH_LAUNCH.id]
    assert ids(db, "主持InnoHK") == [ZH_LAUNCH.id]
    assert ids(db, "鯨InnoHK") == []  # a character no text has


def test_one_character_after_a_number_matches_a_longer_run(db: sqlite_utils.Database) -> None:
    assert ids(db, "5月") == [ZH_EXHIBITION.id]  # "5月25日" and "5月份"
    assert ids(db, "2022年") == [ZH_EXHIBITION.id]
    assert ids(db, "5月份") == [ZH_EXHIBITION.id]
    assert ids(db, "6月") == []


def test_a_title_match_ranks_above_a_body_only_match(db: sqlite_utils.Database) -> None:
    in_body_only = make_article(
        "body-only",
        "Weekly digest",
        "Robots, robots and robots: the robots of the InnoHK centres; robots everywhere.",
        source="cairs",
    )
    store(db, in_body_only)
    hits = search(db, "robots", order="relevance")
    assert [hit.id for hit in hits] == [EN_ROBOTS.id, in_body_only.id]
    assert hits[0].score is not None and hits[1].score is not None
    assert hits[0].score > hits[1].score


def test_hits_come_newest_first_by_default_without_a_score(db: sqlite_utils.Database) -> None:
    hits = search(db, "InnoHK")
    days = [hit.published_at for hit in hits if hit.published_at is not None]
    assert len(hits) > 2 and len(days) == len(hits) and days == sorted(days, reverse=True)
    assert {hit.score for hit in hits} == {None}


def test_search_keys_order_by_minute_of_publication_then_rowid() -> None:
    assert publication_minute("1900-01-01") == 0
    assert publication_minute("1900-01-02T00:01+08:00") == 1441
    assert publication_minute("2022-05-25") == publication_minute("2022-05-25T00:00:00+08:00")
    assert publication_minute("2022-05-25T10:30:59+08:00") == publication_minute(
        "2022-05-25T10:30+08:00"
    )
    assert publication_minute(None) == publication_minute("not a day") == 0
    assert publication_minute("2022-05-25T25:00+08:00") == publication_minute("2022-05-25")
    times = ["2022-05-25T10:30+08:00", "2022-05-25T10:31+08:00", "2022-05-26", None]
    keyed = sorted((search_key(t, rowid), t, rowid) for t in times for rowid in (1, 7, 2**31 - 1))
    assert [(t, rowid) for _, t, rowid in keyed] == [
        (t, rowid) for t in [None, *times[:3]] for rowid in (1, 7, 2**31 - 1)
    ]
    assert search_key("2022-05-25", 5) & (2**31 - 1) == 5
    for rowid in (0, 2**31):
        with pytest.raises(ValueError, match="rowid"):
            search_key("2022-05-25", rowid)


def test_newest_first_whatever_order_items_were_archived(db_path: Path) -> None:
    when = [(3, 1, 9), (1, 5, 18), (12, 31, 7), (1, 5, 9), (7, 7, 12)]
    days = [f"2023-{month:02d}-{day:02d}T{hour:02d}:00:00+08:00" for month, day, hour in when]
    archive = open_archive(db_path)
    for n, published in enumerate(days):
        store(archive, make_article(f"N{n}", f"Walk {n}", "Walking news.", published_at=published))
    expected = [f"govhk:N{n}" for n in sorted(range(len(days)), key=days.__getitem__, reverse=True)]
    assert ids(archive, "walking") == expected
    assert ids(archive, "walking", lang="en", limit=3) == expected[:3]
    assert ids(archive, "walking", since=date(2023, 1, 5), until=date(2023, 7, 7)) == [
        "govhk:N4", "govhk:N0", "govhk:N1", "govhk:N3"
    ]  # fmt: skip
    # A corrected publication time moves the item in the index.
    store(archive, make_article("N2", "Walk 2", "Walking news.", published_at="2022-01-01"))
    assert ids(archive, "walking")[-1] == "govhk:N2"
    assert archive.execute("SELECT count(*) FROM articles_search").fetchone()[0] == len(days)
    archive.close()


@pytest.mark.parametrize("query", ["InnoHK", "創新", "InnoHK OR 展覽", "robots"])
@pytest.mark.parametrize(
    "filters", [{}, {"lang": "en"}, {"source": "govhk"}, {"since": date(2022, 6, 1)}]
)
def test_walking_from_the_newest_item_finds_what_sorting_every_match_finds(
    db: sqlite_utils.Database,
    monkeypatch: pytest.MonkeyPatch,
    query: str,
    filters: Filters,
) -> None:
    walked = search(db, query, limit=2, **filters)
    monkeypatch.setattr(search_module, "_LONGEST_WALK", 1)
    assert search(db, query, limit=2, **filters) == walked


def test_filters_narrow_by_source_language_days_and_limit(db: sqlite_utils.Database) -> None:
    assert sorted(ids(db, "InnoHK", source="govhk")) == sorted([EN_LAUNCH.id, ZH_LAUNCH.id])
    assert ids(db, "InnoHK", source=["cairs", "cpii"]) == [EN_ROBOTS.id]
    assert ids(db, "InnoHK", source="nosuch") == []
    assert ids(db, "InnoHK", lang="en", source="govhk") == [EN_LAUNCH.id]
    assert ids(db, "InnoHK", since=date(2022, 6, 1)) == [EN_ROBOTS.id]
    assert ids(db, "InnoHK OR 五月", since=date(2022, 6, 2), until=date(2022, 6, 2)) == [
        EN_ROBOTS.id
    ]
    assert ids(db, "展覽", since=date(2022, 6, 10), until=date(2022, 6, 10)) == [
        ZH_EXHIBITION.id
    ], "a bare day is inside its own day"
    assert sorted(ids(db, "InnoHK", until=date(2022, 5, 25))) == sorted(
        [EN_LAUNCH.id, ZH_LAUNCH.id]
    )
    assert len(ids(db, "InnoHK", limit=1)) == 1
    with pytest.raises(ValueError, match="limit"):
        search(db, "InnoHK", limit=0)


REJECTED = {
    "unbalanced quote": ('"InnoHK launch', "unbalanced quote"),
    "quote closing nothing": ('launch"', "unbalanced quote"),
    "lone AND": ("AND", "AND at character 1 needs a search term on each side"),
    "lone OR": ("OR", "needs a search term on each side"),
    "lone NOT": ("NOT", "NOT at character 1 needs a search term before it"),
    "leading NOT": ("NOT launch", "write: a NOT b"),
    "AND NOT": ("InnoHK AND NOT launch", "write: a NOT b"),
    "trailing AND": ("launch AND", "AND at character 8 needs a search term on each side"),
    "leading OR": ("OR launch", "needs a search term on each side"),
    "double OR": ("launch OR OR InnoHK", "OR at character 8"),
    "unclosed parenthesis": ("(launch OR InnoHK", "the ( at character 1 is never closed"),
    "stray parenthesis": ("launch)", "the ) at character 7 closes nothing"),
    "empty parentheses": ("launch ()", "empty parentheses"),
    "empty phrase": ('launch ""', "empty phrase"),
    "empty query": ("", "nothing to search for"),
    "blank query": ("   ", "nothing to search for"),
    "punctuation only": ("-- ; *", "nothing to search for"),
    "too deep": ("(" * 30 + "a" + ")" * 30, "nested more than"),
}


@pytest.mark.parametrize(("query", "reason"), REJECTED.values(), ids=REJECTED.keys())
def test_malformed_queries_are_rejected_with_a_one_line_reason(
    db: sqlite_utils.Database, query: str, reason: str
) -> None:
    with pytest.raises(QueryError) as caught:
        search(db, query)
    message = str(caught.value)
    assert reason in message
    assert "\n" not in message
    assert message.startswith(f"cannot search for {query!r}")


HOSTILE = [
    "'; DROP TABLE articles; --",
    'InnoHK" OR "1=1',
    "launch'; DELETE FROM articles_search; --",
    "title:InnoHK",
    "{title body}: launch",
    "NEAR(InnoHK launch, 2)",
    "^InnoHK",
    "InnoHK + launch",
    "launch* *",
    "創新' OR '1'='1",
    "rank:1",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_are_searched_as_words_never_as_sql_or_fts_syntax(
    db: sqlite_utils.Database, query: str
) -> None:
    search(db, query)
    assert db.table("articles").count == len(ARTICLES)
    assert db.execute("SELECT count(*) FROM articles_search").fetchone()[0] == len(ARTICLES)
    outside_strings = re.sub(r'"(?:[^"]|"")*"', " ", fts_query(query))
    assert set(re.findall(r"[^\s()]+", outside_strings)) <= {"AND", "OR", "NOT", "*"}


def test_hostile_filter_values_are_bound_parameters(db: sqlite_utils.Database) -> None:
    for value in ("govhk' OR '1'='1", "govhk; DROP TABLE articles", 'x") OR ("1'):
        assert ids(db, "InnoHK", source=value) == []
        assert ids(db, "InnoHK", lang=value) == []
    assert ids(db, "'; DROP TABLE articles; --") == []
    assert ids(db, "title:InnoHK") == [], "a column name is a word to look for"
    assert ids(db, "InnoHK + launch") == [EN_LAUNCH.id]
    assert db.table("articles").count == len(ARTICLES)


def test_snippet_is_the_original_text_with_the_match_marked(db: sqlite_utils.Database) -> None:
    (hit,) = search(db, "創新科技")
    assert "推動香港[創新科技]（創科）發展" in hit.snippet
    plain = hit.snippet.replace("[", "").replace("]", "").strip("…")
    assert plain in re.sub(r"\s+", " ", ZH_LAUNCH.body_text), "no bigrams, no lost characters"
    (hit,) = search(db, "launch", marks=("<b>", "</b>"))
    assert "Executive <b>launched</b> the research" in hit.snippet
    (hit,) = search(db, '"launch ceremony"')
    assert "The InnoHK [Launch Ceremony] was" in hit.snippet
    (hit,) = search(db, "InnoHK創新")
    assert hit.snippet.startswith("[InnoHK創新]香港研發平台")


def test_snippet_shows_the_densest_part_of_a_long_body() -> None:
    body = (
        "One robots intro. "
        + "Filler words here. " * 40
        + "The robots met the robots of robots. "
        + "More. " * 40
    )
    start = body.index("The robots")
    spans = [(m.start(), m.end()) for m in re.finditer("robots", body)]
    snippet = excerpt(body, spans, 80, ("[", "]"))
    assert snippet.startswith("…") and snippet.endswith("…")
    assert "The [robots] met the [robots] of [robots]." in snippet
    assert "intro" not in snippet
    assert len(snippet) <= 80 + 2 + 6 * 2 + 2
    assert body[start - 10 : start].strip().split()[-1] in snippet, "some context comes first"


def test_snippet_comes_from_the_title_when_only_the_title_matches(
    db: sqlite_utils.Database,
) -> None:
    (hit,) = search(db, "concludes")
    assert (
        hit.snippet == "InnoHK Launch Ceremony [concludes] with great success (with photos/video)"
    )
    (hit,) = search(db, "開幕")
    assert hit.id == ZH_EXHIBITION.id
    assert "[開幕]" in hit.snippet


def test_an_updated_article_is_found_by_its_new_words_only(db: sqlite_utils.Database) -> None:
    changed = make_article(EN_LAUNCH.native_id, "InnoHK ceremony postponed", "It was postponed.")
    store(db, changed)
    assert ids(db, "postponed") == [EN_LAUNCH.id]
    assert ids(db, "launched") == []
    assert db.execute("SELECT count(*) FROM articles_search").fetchone()[0] == len(ARTICLES)


def test_migration_indexes_the_articles_already_archived(db_path: Path) -> None:
    names = [migration.__name__ for migration in MIGRATIONS]
    before = names.index("_v7_search_index")
    db = archive_at_schema(db_path, before)
    for article in ARTICLES:
        db.table("articles").insert(article_row(article) | {"first_seen_at": SEEN})
    assert "articles_search" not in db.table_names()
    migrate(db)
    assert schema_version(db) == len(MIGRATIONS)
    assert ids(db, "創新") == [ZH_LAUNCH.id]
    assert ids(db, "launch") == [EN_LAUNCH.id]


def test_reindex_rebuilds_the_whole_index(db: sqlite_utils.Database) -> None:
    # The index is contentless: FTS5 refuses DELETE, and empties it by its 'delete-all'.
    db.execute("INSERT INTO articles_search (articles_search) VALUES ('delete-all')")
    assert ids(db, "InnoHK") == []
    assert reindex(db) == len(ARTICLES)
    assert len(ids(db, "InnoHK")) == 3
    assert db.execute("SELECT count(*) FROM articles_search").fetchone()[0] == len(ARTICLES)


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("創新", ZH_LAUNCH),  # two characters: a bigram of the index
        ("創", ZH_LAUNCH),  # one character: a token of the *_chars columns
        ("launch", EN_LAUNCH),  # stemmed as in hkarchive search
        ('"InnoHK Launch"', EN_LAUNCH),
        ("創新 科技", ZH_LAUNCH),  # a longer word typed as two-character pieces
    ],
)
def test_datasette_search_box_finds_english_and_short_chinese_words(
    db: sqlite_utils.Database, typed: str, found: Article
) -> None:
    rows = db.execute(
        "SELECT a.id FROM articles a WHERE a.search_key IN "
        "(SELECT rowid FROM articles_search WHERE articles_search MATCH ?)",
        [escape_fts(typed)],
    ).fetchall()
    assert (found.id,) in rows


@pytest.fixture
def cli_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command on the hkarchive group, as cli.py registers it."""
    monkeypatch.setitem(cli.commands, "search", search_command)


@pytest.mark.usefixtures("cli_search")
def test_cli_prints_hits_as_a_table_json_or_csv(
    db: sqlite_utils.Database, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "創新", "--db", str(db_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f" 1. 2022-05-25  govhk  zh  {ZH_LAUNCH.title}  [{ZH_LAUNCH.id}]"
    assert out[1].startswith("    InnoHK[創新]香港研發平台")
    assert main(["search", "InnoHK", "--lang", "en", "--format", "json", "--db", str(db_path)]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert [hit["id"] for hit in hits] == [EN_ROBOTS.id, EN_LAUNCH.id]
    assert list(hits[0]) == [
        "id",
        "source",
        "lang",
        "published_at",
        "title",
        "url",
        "snippet",
        "score",
    ]
    assert hits[0]["url"].startswith("https://")
    assert hits[0]["score"] is None
    args = ["search", "InnoHK", "--lang", "en", "--order", "relevance", "--format", "json"]
    assert main([*args, "--db", str(db_path)]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert [hit["id"] for hit in hits] == [EN_LAUNCH.id, EN_ROBOTS.id]
    assert hits[0]["score"] > hits[1]["score"]
    args = ["search", "robots", "--source", "cairs", "--since", "2022-06-01", "--format", "csv"]
    assert main([*args, "--db", str(db_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "id,source,lang,published_at,title,url,snippet,score"
    assert lines[1].startswith(f"{EN_ROBOTS.id},cairs,en,2022-06-02T10:00:00+08:00,")
    assert main(["search", "nothing", "like", "this", "--db", str(db_path)]) == 0
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "no items match\n")


CLI_REJECTED = {
    "unbalanced quote": (['"InnoHK'], "unbalanced quote"),
    "lone AND": (["AND"], "AND at character 1"),
    "no query": ([], "give a QUERY"),
    "query and reindex": (["launch", "--reindex"], "not both"),
    "bad day": (["launch", "--since", "2022-13-45"], "--since: invalid date"),
    "since after until": (["launch", "--since", "2022-06-02", "--until", "2022-06-01"], "after"),
    "bad language": (["launch", "--lang", "fr"], "--lang"),
    "bad limit": (["launch", "--limit", "0"], "--limit"),
}


@pytest.mark.usefixtures("cli_search")
@pytest.mark.parametrize(("args", "message"), CLI_REJECTED.values(), ids=CLI_REJECTED.keys())
def test_cli_refuses_bad_input_in_one_line_with_status_2_and_writes_nothing(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", *args, "--db", str(tmp_path / "archive.db")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("hkarchive: error:"), err
    assert message in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("cli_search")
def test_cli_refuses_a_source_the_archive_lacks(
    db: sqlite_utils.Database, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["search", "InnoHK", "--source", "govhk", "--source", "gov", "--db", str(db_path)])
        == 2
    )
    assert "no items of source 'gov' in the archive" in capsys.readouterr().err


@pytest.mark.usefixtures("cli_search")
def test_cli_reindex_reports_how_many_items(
    db: sqlite_utils.Database, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "--reindex", "--db", str(db_path)]) == 0
    assert capsys.readouterr().out.startswith(f"search index rebuilt: {len(ARTICLES)} items in ")


@pytest.mark.usefixtures("cli_search")
def test_cli_search_of_a_missing_archive_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "launch", "--db", str(tmp_path / "none.db")]) == 1
    assert "no archive at" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def _paragraphs() -> tuple[list[str], list[str]]:
    english: list[str] = []
    chinese: list[str] = []
    for path in sorted((FIXTURES / "govhk").glob("P*/expected.json")):
        item = json.loads(path.read_text(encoding="utf-8"))
        paragraphs = [p for p in item["body_text"].split("\n\n") if len(p) > 40]
        (chinese if item["lang"] == "zh" else english).extend(paragraphs)
    return english, chinese


def test_timing_smoke_with_a_thousand_articles(tmp_path: Path) -> None:
    """Not a benchmark: prints how long indexing and a few searches take (pytest -s)."""
    english, chinese = _paragraphs()
    pick = random.Random(1)
    db = open_archive(tmp_path / "big.db")
    started = time.perf_counter()
    for n in range(1000):
        lang, pool = ("zh", chinese) if n % 2 else ("en", english)
        body = "\n\n".join(pick.sample(pool, 6))
        title = body[:30] if lang == "zh" else " ".join(body.split()[:8])
        day = f"2022-{1 + n % 12:02d}-{1 + n % 28:02d}"
        upsert_article(db, make_article(f"S{n:04d}", title, body, lang=lang, published_at=day),
                       seen_at=SEEN, run_id=None)  # fmt: skip
    timings = {"upsert and index 1000": time.perf_counter() - started}
    started = time.perf_counter()
    assert reindex(db) == 1000
    timings["reindex 1000"] = time.perf_counter() - started
    for query in (
        "government",
        "香港",
        "創新科技",
        "InnoHK創新",
        '"Chief Executive"',
        "醫院 OR hospital",
    ):
        started = time.perf_counter()
        hits = search(db, query, since=date(2022, 3, 1))
        timings[f"search {query} ({len(hits)} hits)"] = time.perf_counter() - started
    print()
    for what, seconds in timings.items():
        print(f"  {what}: {seconds * 1000:.1f} ms")


def test_an_archive_of_schema_8_is_rekeyed_by_date_when_opened(db_path: Path) -> None:
    old = archive_at_schema(db_path, 8)
    when = ["2023-05-01T09:00:00+08:00", "2024-01-01", None, "2023-12-31T23:59:00+08:00"]
    for n, published in enumerate(when):
        old.execute(
            "INSERT INTO articles (id, source, native_id, url, lang, title, published_at, "
            "body_text, content_hash) VALUES (?, 'govhk', ?, ?, 'en', ?, ?, ?, ?)",
            [f"govhk:O{n}", f"O{n}", f"https://x.invalid/O{n}", f"Old {n}", published,
             f"An older archive, item {n}.", f"h{n}"],
        )  # fmt: skip
    # Schema 8 kept articles_search by articles.rowid.
    old.execute(
        "INSERT INTO articles_search (rowid, title, body, title_chars, body_chars) "
        "SELECT rowid, title, body_text, '', '' FROM articles"
    )
    old.close()
    archive = open_archive(db_path)
    assert ids(archive, "archive") == ["govhk:O1", "govhk:O3", "govhk:O0", "govhk:O2"]
    keys = archive.execute("SELECT search_key FROM articles ORDER BY search_key").fetchall()
    assert keys == archive.execute("SELECT rowid FROM articles_search ORDER BY 1").fetchall()
    assert archive.execute(
        "SELECT count(*) FROM articles WHERE search_key & ? != rowid", [ROWID_MASK]
    ).fetchone() == (0,)
    # Only a change of title or body re-indexes articles_fts (its update trigger).
    archive.execute("UPDATE articles SET last_seen_at = 'now'")
    assert archive.execute(
        "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'older'"
    ).fetchone() == (4,)
    archive.close()
