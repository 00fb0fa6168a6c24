"""Page extraction: pure functions from a response to fields, testable without the engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lxml import html
    from scrapy.http import TextResponse


class ExtractionError(ValueError):
    """A page that cannot yield an item; the message says which part is missing."""


def page_root(response: TextResponse) -> html.HtmlElement:
    """The response's parsed document, refused if the parser stopped before its end.

    libxml2 stops reading a document nested deeper than its limit (2048 elements, say 20,000
    nested ``<div>``) and keeps what it read: an item extracted from it would lose its body's
    end and its footer without a word. Such a page is quarantined instead.
    """
    root = response.selector.root
    for error in root.getroottree().parser.error_log:
        if error.type_name == "ERR_RESOURCE_LIMIT":
            raise ExtractionError(f"the HTML parser stopped reading the page: {error.message}")
    return root
