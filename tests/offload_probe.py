"""A function run in an extraction worker by tests/test_offload.py; this module imports nothing
of Scrapy, so that what the worker has imported is the worker's own doing."""

from __future__ import annotations

import sys
from typing import Any


def modules_loaded(response: Any) -> list[str]:
    """The modules the worker holds once it has parsed the page it was given."""
    response.selector  # noqa: B018 -- parse the page, as extraction does
    return sorted(sys.modules)
