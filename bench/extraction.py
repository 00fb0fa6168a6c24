"""Extraction alone: our GovHK extractor and trafilatura, timed on the same pages in memory."""

from __future__ import annotations

import json
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from scrapy.http import HtmlResponse

from bench.sitegen import GENERAL, Site
from crawler.extract.govhk import extract_release

HEADERS = {"Content-Type": "text/html"}  # as the mirror serves them: no charset


def sample_paths(root: Path, limit: int) -> list[tuple[Path, str]]:
    """Up to `limit` release pages of the mirror at root, spread over it: (file, URL)."""
    base = root / GENERAL
    paths = sorted(base.glob("*/*/*.htm"))
    step = max(1, len(paths) // limit)
    return [
        (p, f"https://{GENERAL}/{p.relative_to(base).as_posix()}") for p in paths[::step][:limit]
    ]


def load_responses(root: Path, limit: int) -> list[HtmlResponse]:
    """Up to `limit` release pages of the mirror at root, as Scrapy hands them to the spider."""
    return [
        HtmlResponse(url=url, body=path.read_bytes(), headers=HEADERS)
        for path, url in sample_paths(root, limit)
    ]


def check_site(site: Site) -> int:
    """Extract the sampled pages and check they give what was generated; returns how many.

    A generator that silently produced pages our extractor reads differently (a stale
    headline, a date from the template) would make every number of the benchmark meaningless.
    """
    checked = 0
    for sample in site.samples[:60]:
        path = site.root / sample.path
        response = HtmlResponse(
            url=f"https://{sample.path}", body=path.read_bytes(), headers=HEADERS
        )
        article = extract_release(response)
        expected_at = f"{sample.day.isoformat()}T{sample.time}"
        problems = [
            name
            for name, ok in (
                ("title", article.title == " ".join(sample.title.split())),
                ("lang", article.lang == sample.lang),
                ("native_id", article.native_id == sample.native_id),
                ("published_at", (article.published_at or "").startswith(expected_at)),
                ("body", len(article.body_text) > 40),
            )
            if not ok
        ]
        if problems:
            raise SystemExit(f"generated page {path} extracts wrongly: {', '.join(problems)}")
        checked += 1
    return checked


def _time_per_page(
    fn: Callable[[Any], object], inputs: Sequence[Any], repeats: int
) -> tuple[float, list[float]]:
    """Median over `repeats` passes of the mean ms per input, and every pass's figure."""
    passes = []
    for _ in range(repeats):
        started = time.perf_counter()
        for item in inputs:
            fn(item)
        passes.append((time.perf_counter() - started) * 1000 / len(inputs))
    return statistics.median(passes), passes


def _fresh(response: HtmlResponse) -> HtmlResponse:
    # A response caches its parsed tree; the spider parses every page once, so must we.
    return response.replace()


def newsplease(python: str, root: Path, pages: int, repeats: int) -> dict[str, Any]:
    """news-please's library extraction on the same pages, in its own interpreter (see
    bench/newsplease_peer.py): ms per page and how many pages it gave a title."""
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "pages.json"
        chosen = [{"path": str(path), "url": url} for path, url in sample_paths(root, pages)]
        listing.write_text(json.dumps(chosen), encoding="utf-8")
        done = subprocess.run(  # noqa: S603 (the interpreter the user named, our own script)
            [python, str(Path(__file__).with_name("newsplease_peer.py")), str(listing),
             str(repeats)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise SystemExit(f"news-please ({python}) failed: {last}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(
    root: Path, pages: int, repeats: int, newsplease_python: str | None = None
) -> dict[str, Any]:
    """ms per page for extract_release and trafilatura.extract over the same pages, and
    news-please's NewsPlease.from_html where its interpreter is given."""
    import trafilatura

    responses = load_responses(root, pages)
    bodies = [r.body for r in responses]
    ours, ours_passes = _time_per_page(lambda r: extract_release(_fresh(r)), responses, repeats)
    parse_only, _ = _time_per_page(lambda r: _fresh(r).selector, responses, repeats)
    traf, traf_passes = _time_per_page(
        lambda b: trafilatura.extract(b), bodies, max(1, repeats // 2)
    )
    return {
        "pages": len(responses),
        "repeats": repeats,
        "govhk_ms_per_page": ours,
        "govhk_ms_passes": ours_passes,
        "html_parse_ms_per_page": parse_only,
        "trafilatura_ms_per_page": traf,
        "trafilatura_ms_passes": traf_passes,
        "mean_page_bytes": sum(map(len, bodies)) / max(1, len(bodies)),
        **(
            {"newsplease": newsplease(newsplease_python, root, pages, max(1, repeats // 2))}
            if newsplease_python
            else {}
        ),
    }
