"""Faults, bad input and hostile redirects never corrupt the archive: real crawls of a mirror
that misbehaves on purpose (tests/faultmirror.py), through the CLI."""

from __future__ import annotations

import gzip
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crawler.failure_kinds import failure_kind
from crawler.middlewares.charset import page_encoding
from crawler.middlewares.retry import retry_after_seconds
from newsarchive.archive import open_archive
from newsarchive.schema import MIGRATIONS, migrate
from tests.conftest import FIXTURES, MIRROR, Result, archive_at_schema, rows, run_cli
from tests.faultmirror import FaultMirrorServer, FaultRule

GENERAL = "/www.info.gov.hk/gia/general"
# 2020-01-02 to 2020-01-09: 15 English and 4 Chinese releases, all real or reconstructed pages.
SINCE, UNTIL = "2020-01-02", "2020-01-09"
RELEASES = sorted(p.name[:-4] for p in (MIRROR / GENERAL[1:]).glob("20200*/0[2-9]/P*.htm"))
ZH = ["P2020010200773", "P2020010500491", "P2020010600669", "P2020010700614"]
EN = [r for r in RELEASES if r not in ZH]
# Tiny delays and a short timeout, so that a crawl full of faults takes seconds.
FAST = {
    "DOWNLOAD_TIMEOUT": 1,
    "RETRY_TIMES": 2,
    "HKARCHIVE_RETRY_BACKOFF": 0.1,
    "HKARCHIVE_RETRY_BACKOFF_MAX": 0.2,
    "HKARCHIVE_RETRY_AFTER_MAX": 0.6,
}
# Cantonese and HKSCS characters that plain Big5 (and cp950) cannot encode.
HKSCS = "呢個係香港嘅字，唔係普通話㗎。"
META_CHARSET = re.compile(r"(<meta[^>]*charset=)utf-8([^>]*>)", re.IGNORECASE)


def target(native_id: str) -> str:
    """The mirror target of a release of the window."""
    day = f"{native_id[1:7]}/{native_id[7:9]}"
    return f"{GENERAL}/{day}/{native_id}.htm"


def path(native_id: str) -> str:
    """The path of a release's real URL."""
    return target(native_id)[len("/www.info.gov.hk") :]


def golden(native_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (FIXTURES / "govhk" / native_id / "expected.json").read_text(encoding="utf-8")
    )
    return data


def archived(db: Path) -> dict[str, tuple[str, str]]:
    """native_id -> (title, body_text) of every stored release."""
    return {
        r[0]: (r[1], r[2]) for r in rows(db, "SELECT native_id, title, body_text FROM articles")
    }


def failures(db: Path) -> dict[str, tuple[Any, ...]]:
    """URL path -> (kind, role, attempts, error) of every failures row."""
    return {
        r[0].split("info.gov.hk", 1)[1]: r[1:]
        for r in rows(db, "SELECT url, kind, role, attempts, error FROM failures")
    }


def crawl(
    server: FaultMirrorServer, db: Path, *args: str, settings: dict[str, Any] | None = None
) -> Result:
    window = args or ("--since", SINCE, "--until", UNTIL)
    env = {"HKARCHIVE_OVERRIDES": json.dumps(FAST | (settings or {}))}
    return run_cli("crawl", "govhk", *window, "--mirror", server.url, "--db", str(db), env=env)


def big5_page(native_id: str, *, meta: bool) -> bytes:
    """A Chinese release as a legacy Big5-HKSCS page, with HKSCS characters in its body.

    Derived at test time from the reconstructed UTF-8 page (tests/PROVENANCE.md): the meta
    charset says big5 or is removed, and what Big5 cannot encode becomes a character reference.
    """
    text = (MIRROR / target(native_id)[1:]).read_text(encoding="utf-8")
    text, declared = META_CHARSET.subn("" if not meta else r"\1big5\2", text)
    assert declared == 1
    opening = '<span id="pressrelease" class="fontSize1">'
    text = text.replace(opening, opening + HKSCS, 1)
    return text.encode("big5hkscs", "xmlcharrefreplace")


