"""The raw archive: every response kept in one WARC file per run, each record indexed."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from scrapy import Spider
from scrapy.exceptions import NotConfigured
from scrapy.http import HtmlResponse, Request, Response
from scrapy.utils.test import get_crawler
from warcio.archiveiterator import ArchiveIterator  # type: ignore[import-untyped]  # no hints

from crawler.middlewares import rawcapture as rawarchive
from crawler.middlewares.rawcapture import (
    SKIP_META,
    Capture,
    CaptureError,
    RawArchiveMiddleware,
    WarcFile,
    read_capture,
)
from hkarchive.mirror import MirrorServer
from newsarchive.clock import HKT
from tests.conftest import MIRROR, run_cli

URL = "https://www.info.gov.hk/gia/general/202205/25/P2022052500588.htm"
BIG5_PAGE = "<html><head><title>創新香港</title></head><body><p>新聞公報</p></body></html>"


@pytest.fixture
def middleware(tmp_path: Path) -> Iterator[Callable[[], RawArchiveMiddleware]]:
    """Makes the middleware of a crawl of `govhk` into tmp_path/data/archive.db, run id 7."""
    made: list[RawArchiveMiddleware] = []

    def make() -> RawArchiveMiddleware:
        crawler = get_crawler(Spider, {"HKARCHIVE_DB": str(tmp_path / "data" / "archive.db")})
        crawler.spider = Spider("govhk")
        mw = RawArchiveMiddleware.from_crawler(crawler)
        mw.spider_opened()
        assert crawler.stats is not None
        crawler.stats.set_value("hkarchive/run_id", 7)
        made.append(mw)
        return mw

    yield make
    for mw in made:
        mw.spider_closed()


def captures(tmp_path: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(tmp_path / "data" / "archive.db")
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM raw_captures ORDER BY id")]
    finally:
        conn.close()


def page(url: str = URL, body: bytes = b"<html><body>Hello</body></html>", status: int = 200,
         headers: dict[str, Any] | None = None) -> Response:  # fmt: skip
    return HtmlResponse(url, status=status, body=body,
                        headers=headers or {"Content-Type": "text/html"})  # fmt: skip


def keep(mw: RawArchiveMiddleware, *responses: Response, **meta: Any) -> None:
    for response in responses:
        request = Request(response.url, meta=meta)
        assert mw.process_response(request, response) is response


def test_every_response_is_a_record_of_one_warc_file_per_run(
    tmp_path: Path, middleware: Callable[[], RawArchiveMiddleware]
) -> None:
    mw = middleware()
    before = datetime.now(HKT).replace(microsecond=0)
    big5 = page(body=BIG5_PAGE.encode("big5"),
                headers={"Content-Type": "text/html; charset=big5"})  # fmt: skip
    missing = page(URL.replace("588", "999"), body=b"<h1>Not found</h1>", status=404)
    not_modified = Response(URL, status=304, headers={"ETag": '"v1"'})
    keep(mw, big5, missing, not_modified)
    mw.spider_closed()
    rows = captures(tmp_path)
    [warc] = sorted((tmp_path / "data" / "warc").iterdir())
    assert re.fullmatch(r"\d{8}T\d{6}-7-govhk\.warc\.gz", warc.name)
    assert [(r["url"], r["status"], r["content_type"]) for r in rows] == [
        (URL, 200, "text/html; charset=big5"),
        (missing.url, 404, "text/html"),
        (URL, 304, None),
    ]
    assert {(r["run_id"], r["source"], r["warc_file"]) for r in rows} == {
        (7, "govhk", f"warc/{warc.name}")
    }
    with warc.open("rb") as stream:
        records = [
            (r.rec_type, r.rec_headers.get_header("WARC-Target-URI"),
             r.rec_headers.get_header("WARC-Date"), r.raw_stream.read(), r.digest_checker.passed)
            for r in ArchiveIterator(stream, check_digests=True)
        ]  # fmt: skip
    assert records[0][0] == "warcinfo"
    assert [(kind, uri, body) for kind, uri, _, body, _ in records[1:]] == [
        ("response", URL, big5.body),
        ("response", missing.url, missing.body),
        ("response", URL, b""),
    ]
    assert all(passed is True for *_, passed in records[1:]), "digests are written and checked"
    for row, (_, _, warc_date, _, _) in zip(rows, records[1:], strict=True):
        fetched = datetime.fromisoformat(row["fetched_at"])
        assert fetched.utcoffset() == HKT.utcoffset(None)
        assert before <= fetched <= datetime.now(HKT)
        assert warc_date == fetched.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_index_offsets_read_back_the_response_the_spider_got(
    tmp_path: Path, middleware: Callable[[], RawArchiveMiddleware]
) -> None:
    mw = middleware()
    original = page(body=BIG5_PAGE.encode("big5"),
                    headers={"Content-Type": "text/html; charset=big5", "ETag": '"x"'})  # fmt: skip
    keep(mw, page(URL.replace("588", "001")), original, Response(URL, status=304))
    mw.spider_closed()
    row = captures(tmp_path)[1]
    stored = read_capture(tmp_path / "data" / row["warc_file"], row["warc_offset"],
                          row["warc_length"])  # fmt: skip
    rebuilt = stored.response()
    assert isinstance(rebuilt, HtmlResponse)
    assert (rebuilt.url, rebuilt.status, rebuilt.body) == (URL, 200, original.body)
    assert isinstance(original, HtmlResponse)
    assert rebuilt.encoding == original.encoding and "創新香港" in rebuilt.text
    assert rebuilt.headers.getlist("ETag") == [b'"x"']
    last = captures(tmp_path)[2]
    empty = read_capture(tmp_path / "data" / last["warc_file"], last["warc_offset"],
                         last["warc_length"])  # fmt: skip
    assert (empty.status, empty.body) == (304, b"")


def test_headers_describe_the_decoded_body_and_keep_the_original_values(
    tmp_path: Path, middleware: Callable[[], RawArchiveMiddleware]
) -> None:
    mw = middleware()
    body = b"<html><body>" + b"x" * 500 + b"</body></html>"
    keep(mw, page(body=body, headers={"Content-Type": "text/html", "Content-Length": "87",
                                      "Transfer-Encoding": "chunked"}))  # fmt: skip
    mw.spider_closed()
    row = captures(tmp_path)[0]
    stored = read_capture(tmp_path / "data" / row["warc_file"], row["warc_offset"],
                          row["warc_length"])  # fmt: skip
    headers = stored.headers
    assert headers.getlist("Content-Length") == [str(len(body)).encode()]
    assert headers.getlist("X-Archive-Orig-Content-Length") == [b"87"]
    assert headers.getlist("X-Archive-Orig-Transfer-Encoding") == [b"chunked"]
    assert b"Transfer-Encoding" not in headers


def test_index_row_is_written_only_once_its_record_is_on_disk(
    tmp_path: Path,
    middleware: Callable[[], RawArchiveMiddleware],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    indexed = []
    original = WarcFile._index

    def check_then_index(self: WarcFile, capture: Capture, **kwargs: Any) -> None:
        # Read through another handle, as a reparse after a crash would.
        stored = read_capture(self.root / capture.warc_file, capture.offset, capture.length)
        indexed.append(stored.url)
        original(self, capture, **kwargs)

    monkeypatch.setattr(WarcFile, "_index", check_then_index)
    mw = middleware()
    keep(mw, page(URL), page(URL.replace("588", "001")))
    assert indexed == [URL, URL.replace("588", "001")]
    assert len(captures(tmp_path)) == 2


def test_torn_or_missing_records_are_capture_errors(
    tmp_path: Path, middleware: Callable[[], RawArchiveMiddleware]
) -> None:
    mw = middleware()
    keep(mw, page(URL), page(URL.replace("588", "001")))
    mw.spider_closed()
    first, last = captures(tmp_path)
    warc = tmp_path / "data" / last["warc_file"]
    with warc.open("r+b") as stream:
        stream.truncate(last["warc_offset"] + last["warc_length"] - 5)
    assert read_capture(warc, first["warc_offset"], first["warc_length"]).url == URL
    with pytest.raises(CaptureError, match="torn record"):
        read_capture(warc, last["warc_offset"], last["warc_length"])
    with pytest.raises(CaptureError, match="torn record"):
        # The file has the bytes, but they end mid gzip member (a shorter length indexed).
        read_capture(warc, last["warc_offset"], last["warc_length"] - 5)
    with pytest.raises(CaptureError, match="cannot read"):
        read_capture(warc.with_name("gone.warc.gz"), 0, 10)


def test_media_requests_are_not_kept(
    tmp_path: Path, middleware: Callable[[], RawArchiveMiddleware]
) -> None:
    mw = middleware()
    keep(mw, page("https://gia.info.gov.hk/general/202205/25/photo.jpg"), **{SKIP_META: True})
    keep(mw, page(URL))
    assert [r["url"] for r in captures(tmp_path)] == [URL]


def test_file_is_closed_when_the_spider_closes(
    tmp_path: Path, middleware: Callable[[], RawArchiveMiddleware]
) -> None:
    mw = middleware()
    keep(mw, page(URL))
    warc = mw.warc
    assert warc is not None
    mw.spider_closed()
    assert warc.file.closed and mw.warc is None
    keep(mw, page(URL.replace("588", "001")))
    assert len(captures(tmp_path)) == 1


def test_a_response_that_cannot_be_kept_is_an_error_not_a_crash(
    tmp_path: Path,
    middleware: Callable[[], RawArchiveMiddleware],
    caplog: pytest.LogCaptureFixture,
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "warc").write_text("a file where the directory should be")
    mw = middleware()
    keep(mw, page(URL))
    assert "Cannot keep the raw response" in caplog.text
    assert mw.crawler.stats is not None
    assert mw.crawler.stats.get_value("hkarchive/raw/failed") == 1


def test_raw_archive_can_be_turned_off(tmp_path: Path) -> None:
    crawler = get_crawler(Spider, {"HKARCHIVE_DB": str(tmp_path / "a.db"),
                                   "HKARCHIVE_RAW_ARCHIVE": False})  # fmt: skip
    with pytest.raises(NotConfigured) as off:
        RawArchiveMiddleware.from_crawler(crawler)
    assert off.value.args == ()  # with a message, Scrapy logs it as a warning


def test_warc_name_and_archive_directory() -> None:
    started = datetime(2026, 11, 22, 12, 0, tzinfo=HKT)
    assert rawarchive.warc_name(started, 3, "cpii") == "20261122T120000-3-cpii.warc.gz"
    assert rawarchive.archive_dir("data/archive.db") == Path("data")


def test_crawl_keeps_every_response_with_its_original_url(
    mirror_server: MirrorServer, tmp_path: Path
) -> None:
    db = tmp_path / "x" / "a.db"
    result = run_cli("crawl", "govhk", "--since", "2022-05-24", "--until", "2022-05-25",
                     "--lang", "en", "--mirror", mirror_server.url, "--db", str(db))  # fmt: skip
    assert result.code == 0, result.stderr[-3000:]
    conn = sqlite3.connect(db)
    try:
        [(run_id, pages)] = conn.execute("SELECT id, pages_fetched FROM crawl_runs").fetchall()
        rows = conn.execute(
            "SELECT run_id, source, url, status, warc_file, warc_offset, warc_length "
            "FROM raw_captures ORDER BY id"
        ).fetchall()
    finally:
        conn.close()
    [warc] = (tmp_path / "x" / "warc").iterdir()
    assert warc.name.endswith(f"-{run_id}-govhk.warc.gz")
    assert len(rows) == pages
    assert {(r[0], r[1], r[4]) for r in rows} == {(run_id, "govhk", f"warc/{warc.name}")}
    assert {r[3] for r in rows} == {200, 404}, "a missing index page is kept too"
    for _, _, url, status, name, offset, length in rows:
        assert url.startswith("https://www.info.gov.hk/gia/general/202205/"), url
        stored = read_capture(tmp_path / "x" / name, offset, length)
        assert stored.url == url
        if status == 200:
            assert stored.body == (MIRROR / url.removeprefix("https://")).read_bytes()
