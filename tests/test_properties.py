"""Properties of the date helper, URL identity and the body-text normaliser, tested with
generated input (hypothesis): no exception escapes, and identities and normal forms are stable.

The profile in conftest.py keeps runs bounded and the same on every machine.
"""

from __future__ import annotations

import html
import itertools
import string
from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import assume, given
from hypothesis import strategies as st

from crawler.dates import FIRST_DAY, LAST_DAY, days_between, parse_day, parse_hk_datetime
from crawler.extract.text import clean_text, html_to_text, squash
from newsarchive.clock import HKT, format_hk
from newsarchive.urls import absolute_url, canonical_url, index_day, is_govhk_index, release_ref

# --- Dates ------------------------------------------------------------------------------------

days = st.dates(min_value=FIRST_DAY, max_value=LAST_DAY)
# Minutes in Hong Kong time, as GovHK footers give them.
hk_minutes = st.datetimes(
    min_value=datetime(1997, 7, 1), max_value=datetime(2099, 12, 31), timezones=st.just(HKT)
).map(lambda dt: dt.replace(second=0, microsecond=0))


@given(st.text(max_size=40))
def test_parse_day_of_any_text_is_a_day_in_range_or_a_value_error(text: str) -> None:
    try:
        day = parse_day(text)
    except ValueError as exc:
        assert repr(text) in str(exc)  # the message names the input
        return
    assert FIRST_DAY <= day <= LAST_DAY


@given(days, st.sampled_from(["", " ", "\t", "\n"]))
def test_parse_day_reads_back_every_iso_day(day: date, space: str) -> None:
    assert parse_day(f"{space}{day.isoformat()}{space}") == day


@given(days, days)
def test_days_between_lists_every_day_once_in_order(a: date, b: date) -> None:
    first, last = min(a, b), min(max(a, b), min(a, b) + timedelta(days=400))
    listed = days_between(first, last)
    assert listed[0] == first and listed[-1] == last
    assert len(listed) == (last - first).days + 1
    assert all(
        later - earlier == timedelta(days=1) for earlier, later in itertools.pairwise(listed)
    )


@given(st.text(max_size=80))
def test_parse_hk_datetime_of_any_text_is_none_or_hong_kong_time(text: str) -> None:
    parsed = parse_hk_datetime(text)
    assert parsed is None or parsed.utcoffset() == timedelta(hours=8)


@given(hk_minutes)
def test_english_footer_reads_back_to_the_minute(when: datetime) -> None:
    footer = f"Ends/{when:%A, %B} {when.day}, {when.year}\nIssued at HKT {when:%H:%M}"
    assert parse_hk_datetime(footer) == when


@given(hk_minutes)
def test_chinese_footer_reads_back_to_the_minute(when: datetime) -> None:
    weekday = "一二三四五六日"[when.weekday()]
    footer = (
        f"{when.year}年{when.month}月{when.day}日（星期{weekday}）\n"
        f"香港時間{when.hour}時{when.minute:02d}分"
    )
    assert parse_hk_datetime(footer) == when


@given(
    st.datetimes(
        min_value=datetime(1900, 1, 2),
        max_value=datetime(2999, 12, 30),
        timezones=st.sampled_from([UTC, HKT, timezone(timedelta(hours=-5))]),
    )
)
def test_format_hk_is_iso_minutes_in_hong_kong_and_a_fixed_point(when: datetime) -> None:
    text = format_hk(when)
    again = datetime.fromisoformat(text)
    assert text.endswith("+08:00")
    assert again.second == 0 and again.microsecond == 0
    assert again <= when < again + timedelta(minutes=1)
    assert format_hk(again) == text


# --- URL identity -----------------------------------------------------------------------------


def _random_case(draw: st.DrawFn, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if flip else c.lower() for c, flip in zip(text, flips, strict=True))


@st.composite
def release_ids(draw: st.DrawFn) -> tuple[date, str, str]:
    """A release's day folder, the id as written in its URL, and the native id it must get."""
    folder = draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31)))
    form = draw(st.sampled_from(["P5", "P4", "old"]))
    if form == "old":  # MMDD + serial, unique only with the folder's year
        raw = f"{folder:%m%d}{draw(st.integers(0, 999)):03d}"
        return folder, raw, f"{folder.year}-{raw}"
    digits = 5 if form == "P5" else 4
    drafted = folder - timedelta(days=draw(st.integers(0, 3)))
    raw = f"P{drafted:%Y%m%d}{draw(st.integers(0, 10**digits - 1)):0{digits}d}"
    return folder, raw, raw


@st.composite
def release_urls(draw: st.DrawFn) -> tuple[str, str, str, bool]:
    """(a way the web writes a release's URL, its canonical URL, its native id, whether the id
    is written in its own letter case)."""
    folder, raw, native = draw(release_ids())
    path = f"/gia/general/{folder:%Y%m}/{folder:%d}/{raw}"
    canonical = f"https://www.info.gov.hk{path}.htm"
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "Https"]))
    host = _random_case(draw, draw(st.sampled_from(["www.info.gov.hk", "info.gov.hk"])))
    port = draw(st.sampled_from(["", ":80" if scheme.lower() == "http" else ":443"]))
    name = _random_case(draw, raw) if draw(st.booleans()) else raw
    printed = draw(st.sampled_from(["", "p"]))
    query = draw(
        st.sampled_from(["", "?fontSize=1", "?fontSize=2", "?fontsize=1", "?fontSize=1&fontsize=3"])
    )
    fragment = draw(st.sampled_from(["", "#top", "#"]))
    space = draw(st.sampled_from(["", " ", "\n"]))
    url = f"{space}{scheme}://{host}{port}{path.replace(raw, name)}{printed}.htm{query}{fragment}"
    return url, canonical, native, name == raw