@pytest.fixture
def server() -> Iterator[FaultMirrorServer]:
    with FaultMirrorServer(MIRROR).start() as fault_server:
        yield fault_server


# --- transient faults: retried with backoff, then archived ----------------------------------

TRANSIENT: dict[str, FaultRule] = {
    EN[0]: {"kind": "status", "status": 500, "times": 2},
    EN[1]: {"kind": "status", "status": 502, "times": 1},
    EN[2]: {"kind": "status", "status": 503, "times": 2},
    EN[3]: {"kind": "retry_after", "retry_after": "5", "times": 1},
    EN[4]: {"kind": "reset", "times": 1},
    EN[5]: {"kind": "truncate", "times": 2},
    EN[6]: {"kind": "hang", "delay": 2.0, "times": 1},
}


def test_transient_faults_are_retried_with_backoff_and_everything_is_archived(
    server: FaultMirrorServer, tmp_path: Path
) -> None:
    for native_id, rule in TRANSIENT.items():
        server.add(target(native_id), **rule)
    db = tmp_path / "archive.db"
    result = crawl(server, db)
    assert result.code == 0, result.stderr[-3000:]
    assert set(archived(db)) == set(RELEASES)
    assert failures(db) == {}
    hits = server.hits
    for native_id, rule in TRANSIENT.items():
        assert hits[target(native_id)] == rule["times"] + 1, native_id
    # Backoff: 0.1 s before the first retry, 0.2 s before the second; the 429 asked for 5 s,
    # capped at 0.6 s.
    first, second, third = server.times[target(EN[0])]
    assert second - first >= 0.1
    assert third - second >= 0.2
    asked, retried = server.times[target(EN[3])]
    assert 0.6 <= retried - asked < 5
    run = rows(db, "SELECT status, failures, errors FROM crawl_runs")
    assert run == [("finished", 0, 0)]


def test_seeded_random_faults_heal_and_every_release_is_archived(
    server: FaultMirrorServer, tmp_path: Path
) -> None:
    server.random_faults(seed=20200102, rate=0.5)
    db = tmp_path / "archive.db"
    result = crawl(server, db)
    assert result.code == 0, result.stderr[-3000:]
    assert set(archived(db)) == set(RELEASES)
    faulted = [t for t, fault in server.rules.items() if fault.times]
    assert len(faulted) >= 5, "the seed gives some targets a fault"
    assert all(server.hits[t] == 2 for t in faulted)


# --- persistent faults: recorded, the crawl goes on, the next run retries -------------------

# 40 kB that inflate to 40 MB, four times DOWNLOAD_MAXSIZE.
GZIP_BOMB = gzip.compress(b"<html><body><p>" + b"x" * (40 * 1024 * 1024), compresslevel=9)

PERSISTENT: dict[str, tuple[FaultRule, str, str]] = {
    EN[0]: ({"kind": "status", "status": 503}, "http", "HTTP 503"),
    EN[1]: ({"kind": "status", "status": 404}, "http", "HTTP 404"),
    EN[2]: ({"kind": "reset"}, "connection", ""),
    EN[3]: ({"kind": "hang", "delay": 1.5}, "timeout", ""),
    EN[4]: ({"kind": "truncate"}, "truncated", ""),
    EN[5]: ({"kind": "huge"}, "oversize", ""),
    EN[6]: ({"kind": "huge", "content_length": False}, "oversize", ""),
    EN[7]: ({"kind": "empty"}, "parse", ""),
    EN[8]: ({"kind": "body", "body": b"<html><body><p>Service unavailable"}, "parse", ""),
    EN[9]: ({"kind": "redirect", "location": "https://evil.example.net/steal.htm"}, "offsite", ""),
    EN[10]: (
        {"kind": "redirect", "location": f"https://www.info.gov.hk{path(EN[11])}"},
        "redirect",
        "",
    ),
    EN[11]: (
        {"kind": "redirect", "location": f"https://www.info.gov.hk{path(EN[10])}"},
        "redirect",
        "",
    ),
    EN[12]: (
        {"kind": "body", "body": GZIP_BOMB, "content_encoding": "gzip"},
        "oversize",
        "DOWNLOAD_MAXSIZE",
    ),
}


