"""Stored HTML is sanitised by a maintained sanitiser (nh3), whatever site it came from."""

from __future__ import annotations

import nh3


def sanitize_html(fragment: str) -> str:
    """HTML safe to show: no scripts, event handlers, styles or javascript: URLs."""
    return nh3.clean(fragment, link_rel=None).strip()
