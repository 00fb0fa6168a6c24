"""The benchmarks run end to end: smoke tests of `python bench/run.py --quick` and of
`python bench/extraction_quality.py --limit 3`, and the article benchmark's scoring itself.

Its numbers depend on the machine and its load, so they are never asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SECTIONS = ("ceiling", "ours", "naive", "extraction", "incremental", "search", "memory", "latency")


def test_quick_benchmark_runs_and_writes_every_section(tmp_path: Path) -> None:
    out, cache = tmp_path / "results.json", tmp_path / "cache"
    done = subprocess.run(
        [sys.executable, "bench/run.py", "--quick", "--out", str(out), "--cache", str(cache)],
        cwd=REPO,
        capture_output=True,
        text=True,
        # About a minute on an idle machine; far longer when other work shares the cores.
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text(encoding="utf-8"))
    assert set(SECTIONS) <= set(results["sections"])
    assert results["machine"]["cores"]
    assert results["table"]
    assert "| section" in done.stdout


# --- bench/extraction_quality.py: the article benchmark's scoring, and a run on 3 pages -------

QUALITY_FIELDS = {"items", "refusals", "f1", "precision", "recall"}


def test_shingle_scoring_of_identical_disjoint_and_half_overlapping_bodies() -> None:
    from bench.extraction_quality import metrics_from_tp_fp_fns, string_shingle_matching

    def score(true: str, pred: str) -> dict[str, float]:
        return metrics_from_tp_fp_fns([string_shingle_matching(true=true, pred=pred)])

    body = "The council met on Monday and approved the harbour plan."
    assert score(body, body) == {"f1": 1.0, "precision": 1.0, "recall": 1.0}
    # Punctuation is no token: the benchmark's tokens are the runs of \w, case kept.
    assert score(body, body.replace(".", " ")) == {"f1": 1.0, "precision": 1.0, "recall": 1.0}
    assert score(body, "Nothing in common with that sentence whatsoever here") == {
        "f1": 0.0,
        "precision": 0.0,
        "recall": 0.0,
    }
    # 4-word shingles: a b c d e gives (a b c d), (b c d e); a b c d x shares one of two.
    assert string_shingle_matching("a b c d e", "a b c d x") == (1 / 3, 1 / 3, 1 / 3)
    assert score("a b c d e", "a b c d x") == {"f1": 0.5, "precision": 0.5, "recall": 0.5}
    # Nothing extracted: no precision to average, recall 0.
    assert score(body, "") == {"f1": 0.0, "precision": 0.0, "recall": 0.0}
    # Shingles are counted as a multiset: (a b c d) twice in the reference, once extracted, is
    # one TP and one FN; (b c d a), (c d a b), (d a b c) are FNs. Recall 1/5, precision 1.
    assert score("a b c d " * 2, "a b c d") == pytest.approx(
        {"f1": 1 / 3, "precision": 1.0, "recall": 0.2}
    )


def test_quality_benchmark_runs_on_three_pages(tmp_path: Path) -> None:
    out = tmp_path / "quality.json"
    done = subprocess.run(
        [sys.executable, "bench/extraction_quality.py", "--limit", "3", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| ours |" in done.stdout
    assert "| trafilatura |" in done.stdout
    results = json.loads(out.read_text(encoding="utf-8"))
    assert results["pages"] == 3
    assert len(results["per_page"]) == 3
    assert set(results["contenders"]) == {"ours", "trafilatura"}
    for contender in results["contenders"].values():
        assert set(contender) >= QUALITY_FIELDS
        assert contender["items"] + sum(contender["refusals"].values()) == 3
        for key in ("f1", "precision", "recall"):
            assert 0.0 <= contender[key] <= 1.0
        assert contender["ms_per_page_median"] > 0
    assert results["ratios"]["ms_median"] > 0


def test_news_please_peer_times_every_page_and_counts_titles(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from bench.newsplease_peer import time_pages

    pages = []
    for n in range(3):
        path = tmp_path / f"{n}.htm"
        path.write_text(f"<title>{n}</title>" if n else "<p>untitled</p>", encoding="utf-8")
        pages.append({"path": str(path), "url": f"https://example.org/{n}"})
    seen: list[tuple[str, str]] = []

    def extract(html: str, url: str) -> SimpleNamespace:
        seen.append((html, url))
        return SimpleNamespace(title="t" if "<title>" in html else None)

    result = time_pages(pages, extract, repeats=2)
    assert (result["pages"], result["repeats"], result["pages_with_title"]) == (3, 2, 2)
    assert len(result["ms_passes"]) == 2
    assert [url for _, url in seen] == [p["url"] for p in pages] * 2


def test_news_please_missing_from_the_given_python_is_one_clear_error(tmp_path: Path) -> None:
    from bench.extraction import newsplease

    site = tmp_path / "www.info.gov.hk" / "gia" / "general" / "202401" / "02"
    site.mkdir(parents=True)
    (site / "P2024010200001.htm").write_text("<p>x</p>", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"news-please \(.*\) failed: .*newsplease"):
        newsplease(sys.executable, tmp_path, pages=1, repeats=1)


# news-please's own config.cfg (1.6.16), the lines the benchmark changes, as it writes them.
NEWSPLEASE_CFG = """[Crawler]
default = SitemapCrawler
[Files]
url_input_file_name = sitelist.hjson
working_path = ~/news-please-repo/
[ArticleMasterExtractor]
extractors = ['newspaper_extractor', 'readability_extractor', 'date_extractor']
[Scrapy]
ROBOTSTXT_OBEY=True
CONCURRENT_REQUESTS=16
CONCURRENT_REQUESTS_PER_DOMAIN=4
"""


def test_news_please_crawls_the_mirror_with_ours_loopback_settings(tmp_path: Path) -> None:
    from bench.crawls import newsplease_config
    from crawler.mirror import mirror_overrides

    mirror = "http://127.0.0.1:8765"
    config = newsplease_config(
        NEWSPLEASE_CFG, work=tmp_path, sites=tmp_path / "sites.hjson", mirror_url=mirror
    ).splitlines()
    loopback = mirror_overrides(mirror)
    assert f"working_path = {tmp_path}/" in config
    assert f"url_input_file_name = {tmp_path / 'sites.hjson'}" in config
    assert "ROBOTSTXT_OBEY = False" in config
    assert f"CONCURRENT_REQUESTS = {loopback['CONCURRENT_REQUESTS']}" in config
    per_site = loopback["CONCURRENT_REQUESTS_PER_DOMAIN"]
    assert f"CONCURRENT_REQUESTS_PER_DOMAIN = {per_site}" in config
    # No image is fetched from the live sites: news-please's own extractor that fetches none.
    assert any("['newspaper_extractor_no_images', 'readability" in line for line in config)
    with pytest.raises(SystemExit, match="ROBOTSTXT_OBEY"):
        newsplease_config(
            NEWSPLEASE_CFG.replace("ROBOTSTXT_OBEY=True\n", ""),
            work=tmp_path, sites=tmp_path, mirror_url=mirror,
        )  # fmt: skip


def test_news_please_is_given_the_release_pages_as_mirror_urls(tmp_path: Path) -> None:
    from bench.crawls import newsplease_urls
    from bench.sitegen import generate

    site = generate(tmp_path, 12)
    urls = newsplease_urls(site, "http://127.0.0.1:8765/", 10)
    assert len(urls) == 10
    for url in urls:
        assert url.startswith("http://127.0.0.1:8765/www.info.gov.hk/gia/general/")
        assert (tmp_path / url.removeprefix("http://127.0.0.1:8765/")).is_file()
        assert "/P20" in url  # a release, not an index page


# --- the latency section: ours with the live sites' politeness settings ------------------------


def test_the_live_contender_gets_back_every_setting_a_loopback_mirror_lifts() -> None:
    from bench.crawls import child_env, live_politeness
    from crawler import settings
    from crawler.mirror import mirror_overrides

    live = live_politeness()
    loopback = mirror_overrides("http://127.0.0.1:8000")
    assert set(live) == {"ROBOTSTXT_OBEY", "AUTOTHROTTLE_ENABLED", "DOWNLOAD_DELAY",
                         "CONCURRENT_REQUESTS", "CONCURRENT_REQUESTS_PER_DOMAIN"}  # fmt: skip
    for name, value in live.items():
        assert value == getattr(settings, name)
        assert loopback[name] != value, name
    assert json.loads(child_env(live)["HKARCHIVE_OVERRIDES"]) == live
    assert "HKARCHIVE_OVERRIDES" not in child_env()


def test_the_live_settings_win_over_a_loopback_mirror_in_the_crawl() -> None:
    from scrapy.settings import Settings

    from bench.crawls import live_politeness
    from crawler import settings as project
    from crawler.addon import ArchiveAddon

    crawl = Settings()
    crawl.setmodule(project, priority="project")
    crawl.set("HKARCHIVE_MIRROR", "http://127.0.0.1:8000", priority="cmdline")
    crawl.set("HKARCHIVE_OVERRIDES", live_politeness(), priority="project")
    ArchiveAddon().update_settings(crawl)
    assert crawl.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == project.CONCURRENT_REQUESTS_PER_DOMAIN
    assert crawl.getfloat("DOWNLOAD_DELAY") == project.DOWNLOAD_DELAY
    assert crawl.getbool("AUTOTHROTTLE_ENABLED") is True
    assert crawl.get("DOWNLOAD_HANDLERS")["http"] == "crawler.mirror.MirrorDownloadHandler"


def test_the_latency_table_shows_three_contenders_and_which_one_a_user_gets() -> None:
    from bench.report import rows

    def crawl(rate: float) -> dict[str, float]:
        return {"pages_per_s": rate, "cpu_ms_per_page": 10.0}

    late = {
        "delay_ms": 100.0, "pages": 400, "ours": crawl(50.0), "naive": crawl(8.0),
        "live": crawl(2.0) | {"pages": 160, "settings": {"CONCURRENT_REQUESTS_PER_DOMAIN": 2,
                              "DOWNLOAD_DELAY": 0.5, "AUTOTHROTTLE_ENABLED": True}},
        "ratio_to_naive": 6.25, "live_ratio_to_naive": 0.25,
    }  # fmt: skip
    table = [r for r in rows({"sections": {"latency": late}}) if r[0] == "latency"]
    rates = [r for r in table if "pages/s" in r[1]]
    cpu = [r for r in table if "CPU ms/page" in r[1]]
    assert len(rates) == 3 and len(cpu) == 3
    [user] = [r for r in rates if "what a user gets" in r[1]]
    assert "live settings" in user[1] and "160 pages" in user[1] and user[2] == "2"
    assert any(r[4] == "pass" and "mirror settings" in r[1] for r in table)


# --- the search section: both orders, the cold first search, the archive's parts -------------


def test_the_search_table_holds_both_orders_to_their_targets_at_1m() -> None:
    from bench.report import rows

    def lat(p50: float, p95: float) -> dict[str, dict[str, float]]:
        return {lang: {"p50_ms": p50, "p95_ms": p95} for lang in ("en", "zh")}

    size = {
        "latency": lat(8.0, 15.0), "latency_relevance": lat(30.0, 250.0),
        "cold": {"repeats": 5, "p50_ms": 100.0, "p95_ms": 400.0},
        "mb_per_1000_articles": 15.0, "bulk_articles_per_s": 300.0,
        "storage": {
            "mb_per_1000_articles": {"articles_search": 10.3, "articles": 3.5, "sqlite_stat1": 0.0},
            "shadow_mb_per_1000_articles": {"articles_search": {"data": 5.0, "content": 5.3}},
            "total_mb_per_1000_articles": 13.8,
        },
    }  # fmt: skip
    search = {"upsert": {"articles_per_s": 400.0}, "sizes": {"1000000": size}}
    table = {r[1]: r for r in rows({"sections": {"search": search}}) if r[0] == "search"}
    assert table["1M en newest p50"][3:] == ("≤ 20 ms at 1M", "pass")
    assert table["1M zh relevance p50"][3:] == ("≤ 50 ms at 1M", "pass")
    assert table["1M zh relevance p95"][3:] == ("≤ 200 ms at 1M", "MISS")
    assert table["1M first search after opening a cold archive p95"][3:] == ("≤ 500 ms at 1M",
                                                                              "pass")  # fmt: skip
    assert table["1M per 1,000 articles: articles_search (data 5.00, content 5.30)"][2] == "10.3 MB"
    assert table["1M per 1,000 articles: total (dbstat)"][2] == "13.8 MB"
    assert not any("sqlite_stat1" in metric for metric in table)
    # Results from before relevance was timed still make a table.
    del size["latency_relevance"], size["cold"], size["storage"]
    assert "1M en newest p95" in {r[1] for r in rows({"sections": {"search": search}})}


# --- bench/budget.py: each stage of ours timed alone ------------------------------------------


def test_budget_times_every_stage_on_the_generated_pages(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.budget", "--pages", "30"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = dict(
        line.strip("|").split(" | ", 1)
        for line in done.stdout.splitlines()
        if line.startswith("| ") and not line.startswith("| stage")
    )
    stages = {name.strip() for name in rows}
    assert {"extract", "worker hand-off", "normalize", "capture", "link (stories, pairs)"} <= stages
    assert "store, 1 item per transaction" in stages
    assert all(float(ms.strip(" |")) > 0 for ms in rows.values())


# --- bench/commands.py: a command that reads the archive, start to exit -------------------------


def test_commands_are_timed_against_python_and_sqlite3_on_a_crawled_archive(
    tmp_path: Path,
) -> None:
    out = tmp_path / "commands.json"
    argv = ["bench.commands", "--pages", "20", "--runs", "1", "--json", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", *argv], cwd=REPO, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text(encoding="utf-8"))
    assert {"python", "sqlite3", "search", "search --order relevance", "check"} <= set(results)
    assert results["python"]["vs_python"] == 1.0
    # Every command starts Python and opens the archive: never cheaper than either baseline.
    for name in set(results) - {"python", "sqlite3"}:
        assert results[name]["vs_python"] > 1.0 and results[name]["median_s"] > 0, name
    assert "search" in done.stdout and "/ sqlite3" in done.stdout
