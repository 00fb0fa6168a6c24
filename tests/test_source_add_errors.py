"""Bad input to `hkarchive source add`, and discovery's politeness at crawl time (issue 12).

Every bad input gives one line on stderr and exit 2 (usage) or 1 (runtime), and writes no
source file and no archive. At crawl time discovery goes through Scrapy's downloader: a site
answering 503 is not declared empty (a failure is recorded and settled by the next run that
is answered), a 429 is retried after its Retry-After, and robots.txt is obeyed. The sites are
small mirrors built in tmp_path (the marine site is a copy of tests/mirror's), served by
tests/faultmirror.py.
"""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, MIRROR, Result, rows, run_cli
from tests.faultmirror import FaultMirrorServer, FaultRule

# Short timeouts and retries: a site that never answers is given up in about two seconds.
FAST: dict[str, Any] = {
    "DOWNLOAD_TIMEOUT": 1,
    "RETRY_TIMES": 1,
    "HKARCHIVE_RETRY_BACKOFF": 0.1,
    "HKARCHIVE_RETRY_BACKOFF_MAX": 0.2,
    "HKARCHIVE_RETRY_AFTER_MAX": 0.6,
}
HOME = (
    "<!DOCTYPE html><html lang='en'><head><title>A site</title>{head}</head>"
    "<body><h1>A site</h1><p>Welcome.</p><a href='/about/'>About us</a></body></html>"
)
URLSET = b'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'


def _urlset(host: str, size: int) -> bytes:
    """A sitemap of article-like URLs on `host`, of at least `size` bytes."""
    entry = f"<url><loc>https://{host}/news/an-item-of-news</loc></url>\n".encode()
    return URLSET + entry * (size // len(entry) + 1) + b"</urlset>\n"


def _site(root: Path, host: str, files: dict[str, bytes]) -> None:
    for name, body in files.items():
        path = root / host / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)


def _home(head: str = "") -> bytes:
    return HOME.format(head=head).encode()


def _robots(host: str, sitemap: str) -> bytes:
    return f"User-agent: *\nDisallow: /private/\nSitemap: https://{host}/{sitemap}\n".encode()


def build_bad_sites(root: Path) -> None:
    """One small site per runtime case, each wrong in one way."""
    _site(root, "www.plain.example", {"index.html": _home()})
    _site(root, "www.pdfhome.example", {"index.html": _home()})  # served as a PDF (a rule)
    _site(root, "www.jsonhome.example", {"index.html": _home()})  # served as JSON (a rule)
    _site(root, "www.silent.example", {"index.html": _home()})  # hangs (a rule)
    _site(root, "www.reset.example", {"index.html": _home()})  # resets (a rule)
    host = "www.gzgarbage.example"
    _site(root, host, {
        "index.html": _home(),
        "robots.txt": _robots(host, "sitemap.xml.gz"),
        "sitemap.xml.gz": b"\x1f\x8b\x08\x00" + b"not gzip at all, only garbage " * 20,
    })  # fmt: skip
    host = "www.bigsitemap.example"
    _site(root, host, {
        "index.html": _home(),
        "robots.txt": _robots(host, "sitemap.xml"),
        "sitemap.xml": _urlset(host, 64 * 1024),  # over the 16 KB the case allows
    })  # fmt: skip
    host = "www.fiftymb.example"
    _site(root, host, {
        "index.html": _home(),
        "robots.txt": _robots(host, "sitemap.xml.gz"),
        # 50 MB of sitemap in 150 KB of gzip, over the default 10 MB a sitemap may be.
        "sitemap.xml.gz": gzip.compress(_urlset(host, 50 * 1024 * 1024), compresslevel=9),
    })  # fmt: skip
    host = "www.gzipbomb.example"
    _site(root, host, {
        "index.html": _home(),
        "robots.txt": _robots(host, "sitemap.xml"),
        "sitemap.xml": _urlset(host, 1024),  # replaced by a gzip bomb (a rule)
    })  # fmt: skip
    host = "www.htmlfeed.example"
    link = f'<link rel="alternate" type="application/rss+xml" href="https://{host}/feed/">'
    _site(root, host, {
        "index.html": _home(link),
        "feed/index.html": b"<!DOCTYPE html><html><body><p>Our news, as a page</p></body></html>",
    })  # fmt: skip


def bad_rules() -> dict[str, FaultRule]:
    """The faults of the runtime cases' sites (built when the mirror starts, not at import)."""
    return {
        "/www.pdfhome.example/": {
            "kind": "body",
            "body": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << >> endobj\n",
            "content_type": "application/pdf",
        },
        "/www.jsonhome.example/": {
            "kind": "body",
            "body": b'{"name": "a site", "posts": []}',
            "content_type": "application/json",
        },
        "/www.silent.example/": {"kind": "hang", "delay": 3.0},
        "/www.reset.example/": {"kind": "reset"},
        # 50 MB of sitemap sent as 150 KB with Content-Encoding: gzip.
        "/www.gzipbomb.example/sitemap.xml": {
            "kind": "body",
            "body": gzip.compress(
                _urlset("www.gzipbomb.example", 50 * 1024 * 1024), compresslevel=9
            ),
            "content_type": "application/xml",
            "content_encoding": "gzip",
        },
    }


