"""URL identity: canonical URLs and native ids of GovHK releases and daily index pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import urldefrag, urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url, safe_url_string, url_query_cleaner

GOVHK_HOSTS = frozenset({"www.info.gov.hk", "info.gov.hk"})
GOVHK_HOST = "www.info.gov.hk"

# A release lives in its day folder: /gia/general/YYYYMM/DD/<id>.htm, with an optional "p"
# for the print version. Ids: "P" + YYYYMMDD + 5 digits (2016 on), "P" + YYYYMMDD + 4 digits
# (2008-2015), or MMDD + serial with no "P" (early 2000s).
_RELEASE_PATH = re.compile(
    r"/gia/general/(?P<ym>\d{6})/(?P<d>\d{2})/(?P<id>P\d{12,13}|\d{7})(?P<print>p)?\.htm",
    re.IGNORECASE,
)
_INDEX_PATH = re.compile(r"/gia/general/(?P<ym>\d{6})/(?P<d>\d{2})(?P<zh>c)?\.htm", re.IGNORECASE)

# Query parameters that only change how a page is displayed.
_DISPLAY_PARAMS = ("fontSize", "fontsize")


_TRAILING_SPACE = re.compile(r"(?:%20|%09|%0A|%0D|\s)+$", re.IGNORECASE)
_NOT_WEB = ("javascript:", "mailto:", "tel:", "data:", "#")


def absolute_url(base: str, href: str | None) -> str | None:
    """Resolve a link found on a page; None for empty, in-page and non-web links.

    Hrefs on GovHK pages sometimes end in an encoded space (``?id=9489%20``), which is dropped.
    """
    if not href:
        return None
    href = href.strip()
    if not href or href.lower().startswith(_NOT_WEB):
        return None
    try:
        url = _TRAILING_SPACE.sub("", safe_url_string(urljoin(base, href)))
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- reading it checks it: a port out of range or not a number
    except ValueError:  # "http://host:99999/", "http://[::1" on a page: not a link to follow
        return None
    return url if parts.scheme in ("http", "https") and parts.hostname else None


@dataclass(frozen=True)
class ReleaseRef:
    """A release as named by a URL: its native id and the day folder it was published in."""

    native_id: str
    folder: date
    url: str


def _folder_date(ym: str, d: str) -> date | None:
    try:
        return date(int(ym[:4]), int(ym[4:]), int(d))
    except ValueError:
        return None


def canonical_url(url: str) -> str:
    """The one form of a URL the archive stores: https, lower-case host, no display parameters.

    The print version of a GovHK release maps to the release itself. ValueError for a URL whose
    port is not a port (absolute_url never returns one).
    """
    try:
        url = url_query_cleaner(url.strip(), _DISPLAY_PARAMS, remove=True)
        url = canonicalize_url(url, keep_fragments=False)
    except ValueError:  # w3lib misreads an IPv6 host ("[::1]") as a port: keep the URL as given
        url = urldefrag(url.strip())[0]
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    scheme = "https" if parts.scheme in ("http", "https") else parts.scheme
    bracketed = f"[{host}]" if ":" in host else host  # an IPv6 address keeps its brackets
    netloc = bracketed if parts.port in (None, 80, 443) else f"{bracketed}:{parts.port}"
    path = parts.path or "/"
    if host in GOVHK_HOSTS:
        netloc = GOVHK_HOST
        match = _RELEASE_PATH.fullmatch(path)
        if match and match["print"]:
            path = path[: match.start("print")] + path[match.end("print") :]
    return urlunsplit((scheme, netloc, path, parts.query, ""))


def release_ref(url: str) -> ReleaseRef | None:
    """The release a GovHK URL points at, or None when it is not a release page."""
    parts = urlsplit(url.strip())
    if (parts.hostname or "").lower() not in GOVHK_HOSTS:
        return None
    match = _RELEASE_PATH.fullmatch(parts.path)
    if not match:
        return None
    folder = _folder_date(match["ym"], match["d"])
    if folder is None:
        return None
    raw_id = match["id"]
    # Old ids (MMDD + serial) repeat every year, so the folder's year makes them unique.
    native_id = raw_id.upper() if raw_id[0] in "Pp" else f"{folder.year}-{raw_id}"
    return ReleaseRef(native_id=native_id, folder=folder, url=canonical_url(url))


def index_day(url: str) -> date | None:
    """The day a GovHK daily index page lists, or None for any other URL."""
    parts = urlsplit(url)
    match = _INDEX_PATH.fullmatch(parts.path)
    return _folder_date(match["ym"], match["d"]) if match else None


def is_govhk_index(url: str) -> bool:
    """True for a GovHK daily index page (/gia/general/YYYYMM/DD.htm or DDc.htm)."""
    parts = urlsplit(url)
    return (parts.hostname or "").lower() in GOVHK_HOSTS and bool(_INDEX_PATH.fullmatch(parts.path))


def govhk_index_url(day: date, lang: str) -> str:
    """The daily index page of releases for a day, in English ("en") or Chinese ("zh")."""
    suffix = "c" if lang == "zh" else ""
    return f"https://{GOVHK_HOST}/gia/general/{day:%Y%m}/{day:%d}{suffix}.htm"


def govhk_feed_url(lang: str) -> str:
    """The RSS feed of the newest releases, in English ("en") or Chinese ("zh")."""
    return f"https://{GOVHK_HOST}/gia/rss/general_{'zh' if lang == 'zh' else 'en'}.xml"
