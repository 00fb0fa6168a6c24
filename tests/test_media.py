"""Media downloads: photos and attachments kept under the archive's directory, fetched once."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scrapy import Spider
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Request
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from crawler.middlewares.rawcapture import SKIP_META
from hkarchive.mirror import MirrorServer
from newsarchive import articles
from newsarchive.model import Attachment, NotModified, Photo
from pipelines.media import MediaPipeline
from tests.conftest import FIXTURES, REPO_ROOT
from tests.test_archive import make_article

DAY = "202205/25"
RELEASE = "P2022052500588"
PHOTO = "https://gia.info.gov.hk/general/202205/25/P2022052500588_photo_{}.jpg"
SERVED_PHOTOS = ("1214826", "1214827", "1214828")
MISSING_PHOTO = "1214829"
ATTACHMENT = "https://gia.info.gov.hk/general/202205/25/P2022052500588_1_1_1653480000000.pdf"


def pipeline(tmp_path: Path, media: bool = True) -> MediaPipeline:
    crawler = get_crawler(Spider, {"HKARCHIVE_DB": str(tmp_path / "x" / "a.db"),
                                   "HKARCHIVE_MEDIA": media})  # fmt: skip
    crawler.spider = Spider("govhk")
    made = MediaPipeline.from_crawler(crawler)
    made.open_spider()
    return made


def test_media_downloads_are_off_unless_asked_and_say_so_below_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(NotConfigured) as off:
        pipeline(tmp_path, media=False)
    # No message: Scrapy would log one as a warning on every crawl without --media.
    assert off.value.args == ()
    [said] = [r for r in caplog.records if "HKARCHIVE_MEDIA" in r.getMessage()]
    assert said.levelno == logging.INFO


def test_files_are_stored_beside_the_archive(tmp_path: Path) -> None:
    made = pipeline(tmp_path)
    assert made.root == (tmp_path / "x").resolve()
    assert (tmp_path / "x" / "media").is_dir()


def test_each_photo_and_attachment_is_requested_once_from_any_host(tmp_path: Path) -> None:
    made = pipeline(tmp_path)
    article = make_article(
        photos=[Photo(PHOTO.format(1), PHOTO.format("1t")), Photo(PHOTO.format(1)),
                Photo(PHOTO.format(2))],
        attachments=[Attachment(ATTACHMENT, "Annex")],
    )  # fmt: skip
    requests = made.get_media_requests(article, made.spiderinfo)
    assert [r.url for r in requests] == [PHOTO.format(1), PHOTO.format(2), ATTACHMENT]
    assert all(r.meta["allow_offsite"] and r.meta[SKIP_META] for r in requests)
    assert made.get_media_requests(NotModified("govhk", RELEASE), made.spiderinfo) == []


def test_media_requests_pass_the_offsite_filter_of_a_spider_of_another_site(
    tmp_path: Path,
) -> None:
    made = pipeline(tmp_path)
    spider = Spider("cairs", allowed_domains=["www.cairs.hk", "cairs.hk"])
    made.crawler.spider = spider
    offsite = OffsiteMiddleware.from_crawler(made.crawler)
    offsite.spider_opened(spider)
    article = make_article(photos=[Photo("https://cdn.example.org/4.jpg")])
    [request] = made.get_media_requests(article, made.spiderinfo)
    offsite.process_request(request)
    with pytest.raises(IgnoreRequest):
        offsite.process_request(Request("https://cdn.example.org/4.jpg"))


def test_downloaded_files_are_recorded_on_the_item_and_failures_left_empty(
    tmp_path: Path,
) -> None:
    made = pipeline(tmp_path)
    stored = tmp_path / "x" / "media" / "full" / "abc.jpg"
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"\xff\xd8\xff" + b"\0" * 97)
    article = make_article(photos=[Photo(PHOTO.format(n)) for n in (1, 2, 3)])
    results: list[Any] = [
        (True, {"url": PHOTO.format(1), "path": "full/abc.jpg", "checksum": "c0ffee",
                "status": "downloaded"}),
        # Twisted's Failure.__init__ has no annotations.
        (False, Failure(ConnectionRefusedError())),  # type: ignore[no-untyped-call]
        (True, {"url": PHOTO.format(3), "path": "", "checksum": None, "status": "missing"}),
    ]  # fmt: skip
    made.item_completed(results, article, made.spiderinfo)
    done, failed, missing = article.photos
    assert (done.local_path, done.checksum, done.file_size) == ("media/full/abc.jpg", "c0ffee", 100)
    for entry in (failed, missing):
        assert (entry.local_path, entry.checksum, entry.file_size) == (None, None, None)
    stats = made.crawler.stats
    assert stats is not None
    assert (stats.get_value("hkarchive/media/failed"), stats.get_value("hkarchive/media/missing"),
            stats.get_value("hkarchive/media/files")) == (1, 1, 1)  # fmt: skip


def photo_bytes(name: str) -> bytes:
    return b"\xff\xd8\xff\xe0" + hashlib.sha256(name.encode()).digest() * 64


@pytest.fixture
def media_mirror(tmp_path: Path) -> Iterator[MirrorServer]:
    """A GovHK release with three photos served, one missing, and an attachment."""
    root = tmp_path / "mirror"
    day = root / "www.info.gov.hk" / "gia" / "general" / DAY
    day.mkdir(parents=True)
    (day.parent / "25.htm").write_text(f'<a href="25/{RELEASE}.htm">release</a>')
    page = (FIXTURES / "govhk" / RELEASE / "body.html").read_bytes()
    annex = (
        f'<div class="resAttach"><a class="attach_text" href="{ATTACHMENT}">'
        "<span>Annex</span></a></div></body>"
    )
    (day / f"{RELEASE}.htm").write_bytes(page.replace(b"</body>", annex.encode(), 1))
    gia = root / "gia.info.gov.hk" / "general" / DAY
    gia.mkdir(parents=True)
    for photo in SERVED_PHOTOS:
        (gia / PHOTO.format(photo).rsplit("/", 1)[1]).write_bytes(photo_bytes(photo))
    (gia / ATTACHMENT.rsplit("/", 1)[1]).write_bytes(b"%PDF-1.4 annex")
    with MirrorServer(root).start() as server:
        yield server


def crawl_with_media(server: MirrorServer, db: Path, out: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HKARCHIVE_")}
    env.update(HKARCHIVE_DB=str(db), HKARCHIVE_MIRROR=server.url)
    return subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "govhk", "-a", "days=2022-05-25",
         "-a", "lang=en", "-s", "HKARCHIVE_MEDIA=True", "-O", str(out)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def exported(out: Path) -> dict[str, Any]:
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    [item] = [entry for entry in lines if "photos" in entry]  # articles, not listing pages
    return {entry["url"]: entry for entry in [*item["photos"], *item["attachments"]]}


def media_hits(server: MirrorServer) -> dict[str, int]:
    return {path: n for path, n in server.hits.items() if path.startswith("/gia.info.gov.hk/")}


def test_crawl_downloads_photos_and_attachments_once(
    media_mirror: MirrorServer, tmp_path: Path
) -> None:
    first = crawl_with_media(media_mirror, tmp_path / "arch" / "a.db", tmp_path / "a.jsonl")
    assert first.returncode == 0, first.stderr[-3000:]
    entries = exported(tmp_path / "a.jsonl")
    for photo in SERVED_PHOTOS:
        entry = entries[PHOTO.format(photo)]
        body = photo_bytes(photo)
        assert entry["checksum"] == hashlib.md5(body).hexdigest()
        assert entry["file_size"] == len(body)
        assert entry["local_path"].startswith("media/full/")
        assert (tmp_path / "arch" / entry["local_path"]).read_bytes() == body
    assert entries[ATTACHMENT]["file_size"] == len(b"%PDF-1.4 annex")
    missing = entries[PHOTO.format(MISSING_PHOTO)]
    assert (missing["local_path"], missing["checksum"], missing["file_size"]) == (None,) * 3
    assert f"Media file {PHOTO.format(MISSING_PHOTO)} not downloaded: HTTP 404" in first.stderr
    assert "] ERROR:" not in first.stderr, "a file missing on the site does not fail the crawl"
    hits = media_hits(media_mirror)
    assert set(hits.values()) == {1}
    assert len(hits) == len(SERVED_PHOTOS) + 2, "full-size photos and the attachment, no thumbnails"
    conn = sqlite3.connect(tmp_path / "arch" / "a.db")
    try:
        kept = [url for (url,) in conn.execute("SELECT url FROM raw_captures")]
    finally:
        conn.close()
    assert kept and not any("gia.info.gov.hk" in url for url in kept), "media stay out of WARCs"

    # Another archive in the same directory shares media/: the files are there, not fetched.
    media_mirror.reset_counts()
    second = crawl_with_media(media_mirror, tmp_path / "arch" / "b.db", tmp_path / "b.jsonl")
    assert second.returncode == 0, second.stderr[-3000:]
    assert any(RELEASE in path for path in media_mirror.hits), "the release was crawled again"
    assert set(media_hits(media_mirror)) == {f"/gia.info.gov.hk/general/{DAY}/"
                                             f"{RELEASE}_photo_{MISSING_PHOTO}.jpg"}  # fmt: skip
    assert exported(tmp_path / "b.jsonl") == entries


@pytest.mark.skipif(
    "local_path" not in articles._CHILDREN["images"][1],
    reason="StorePipeline does not write the media columns yet (newsarchive/articles.py _CHILDREN)",
)
def test_downloaded_files_are_stored_in_the_archive(
    media_mirror: MirrorServer, tmp_path: Path
) -> None:
    db = tmp_path / "arch" / "a.db"
    result = crawl_with_media(media_mirror, db, tmp_path / "a.jsonl")
    assert result.returncode == 0, result.stderr[-3000:]
    conn = sqlite3.connect(db)
    try:
        stored = conn.execute(
            "SELECT url, local_path, checksum, file_size FROM images WHERE local_path IS NOT NULL "
            "UNION ALL SELECT url, local_path, checksum, file_size FROM attachments"
        ).fetchall()
    finally:
        conn.close()
    entries = exported(tmp_path / "a.jsonl")
    assert sorted(stored) == sorted(
        (url, e["local_path"], e["checksum"], e["file_size"])
        for url, e in entries.items()
        if e["local_path"]
    )