@pytest.fixture
def faulty_crawl(
    server: FaultMirrorServer, tmp_path: Path
) -> tuple[FaultMirrorServer, Path, Result]:
    for native_id, (rule, _, _) in PERSISTENT.items():
        server.add(target(native_id), **rule)
    db = tmp_path / "archive.db"
    started = time.monotonic()
    result = crawl(server, db)
    assert time.monotonic() - started < 60
    return server, db, result


def test_pages_that_cannot_be_archived_are_recorded_and_the_rest_is_archived(
    faulty_crawl: tuple[FaultMirrorServer, Path, Result],
) -> None:
    server, db, result = faulty_crawl
    assert result.code == 1, "a crawl with failures exits 1"
    assert set(archived(db)) == set(RELEASES) - set(PERSISTENT)
    recorded = failures(db)
    assert set(recorded) == {path(n) for n in PERSISTENT}
    for native_id, (_, kind, error) in PERSISTENT.items():
        got_kind, role, attempts, got_error = recorded[path(native_id)]
        assert (got_kind, role, attempts) == (kind, "item", 1), (native_id, got_error)
        assert error in got_error
    # Retried within the run: 1 + RETRY_TIMES requests for a transient fault, one otherwise.
    for native_id in (EN[0], EN[2], EN[3], EN[4]):
        assert server.hits[target(native_id)] == 3, native_id
    for native_id in (EN[1], EN[5], EN[7], EN[8], EN[12]):
        assert server.hits[target(native_id)] == 1, native_id
    ((run_failures, status),) = rows(db, "SELECT failures, status FROM crawl_runs")
    assert status == "finished"
    assert run_failures >= len(PERSISTENT)


def test_no_request_ever_reaches_another_host(
    faulty_crawl: tuple[FaultMirrorServer, Path, Result],
) -> None:
    server, _, _ = faulty_crawl
    assert server.hits[target(EN[9])] == 1
    assert [t for t in server.hits if not t.startswith("/www.info.gov.hk/")] == []


def test_the_next_run_retries_recorded_failures_and_clears_them(
    faulty_crawl: tuple[FaultMirrorServer, Path, Result], tmp_path: Path
) -> None:
    server, db, _ = faulty_crawl
    still_failing = target(EN[0])
    server.rules = {still_failing: server.rules[still_failing]}
    server.reset_counts()
    # A window without those days: only the failures table brings them back.
    result = crawl(server, db, "--since", "2022-05-25", "--until", "2022-05-25", "--lang", "en")
    assert result.code == 1, result.stderr[-3000:]
    assert set(archived(db)) == set(RELEASES) - {EN[0]} | {"P2022052500588"}
    recorded = failures(db)
    assert list(recorded) == [path(EN[0])]
    assert recorded[path(EN[0])][2] == 2, "a second attempt"
    # At the attempts cap a URL is no longer asked for.
    server.reset_counts()
    capped = crawl(
        server, db, "--since", "2022-05-25", "--until", "2022-05-25", "--lang", "en",
        settings={"HKARCHIVE_FAILURE_MAX_ATTEMPTS": 2},
    )  # fmt: skip
    assert capped.code == 0, capped.stderr[-3000:]
    assert server.hits[still_failing] == 0
    assert failures(db)[path(EN[0])][2] == 2


# --- charsets --------------------------------------------------------------------------------

CHARSETS = {
    # native_id: (body, Content-Type header)
    ZH[0]: ("big5-meta", "text/html"),
    ZH[1]: ("big5-no-meta", "text/html"),
    ZH[2]: ("big5-no-meta", "text/html; charset=iso-8859-1"),
    ZH[3]: ("utf8-no-meta", "text/html; charset=iso-8859-1"),
}


