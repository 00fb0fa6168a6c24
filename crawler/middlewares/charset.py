"""Decoding pages right whatever charset they declare: UTF-8, Big5-HKSCS, or a wrong label.

Scrapy trusts the Content-Type header, then the page's ``<meta charset>``, then guesses among
UTF-8 and cp1252. Hong Kong pages break that in two ways: legacy Chinese pages are Big5 (with
Hong Kong's HKSCS characters such as 㗎 and 嘅) and may declare nothing, and servers send a
Western default (``ISO-8859-1``) for pages that are UTF-8 or Big5. A Western single-byte codec
decodes any bytes at all, so such a label is never a reason to believe it. The rule:

1. A body that is valid UTF-8 and not plain ASCII is UTF-8 (other encodings of Chinese text
   almost never happen to be valid UTF-8), whatever it declares.
2. Otherwise a declared multi-byte encoding (header first, then meta) that decodes the body
   without error is used; ``big5`` is read as ``big5hkscs`` (w3lib's translation).
3. Otherwise Big5-HKSCS, when it decodes the body without error into text with Chinese in it.
4. Otherwise what Scrapy would have chosen.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from scrapy.http import TextResponse
from w3lib.encoding import (
    html_body_declared_encoding,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
)

if TYPE_CHECKING:
    from scrapy.http import Request, Response

# Codecs that decode any byte string: a label naming one of them proves nothing.
_DECODE_ANYTHING = frozenset({"cp1252", "latin_1", "iso8859_1", "ascii", "iso8859_15"})
_CJK = re.compile(r"[\u3400-\u9fff\U00020000-\U0002ffff]")
LEGACY_CHINESE = "big5hkscs"


def _decoded(body: bytes, encoding: str) -> str | None:
    """The body read with `encoding`, or None when it does not decode."""
    try:
        return body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def page_encoding(body: bytes, content_type: str | None) -> str | None:
    """The codec to read an HTML page with, or None to keep Scrapy's own choice."""
    bom, _ = read_bom(body)
    if bom:
        return None  # a byte-order mark is unambiguous, and Scrapy honours it
    if not body.isascii() and _decoded(body, "utf-8") is not None:
        return "utf-8"
    declared = [
        resolve_encoding(label)
        for label in (http_content_type_encoding(content_type), html_body_declared_encoding(body))
        if label
    ]
    for encoding in declared:
        if encoding and encoding not in _DECODE_ANYTHING and _decoded(body, encoding) is not None:
            return encoding
    legacy = None if body.isascii() else _decoded(body, LEGACY_CHINESE)
    if legacy is not None and _CJK.search(legacy):
        return LEGACY_CHINESE
    return None


def with_page_encoding(response: Response) -> Response:
    """The response, set to decode with `page_encoding` when that differs from Scrapy's choice."""
    if not isinstance(response, TextResponse):
        return response
    content_type = response.headers.get(b"Content-Type")
    encoding = page_encoding(
        response.body, content_type.decode("latin-1") if content_type else None
    )
    if encoding is None or resolve_encoding(response.encoding) == encoding:
        return response
    return response.replace(encoding=encoding)


class CharsetMiddleware:
    """Downloader middleware: every text response decodes with `page_encoding`."""

    def process_response(self, request: Request, response: Response) -> Response:
        return with_page_encoding(response)
