"""The four reconstructed centre sites, each added by `hkarchive source add` alone and crawled.

Each site offers its articles one way (tests/PROVENANCE.md): a WordPress site whose REST API is
refused (feed only), a site with only sitemaps, a static site with only listing pages, and a
bilingual site (/en/, /tc/). The archive must hold exactly the items of
tests/fixtures/sites/<host>.json, with their titles, days, languages, bodies and photos, and
the route each crawl took is in its run's stats.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hkarchive.mirror import MirrorServer
from tests.conftest import FIXTURES, MIRROR, run_cli

SITES = {
    "marinelab": ("www.marinelab.example", "feed"),
    "quantumlab": ("www.quantumlab.example", "sitemap"),
    "biomedlab": ("www.biomedlab.example", "listing"),
    "smartcity": ("www.smartcity.example", "listing"),
}


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Every site added with `source add URL` into one sources folder and crawled into one
    archive: the folder, the archive, and each command's output."""
    root = tmp_path_factory.mktemp("auto")
    folder, db = root / "sources", root / "archive.db"
    outputs: dict[str, Any] = {}
    with MirrorServer(MIRROR).start() as server:
        env = {"HKARCHIVE_SOURCES": str(folder)}
        for name, (host, _) in SITES.items():
            outputs[name] = run_cli("source", "add", f"https://{host}/", "--mirror", server.url,
                                    env=env)  # fmt: skip
        outputs["crawl"] = run_cli("crawl", *SITES, "--since", "2022-01-01", "--db", str(db),
                                   "--mirror", server.url, "-q", env=env)  # fmt: skip
        outputs["again"] = run_cli("crawl", *SITES, "--db", str(db), "--mirror", server.url,
                                   "-q", env=env)  # fmt: skip
    yield {"folder": folder, "db": db, **outputs}


def _query(db: Path, sql: str, *params: Any) -> list[sqlite3.Row]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("name", sorted(SITES))
def test_source_add_writes_an_auto_source_and_reports_its_route(
    crawled: dict[str, Any], name: str
) -> None:
    host, route = SITES[name]
    added = crawled[name]
    assert added.code == 0, added.stderr
    assert f"route:      {route}" in added.stdout
    assert "A sample of 5 items:" in added.stdout
    config = tomllib.loads((crawled["folder"] / f"{name}.toml").read_text(encoding="utf-8"))
    assert config["kind"] == "auto" and config["base_url"] == f"https://{host}"
    assert config["name"] == name and config["title"]


def test_the_bilingual_site_is_written_with_both_languages(crawled: dict[str, Any]) -> None:
    config = tomllib.loads((crawled["folder"] / "smartcity.toml").read_text(encoding="utf-8"))
    assert config["languages"] == ["en", "zh"]
    assert config["lang_by_path"] == {"/en/": "en", "/tc/": "zh"}


@pytest.mark.parametrize("name", sorted(SITES))
def test_each_site_crawls_into_exactly_its_articles(crawled: dict[str, Any], name: str) -> None:
    assert crawled["crawl"].code == 0, crawled["crawl"].stderr
    host, route = SITES[name]
    expected = {
        item["url"]: item
        for item in json.loads((FIXTURES / "sites" / f"{host}.json").read_text(encoding="utf-8"))
    }
    rows = {
        row["url"]: row
        for row in _query(crawled["db"], "SELECT * FROM articles WHERE source = ?", name)
    }
    assert sorted(rows) == sorted(expected)
    for url, item in expected.items():
        row = rows[url]
        assert row["title"] == item["title"], url
        assert row["published_at"][:10] == item["published_at"], url
        assert row["lang"] == item["lang"], url
        body = " ".join(row["body_text"].split())
        assert body.startswith(" ".join(item["body_starts"].split())), url
        assert body.endswith(" ".join(item["body_ends"].split())), url
        photos = _query(
            crawled["db"], "SELECT count(*) FROM images WHERE article_id = ?", row["id"]
        )
        assert photos[0][0] == item["photos"], url
    stats = _query(crawled["db"], "SELECT stats FROM crawl_runs WHERE spider = ? ORDER BY id", name)
    assert json.loads(stats[0]["stats"])["hkarchive/route"] == route