def test_chinese_pages_decode_whatever_charset_they_declare(
    server: FaultMirrorServer, tmp_path: Path
) -> None:
    for native_id, (variant, content_type) in CHARSETS.items():
        if variant.startswith("big5"):
            served = big5_page(native_id, meta=variant == "big5-meta")
        else:
            page = (MIRROR / target(native_id)[1:]).read_text(encoding="utf-8")
            served = META_CHARSET.sub("", page).encode("utf-8")
        server.add(target(native_id), "body", body=served, content_type=content_type)
    db = tmp_path / "archive.db"
    result = crawl(server, db, "--since", SINCE, "--until", UNTIL, "--lang", "zh")
    assert result.code == 0, result.stderr[-3000:]
    stored = archived(db)
    assert set(stored) == set(ZH)
    for native_id, (variant, _) in CHARSETS.items():
        title, body = stored[native_id]
        expected = golden(native_id)
        assert title == expected["title"], (native_id, variant)
        if variant.startswith("big5"):
            assert body.startswith(HKSCS), (native_id, variant)
            assert body[len(HKSCS) :].strip() == expected["body_text"].strip()
        else:
            assert body == expected["body_text"]


def test_page_encoding_prefers_what_decodes() -> None:
    text = "<html><body>香港嘅新聞㗎</body></html>"
    big5 = text.encode("big5hkscs")
    assert page_encoding(big5, "text/html") == "big5hkscs"
    assert page_encoding(big5, "text/html; charset=iso-8859-1") == "big5hkscs"
    assert page_encoding(big5, "text/html; charset=big5") == "big5hkscs"
    assert page_encoding(text.encode("utf-8"), "text/html; charset=big5") == "utf-8"
    assert page_encoding(b"<p>plain</p>", None) is None
    assert page_encoding("<p>caf\xe9 cr\xe8me</p>".encode("cp1252"), "text/html") is None


# --- robots.txt ------------------------------------------------------------------------------


def test_robots_txt_is_obeyed_when_asked_for_even_on_a_mirror(
    server: FaultMirrorServer, tmp_path: Path
) -> None:
    forbidden = target(EN[0])
    rules = f"User-agent: *\nDisallow: {forbidden[len('/www.info.gov.hk') :]}\n".encode()
    server.add("/www.info.gov.hk/robots.txt", "body", body=rules, content_type="text/plain")
    db = tmp_path / "archive.db"
    result = crawl(server, db, settings={"ROBOTSTXT_OBEY": True})
    assert server.hits["/www.info.gov.hk/robots.txt"] == 1
    assert server.hits[forbidden] == 0
    assert set(archived(db)) == set(RELEASES) - {EN[0]}
    assert failures(db)[path(EN[0])][0] == "robots"
    assert result.code == 1


def test_live_crawls_obey_robots_txt_and_refuse_huge_pages() -> None:
    from crawler.mirror import mirror_overrides
    from hkarchive.cli.process import project_settings

    settings = project_settings()
    assert settings.getbool("ROBOTSTXT_OBEY")
    assert settings.getint("DOWNLOAD_MAXSIZE") == 10 * 1024 * 1024
    # Only a loopback mirror lifts it.
    assert "ROBOTSTXT_OBEY" not in mirror_overrides("http://mirror.example.org:8000")


# --- units -----------------------------------------------------------------------------------


def test_retry_after_reads_seconds_and_dates() -> None:
    from datetime import UTC, datetime

    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds(b"120") == 120.0
    assert retry_after_seconds("Wed, 01 May 2024 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Wed, 01 May 2024 11:00:00 GMT", now) == 0.0
    assert retry_after_seconds(b"soon") is None
    assert retry_after_seconds(None) is None


def test_failure_kinds_name_what_went_wrong() -> None:
    from scrapy.exceptions import DownloadTimeoutError, IgnoreRequest

    assert failure_kind(DownloadTimeoutError("took too long")) == "timeout"
    assert failure_kind(IgnoreRequest("Forbidden by robots.txt")) == "robots"
    assert failure_kind(IgnoreRequest("Filtered offsite request to 'evil.example.net'")) == (
        "offsite"
    )
    bomb = (
        "Ignored response <200 https://www.info.gov.hk/gia/robots/redirect.htm> because its "
        "body (40789 B compressed, 10485760 B decompressed so far) exceeded DOWNLOAD_MAXSIZE "
        "(10485760 B) during decompression."
    )
    assert failure_kind(IgnoreRequest(bomb)) == "oversize"
    assert failure_kind(ValueError("odd")) == "fetch"


