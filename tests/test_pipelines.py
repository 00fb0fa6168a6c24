"""Normalise, validate and dedupe: the invariants every stored item holds."""

from __future__ import annotations

import pytest
from scrapy.exceptions import DropItem

from newsarchive.model import NO_BODY, content_hash
from pipelines.dedupe import DedupePipeline
from pipelines.validate import ValidatePipeline, problems
from tests.test_archive import make_article


def test_content_hash_ignores_markup_and_url_form() -> None:
    a = make_article()
    b = make_article(body_html="<div>other</div>", url=a.url.replace("https", "http"))
    assert a.content_hash == b.content_hash == content_hash(a)


@pytest.mark.parametrize(
    "change",
    [
        {"title": "Another title"},
        {"body_text": "Another body"},
        {"published_at": "2022-05-25T20:21:00+08:00"},
        {"photos": []},
    ],
)
def test_content_hash_changes_with_what_a_reader_sees(change: dict[str, object]) -> None:
    assert make_article(**change).content_hash != make_article().content_hash


def test_normalize_squashes_title_whitespace_and_canonicalises_url() -> None:
    article = make_article(title="  InnoHK\u00a0Launch \r\n Ceremony ")
    assert article.title == "InnoHK Launch Ceremony"
    assert article.url.startswith("https://www.info.gov.hk/")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"title": ""}, "no title"),
        ({"body_text": ""}, "no body"),
        ({"lang": "fr"}, "unknown language"),
        ({"published_at": None}, "bad published_at"),
        ({"published_at": "2022-05-25T20:20:00Z"}, "bad published_at"),
        # The archive holds Hong Kong time only: another offset is not stored as it came.
        ({"published_at": "2022-05-25T12:20:00+00:00"}, "bad published_at"),
        ({"published_at": "2022-05-25T08:20:00-04:00"}, "bad published_at"),
        ({"published_at": "2022-05-25T21:20:00+09:00"}, "bad published_at"),
    ],
)
def test_incomplete_items_are_dropped_with_the_reason(
    change: dict[str, object], problem: str
) -> None:
    article = make_article()
    for key, value in change.items():
        setattr(article, key, value)
    assert any(problem in p for p in problems(article))
    with pytest.raises(DropItem, match=problem):
        ValidatePipeline().process_item(article)


def test_date_only_published_at_is_valid() -> None:
    assert problems(make_article(published_at="2022-05-25")) == []


def test_only_an_item_whose_extractor_found_no_body_may_have_none() -> None:
    # The generic chain's page with a title and no text; a GovHK release must have its body.
    untexted = make_article(body_text="", body_html="", extraction={"body": NO_BODY})
    assert problems(untexted) == []
    assert untexted.body_hash is None, "no body is no republication of another empty one"
    assert "no body" in problems(make_article(body_text="", extraction={"body": "trafilatura"}))


def test_dedupe_drops_a_second_item_with_the_same_id() -> None:
    pipeline = DedupePipeline()
    pipeline.process_item(make_article())
    with pytest.raises(DropItem, match="duplicate"):
        pipeline.process_item(make_article(title="same id, other title"))
