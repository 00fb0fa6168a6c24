"""`hkarchive extract`: saved pages extracted offline, one JSON object a line, nothing written."""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from hkarchive.cli import main
from newsarchive.clock import hk_now
from tests.conftest import FIXTURES

DETAIL = FIXTURES / "cairs" / "news-detail-36"
DETAIL_URL = json.loads((DETAIL / "meta.json").read_text(encoding="utf-8"))["url"]
EXPECTED: dict[str, Any] = json.loads((DETAIL / "expected.json").read_text(encoding="utf-8"))
RELEASE = FIXTURES / "govhk" / "P2022052500588"
RELEASE_URL = "https://www.info.gov.hk/gia/general/202205/25/P2022052500588.htm"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict[str, Any]], str]:
    code = main(["extract", *args])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_a_page_of_a_source_is_extracted_as_the_source_does(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, [item], err = run(
        capsys, str(DETAIL / "body.html"), "--url", DETAIL_URL, "--source", "cairs"
    )
    assert code == 0, err
    assert (item["url"], item["title"]) == (DETAIL_URL, EXPECTED["title"])
    assert (item["published_at"], item["body_text"]) == (
        EXPECTED["published_at"],
        EXPECTED["body_text"],
    )
    assert item["date_method"] == item["extraction"]["published_at"]
    assert err.strip().startswith("1 pages: 1 items, 0 without an item; dates by method: ")


def test_without_a_source_the_generic_extraction_reads_any_page(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # A GovHK release read as a page nobody described, saved gzipped.
    saved = tmp_path / "release.html.gz"
    saved.write_bytes(gzip.compress((RELEASE / "body.html").read_bytes()))
    code, [item], err = run(capsys, str(saved), "--url", RELEASE_URL)
    assert code == 0, err
    assert item["title"].startswith("InnoHK Launch Ceremony concludes with great success")
    assert item["published_at"] is not None and item["published_at"].startswith("2022-05-25")
    assert "InnoHK" in item["body_text"]


def test_a_page_with_no_date_is_dated_by_the_time_of_extraction(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    saved = tmp_path / "undated.html"
    paragraph = "<p>A paragraph of the item, long enough to be read as the body of an article.</p>"
    saved.write_text(f"<html><body><h1>Undated item</h1>{paragraph * 4}</body></html>")
    before = hk_now().replace(second=0)
    code, [item], err = run(capsys, str(saved), "--url", "https://www.example.org/news/item")
    assert code == 0, err
    assert item["date_method"] == "first-seen"
    assert before <= datetime.fromisoformat(item["published_at"]) <= hk_now()
    assert err.strip() == "1 pages: 1 items, 0 without an item; dates by method: first-seen 1"


def test_a_batch_prints_an_item_or_an_error_for_every_page_and_counts_the_dates(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # A page with neither a title nor any text: the only kind that gives no item.
    (tmp_path / "blank.html").write_text("<html><body><div></div></body></html>")
    listing = tmp_path / "list.jsonl"
    listing.write_text(
        json.dumps({"path": str(DETAIL / "body.html"), "url": DETAIL_URL})
        + "\n\n"
        + json.dumps({"path": "blank.html", "url": "https://www.cairs.hk/en/news_detail/index/9"})
        + "\n",
        encoding="utf-8",
    )
    code, records, err = run(capsys, "--batch", str(listing), "--source", "cairs")
    assert code == 1
    assert [r.get("title") for r in records] == [EXPECTED["title"], None]
    assert records[1] == {
        "url": "https://www.cairs.hk/en/news_detail/index/9",
        "error": "no article: no title and no body",
    }
    assert "2 pages: 1 items, 1 without an item; dates by method: " in err
    assert err.strip().splitlines()[-1] == "hkarchive: error: 1 of 2 pages gave no item"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give a FILE or --batch LIST.jsonl (not both)"),
        (("nosuchfile.html",), "no file nosuchfile.html"),
        (("x.html", "--source", "nosuchsite"), "unknown source 'nosuchsite'"),
        (("x.html", "--url", "ftp://example.org/x"), "expected an http(s) URL"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    code, records, err = run(capsys, *args)
    assert (code, records) == (2, [])
    assert len(err.strip().splitlines()) == 1 and message in err


def test_a_malformed_batch_line_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    listing = tmp_path / "list.jsonl"
    listing.write_text("not json\n", encoding="utf-8")
    code, records, err = run(capsys, "--batch", str(listing))
    assert (code, records) == (2, [])
    assert "list.jsonl, line 1: expected" in err
