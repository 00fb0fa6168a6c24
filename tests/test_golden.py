"""The golden test: every fixture page extracts to its expected.json, field by field.

Regenerate the expected files with ``pytest tests/test_golden.py --update-golden`` after a
deliberate extractor change, and review the diff before committing it. A regeneration never
touches tests/test_extract_handchecked.py, whose values for one page of each kind are written
by hand.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import pytest

from crawler.extract.generic import extract_detail, undescribed_source
from crawler.extract.govhk import extract_release, feed_release_links, release_links
from crawler.extract.listing import detail_links, next_page
from crawler.extract.wordpress import article_from_api, articles_from_feed
from crawler.sources.config import load_sources
from newsarchive.model import Article
from pipelines.normalize import normalize_article
from tests.conftest import MIRROR, Fixture, load_fixtures

FIXTURES = load_fixtures()


SOURCES = load_sources()


def stored(article: Article) -> dict[str, Any]:
    """An item as the archive stores it (normalised, hashed)."""
    return asdict(normalize_article(article))


def extract(fixture: Fixture) -> dict[str, Any]:
    """What the project extracts from a fixture page, by the page's kind."""
    response = fixture.response()
    kind = fixture.meta["kind"]
    if kind == "release":
        return stored(extract_release(response))
    if kind in ("index", "feed"):
        refs = (
            release_links(response)
            if kind == "index"
            else feed_release_links(response.text, response.url)
        )
        return {"release_links": [asdict(r) | {"folder": r.folder.isoformat()} for r in refs]}
    # A page of a site nobody described (tests/fixtures/generic/) has no source.
    source = fixture.meta["source"]
    config = SOURCES[source] if source else undescribed_source(fixture.meta["url"])
    if kind == "detail":
        return stored(extract_detail(response, config))
    if kind == "listing":
        links = [
            {"url": url, "listed": d and d.isoformat()} for url, d in detail_links(response, config)
        ]
        return {"detail_links": links, "next_page": next_page(response, config)}
    if kind == "wp-api":
        posts = json.loads(response.body)
        return {"items": [stored(article_from_api(post, config)) for post in posts]}
    if kind == "rss":
        entries = list(articles_from_feed(response.text, config))
        assert all(isinstance(e, Article) for e in entries), entries
        return {"items": [stored(e) for e in entries if isinstance(e, Article)]}
    raise AssertionError(f"{fixture.name}: unknown kind {kind!r}")


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.name for f in FIXTURES])
def test_fixture_extracts_to_expected(fixture: Fixture, request: pytest.FixtureRequest) -> None:
    actual = extract(fixture)
    if request.config.getoption("--update-golden"):
        text = json.dumps(actual, ensure_ascii=False, indent=2) + "\n"
        fixture.expected_path.write_text(text, encoding="utf-8")
        return
    assert fixture.expected_path.is_file(), f"{fixture.name}: no expected.json (--update-golden)"
    expected = json.loads(fixture.expected_path.read_text(encoding="utf-8"))
    assert sorted(actual) == sorted(expected), f"{fixture.name}: fields differ"
    for field, value in expected.items():
        assert actual[field] == value, f"{fixture.name}: field {field!r} differs"


def test_there_are_fixtures_of_every_kind() -> None:
    kinds = {(f.meta["kind"], f.meta["lang"]) for f in FIXTURES}
    assert kinds >= {("release", "en"), ("release", "zh"), ("index", "en"), ("index", "zh")}
    assert any(f.meta["provenance"].startswith("real") for f in FIXTURES)


MIRRORED = [f for f in FIXTURES if f.in_mirror]


@pytest.mark.parametrize("fixture", MIRRORED, ids=[f.name for f in MIRRORED])
def test_fixture_bytes_match_the_mirror(fixture: Fixture) -> None:
    url = fixture.meta["url"]
    mirrored = MIRROR / url.split("://", 1)[1]
    if url.endswith("/"):
        mirrored /= "index.html"
    assert mirrored.read_bytes() == fixture.body, f"{fixture.name} differs from {mirrored}"