@dataclass(frozen=True)
class Bad:
    """A bad `source add`: its URL, options, settings, exit code and what its line says."""

    url: str
    code: int
    says: str
    options: tuple[str, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)


BAD = {
    "not-http": Bad("ftp://www.plain.example/", 2, "not an http(s) URL"),
    "no-host": Bad("https:///news/", 2, "not an http(s) URL"),
    "invalid-name": Bad(
        "https://www.plain.example/",
        2,
        "invalid source name 'Plain-Site'",
        ("--name", "Plain-Site"),
    ),
    "name-starts-with-digit": Bad(
        "https://www.plain.example/", 2, "invalid source name '1site'", ("--name", "1site")
    ),
    "bundled-cairs": Bad(
        "https://www.plain.example/", 2, "'cairs' is taken by a bundled source", ("--name", "cairs")
    ),
    "bundled-govhk": Bad(
        "https://www.plain.example/", 2, "'govhk' is taken by a bundled source", ("--name", "govhk")
    ),
    "host-hangs": Bad(
        "https://www.silent.example/",
        1,
        "https://www.silent.example/ did not answer: try again later",
    ),
    "host-resets": Bad(
        "https://www.reset.example/",
        1,
        "https://www.reset.example/ did not answer: try again later",
    ),
    "host-not-in-mirror": Bad(
        "https://www.nowhere.example/", 1, "https://www.nowhere.example/ answered 404"
    ),
    "home-is-pdf": Bad(
        "https://www.pdfhome.example/",
        1,
        "https://www.pdfhome.example/ is not an HTML page (application/pdf)",
    ),
    "home-is-json": Bad(
        "https://www.jsonhome.example/",
        1,
        "https://www.jsonhome.example/ is not an HTML page (application/json)",
    ),
    "sitemap-gzip-garbage": Bad(
        "https://www.gzgarbage.example/",
        1,
        "nothing article-like found; the sitemap https://www.gzgarbage.example/sitemap.xml.gz "
        "is not a readable sitemap",
    ),
    "sitemap-too-large": Bad(
        "https://www.bigsitemap.example/",
        1,
        "nothing article-like found; https://www.bigsitemap.example/sitemap.xml is too large",
        settings={"HKARCHIVE_MAX_SITEMAP_BYTES": 16 * 1024},
    ),
    "sitemap-50-mb-gzipped": Bad(
        "https://www.fiftymb.example/",
        1,
        "nothing article-like found; https://www.fiftymb.example/sitemap.xml.gz is too large",
    ),
    "sitemap-gzip-bomb": Bad(
        "https://www.gzipbomb.example/",
        1,
        "nothing article-like found; https://www.gzipbomb.example/sitemap.xml is too large",
    ),
    "feed-is-html": Bad(
        "https://www.htmlfeed.example/",
        1,
        "nothing article-like found; the feed https://www.htmlfeed.example/feed/ is not a feed "
        "(text/html)",
    ),
    "nothing-article-like": Bad(
        "https://www.plain.example/",
        1,
        "https://www.plain.example/: nothing article-like found (no REST API, feed, sitemap or "
        "article links)",
    ),
}


@pytest.fixture(scope="module")
def bad_mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultMirrorServer]:
    root = tmp_path_factory.mktemp("bad-sites")
    build_bad_sites(root)
    with FaultMirrorServer(root).start() as server:
        for target, rule in bad_rules().items():
            server.add(target, **rule)
        yield server


@pytest.mark.parametrize("case", list(BAD.values()), ids=list(BAD))
def test_bad_input_gives_one_line_and_writes_nothing(
    bad_mirror: FaultMirrorServer, tmp_path: Path, case: Bad
) -> None:
    folder, db = tmp_path / "sources", tmp_path / "archive.db"
    folder.mkdir()
    env = {
        "HKARCHIVE_SOURCES": str(folder),
        "HKARCHIVE_OVERRIDES": json.dumps(FAST | case.settings),
    }
    result = run_cli("source", "add", case.url, *case.options, "--mirror", bad_mirror.url,
                     "--db", str(db), env=env)  # fmt: skip
    assert result.code == case.code, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("hkarchive: error: "), lines[0]
    assert case.says in lines[0]
    assert list(folder.iterdir()) == []  # no NAME.toml, no partial file
    assert not db.exists()
    assert "Wrote" not in result.stdout


