"""Exports: JSON Lines and CSV, filtered, streamed in constant memory, never left half written."""

from __future__ import annotations

import copy
import csv
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from hkarchive.cli import export as cli_export
from hkarchive.cli.export import CSV_COLUMNS, export
from newsarchive.archive import open_archive
from newsarchive.articles import upsert_article
from newsarchive.exports import iter_articles
from newsarchive.linking.pairs import pair_releases
from tests.test_pairs import INNOHK_EN, INNOHK_ZH, SEEN, TWINS, _releases


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An archive of every GovHK release fixture, paired, the InnoHK release in a story."""
    path = tmp_path_factory.mktemp("archive") / "archive.db"
    db = open_archive(path)
    for article in _releases():
        upsert_article(db, copy.deepcopy(article), seen_at=SEEN, run_id=None)
    pair_releases(db)
    with db.atomic():
        db.table("stories").insert(
            {"id": 7, "original_id": INNOHK_EN, "members": 1, "sources": "govhk"}
        )
        db.table("story_links").insert(
            {"article_id": INNOHK_EN, "story_id": 7, "role": "original", "linked_at": SEEN}
        )
    db.close()
    return str(path)


def run(*args: str) -> Result:
    return CliRunner().invoke(export, list(args))


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_jsonl_holds_one_object_per_article_with_media_nested(db_path: str, tmp_path: Path) -> None:
    out = tmp_path / "all.jsonl"
    result = run("--format", "jsonl", "--out", str(out), "--db", db_path)
    assert result.exit_code == 0, result.output
    assert result.stderr == f"exported 59 articles to {out}\n"
    items = jsonl(out)
    assert len(items) == 59
    assert [i["published_at"] for i in items] == sorted(i["published_at"] for i in items)
    innohk = next(i for i in items if i["id"] == INNOHK_EN)
    assert innohk["title"].startswith("InnoHK Launch Ceremony concludes")
    assert innohk["translation_id"] == INNOHK_ZH
    assert innohk["story_id"] == 7
    assert len(innohk["images"]) == 4
    assert innohk["images"][0]["url"].endswith("P2022052500588_photo_1214826.jpg")
    assert innohk["images"][0]["caption"]
    assert innohk["videos"] == [
        {"url": "https://isd.wecast.hk/vod/?id=13425", "title": innohk["videos"][0]["title"]}
    ]
    assert innohk["attachments"] == []
    chinese = next(i for i in items if i["id"] == INNOHK_ZH)
    assert chinese["translation_id"] == INNOHK_EN
    assert chinese["story_id"] is None
    assert "撥款100億元" in chinese["body_text"]
    related = next(i for i in items if i["id"] == "govhk:P2020010700619")["related_links"]
    assert [r["url"] for r in related] == [
        "https://www.info.gov.hk/gia/general/202001/06/P2020010600666.htm"
    ]
    twins = {
        i["id"]: i["translation_id"] for i in items if i["lang"] == "en" and i["translation_id"]
    }
    assert twins == TWINS


def test_jsonl_goes_to_standard_output_without_out(db_path: str, tmp_path: Path) -> None:
    out = tmp_path / "zh.jsonl"
    to_file = run("--format", "jsonl", "--lang", "zh", "--out", str(out), "--db", db_path)
    to_stdout = run("--format", "jsonl", "--lang", "zh", "--db", db_path)
    assert to_file.exit_code == to_stdout.exit_code == 0
    assert to_stdout.stdout_bytes == out.read_bytes()
    assert "行政長官" in to_stdout.stdout_bytes.decode("utf-8")
    assert to_stdout.stderr == ""


def test_csv_holds_a_header_and_one_flat_row_per_article(db_path: str, tmp_path: Path) -> None:
    out = tmp_path / "all.csv"
    result = run("--format", "csv", "--out", str(out), "--db", db_path)
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
        rows = list(reader)
    assert len(rows) == 59
    innohk = next(r for r in rows if r["id"] == INNOHK_EN)
    assert (innohk["image_count"], innohk["video_count"], innohk["related_count"]) == (
        "4",
        "1",
        "0",
    )
    urls = innohk["image_urls"].split(";")
    assert len(urls) == 4
    assert all(u.startswith("https://gia.info.gov.hk/general/202205/25/") for u in urls)
    assert innohk["translation_id"] == INNOHK_ZH
    assert innohk["story_id"] == "7"
    assert "\n\n" in innohk["body_text"], "paragraphs survive inside the quoted cell"
    assert "body_html" not in innohk
    chinese = next(r for r in rows if r["id"] == INNOHK_ZH)
    assert chinese["title"].startswith("InnoHK創新香港研發平台啟動典禮")
    assert chinese["story_id"] == ""


def test_csv_escapes_semicolons_inside_urls() -> None:
    article: dict[str, Any] = dict.fromkeys(CSV_COLUMNS, "")
    article |= {"images": [{"url": "https://x.hk/a;b.jpg"}, {"url": "https://x.hk/c.jpg"}]}
    article |= {"attachments": [], "videos": [], "related_links": []}
    row = cli_export.csv_record(article)
    assert row["image_urls"] == "https://x.hk/a%3Bb.jpg;https://x.hk/c.jpg"
    assert row["image_count"] == 2


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--source", "govhk"], 59),
        (["--source", "govhk", "--source", "cairs"], 59),
        (["--source", "cpii"], 0),
        (["--lang", "zh"], 9),
        (["--lang", "en", "--since", "2022-01-01"], 2),
        (["--since", "2020-01-07", "--until", "2020-01-07"], 4),
        (["--until", "2017-10-01"], 3),
        (["--since", "2022-06-21"], 1),
    ],
)
def test_filters_select_by_source_language_and_publication_day(
    db_path: str, tmp_path: Path, args: list[str], expected: int
) -> None:
    out = tmp_path / "part.jsonl"
    result = run("--format", "jsonl", *args, "--out", str(out), "--db", db_path)
    assert result.exit_code == 0, result.output
    items = jsonl(out)
    assert len(items) == expected
    if "--lang" in args:
        assert {i["lang"] for i in items} == {args[args.index("--lang") + 1]}
    if "--since" in args:
        assert all(i["published_at"] >= args[args.index("--since") + 1] for i in items)


def test_a_day_holds_every_item_published_that_day(db_path: str, tmp_path: Path) -> None:
    out = tmp_path / "day.jsonl"
    run("--format", "jsonl", "--since", "2020-01-07", "--until", "2020-01-07", "--out", str(out),
        "--db", db_path)  # fmt: skip
    assert [i["id"] for i in jsonl(out)] == [
        "govhk:P2020010700549",
        "govhk:P2020010700614",
        "govhk:P2020010700619",
        "govhk:P2020010700560",
    ]


def test_a_failed_export_leaves_the_previous_file_and_no_other(
    db_path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "export.jsonl"
    out.write_text("the previous export\n", encoding="utf-8")

    def failing_after_ten(*args: Any) -> Iterator[dict[str, Any]]:
        """The articles, until the eleventh finds the disk full."""
        for number, article in enumerate(iter_articles(*args)):
            if number == 10:
                raise OSError("disk full")
            yield article

    monkeypatch.setattr(cli_export, "iter_articles", failing_after_ten)
    result = run("--format", "jsonl", "--out", str(out), "--db", db_path)
    assert result.exit_code == 1
    assert f"cannot write {out}: disk full" in result.stderr
    assert out.read_text(encoding="utf-8") == "the previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir() if "export" in p.name) == ["export.jsonl"]


def test_a_finished_export_replaces_the_file_and_leaves_no_temporary(
    db_path: str, tmp_path: Path
) -> None:
    out = tmp_path / "export.csv"
    out.write_text("the previous export\n", encoding="utf-8")
    result = run("--format", "csv", "--lang", "zh", "--out", str(out), "--db", db_path)
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("id,source,native_id,")
    assert sorted(p.name for p in tmp_path.iterdir() if "export" in p.name) == ["export.csv"]


BAD_ARGS = {
    "unparseable date": (["--since", "2022-13-45"], "invalid date"),
    "nonsense date": (["--until", "someday soon"], "invalid date"),
    "since after until": (["--since", "2022-05-26", "--until", "2022-05-25"], "is after"),
    "unknown source": (["--source", "nosuchsite"], "unknown source 'nosuchsite'"),
    "bad language": (["--lang", "fr"], "--lang"),
    "bad format": (["--format", "xml"], "--format"),
    "out in a missing folder": (["--out", "missing/export.jsonl"], "no directory"),
}


@pytest.mark.parametrize(("args", "message"), BAD_ARGS.values(), ids=BAD_ARGS.keys())
def test_bad_arguments_are_usage_errors_and_write_nothing(
    db_path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    before = sorted(tmp_path.iterdir())
    fmt = [] if "--format" in args else ["--format", "jsonl"]
    result = run(*fmt, *args, "--db", db_path)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stdout == ""
    assert sorted(tmp_path.iterdir()) == before


def test_format_is_json_lines_unless_asked_otherwise(db_path: str) -> None:
    result = run("--lang", "zh", "--db", db_path)
    assert result.exit_code == 0, result.output
    assert result.stdout == run("--format", "jsonl", "--lang", "zh", "--db", db_path).stdout
    assert len([json.loads(line) for line in result.stdout.splitlines()]) == 9


def test_json_is_one_array_of_the_json_lines_objects(db_path: str) -> None:
    lines = run("--lang", "zh", "--db", db_path).stdout.splitlines()
    array = run("--format", "json", "--lang", "zh", "--db", db_path).stdout
    assert json.loads(array) == [json.loads(line) for line in lines]


def test_table_shows_one_line_per_article(db_path: str) -> None:
    result = run("--format", "table", "--lang", "zh", "--db", db_path)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 9
    assert any(line.endswith(f"[{INNOHK_ZH}]") and "  govhk  zh  " in line for line in lines)


def test_a_missing_archive_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    result = run("--format", "csv", "--db", str(missing))
    assert result.exit_code == 1
    assert "no archive at" in str(result.exception)
    assert not missing.exists()


# --- Constant memory ---------------------------------------------------------------------------

SYNTHETIC = 20_000
BODY = "Paragraph of a synthetic release, long enough to weigh something. " * 22  # 1.5 kB


@pytest.fixture(scope="module")
def big_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An archive of SYNTHETIC articles (over 30 MB of text), each with a photo."""
    path = tmp_path_factory.mktemp("big") / "big.db"
    db = open_archive(path)
    # The full-text index is rebuilt row by row otherwise, the slowest part by far.
    for (name,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'articles'"
    ).fetchall():
        db.execute(f"DROP TRIGGER {name}")
    rows = (
        (f"govhk:P{n:013d}", "govhk", f"P{n:013d}", f"https://www.info.gov.hk/{n}.htm", "en",
         f"Release {n}", f"2022-01-{n % 28 + 1:02d}T12:00:00+08:00", f"{n} {BODY}", "h")
        for n in range(SYNTHETIC)
    )  # fmt: skip
    with db.atomic():
        db.conn.executemany(
            "INSERT INTO articles (id, source, native_id, url, lang, title, published_at, "
            "body_text, content_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        db.conn.executemany(
            "INSERT INTO images (article_id, position, url, caption) VALUES (?, 1, ?, ?)",
            ((f"govhk:P{n:013d}", f"https://gia.info.gov.hk/{n}.jpg", "A photo")
             for n in range(SYNTHETIC)),
        )  # fmt: skip
    db.close()
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_memory_stays_flat_whatever_the_archive_size(
    big_archive: Path, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / f"big.{fmt}"
    tracemalloc.start()
    try:
        result = run("--format", fmt, "--out", str(out), "--db", str(big_archive))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.exit_code == 0, result.output
    size = out.stat().st_size
    # Loading every row (or building the output in memory) would take more than the output.
    assert size > 25_000_000
    assert peak < 6_000_000, f"peak {peak:,} bytes for {size:,} bytes written"
    with out.open(encoding="utf-8") as handle:
        lines = sum(1 for _ in handle)
    assert lines >= SYNTHETIC


def test_help_gives_an_example_and_the_archive_option() -> None:
    result = run("--help")
    assert result.exit_code == 0
    assert "Example: hkarchive export" in result.stdout
    assert "HKARCHIVE_DB" in result.stdout
