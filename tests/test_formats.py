"""--format: every command that prints data writes a table, JSON, JSON Lines or CSV, with the
archive's column names."""

from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from hkarchive.cli import main
from newsarchive.archive import open_archive
from newsarchive.articles import upsert_article
from newsarchive.linking.pairs import pair_releases
from tests.test_pairs import INNOHK_EN, SEEN, _releases


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Every GovHK release fixture, paired, one of them changed once and in a story, a run."""
    path = tmp_path_factory.mktemp("archive") / "archive.db"
    db = open_archive(path)
    for article in _releases():
        upsert_article(db, copy.deepcopy(article), seen_at=SEEN, run_id=1)
    changed = copy.deepcopy(next(a for a in _releases() if a.id == INNOHK_EN))
    changed.title += " (corrected)"
    upsert_article(db, changed, seen_at="2026-01-02T00:00:00+08:00", run_id=1)
    pair_releases(db)
    with db.atomic():
        db.table("stories").insert(
            {"id": 7, "original_id": INNOHK_EN, "members": 1, "sources": "govhk"}
        )
        db.table("story_links").insert(
            {"article_id": INNOHK_EN, "story_id": 7, "role": "original", "linked_at": SEEN}
        )
    db.table("crawl_runs").insert(
        {"spider": "govhk", "started_at": SEEN, "finished_at": SEEN, "status": "finished",
         "finish_reason": "finished", "items_new": 59, "items_updated": 1, "items_unchanged": 0,
         "errors": 0}
    )  # fmt: skip
    db.close()
    return str(path)


# Each command, and fields its records must have.
COMMANDS: dict[str, tuple[list[str], set[str]]] = {
    "search": (["search", "InnoHK"], {"id", "url", "title", "published_at", "snippet"}),
    "export": (["export"], {"id", "url", "title", "published_at", "body_text"}),
    "runs": (["runs"], {"id", "spider", "started_at", "status", "items_new"}),
    "check": (["check"], {"kind", "source", "message"}),
    "story": (["story", INNOHK_EN], {"story_id", "article_id", "role", "similarity", "title"}),
    "pairs": (["pairs"], {"source", "en", "zh", "pairs"}),
    "pairs ID": (["pairs", INNOHK_EN], {"en_id", "zh_id", "confidence", "evidence"}),
    "history": (["history", INNOHK_EN], {"version", "first_seen_at", "last_seen_at", "title"}),
    "source list": (["source", "list"], {"name", "kind", "title"}),
    "query": (["query", "select id, url from articles where lang = 'zh'"], {"id", "url"}),
}
# check may find problems in this small archive (exit 1); its records are written all the same.
MAY_FAIL = {"check"}


def _records(output_format: str, out: str) -> tuple[list[str], list[dict[str, Any]]]:
    """The field names and the records of out, parsed as output_format."""
    if output_format == "json":
        records = json.loads(out)
        assert isinstance(records, list)
    elif output_format == "jsonl":
        records = [json.loads(line) for line in out.splitlines()]
    else:
        reader = csv.DictReader(io.StringIO(out))
        return list(reader.fieldnames or []), list(reader)
    names = list(records[0]) if records else []
    assert all(list(record) == names for record in records), "every record has the same fields"
    return names, records


@pytest.mark.parametrize("output_format", ["table", "json", "jsonl", "csv"])
@pytest.mark.parametrize(("args", "fields"), COMMANDS.values(), ids=COMMANDS.keys())
def test_every_command_prints_each_format(
    db_path: str,
    args: list[str],
    fields: set[str],
    output_format: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main([*args, "--format", output_format, "--db", db_path])
    captured = capsys.readouterr()
    assert code in ({0, 1} if args[0] in MAY_FAIL else {0}), captured.err
    if output_format == "table":
        assert captured.out.strip() or captured.err.strip()
        return
    names, records = _records(output_format, captured.out)
    if args[0] not in MAY_FAIL:
        assert records, f"{args} printed no records"
    if records or output_format == "csv":
        assert fields <= set(names), f"{sorted(fields - set(names))} missing"


def test_tables_are_the_commands_own(db_path: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--format table is what each command printed before it took --format."""
    assert main(["pairs", "--db", db_path]) == 0
    assert capsys.readouterr().out.startswith("govhk: 50 English, 9 Chinese, 9 pairs (100%")
    assert main(["runs", "--db", db_path]) == 0
    assert capsys.readouterr().out.split()[:3] == ["id", "spider", "started"]
    assert main(["source", "list", "--db", db_path]) == 0
    assert capsys.readouterr().out.split()[:4] == ["name", "kind", "declared", "in"]


def test_search_results_carry_the_url(db_path: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "InnoHK", "--lang", "en", "--format", "jsonl", "--db", db_path]) == 0
    hits = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    urls = {hit["id"]: hit["url"] for hit in hits}
    assert urls[INNOHK_EN] == "https://www.info.gov.hk/gia/general/202205/25/P2022052500588.htm"


def test_json_keeps_chinese_and_csv_has_a_header_row(
    db_path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sql = "select id, title from articles where lang = 'zh' order by id limit 1"
    assert main(["query", sql, "--format", "json", "--db", db_path]) == 0
    out = capsys.readouterr().out
    assert "創新" in out or any("\u4e00" <= ch <= "\u9fff" for ch in out)
    assert "\\u" not in out
    assert main(["query", sql, "--format", "csv", "--db", db_path]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "id,title"


def test_an_empty_result_is_an_empty_array(
    db_path: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["runs", "--source", "nosuch", "--format", "json", "--db", db_path]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["runs", "--source", "nosuch", "--format", "jsonl", "--db", db_path]) == 0
    assert capsys.readouterr().out == ""
