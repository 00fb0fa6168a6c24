"""The golden test: every fixture page extracts to its expected.json, field by field.

Regenerate the expected files with ``pytest tests/test_golden.py --update-golden`` after a
deliberate extractor change, and review the diff before committing it.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import pytest

from crawler.extract.govhk import extract_release, release_links
from pipelines.normalize import normalize_article
from tests.conftest import MIRROR, Fixture, load_fixtures

FIXTURES = load_fixtures()


def extract(fixture: Fixture) -> dict[str, Any]:
    """What the project extracts from a fixture page, as stored (normalised, hashed)."""
    response = fixture.response()
    if fixture.meta["kind"] == "index":
        refs = release_links(response)
        links = [asdict(ref) | {"folder": ref.folder.isoformat()} for ref in refs]
        return {"release_links": links}
    return asdict(normalize_article(extract_release(response)))


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


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.name for f in FIXTURES])
def test_fixture_bytes_match_the_mirror(fixture: Fixture) -> None:
    url = fixture.meta["url"]
    mirrored = MIRROR / url.split("://", 1)[1]
    assert mirrored.read_bytes() == fixture.body, f"{fixture.name} differs from {mirrored}"
