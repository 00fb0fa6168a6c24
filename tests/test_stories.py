"""Stories: republications across sources are linked to their original, and nothing else is."""

from __future__ import annotations

import html
import itertools
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from scrapy import Spider
from scrapy.utils.test import get_crawler

from hkarchive.cli import main
from hkarchive.mirror import MirrorServer
from newsarchive.archive import open_archive
from newsarchive.articles import upsert_article
from newsarchive.clock import HKT
from newsarchive.linking import stories
from newsarchive.linking.stories import (
    BANDS,
    NUM_PERM,
    ROWS,
    THRESHOLD,
    body_similarity,
    estimate,
    link_stories,
    signature,
)
from newsarchive.model import Article
from pipelines.normalize import normalize_article
from pipelines.store import StorePipeline
from tests.conftest import FIXTURES, MIRROR, REPO_ROOT, rows, run_cli

STORY_DATA = Path(__file__).resolve().parent / "stories"
GOVHK_INNOHK = "govhk:P2022052500588"
CAIRS_INNOHK = "cairs:en/36"
CPII_INNOHK = "cpii:2022/06/02/innohk-launch-ceremony"
SEEN = "2026-01-01T00:00:00+08:00"


@cache
def govhk_fixtures() -> dict[str, dict[str, Any]]:
    """Every GovHK release fixture's expected item, by native id (index pages have no body)."""
    found = {}
    for path in sorted((FIXTURES / "govhk").glob("*/expected.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if "body_text" in data:
            found[data["native_id"]] = data
    return found


def fixture_article(native_id: str, source: str = "govhk") -> Article:
    data = govhk_fixtures()[native_id]
    return make_article(
        source, native_id, data["published_at"], data["body_text"], data["title"], data["lang"]
    )


def make_article(
    source: str,
    native_id: str,
    published_at: str,
    body: str,
    title: str = "A title",
    lang: str = "en",
) -> Article:
    return normalize_article(
        Article(
            source=source,
            native_id=native_id,
            url=f"https://{source}.example.org/{native_id}",
            lang=lang,
            title=title,
            published_at=published_at,
            body_text=body,
            body_html="",
        )
    )


def story_text(name: str) -> str:
    return (STORY_DATA / name).read_text(encoding="utf-8")


def cairs_innohk() -> Article:
    return make_article("cairs", "en/36", "2022-05-25", story_text("cairs_body.txt"), "CAiRS")


def cpii_innohk() -> Article:
    body = story_text("cpii_body.txt")
    return make_article("cpii", "2022/06/02/innohk-launch-ceremony", "2022-06-02", body, "CPII")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = open_archive(tmp_path / "archive.db")
    yield database
    database.close()


def store(db: sqlite_utils.Database, *articles: Article, seen_at: str = SEEN) -> None:
    for article in articles:
        upsert_article(db, article, seen_at=seen_at, run_id=None)


def links(db: sqlite_utils.Database) -> dict[str, dict[str, Any]]:
    return {row["article_id"]: row for row in db.query("SELECT * FROM story_links")}


def story_rows(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM stories ORDER BY id"))


def snapshot(db: sqlite_utils.Database) -> dict[str, list[Any]]:
    tables = ("stories", "story_links", "article_minhash", "minhash_bands")
    return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in tables}


# --- The InnoHK trio and the measured threshold -------------------------------------------


def test_innohk_republications_join_the_govhk_release_as_their_original(
    db: sqlite_utils.Database,
) -> None:
    store(db, cairs_innohk(), cpii_innohk(), fixture_article("P2022052500588"))
    report = link_stories(db)
    assert (report.stories, report.links) == (1, 3)
    [story] = story_rows(db)
    assert story["original_id"] == GOVHK_INNOHK
    assert story["first_published_at"] == "2022-05-25T20:20:00+08:00"
    assert (story["members"], story["sources"]) == (3, "cairs,cpii,govhk")
    rows = links(db)
    assert rows[GOVHK_INNOHK]["role"] == "original"
    assert rows[GOVHK_INNOHK]["similarity"] is None
    for article_id in (CAIRS_INNOHK, CPII_INNOHK):
        assert rows[article_id]["role"] == "republication"
        assert rows[article_id]["linked_to"] == GOVHK_INNOHK
        assert rows[article_id]["method"] == "minhash"
    # The near-verbatim copy scores higher than the edited one, both above the threshold.
    assert rows[CAIRS_INNOHK]["similarity"] > 0.95
    assert THRESHOLD < rows[CPII_INNOHK]["similarity"] < rows[CAIRS_INNOHK]["similarity"]


def test_republications_clear_the_threshold_with_margin() -> None:
    govhk = govhk_fixtures()
    english, chinese = govhk["P2022052500588"]["body_text"], govhk["P2022052500584"]["body_text"]
    scores = {
        "cairs": body_similarity(english, story_text("cairs_body.txt")),
        "cpii": body_similarity(english, story_text("cpii_body.txt")),
        "zh": body_similarity(chinese, story_text("zh_republication_body.txt")),
    }
    assert min(scores.values()) >= THRESHOLD + 0.1, scores


def _pairs(keep: Any) -> list[tuple[float, str, str]]:
    fixtures = govhk_fixtures()
    return sorted(
        (
            (body_similarity(fixtures[a]["body_text"], fixtures[b]["body_text"]), a, b)
            for a, b in itertools.combinations(sorted(fixtures), 2)
            if keep(fixtures[a], fixtures[b])
        ),
        reverse=True,
    )


def test_every_pair_of_different_govhk_releases_is_below_the_threshold() -> None:
    # Template series (one headline, a new edition each day) are the exception, handled by the
    # rule that near-duplicates join different sources only; every other pair is compared here.
    pairs = _pairs(lambda a, b: a["title"] != b["title"])
    assert len(pairs) > 1000
    closest = pairs[0]
    assert closest[0] <= THRESHOLD - 0.1, closest


def test_english_and_chinese_twins_share_almost_no_shingles() -> None:
    pairs = _pairs(lambda a, b: a["lang"] != b["lang"])
    assert pairs[0][0] < 0.05, pairs[0]


def test_minhash_estimates_track_the_exact_similarity() -> None:
    english = govhk_fixtures()["P2022052500588"]["body_text"]
    for name in ("cairs_body.txt", "cpii_body.txt"):
        first, second = signature(english), signature(story_text(name))
        assert first is not None and second is not None
        exact = body_similarity(english, story_text(name))
        assert abs(estimate(first, second) - exact) < stories.ESTIMATE_SLACK / 2


def test_lsh_bands_propose_pairs_at_the_threshold_and_rarely_unrelated_ones() -> None:
    def proposed(similarity: float) -> float:
        return 1 - (1 - similarity**ROWS) ** BANDS

    assert BANDS * ROWS <= NUM_PERM
    assert proposed(THRESHOLD) > 0.9
    assert proposed(0.2) < 0.01


# --- What must not join -------------------------------------------------------------------


def test_govhk_fixture_releases_form_no_story(db: sqlite_utils.Database) -> None:
    # Same-day releases, template daily updates, CE speeches and English/Chinese twins.
    store(db, *(fixture_article(native_id) for native_id in govhk_fixtures()))
    report = link_stories(db)
    assert report.examined == len(govhk_fixtures())
    assert (report.stories, report.links) == (0, 0)


def test_unrelated_releases_stay_apart_even_from_different_sources(
    db: sqlite_utils.Database,
) -> None:
    # Each release under a source of its own, so only the threshold keeps them apart.
    fixtures = govhk_fixtures()
    store(db, *(fixture_article(n, source=f"site{i}") for i, n in enumerate(fixtures)))
    link_stories(db)
    by_story: dict[int, list[dict[str, Any]]] = {}
    for row in db.query(
        "SELECT l.story_id, a.native_id FROM story_links l JOIN articles a ON a.id = l.article_id"
    ):
        by_story.setdefault(row["story_id"], []).append(fixtures[row["native_id"]])
    for members in by_story.values():
        assert len({m["title"] for m in members}) == 1, [m["title"] for m in members]
        days = [m["published_at"][:10] for m in members]
        assert len(set(days)) == len(days), "two releases of one day joined a story"
    linked = {m["native_id"] for members in by_story.values() for m in members}
    assert not {n for n in linked if "Speech" in fixtures[n]["title"]}


def test_daily_template_updates_of_one_source_do_not_join(db: sqlite_utils.Database) -> None:
    fixtures = govhk_fixtures()
    series = [n for n, data in fixtures.items() if data["title"] == "Suspected MERS case reported"]
    assert len(series) >= 3
    [(score, _, _)] = _pairs(lambda a, b: {a["native_id"], b["native_id"]} == set(series[:2]))
    assert score > THRESHOLD, "the editions are near-duplicates: only the source rule parts them"
    store(db, *(fixture_article(n) for n in series))
    assert link_stories(db).stories == 0


def test_english_release_and_its_chinese_twin_do_not_join(db: sqlite_utils.Database) -> None:
    store(db, fixture_article("P2022052500588"), fixture_article("P2022052500584", "cairs"))
    assert link_stories(db).stories == 0


def test_near_duplicates_published_months_apart_do_not_join(db: sqlite_utils.Database) -> None:
    late = make_article("cpii", "late", "2022-09-01", story_text("cpii_body.txt"))
    store(db, fixture_article("P2022052500588"), late)
    assert link_stories(db).stories == 0


def test_short_identical_bodies_do_not_join(db: sqlite_utils.Database) -> None:
    store(
        db,
        make_article("govhk", "P1", "2022-05-25", "Photo only."),
        make_article("cairs", "1", "2022-05-25", "Photo only."),
    )
    assert link_stories(db).stories == 0


# --- Exact duplicates ---------------------------------------------------------------------


def test_identical_bodies_join_by_body_hash_even_within_one_source(
    db: sqlite_utils.Database,
) -> None:
    body = govhk_fixtures()["P2020010700619"]["body_text"]
    reissue = body.replace(" ", "  ").upper()  # same words, other spacing and case
    store(
        db,
        make_article("govhk", "P1", "2020-01-07T18:42:00+08:00", body),
        make_article("govhk", "P2", "2020-01-08T09:00:00+08:00", reissue),
        make_article("hkstp", "9", "2020-01-08", body),
    )
    link_stories(db)
    rows = links(db)
    assert rows["govhk:P1"]["role"] == "original"
    for article_id in ("govhk:P2", "hkstp:9"):
        assert rows[article_id]["method"] == "body_hash"
        assert rows[article_id]["similarity"] == 1.0
        assert rows[article_id]["linked_to"] == "govhk:P1"


# --- Relinking ----------------------------------------------------------------------------


def test_relinking_twice_changes_no_row(
    db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    store(db, cairs_innohk(), cpii_innohk(), fixture_article("P2022052500588"))
    store(db, *(fixture_article(n) for n in list(govhk_fixtures())[:10]))
    link_stories(db)
    before = snapshot(db)
    later = datetime(2030, 1, 1, tzinfo=HKT)
    monkeypatch.setattr(stories, "hk_now", lambda: later)
    report = link_stories(db)
    assert (report.signed, report.changes) == (0, 0)
    assert snapshot(db) == before


def test_an_earlier_item_arriving_later_becomes_the_original(db: sqlite_utils.Database) -> None:
    store(db, cairs_innohk(), cpii_innohk())
    link_stories(db)
    assert story_rows(db)[0]["original_id"] == CAIRS_INNOHK
    store(db, fixture_article("P2022052500588"), seen_at="2026-02-01T00:00:00+08:00")
    link_stories(db, [GOVHK_INNOHK])
    [story] = story_rows(db)
    assert (story["id"], story["original_id"], story["members"]) == (1, GOVHK_INNOHK, 3)
    assert links(db)[CAIRS_INNOHK]["role"] == "republication"
    # An item from the day before wins over GovHK's same-day priority.
    earlier = make_article("hkstp", "7", "2022-05-24", story_text("cairs_body.txt"))
    store(db, earlier)
    link_stories(db, [earlier.id])
    assert story_rows(db)[0]["original_id"] == "hkstp:7"
    assert links(db)[GOVHK_INNOHK]["role"] == "republication"


def test_an_item_whose_body_changes_leaves_its_story(db: sqlite_utils.Database) -> None:
    store(db, cairs_innohk(), cpii_innohk(), fixture_article("P2022052500588"))
    link_stories(db)
    rewritten = cpii_innohk()
    rewritten.body_text = govhk_fixtures()["P2021121500771"]["body_text"]
    store(db, normalize_article(rewritten), seen_at="2026-02-01T00:00:00+08:00")
    report = link_stories(db, [CPII_INNOHK])
    assert CPII_INNOHK not in links(db)
    assert story_rows(db)[0]["members"] == 2
    assert (report.signed, report.links_removed) == (1, 1)


def test_a_story_left_with_one_member_is_removed(db: sqlite_utils.Database) -> None:
    store(db, fixture_article("P2022052500588"), cpii_innohk())
    link_stories(db)
    assert len(story_rows(db)) == 1
    rewritten = cpii_innohk()
    rewritten.body_text = "A different text about something else entirely, long enough to count."
    store(db, normalize_article(rewritten))
    link_stories(db, [CPII_INNOHK])
    assert story_rows(db) == []
    assert links(db) == {}


def test_signatures_from_other_settings_are_recomputed(db: sqlite_utils.Database) -> None:
    store(db, fixture_article("P2022052500588"), cairs_innohk())
    link_stories(db)
    with db.atomic():
        db.execute(
            "UPDATE article_minhash SET params = 'v0 legacy' WHERE article_id = ?", [CAIRS_INNOHK]
        )
    report = link_stories(db)
    assert report.signed == 1
    assert db.execute("SELECT DISTINCT params FROM article_minhash").fetchall() == [
        (stories.PARAMS,)
    ]


def test_signatures_are_datasketchs_minhash_bit_for_bit() -> None:
    # Computed without importing datasketch (it loads SciPy): the same signature it gives, on
    # every real body here, English and Chinese, so archived signatures stay comparable.
    from datasketch import MinHash  # type: ignore[import-untyped]

    bodies = [data["body_text"] for data in govhk_fixtures().values()]
    bodies += [story_text(path.name) for path in sorted(STORY_DATA.glob("*.txt"))]
    assert len(bodies) > 10
    for body in bodies:
        shingles = stories.shingle_set(body)
        assert shingles.size > 50
        reference = MinHash(num_perm=NUM_PERM, seed=stories.SEED, hashfunc=int)
        assert reference.scheme == stories.SCHEME
        reference.update_batch(shingles.tolist())
        assert signature(body) == reference.hashvalues.astype("<u4").tobytes()


def test_linking_does_not_import_datasketch() -> None:
    code = "import sys, newsarchive.linking.steps; print('datasketch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    "sql",
    [stories._BAND_PAIRS_SQL, stories._HASH_PAIRS_SQL, stories._OLD_MEMBERS_SQL],
    ids=["band keys", "body hash", "story members"],
)
def test_lookups_start_from_the_frontier_and_use_indexes(
    db: sqlite_utils.Database, sql: str
) -> None:
    # An archive of millions of rows is never scanned to link a crawl's few new items.
    db.execute("CREATE TEMP TABLE story_frontier (article_id TEXT PRIMARY KEY)")
    params = ["-30 days", "+30 days"] if "?" in sql else []
    details = [row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql, params)]
    assert [d for d in details if d.startswith("SCAN")] == ["SCAN f"], details


# --- Where linking is wired in ------------------------------------------------------------


class _Spider(Spider):
    name = "stories-test"


def test_store_pipeline_links_the_runs_new_items_when_the_spider_closes(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    crawler = get_crawler(_Spider, {"HKARCHIVE_DB": str(path)})
    crawler.spider = _Spider.from_crawler(crawler)
    pipeline = StorePipeline.from_crawler(crawler)
    pipeline.open_spider()
    for article in (fixture_article("P2022052500588"), cairs_innohk()):
        pipeline.process_item(article)
    pipeline.spider_closed(crawler.spider, "finished")
    with open_archive(path) as db:
        assert [s["original_id"] for s in story_rows(db)] == [GOVHK_INNOHK]
        assert links(db)[CAIRS_INNOHK]["linked_to"] == GOVHK_INNOHK


def test_crawls_link_the_innohk_story_and_the_later_govhk_release_becomes_its_original(
    mirror_server: MirrorServer, tmp_path: Path
) -> None:
    db = str(tmp_path / "archive.db")
    centres = ("cairs", "cpii", "--since", "2022-05-01", "--until", "2022-06-30")
    govhk = ("govhk", "--since", "2022-05-25", "--until", "2022-05-25")
    originals = []
    for sources in (centres, govhk):
        crawled = run_cli("crawl", *sources, "--mirror", mirror_server.url, "--db", db, "-q")
        assert crawled.code == 0, crawled.stderr[-3000:]
        shown = run_cli("story", CAIRS_INNOHK, "--db", db)
        assert shown.code == 0, shown.stderr
        originals.append(shown.stdout.splitlines()[1])
    assert originals[0].startswith("original") and CAIRS_INNOHK in originals[0]
    assert originals[1].startswith("original") and GOVHK_INNOHK in originals[1]
    assert shown.stdout.startswith("story 1: 3 items from cairs, cpii, govhk")


def _with_other_text(page: bytes) -> bytes:
    """A CAiRS detail page whose text is replaced by an unrelated release's, date kept."""
    start = page.index(b'<div class="news-content">') + len(b'<div class="news-content">')
    end = page.index(b"</div>", start)
    other = govhk_fixtures()["P2021121500771"]["body_text"].split("\n\n")
    text = "".join(f"<p>{html.escape(paragraph)}</p>" for paragraph in other)
    return page[:start] + text.encode() + page[end:]


def test_a_recrawled_item_whose_text_changed_joins_or_leaves_its_story(tmp_path: Path) -> None:
    site = tmp_path / "mirror"
    shutil.copytree(MIRROR / "www.cairs.hk", site / "www.cairs.hk")
    page = site / "www.cairs.hk/en/news_detail/index/36"
    real = page.read_bytes()
    db = tmp_path / "archive.db"
    with open_archive(db) as archive:  # as a crawl of GovHK leaves it: stored and linked
        store(archive, fixture_article("P2022052500588"))
        link_stories(archive)
    window = ("--since", "2022-05-01", "--until", "2022-06-30")

    def crawl_and_links(*args: str) -> dict[str, dict[str, Any]]:
        crawled = run_cli("crawl", "cairs", *window, *args, "--mirror", server.url, "--db",
                          str(db), "-q")  # fmt: skip
        assert crawled.code == 0, crawled.stderr[-3000:]
        with open_archive(db) as archive:
            return links(archive)

    with MirrorServer(site).start() as server:
        page.write_bytes(_with_other_text(real))
        assert crawl_and_links() == {}, "another text: no story"
        # The page is edited back to the republication it is: the re-crawl links it.
        page.write_bytes(real)
        found = crawl_and_links("--refresh")
        assert found[CAIRS_INNOHK]["linked_to"] == GOVHK_INNOHK
        assert found[GOVHK_INNOHK]["role"] == "original"
        # Edited into something else again: the re-crawl unlinks it, and the story of one goes.
        page.write_bytes(_with_other_text(real))
        assert crawl_and_links("--refresh") == {}
    [(updated,)] = rows(db, "SELECT items_updated FROM crawl_runs ORDER BY id DESC LIMIT 1")
    assert updated == 1


def _innohk_archive(tmp_path: Path) -> Path:
    path = tmp_path / "archive.db"
    with open_archive(path) as db:
        store(db, cpii_innohk(), cairs_innohk(), fixture_article("P2022052500588"))
        store(db, fixture_article("P2022052500584"))
        link_stories(db)
    return path


def test_story_command_lists_members_original_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _innohk_archive(tmp_path)
    assert main(["story", CPII_INNOHK, "--db", str(path)]) == 0
    by_article = capsys.readouterr().out.splitlines()
    assert main(["story", "1", "--db", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == by_article
    header, *members = by_article
    assert header == "story 1: 3 items from cairs, cpii, govhk"
    assert members[0].startswith("original")
    assert GOVHK_INNOHK in members[0] and "2022-05-25" in members[0]
    assert "InnoHK Launch Ceremony concludes with great success" in members[0]
    assert [m.split()[0] for m in members[1:]] == ["republication", "republication"]
    assert CAIRS_INNOHK in members[1] and CPII_INNOHK in members[2]
    similarity = links_of(path)[CPII_INNOHK]["similarity"]
    assert f"{similarity:.3f}" in members[2]


def links_of(path: Path) -> dict[str, dict[str, Any]]:
    with open_archive(path) as db:
        return links(db)


def test_story_command_says_when_an_item_is_in_no_story(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _innohk_archive(tmp_path)
    assert main(["story", "govhk:P2022052500584", "--db", str(path)]) == 0
    assert "in no story" in capsys.readouterr().out


@pytest.mark.parametrize("ident", ["govhk:P1999999999999", "42"])
def test_story_command_rejects_an_unknown_id_as_a_usage_error(
    ident: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _innohk_archive(tmp_path)
    assert main(["story", ident, "--db", str(path)]) == 2
    assert f"no article or story '{ident}'" in capsys.readouterr().err


def test_story_relink_prints_the_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _innohk_archive(tmp_path)
    assert main(["story", "--relink", "--db", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("stories: 1, linked items: 3, rows changed: 0, seconds: ")


def test_benchmark_runs_on_a_small_archive() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "bench" / "stories.py"), "--items", "300"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "rerun left every row identical: yes" in done.stdout
    assert "full link" in done.stdout