def test_dates_a_page_does_not_show_come_from_the_route(crawled: dict[str, Any]) -> None:
    # marinelab: one post shows no date (the feed's pubDate); quantumlab: one article shows none
    # (its news sitemap's publication date); biomedlab: one shows none (its URL's date).
    methods = {
        (row["source"], row["url"]): row["method"]
        for row in _query(crawled["db"], "SELECT source, url, "
                          "json_extract(extraction, '$.published_at') AS method FROM articles")
    }  # fmt: skip
    for name, (host, _) in SITES.items():
        items = json.loads((FIXTURES / "sites" / f"{host}.json").read_text(encoding="utf-8"))
        for item in items:
            source = {"feed": "feed", "sitemap": "sitemap", "url": "url"}.get(item["date_source"])
            if source:
                assert methods[(name, item["url"])] == source, item["url"]
    assert "first-seen" not in methods.values()


def test_the_bilingual_twins_are_paired(crawled: dict[str, Any]) -> None:
    host = SITES["smartcity"][0]
    items = json.loads((FIXTURES / "sites" / f"{host}.json").read_text(encoding="utf-8"))
    twins = {frozenset((i["url"], i["twin"])) for i in items if i.get("twin")}
    pairs = _query(
        crawled["db"],
        "SELECT e.url AS en, z.url AS zh FROM translation_pairs p "
        "JOIN articles e ON e.id = p.en_id JOIN articles z ON z.id = p.zh_id "
        "WHERE e.source = 'smartcity'",
    )
    assert {frozenset((p["en"], p["zh"])) for p in pairs} == twins


def test_a_second_crawl_finds_nothing_new(crawled: dict[str, Any]) -> None:
    again = crawled["again"]
    assert again.code == 0, again.stderr
    runs = _query(crawled["db"], "SELECT spider, items_new, items_updated FROM crawl_runs "
                  "WHERE id > ?", len(SITES))  # fmt: skip
    assert {(r["spider"], r["items_new"], r["items_updated"]) for r in runs} == {
        (name, 0, 0) for name in SITES
    }


def test_the_explicit_feed_and_sitemap_kinds_take_their_one_route(tmp_path: Path) -> None:
    folder, db = tmp_path / "sources", tmp_path / "archive.db"
    folder.mkdir()
    (folder / "marine.toml").write_text(
        'name = "marine"\ntitle = "Marine"\nkind = "feed"\n'
        'base_url = "https://www.marinelab.example"\n'
        'feed_url = "https://www.marinelab.example/feed/"\n',
        encoding="utf-8",
    )
    (folder / "quantum.toml").write_text(
        'name = "quantum"\ntitle = "Quantum"\nkind = "sitemap"\n'
        'base_url = "https://www.quantumlab.example"\n'
        'sitemap_urls = ["https://www.quantumlab.example/news-sitemap.xml"]\n',
        encoding="utf-8",
    )
    with MirrorServer(MIRROR).start() as server:
        env = {"HKARCHIVE_SOURCES": str(folder)}
        result = run_cli("crawl", "marine", "quantum", "--since", "2022-01-01", "--db", str(db),
                         "--mirror", server.url, "-q", env=env)  # fmt: skip
        hits = server.hits
    assert result.code == 0, result.stderr
    marine = json.loads((FIXTURES / "sites" / "www.marinelab.example.json").read_text("utf-8"))
    got = {row["url"] for row in _query(db, "SELECT url FROM articles WHERE source = 'marine'")}
    assert got == {item["url"] for item in marine}
    # The news sitemap alone lists the three newest articles; nothing else was asked for.
    quantum = _query(db, "SELECT url FROM articles WHERE source = 'quantum'")
    assert len(quantum) == 3
    assert "/www.marinelab.example/" not in hits and "/www.quantumlab.example/" not in hits
    assert not any(target.startswith("/www.marinelab.example/wp-json") for target in hits)
    assert not any("robots.txt" in target or "sitemap_index" in target for target in hits)