@given(release_urls())
def test_every_spelling_of_a_release_url_has_one_native_id(
    case: tuple[str, str, str, bool],
) -> None:
    url, canonical, native, _ = case
    ref, expected = release_ref(url), release_ref(canonical)
    assert ref is not None and expected is not None, url
    assert ref.native_id == expected.native_id
    assert ref.native_id.upper() == native.upper()


@given(release_urls())
def test_spellings_that_differ_only_in_scheme_host_port_and_display_share_one_url(
    case: tuple[str, str, str, bool],
) -> None:
    url, canonical, _, id_as_written = case
    assume(id_as_written)  # another letter case of the id is another path (same native id)
    assert canonical_url(url) == canonical
    ref = release_ref(url)
    assert ref is not None and ref.url == canonical


# URLs as pages hold them: any scheme-ish text, host, port, path, query and fragment.
url_parts = st.text(alphabet=string.ascii_letters + string.digits + "-._~%!$&'()*+,;=:@/?#[] ")


@st.composite
def web_urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "ftp", "javascript", ""]))
    host = draw(st.sampled_from(["www.info.gov.hk", "INFO.gov.hk", "www.cpii.hk", "[::1]", ""]))
    port = draw(st.sampled_from(["", ":80", ":443", ":8080", ":0", ":99999", ":x"]))
    rest = draw(url_parts.filter(lambda s: len(s) < 60))
    return f"{scheme}://{host}{port}/{rest}" if scheme else rest


@given(st.one_of(web_urls(), st.text(max_size=60)))
def test_url_helpers_never_raise_on_what_a_page_holds(href: str) -> None:
    url = absolute_url("https://www.info.gov.hk/gia/general/202205/25.htm", href)
    assert url is None or url.startswith(("http://", "https://"))
    if url is not None:
        once = canonical_url(url)
        assert canonical_url(once) == once
        assert once.startswith("https://")
    release_ref(href)
    index_day(href)
    is_govhk_index(href)


@given(web_urls())
def test_canonical_url_is_idempotent(url: str) -> None:
    try:
        once = canonical_url(url)
    except ValueError:
        assume(False)  # not a URL (a bad port): absolute_url refuses these first
        return
    assert canonical_url(once) == once


@given(st.sampled_from(["www.info.gov.hk", "www.cpii.hk", "WWW.CAIRS.HK"]), st.booleans())
def test_a_site_root_with_or_without_its_slash_is_one_url(host: str, slash: bool) -> None:
    assert canonical_url(f"http://{host}" + ("/" if slash else "")) == canonical_url(
        f"https://{host.lower()}/"
    )


# --- The body-text normaliser ---------------------------------------------------------------

# Text as pages hold it: letters of both languages, every kind of space, line breaks,
# markup characters and the odd control character.
page_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("ab 創新\n\r\t\u00a0\u3000\u2028\u0301\u200b<>&;#/\"'=")),
        st.characters(),
    ),
    max_size=200,
)
MARKUP = [
    "<br>", "<br/>", "<p>", "</p>", "<li>", "<ul>", "</ul>", "<ol>", "</ol>",
    "<table><tr><td>", "</td><td>", "</td></tr></table>", "&nbsp;", "&#12288;",
    "<b>", "</b>", "<div>", "</div>", "<!-- x -->", "<script>x</script>",
    "<span style='display:none'>h</span>", "&#0;", "&#x1b;", "<![CDATA[x]]>",
]  # fmt: skip
fragments = st.lists(st.one_of(page_text, st.sampled_from(MARKUP)), max_size=30).map("".join)


@given(page_text)
def test_squash_is_one_trimmed_line_and_a_fixed_point(text: str) -> None:
    once = squash(text)
    assert once == once.strip()
    assert "\n" not in once and "  " not in once
    assert squash(once) == once


@given(page_text)
def test_clean_text_trims_lines_keeps_one_blank_line_and_is_a_fixed_point(text: str) -> None:
    once = clean_text(text)
    assert once == once.strip()
    assert "\n\n\n" not in once
    assert all(line == line.strip() for line in once.split("\n"))
    assert clean_text(once) == once


@given(fragments)
def test_html_to_text_of_any_fragment_is_clean_text(fragment: str) -> None:
    text = html_to_text(fragment)
    assert clean_text(text) == text
    assert "<script" not in text or "<script" in html.unescape(fragment)


@given(st.text(alphabet=st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp")), max_size=80))
def test_escaped_plain_text_reads_back_squashed(text: str) -> None:
    assert html_to_text(f"<p>{html.escape(text)}</p>") == squash(text)
