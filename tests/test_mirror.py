"""Tests for the local mirror: URL mapping, the static server and the Scrapy download handler."""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import subprocess
import sys
import textwrap
import urllib.request
from collections import Counter
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import NamedTuple

import pytest

from crawler.mirror import mirror_url
from hkarchive.mirror import MirrorServer, serve, sniff_content_type

REPO_ROOT = Path(__file__).resolve().parents[1]
HOST = "www.info.gov.hk"

# Big5 on purpose: the server must hand over the bytes untouched and claim no charset.
RELEASE_HTML = "<html><head><title>政府新聞公報</title></head><body>立法會</body></html>".encode(
    "big5"
)
SECRET = b"outside the mirror"


class Reply(NamedTuple):
    status: int
    headers: Message
    body: bytes


def fetch(server: MirrorServer, target: str, method: str = "GET") -> Reply:
    """Send `target` byte for byte (no client-side normalising of `..` or `%2e`)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, target)
        response = conn.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        conn.close()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def mirror_dir(tmp_path: Path) -> Path:
    root = tmp_path / "mirror"
    site = root / HOST
    write(site / "gia/general/202001/02/P2020010200831.htm", RELEASE_HTML)
    write(site / "gia/general/index.html", b"<html>index</html>")
    write(site / "P1.htm?fontSize=1", b"<html>large font</html>")
    write(site / "only.htm", b"<html>no query</html>")
    write(site / "data.json", b'{"a": 1}')
    write(site / "photo.jpg", b"\xff\xd8\xff\xe0 jpeg")
    write(site / "doc.pdf", b"%PDF-1.4 pdf")
    write(site / "sitemap.xml", b'<?xml version="1.0"?><urlset/>')
    write(site / "page", b'\xef\xbb\xbf \n<!DOCTYPE HTML><html lang="zh"></html>')
    write(site / "rss", b'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"></rss>')
    write(site / "feed", b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"/>')
    write(site / "api", b'[{"id": 1}]')
    write(site / "blob", b"\x00\x01\x02binary")
    write(tmp_path / "secret.txt", SECRET)
    return root


@pytest.fixture
def server(mirror_dir: Path) -> Iterator[MirrorServer]:
    with MirrorServer(mirror_dir).start() as mirror:
        yield mirror


@pytest.mark.parametrize(
    ("base", "url", "expected"),
    [
        (
            "http://127.0.0.1:8000",
            "https://www.info.gov.hk/gia/general/202001/02.htm",
            "http://127.0.0.1:8000/www.info.gov.hk/gia/general/202001/02.htm",
        ),
        (
            "http://127.0.0.1:8000/",
            "http://www.info.gov.hk/gia/general/202001/02.htm",
            "http://127.0.0.1:8000/www.info.gov.hk/gia/general/202001/02.htm",
        ),
        (
            "http://127.0.0.1:8000",
            "https://WWW.Info.GOV.hk:443/P1.htm?fontSize=1&Lang=TC",
            "http://127.0.0.1:8000/www.info.gov.hk/P1.htm?fontSize=1&Lang=TC",
        ),
        (
            "http://127.0.0.1:8000",
            "https://www.info.gov.hk:8443/a.htm#top",
            "http://127.0.0.1:8000/www.info.gov.hk/a.htm",
        ),
        (
            "http://127.0.0.1:8000",
            "https://www.info.gov.hk/a%20b/%E6%B8%AF.htm?q=%E6%B8%AF#x",
            "http://127.0.0.1:8000/www.info.gov.hk/a%20b/%E6%B8%AF.htm?q=%E6%B8%AF",
        ),
        (
            "http://127.0.0.1:8000",
            "https://www.info.gov.hk",
            "http://127.0.0.1:8000/www.info.gov.hk/",
        ),
        (
            "http://127.0.0.1:8000",
            "https://www.info.gov.hk/gia/general/",
            "http://127.0.0.1:8000/www.info.gov.hk/gia/general/",
        ),
    ],
)
def test_mirror_url_puts_host_and_path_under_base(base: str, url: str, expected: str) -> None:
    assert mirror_url(base, url) == expected


def test_mirror_url_rejects_url_without_host() -> None:
    with pytest.raises(ValueError, match="without a host"):
        mirror_url("http://127.0.0.1:8000", "/gia/general/today.htm")


def test_missing_directory_is_a_value_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-mirror"
    with pytest.raises(ValueError, match=re.escape(str(missing))):
        MirrorServer(missing)


def test_url_names_loopback_and_bound_port(server: MirrorServer) -> None:
    assert server.port > 0
    assert server.url == f"http://127.0.0.1:{server.port}"


def test_release_page_is_served_byte_for_byte_as_html_without_charset(
    server: MirrorServer,
) -> None:
    reply = fetch(server, f"/{HOST}/gia/general/202001/02/P2020010200831.htm")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/html"
    assert reply.headers["Content-Length"] == str(len(RELEASE_HTML))
    assert reply.body == RELEASE_HTML


def test_mirror_url_and_server_agree_on_layout(server: MirrorServer) -> None:
    original = "https://www.info.gov.hk/gia/general/202001/02/P2020010200831.htm"
    # An explicit empty ProxyHandler keeps any proxy from the environment out of the way.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(mirror_url(server.url, original), timeout=10) as response:
        assert response.read() == RELEASE_HTML


@pytest.mark.parametrize(
    ("name", "content_types"),
    [
        ("data.json", {"application/json"}),
        ("photo.jpg", {"image/jpeg"}),
        ("doc.pdf", {"application/pdf"}),
        ("sitemap.xml", {"application/xml", "text/xml"}),
    ],
)
def test_content_type_follows_extension(
    server: MirrorServer, name: str, content_types: set[str]
) -> None:
    reply = fetch(server, f"/{HOST}/{name}")
    assert reply.status == 200
    assert reply.headers["Content-Type"] in content_types


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("page", "text/html"),
        ("rss", "application/rss+xml"),
        ("feed", "application/xml"),
        ("api", "application/json"),
        ("blob", "application/octet-stream"),
    ],
)
def test_content_type_is_sniffed_when_name_has_no_extension(
    server: MirrorServer, name: str, content_type: str
) -> None:
    reply = fetch(server, f"/{HOST}/{name}")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == content_type


@pytest.mark.parametrize(
    ("head", "content_type"),
    [
        (b"  <html><body>", "text/html"),
        (b"\xef\xbb\xbf<!doctype html>", "text/html"),
        (b'<?xml version="1.0"?>\n<!-- generated -->\n<rss>', "application/rss+xml"),
        (b'<?xml version="1.0"?><urlset>', "application/xml"),
        (b"<rss version='2.0'>", "application/xml"),
        (b"\n{}", "application/json"),
        (b"%PDF-1.7", "application/pdf"),
        (b"\xff\xd8\xff\xdb", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"GIF89a....", "image/gif"),
        (b"", "application/octet-stream"),
        (b"plain words", "application/octet-stream"),
    ],
)
def test_sniffing_recognises_leading_bytes(head: bytes, content_type: str) -> None:
    assert sniff_content_type(head) == content_type


def test_trailing_slash_serves_index_html(server: MirrorServer) -> None:
    reply = fetch(server, f"/{HOST}/gia/general/")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/html"
    assert reply.body == b"<html>index</html>"


def test_directory_without_trailing_slash_serves_its_index_html(server: MirrorServer) -> None:
    reply = fetch(server, f"/{HOST}/gia/general")
    assert reply.status == 200
    assert reply.body == b"<html>index</html>"


def test_directory_without_index_html_is_not_found(server: MirrorServer) -> None:
    assert fetch(server, f"/{HOST}/gia/").status == 404


def test_query_is_part_of_the_file_name(server: MirrorServer) -> None:
    reply = fetch(server, f"/{HOST}/P1.htm?fontSize=1")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/html"
    assert reply.body == b"<html>large font</html>"


def test_query_does_not_fall_back_to_the_file_without_it(server: MirrorServer) -> None:
    assert fetch(server, f"/{HOST}/only.htm").status == 200
    assert fetch(server, f"/{HOST}/only.htm?fontSize=1").status == 404


def test_missing_file_is_not_found(server: MirrorServer) -> None:
    assert fetch(server, f"/{HOST}/gia/general/202001/02/P2020010299999.htm").status == 404
    assert fetch(server, "/www.example.com/").status == 404


@pytest.mark.parametrize(
    "target",
    [
        "/../secret.txt",
        f"/{HOST}/../../secret.txt",
        "/%2e%2e/secret.txt",
        f"/{HOST}/%2E%2E/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/%2F..%2Fsecret.txt",
        f"/{HOST}/only.htm%00",
        "secret.txt",
        "http://127.0.0.1/../secret.txt",
    ],
)
def test_paths_escaping_the_mirror_are_not_found(server: MirrorServer, target: str) -> None:
    reply = fetch(server, target)
    assert reply.status == 404
    assert SECRET not in reply.body


def test_absolute_file_path_in_request_stays_inside_the_mirror(
    server: MirrorServer, tmp_path: Path
) -> None:
    reply = fetch(server, "/" + (tmp_path / "secret.txt").as_posix().lstrip("/"))
    assert reply.status == 404
    reply = fetch(server, "/" + (tmp_path / "secret.txt").as_posix())
    assert reply.status == 404


def test_symlinks_pointing_out_of_the_mirror_are_not_followed(
    server: MirrorServer, mirror_dir: Path, tmp_path: Path
) -> None:
    try:
        (mirror_dir / HOST / "leak.htm").symlink_to(tmp_path / "secret.txt")
        (mirror_dir / "outside").symlink_to(tmp_path, target_is_directory=True)
    except OSError:
        pytest.skip("cannot create symlinks here")
    for target in (f"/{HOST}/leak.htm", "/outside/secret.txt"):
        reply = fetch(server, target)
        assert reply.status == 404
        assert SECRET not in reply.body


def test_symlinks_inside_the_mirror_are_served(server: MirrorServer, mirror_dir: Path) -> None:
    try:
        (mirror_dir / HOST / "alias.htm").symlink_to(mirror_dir / HOST / "only.htm")
    except OSError:
        pytest.skip("cannot create symlinks here")
    assert fetch(server, f"/{HOST}/alias.htm").body == b"<html>no query</html>"


def test_head_sends_headers_without_body(server: MirrorServer) -> None:
    reply = fetch(server, f"/{HOST}/gia/general/202001/02/P2020010200831.htm", method="HEAD")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/html"
    assert reply.headers["Content-Length"] == str(len(RELEASE_HTML))
    assert reply.body == b""


def test_head_of_missing_file_is_not_found(server: MirrorServer) -> None:
    assert fetch(server, f"/{HOST}/nothing.htm", method="HEAD").status == 404


def test_file_larger_than_a_mebibyte_arrives_whole(server: MirrorServer, mirror_dir: Path) -> None:
    big = bytes(range(256)) * (5 * 1024 + 3)  # a little over 1 MiB, not a chunk multiple
    write(mirror_dir / HOST / "big.pdf", b"%PDF" + big)
    reply = fetch(server, f"/{HOST}/big.pdf")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/pdf"
    assert reply.headers["Content-Length"] == str(len(big) + 4)
    assert reply.body == b"%PDF" + big


def test_large_file_without_extension_is_still_sniffed(
    server: MirrorServer, mirror_dir: Path
) -> None:
    write(mirror_dir / HOST / "bigpage", b"<html>" + b" " * (2 * 1024 * 1024) + b"</html>")
    reply = fetch(server, f"/{HOST}/bigpage", method="HEAD")
    assert reply.headers["Content-Type"] == "text/html"


def test_requests_are_counted_by_target_and_status(server: MirrorServer) -> None:
    page = f"/{HOST}/gia/general/202001/02/P2020010200831.htm"
    fetch(server, page)
    fetch(server, page, method="HEAD")
    fetch(server, f"/{HOST}/P1.htm?fontSize=1")
    fetch(server, f"/{HOST}/missing.htm")
    assert server.hits == Counter(
        {page: 2, f"/{HOST}/P1.htm?fontSize=1": 1, f"/{HOST}/missing.htm": 1}
    )
    assert server.statuses == Counter({200: 3, 404: 1})
    assert server.hits_for(200) == Counter({page: 2, f"/{HOST}/P1.htm?fontSize=1": 1})
    assert server.hits_for(404) == Counter({f"/{HOST}/missing.htm": 1})
    assert server.hits_for(500) == Counter()


def test_counts_are_snapshots_and_can_be_reset(server: MirrorServer) -> None:
    fetch(server, f"/{HOST}/only.htm")
    snapshot = server.hits
    snapshot.clear()
    assert server.hits == Counter({f"/{HOST}/only.htm": 1})
    server.reset_counts()
    assert server.hits == Counter()
    assert server.statuses == Counter()
    assert server.hits_for(200) == Counter()


def test_requests_are_logged_at_debug_and_not_written_to_stderr(
    server: MirrorServer,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    with caplog.at_level(logging.DEBUG, logger="hkarchive.mirror"):
        fetch(server, f"/{HOST}/only.htm")
        fetch(server, f"/{HOST}/missing.htm")
    # The handler thread logs after sending, so stop the server to be sure it has finished.
    server.stop()
    messages = [r.getMessage() for r in caplog.records if r.name == "hkarchive.mirror"]
    assert any(f"/{HOST}/only.htm" in m for m in messages)
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name == "hkarchive.mirror")
    assert capfd.readouterr().err == ""


def test_stopped_server_refuses_connections_and_stop_is_idempotent(mirror_dir: Path) -> None:
    with MirrorServer(mirror_dir).start() as mirror:
        port = mirror.port
        assert fetch(mirror, f"/{HOST}/only.htm").status == 200
    mirror.stop()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        with pytest.raises(ConnectionRefusedError):
            conn.request("GET", f"/{HOST}/only.htm")
    finally:
        conn.close()


def test_start_twice_is_an_error(server: MirrorServer) -> None:
    with pytest.raises(RuntimeError, match="already started"):
        server.start()


def test_serve_prints_address_and_returns_on_ctrl_c(
    mirror_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(self: MirrorServer, poll_interval: float = 0.5) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(MirrorServer, "serve_forever", interrupted)
    serve(mirror_dir, port=0)
    out = capsys.readouterr().out
    assert re.fullmatch(
        rf"Serving {re.escape(str(mirror_dir))} at http://127\.0\.0\.1:\d+/ \(Ctrl-C to stop\)\n",
        out,
    )


def test_serve_on_a_busy_port_raises_oserror(server: MirrorServer, mirror_dir: Path) -> None:
    with pytest.raises(OSError):
        serve(mirror_dir, port=server.port)


SPIDER = textwrap.dedent(
    """
    import scrapy


    class MirrorSpider(scrapy.Spider):
        name = "mirror"
        start_urls = [
            "https://www.info.gov.hk/a.htm",
            "https://www.info.gov.hk/b.htm?x=1",
        ]

        def parse(self, response):
            yield {"url": response.url, "text": response.text}
    """
)


def test_scrapy_crawl_through_handler_reads_mirror_but_keeps_original_urls(
    tmp_path: Path,
) -> None:
    root = tmp_path / "mirror"
    write(root / HOST / "a.htm", b"<html><body>mirrored page a</body></html>")
    write(root / HOST / "b.htm?x=1", b"<html><body>mirrored page b</body></html>")
    (tmp_path / "spider.py").write_text(SPIDER, encoding="utf-8")
    handler = "crawler.mirror.MirrorDownloadHandler"
    env = {
        key: value
        for key, value in os.environ.items()
        if key.lower() not in {"no_proxy", "scrapy_settings_module"}
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    # A dead proxy for the real hosts: the crawl only succeeds if the handler bypasses it.
    env["http_proxy"] = env["https_proxy"] = "http://127.0.0.1:9"

    with MirrorServer(root).start() as mirror:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "scrapy",
                "runspider",
                "spider.py",
                "-s",
                f"HKARCHIVE_MIRROR={mirror.url}",
                "-s",
                "DOWNLOAD_HANDLERS=" + json.dumps({"http": handler, "https": handler}),
                "-s",
                "ROBOTSTXT_OBEY=False",
                "-s",
                "TELNETCONSOLE_ENABLED=False",
                "-o",
                "out.jsonl",
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        hits = mirror.hits

    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    items = sorted((json.loads(line) for line in lines), key=lambda item: item["url"])
    assert items == [
        {
            "url": "https://www.info.gov.hk/a.htm",
            "text": "<html><body>mirrored page a</body></html>",
        },
        {
            "url": "https://www.info.gov.hk/b.htm?x=1",
            "text": "<html><body>mirrored page b</body></html>",
        },
    ]
    assert hits == Counter({f"/{HOST}/a.htm": 1, f"/{HOST}/b.htm?x=1": 1})
