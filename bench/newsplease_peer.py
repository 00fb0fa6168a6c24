"""news-please's extraction timed on the benchmark's pages, run by news-please's own Python.

news-please (https://github.com/fhamborg/news-please) is the Scrapy-based news crawler users
would pick instead of this project. Its whole crawl of the mirror is a contender beside ours
(bench/crawls.py, ``newsplease``); this times its library extraction alone,
``NewsPlease.from_html(html, url, fetch_images=False)``, on the same pages as our extractor and
trafilatura in the "extraction" section. news-please pins its own
versions of lxml and others, so it lives in a virtualenv of its own:

    python3 -m venv ../np && ../np/bin/pip install news-please
    python bench/run.py --news-please ../np/bin/python ...

bench/run.py writes the pages to time as a JSON list of {"path", "url"} and runs this script
with that interpreter; it prints one JSON object. Only the standard library is imported here
before news-please itself, so the script runs in any Python that has news-please.

    python bench/newsplease_peer.py PAGES.json REPEATS
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def time_pages(
    pages: list[dict[str, str]], extract: Callable[[str, str], Any], repeats: int
) -> dict[str, Any]:
    """Median over `repeats` passes of the mean ms per page of extract(html, url), and how many
    pages gave a title."""
    html = [Path(page["path"]).read_bytes().decode("utf-8", "replace") for page in pages]
    passes, titled = [], 0
    for _ in range(repeats):
        titled = 0
        started = time.perf_counter()
        for text, page in zip(html, pages, strict=True):
            titled += bool(getattr(extract(text, page["url"]), "title", None))
        passes.append((time.perf_counter() - started) * 1000 / max(1, len(pages)))
    return {
        "pages": len(pages),
        "repeats": repeats,
        "ms_per_page": statistics.median(passes),
        "ms_passes": passes,
        "pages_with_title": titled,
    }


def main(argv: list[str]) -> int:
    pages = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    repeats = int(argv[1])
    import logging

    try:
        from newsplease import NewsPlease  # type: ignore[import-not-found]
    except ImportError:
        print(f"no newsplease module in {sys.executable}: pip install news-please", file=sys.stderr)
        return 2

    logging.disable(logging.WARNING)  # news-please logs every page it reads
    result = time_pages(
        pages, lambda html, url: NewsPlease.from_html(html, url=url, fetch_images=False), repeats
    )
    from importlib.metadata import version

    result["version"] = version("news-please")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
