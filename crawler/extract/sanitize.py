"""Stored HTML is sanitised by a maintained sanitiser (nh3), whatever site it came from."""

from __future__ import annotations

import html
import re
from urllib.parse import unquote

import nh3

# Attributes holding a URL (or, for srcset, URLs) that nh3 may let through.
_URL_ATTRIBUTES = frozenset({"href", "src", "cite", "longdesc", "srcset", "poster", "action"})
_SAFE_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):")
# What a browser skips inside a URL's scheme: ASCII whitespace and control characters.
_IGNORED = re.compile(r"[\x00-\x20\x7f]+")


def _scheme_is_safe(url: str) -> bool:
    """False for a URL whose scheme, however disguised, is not a web or mail one.

    nh3 checks schemes as written; this also decodes entities and %-escapes and drops the
    characters a browser ignores, so "java%09script:" is refused along with "javascript:".
    """
    decoded = _IGNORED.sub("", unquote(html.unescape(url))).lower()
    match = _SCHEME.match(decoded)
    return match is None or match[1] in _SAFE_SCHEMES


def _url_filter(tag: str, attribute: str, value: str) -> str | None:
    if attribute not in _URL_ATTRIBUTES:
        return value
    urls = [part.split()[0] for part in value.split(",") if part.strip()]
    urls = urls if attribute == "srcset" else [value]
    return value if all(_scheme_is_safe(url) for url in urls) else None


def sanitize_html(fragment: str) -> str:
    """HTML safe to show: no scripts, event handlers, styles or javascript: URLs."""
    return nh3.clean(fragment, link_rel=None, attribute_filter=_url_filter).strip()
