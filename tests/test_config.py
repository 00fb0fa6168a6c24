"""Source configs: the shipped ones load, and every mistake names the file and the key."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from crawler.sources.config import SOURCES_DIR, SourceConfigError, load_source, load_sources
from crawler.spiderloader import spider_class
from crawler.spiders.centres import HtmlSpider, WordpressSpider
from newsarchive.archive import open_archive
from tests.conftest import run_cli

VALID = """
name = "demo"
title = "Demo Centre"
kind = "html"
base_url = "https://www.demo.hk"
listing_urls = ["https://www.demo.hk/en/news"]
detail_pattern = '/en/news/(?P<id>\\d+)$'
"""


def write(tmp_path: Path, text: str, name: str = "demo") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_sources_load_as_spiders() -> None:
    sources = load_sources()
    assert {"cpii", "cairs"} <= set(sources)
    assert issubclass(spider_class(sources["cpii"]), WordpressSpider)
    assert issubclass(spider_class(sources["cairs"]), HtmlSpider)
    assert all(cfg.path is not None and cfg.path.parent == SOURCES_DIR for cfg in sources.values())


def test_a_new_site_is_one_file(tmp_path: Path) -> None:
    config = load_source(write(tmp_path, VALID))
    spider = spider_class(config)
    assert spider.name == "demo"
    assert spider.allowed_domains == ["demo.hk", "www.demo.hk"]
    assert config.detail_pattern is not None
    assert config.detail_pattern.search("https://www.demo.hk/en/news/12")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('colour = "red"', "key 'colour': unknown key"),
        ('kind = "joomla"', "key 'kind': 'joomla' is not one of"),
        ('base_url = "ftp://x"', "key 'base_url': not an http(s) URL"),
        ("detail_pattern = '(unclosed'", "key 'detail_pattern': invalid regex"),
        ('languages = ["fr"]', "key 'languages'"),
        ("max_pages = true", "key 'max_pages': expected int"),
        ("max_pages = 0", "key 'max_pages': must be at least 1"),
        ('listing_urls = "https://www.demo.hk/"', "key 'listing_urls': expected list"),
        ('name = "other"', "key 'name': must be a lower-case slug equal to the file name"),
        ('selectors = { author = ".by" }', "key 'selectors.author': unknown field"),
        ('selectors = { title = "" }', "key 'selectors.title': expected a CSS selector"),
        ('lang_by_path = { "/fr/" = "fr" }', "key 'lang_by_path./fr/'"),
        ('earliest = "05/06/2020"', "key 'earliest': expected a day from"),
        ('earliest = "2020-02-30"', "key 'earliest': expected a day from"),
        ('earliest = "0001-01-01"', "key 'earliest': expected a day from"),
        ("earliest = 2020", "key 'earliest': expected str"),
        ("earliest = 2020-01-01T08:00:00", "key 'earliest': expected a day from"),
    ],
)
def test_mistakes_name_the_file_and_key(tmp_path: Path, change: str, message: str) -> None:
    key = change.split(" ", 1)[0]
    lines = [line for line in VALID.strip().splitlines() if not line.startswith(f"{key} ")]
    with pytest.raises(SourceConfigError) as caught:
        load_source(write(tmp_path, "\n".join([*lines, change])))
    assert str(caught.value).startswith("demo.toml: ")
    assert message in str(caught.value)


@pytest.mark.parametrize("written", ['"2020-03-01"', "2020-03-01"])
def test_a_sources_first_day_clips_its_backfills(tmp_path: Path, written: str) -> None:
    config = load_source(write(tmp_path, f"{VALID}\nearliest = {written}\n"))
    assert config.earliest == date(2020, 3, 1)
    spider = spider_class(config)(since="2019-12-30", until="2020-03-02")
    assert spider.window.days == (date(2020, 3, 1), date(2020, 3, 2))
    assert spider.first_day == date(2020, 3, 1)
    assert spider_class(load_source(write(tmp_path, VALID))).earliest is None


@pytest.mark.parametrize("key", ["title", "kind", "base_url"])
def test_missing_required_keys_are_named(tmp_path: Path, key: str) -> None:
    text = "\n".join(line for line in VALID.splitlines() if not line.startswith(f"{key} "))
    with pytest.raises(SourceConfigError, match=f"demo\\.toml: key '{key}': missing"):
        load_source(write(tmp_path, text))


def test_html_sources_need_listing_and_detail_pattern(tmp_path: Path) -> None:
    text = "\n".join(line for line in VALID.splitlines() if not line.startswith("detail_pattern"))
    with pytest.raises(SourceConfigError, match="key 'detail_pattern': required for kind 'html'"):
        load_source(write(tmp_path, text))


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(SourceConfigError, match=r"demo\.toml: not valid TOML"):
        load_source(write(tmp_path, "name = "))


def test_cli_reports_a_broken_config_in_one_line(tmp_path: Path) -> None:
    extra = tmp_path / "sources"
    extra.mkdir()
    write(extra, 'name = "broken"\n', name="broken")
    result = run_cli("crawl", "--db", str(tmp_path / "a.db"), env={"HKARCHIVE_SOURCES": str(extra)})
    assert result.code == 1
    assert result.stderr.strip() == "hkarchive: error: broken.toml: key 'title': missing"
    assert not (tmp_path / "a.db").exists()


def test_extra_sources_directory_adds_a_site_without_touching_the_package(tmp_path: Path) -> None:
    extra = tmp_path / "sources"
    extra.mkdir()
    write(extra, VALID)
    result = run_cli("crawl", "nosuchsite", env={"HKARCHIVE_SOURCES": str(extra)})
    assert result.code == 2
    assert "available: cairs, cpii, demo, govhk" in result.stderr


@pytest.mark.parametrize("command", [("reparse",), ("export", "--format", "jsonl")])
def test_every_command_knows_a_source_from_the_extra_directory(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    # One registry: a source added through HKARCHIVE_SOURCES can be crawled, and so reparsed
    # and exported (reparse answered "unknown source" when each command kept its own list).
    extra = tmp_path / "sources"
    extra.mkdir()
    write(extra, VALID)
    db = tmp_path / "archive.db"
    open_archive(db).close()
    env = {"HKARCHIVE_SOURCES": str(extra)}
    result = run_cli(*command, "--source", "demo", "--db", str(db), env=env)
    assert result.code == 0, result.stderr
    assert "unknown source" not in result.stderr
    refused = run_cli(*command, "--source", "nosuchsite", "--db", str(db), env=env)
    assert refused.code == 2
    assert "available: cairs, cpii, demo, govhk" in refused.stderr


def test_source_list_shows_every_source_its_kind_and_its_file(tmp_path: Path) -> None:
    extra = tmp_path / "sources"
    extra.mkdir()
    write(extra, VALID)
    # A user's file replaces the bundled source of its name.
    write(extra, (SOURCES_DIR / "cairs.toml").read_text(encoding="utf-8"), name="cairs")
    result = run_cli("source", "list", env={"HKARCHIVE_SOURCES": str(extra)})
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["name", "kind", "declared", "in", "title"]
    rows = {line.split()[0]: line.split(None, 3) for line in lines[1:]}
    assert sorted(rows) == ["cairs", "cpii", "demo", "govhk"]
    assert rows["demo"][1:3] == ["html", "user:"]
    assert rows["demo"][3].split() == [str((extra / "demo.toml").resolve()), "Demo", "Centre"]
    assert rows["cairs"][1:3] == ["html", "user:"]
    assert rows["cpii"][1:3] == ["wordpress", "bundled:"]
    assert rows["govhk"][1:3] == ["govhk", "built"]