def _with_an_urdu_version(tmp_path: Path) -> Path:
    """The bilingual site with a third version, in Urdu under /ur/, named by an hreflang
    alternate on its home page as Hong Kong departments name theirs, and a sitemap of all
    three (reconstructed: the Urdu pages are the English ones with lang="ur",
    tests/PROVENANCE.md)."""
    host = "www.smartcity.example"
    root = tmp_path / "mirror"
    shutil.copytree(MIRROR / host, root / host)
    site = root / host
    home = site / "index.html"
    html = home.read_text(encoding="utf-8")
    html = html.replace(
        '<link rel="alternate" hreflang="zh-Hant" href="https://www.smartcity.example/tc/">',
        '<link rel="alternate" hreflang="zh-Hant" href="https://www.smartcity.example/tc/">\n'
        '<link rel="alternate" hreflang="ur" href="https://www.smartcity.example/ur/">',
    ).replace(
        '<li><a href="/tc/" lang="zh-Hant-HK">繁體中文</a></li>',
        '<li><a href="/tc/" lang="zh-Hant-HK">繁體中文</a></li>\n'
        '\t\t<li><a href="/ur/" lang="ur">اردو</a></li>',
    )
    assert 'hreflang="ur"' in html and 'href="/ur/"' in html
    home.write_text(html, encoding="utf-8")
    for page in (site / "en").rglob("*"):
        if page.is_file():
            target = site / "ur" / page.relative_to(site / "en")
            target.parent.mkdir(parents=True, exist_ok=True)
            text = page.read_text(encoding="utf-8").replace('<html lang="en">', '<html lang="ur">')
            target.write_text(text.replace('href="/en/', 'href="/ur/'), encoding="utf-8")
    # A sitemap of every version's news (the route that reaches them all, as a site's CMS
    # lists them), named by robots.txt.
    pages = sorted(site.glob("*/news/detail.php?id=*"))
    assert {page.parent.parent.name for page in pages} == {"en", "tc", "ur"}
    entries = "".join(
        f"<url><loc>https://{host}/{page.relative_to(site).as_posix()}</loc></url>"
        for page in pages
    )
    (site / "sitemap.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>',
        encoding="utf-8",
    )
    robots = (site / "robots.txt").read_text(encoding="utf-8")
    robots += f"Sitemap: https://{host}/sitemap.xml\n"
    (site / "robots.txt").write_text(robots, encoding="utf-8")
    return root


def test_a_sites_version_in_another_language_is_not_crawled(tmp_path: Path) -> None:
    mirror, db = _with_an_urdu_version(tmp_path), tmp_path / "archive.db"
    env = {"HKARCHIVE_SOURCES": str(tmp_path / "sources")}
    with MirrorServer(mirror).start() as server:
        added = run_cli("source", "add", "https://www.smartcity.example/", "--mirror",
                        server.url, env=env)  # fmt: skip
        assert added.code == 0, added.stderr
        assert "not crawled: /ur/ (the site's versions in other languages)" in added.stdout
        server.reset_counts()
        crawl = run_cli("crawl", "smartcity", "--since", "2022-01-01", "--db", str(db),
                        "--mirror", server.url, "-q", env=env)  # fmt: skip
        assert crawl.code == 0, crawl.stderr
        assert not [target for target in server.hits if "/ur/news/detail" in target]
    expected = json.loads((FIXTURES / "sites" / "www.smartcity.example.json").read_text("utf-8"))
    urls = {row["url"] for row in _query(db, "SELECT url FROM articles")}
    assert urls == {item["url"] for item in expected}
    [stats] = _query(db, "SELECT stats FROM crawl_runs")
    assert json.loads(stats["stats"])["hkarchive/other_language_skipped"] > 0