def test_a_name_already_in_the_sources_folder_is_refused(
    bad_mirror: FaultMirrorServer, tmp_path: Path
) -> None:
    folder = tmp_path / "sources"
    folder.mkdir()
    (folder / "plain.toml").write_text("# the user's own\n", encoding="utf-8")
    result = run_cli("source", "add", "https://www.plain.example/", "--mirror", bad_mirror.url,
                     env={"HKARCHIVE_SOURCES": str(folder)})  # fmt: skip
    assert result.code == 2
    assert result.stderr.startswith("hkarchive: error: source 'plain' exists already")
    assert len(result.stderr.splitlines()) == 1
    assert [p.name for p in folder.iterdir()] == ["plain.toml"]
    assert (folder / "plain.toml").read_text(encoding="utf-8") == "# the user's own\n"


# --- politeness at crawl time ----------------------------------------------------------------

HOST = "www.marinelab.example"
BASE = f"https://{HOST}/"
FEED = f"/{HOST}/feed/"
ARTICLES = {
    item["url"]
    for item in json.loads((FIXTURES / "sites" / f"{HOST}.json").read_text(encoding="utf-8"))
}
SOURCE = """\
name = "marine"
title = "Hong Kong Centre for Marine Robotics"
kind = "auto"
base_url = "https://www.marinelab.example"
languages = ["en"]
"""


@dataclass
class Site:
    """The marine site copied into tmp_path, served with faults, and a sources folder that
    declares it (kind auto, written by hand)."""

    server: FaultMirrorServer
    root: Path
    folder: Path
    db: Path

    def crawl(self, **settings: Any) -> Result:
        env = {
            "HKARCHIVE_SOURCES": str(self.folder),
            "HKARCHIVE_OVERRIDES": json.dumps(FAST | settings),
        }
        return run_cli("crawl", "marine", "--db", str(self.db), "--mirror", self.server.url,
                       env=env)  # fmt: skip

    def articles(self) -> set[str]:
        return {url for (url,) in rows(self.db, "SELECT url FROM articles")}

    def failures(self) -> list[tuple[Any, ...]]:
        return rows(self.db, "SELECT url, role, kind, error FROM failures")

    def route(self) -> list[Any]:
        runs = rows(self.db, "SELECT stats FROM crawl_runs ORDER BY id")
        return [json.loads(stats or "{}").get("hkarchive/route") for (stats,) in runs]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    root, folder = tmp_path / "mirror", tmp_path / "sources"
    shutil.copytree(MIRROR / HOST, root / HOST)
    folder.mkdir()
    (folder / "marine.toml").write_text(SOURCE, encoding="utf-8")
    with FaultMirrorServer(root).start() as server:
        yield Site(server, root, folder, tmp_path / "archive.db")


def test_a_site_answering_503_is_not_declared_empty_and_is_tried_again(site: Site) -> None:
    # Every request of the first run (the first and its one retry) is answered 503.
    site.server.add(f"/{HOST}/", "status", status=503, times=FAST["RETRY_TIMES"] + 1)
    first = site.crawl()
    assert site.server.hits[f"/{HOST}/"] == 2
    assert site.articles() == set()
    [(url, role, kind, error)] = site.failures()
    assert (url, role, kind) == (BASE, "listing", "http")
    assert error.startswith("discovery incomplete, tried again next run:")
    assert "503" in error
    assert first.code == 1  # the run logged errors: it is not a clean, empty crawl
    assert "marine: discovery incomplete, tried again next run" in first.stderr
    site.server.reset_counts()

    second = site.crawl()
    assert second.code == 0, second.stderr[-3000:]
    assert site.articles() == ARTICLES
    assert site.failures() == []  # settled by the answered discovery
    # The failure is not asked for again as a listing page: discovery alone reads the home.
    assert site.server.hits[f"/{HOST}/"] == 1
    assert rows(site.db, "SELECT url, status FROM listing_pages") == [(BASE, 200)]
    assert site.route() == [None, "feed"]


def test_a_429_on_the_feed_during_discovery_is_retried_after_its_retry_after(
    site: Site,
) -> None:
    site.server.add(FEED, "retry_after", retry_after="30", times=1)
    result = site.crawl()
    assert result.code == 0, result.stderr[-3000:]
    assert site.server.hits[FEED] == 2
    asked, retried = site.server.times[FEED]
    assert 0.6 <= retried - asked < 30  # Retry-After, capped by HKARCHIVE_RETRY_AFTER_MAX
    assert site.articles() == ARTICLES
    assert site.failures() == []
    assert site.route() == ["feed"]


def test_robots_txt_is_obeyed_by_discovery(site: Site) -> None:
    robots = site.root / HOST / "robots.txt"
    robots.write_text("User-agent: *\nDisallow: /feed/\nDisallow: /wp-admin/\n", encoding="utf-8")
    # A loopback mirror turns ROBOTSTXT_OBEY off; the overrides win over the mirror's settings.
    result = site.crawl(ROBOTSTXT_OBEY=True)
    assert result.code == 0, result.stderr[-3000:]
    hits = site.server.hits
    assert hits[f"/{HOST}/robots.txt"] >= 1
    assert FEED not in hits  # linked by the home page, and never asked for
    assert site.route() == ["listing"]
    found = site.articles()
    assert found and found <= ARTICLES
    assert site.failures() == []
