"""URL identity: one canonical URL and one native id per release, whatever form the link takes."""

from __future__ import annotations

from datetime import date

import pytest

from newsarchive.urls import (
    absolute_url,
    canonical_url,
    govhk_index_url,
    is_govhk_index,
    release_ref,
)

CANONICAL = "https://www.info.gov.hk/gia/general/202205/25/P2022052500588.htm"


@pytest.mark.parametrize(
    "url",
    [
        CANONICAL,
        "http://www.info.gov.hk/gia/general/202205/25/P2022052500588.htm",
        "https://www.info.gov.hk/gia/general/202205/25/P2022052500588.htm?fontSize=1",
        "http://WWW.INFO.GOV.HK/gia/general/202205/25/P2022052500588.htm?fontSize=2#top",
        "https://www.info.gov.hk/gia/general/202205/25/P2022052500588p.htm",
        "https://info.gov.hk/gia/general/202205/25/P2022052500588.htm",
        "https://www.info.gov.hk:443/gia/general/202205/25/P2022052500588.htm",
        " https://www.info.gov.hk/gia/general/202205/25/P2022052500588.htm\n",
    ],
)
def test_every_form_of_a_release_url_has_one_identity(url: str) -> None:
    ref = release_ref(url)
    assert ref is not None
    assert ref.native_id == "P2022052500588"
    assert ref.url == CANONICAL
    assert ref.folder == date(2022, 5, 25)
    assert canonical_url(url) == CANONICAL


def test_old_style_ids_are_made_unique_by_the_folder_year() -> None:
    ref = release_ref("http://www.info.gov.hk/gia/general/200207/24/0724130.htm")
    assert ref is not None
    assert ref.native_id == "2002-0724130"


def test_2008_to_2015_ids_with_four_digit_serials() -> None:
    ref = release_ref("https://www.info.gov.hk/gia/general/201001/02/P201001020123.htm")
    assert ref is not None
    assert ref.native_id == "P201001020123"


def test_id_date_is_not_the_folder_date() -> None:
    ref = release_ref("https://www.info.gov.hk/gia/general/202505/16/P2025051300353.htm")
    assert ref is not None
    assert ref.folder == date(2025, 5, 16)


@pytest.mark.parametrize(
    "url",
    [
        "https://www.info.gov.hk/gia/general/202205/25.htm",
        "https://www.info.gov.hk/gia/general/today.htm",
        "https://gia.info.gov.hk/general/202205/25/P2022052500588_photo_1.jpg",
        "https://example.com/gia/general/202205/25/P2022052500588.htm",
        "https://www.info.gov.hk/gia/general/202213/45/P2022052500588.htm",
        "https://www.info.gov.hk/gia/general/202205/25/P2022052500588.html",
    ],
)
def test_other_urls_are_not_releases(url: str) -> None:
    assert release_ref(url) is None


def test_index_urls_for_both_languages() -> None:
    day = date(2022, 5, 25)
    assert govhk_index_url(day, "en") == "https://www.info.gov.hk/gia/general/202205/25.htm"
    assert govhk_index_url(day, "zh") == "https://www.info.gov.hk/gia/general/202205/25c.htm"
    assert is_govhk_index(govhk_index_url(day, "zh"))
    assert not is_govhk_index(CANONICAL)


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("25/P1.htm", "https://www.info.gov.hk/gia/general/202205/25/P1.htm"),
        ("/gia/x.htm", "https://www.info.gov.hk/gia/x.htm"),
        ("https://isd.wecast.hk/vod/?id=9489%20", "https://isd.wecast.hk/vod/?id=9489"),
        ("  http://a.hk/b c.pdf ", "http://a.hk/b%20c.pdf"),
        ("javascript:void(0)", None),
        ("mailto:x@y.hk", None),
        ("#top", None),
        ("", None),
        (None, None),
    ],
)
def test_absolute_url_resolves_and_cleans_links(href: str | None, expected: str | None) -> None:
    assert absolute_url("https://www.info.gov.hk/gia/general/202205/25.htm", href) == expected