def test_an_archive_of_the_previous_version_gains_the_failures_table(tmp_path: Path) -> None:

    path = tmp_path / "old.db"
    db = archive_at_schema(path, 7)
    assert "failures" not in db.table_names()
    db.close()
    upgraded = open_archive(path)
    assert "failures" in upgraded.table_names()
    assert migrate(upgraded) == len(MIGRATIONS)
    upgraded.close()


def test_an_index_page_linking_100000_releases_is_refused_not_followed(
    server: FaultMirrorServer, tmp_path: Path
) -> None:
    day = "202001/02"
    links = "".join(
        f'<a href="/gia/general/{day}/P20200102{n:05d}.htm">Release {n}</a><br>\n'
        for n in range(100_000)
    )
    server.add(f"{GENERAL}/{day}.htm", "body", body=f"<html><body>{links}</body></html>".encode())
    db = tmp_path / "archive.db"
    started = time.monotonic()
    result = crawl(server, db, "--since", "2020-01-02", "--until", "2020-01-02", "--lang", "en")
    assert time.monotonic() - started < 120
    assert result.code == 1, result.stderr[-2000:]
    assert "links 100000 items, more than the 5000" in result.stderr
    assert not [t for t in server.hits if "/P20200102" in t]  # not one release requested
    assert failures(db) == {
        f"/gia/general/{day}.htm": (
            "oversize", "listing", 1,
            "links 100000 items, more than the 5000 a listing page may: none followed",
        )
    }  # fmt: skip
    # Not settled: the next run reads the day's index page again.
    assert rows(db, "SELECT url FROM listing_pages WHERE url LIKE '%/202001/02.htm'") == []


def test_a_mirror_answering_every_request_just_before_the_timeout_is_crawled_whole(
    server: FaultMirrorServer, tmp_path: Path
) -> None:
    # Scaled down from a server answering after 59 s under the 60 s DOWNLOAD_TIMEOUT (tried:
    # 2 pages in 120 s, nothing lost): every answer comes at 85% of the timeout.
    day = [n for n in EN if n.startswith("P20200106")]
    assert day
    for target_path in [f"{GENERAL}/202001/06.htm", *(target(n) for n in day)]:
        server.add(target_path, "late", delay=1.7)
    db = tmp_path / "archive.db"
    result = crawl(
        server, db, "--since", "2020-01-06", "--until", "2020-01-06", "--lang", "en",
        settings={"DOWNLOAD_TIMEOUT": 2, "AUTOTHROTTLE_MAX_DELAY": 0.5},
    )  # fmt: skip
    assert result.code == 0, result.stderr[-2000:]
    assert set(archived(db)) == set(day)
    assert failures(db) == {}


def test_a_meta_refresh_to_another_site_is_recorded_as_offsite(
    server: FaultMirrorServer, tmp_path: Path
) -> None:
    # A page whose only content sends the browser elsewhere: never followed off the site,
    # and recorded like a 3xx redirect there, not dropped without a trace.
    refresh = (
        b'<html><head><meta http-equiv="refresh" content="0; url=https://evil.example.net/x.htm">'
        b"</head><body></body></html>"
    )
    server.add(target(EN[0]), kind="body", body=refresh, content_type="text/html")
    db = tmp_path / "archive.db"
    result = crawl(server, db)
    assert result.code == 1, result.stderr[-3000:]
    assert EN[0] not in archived(db)
    kind, role, attempts, error = failures(db)[path(EN[0])]
    assert (kind, role, attempts) == ("offsite", "item", 1)
    assert "evil.example.net" in error
    assert set(archived(db)) == set(RELEASES) - {EN[0]}
