"""Extraction quality: the generic extraction and trafilatura scored on the same real pages.

Reads a folder in the layout of Scrapinghub's (now Zyte's) article extraction benchmark,
https://github.com/scrapinghub/article-extraction-benchmark (`html/<hash>.html.gz` and
`ground-truth.json`, `{"<hash>": {"articleBody": ..., "url": ...}}`); by default the dev set
copied into `bench/data/article-benchmark-dev/`. Each page is extracted by:

- ours: the generic extraction, a source with no selectors, exactly as
  `hkarchive extract FILE --url URL` does it (`hkarchive.cli.extract.extract_page`), the URL
  being the ground truth's. Its body is trafilatura's HTML output with our own options
  (comments left out, favour recall, links, images, tables) rendered by our text renderer, then
  the page's description or main content when trafilatura finds nothing: the body method of
  every page is counted;
- trafilatura: `trafilatura.extract(html_bytes)` with its default options (trafilatura 2:
  plain text output, comments and tables included, fallback extractors on, no URL).

Both are timed per page in the same process, interleaved page by page, and both timings
include reading and unzipping the saved file. A page either extractor gives nothing for is a
refusal (its reason counted) and scores as an empty body, as the benchmark scores it.

The body scores are the benchmark's own (its evaluate.py, see `string_shingle_matching` below):
4-word shingles, per-page counts normalised to the page, precision and recall averaged over
pages, F1 the harmonic mean of the two averages. Run from a checkout:

    python bench/extraction_quality.py                 # the dev set, 97 pages
    python bench/extraction_quality.py --limit 3 --out quality.json
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    # `python bench/extraction_quality.py` puts bench/ on the path, not the checkout.
    sys.path.insert(0, str(REPO))

from hkarchive.cli.extract import extract_page  # noqa: E402

DEFAULT_FOLDER = REPO / "bench" / "data" / "article-benchmark-dev"
CONTENDERS = ("ours", "trafilatura")

# --- The benchmark's scoring -------------------------------------------------------------------
# Copied from evaluate.py of https://github.com/scrapinghub/article-extraction-benchmark
# (Copyright (c) 2020 Scrapinghub, MIT licence: bench/data/article-benchmark-dev/LICENSE), with
# type annotations added. Changes, none of which alters a score the original computes: the mean
# of no pages is 0.0 instead of an error, F1 of zero precision and recall is 0.0 instead of a
# division by zero, and the bootstrap takes a seeded random generator.

TpFpFn = tuple[float, float, float]

_TOKEN_RE = re.compile(r"\w+", re.UNICODE | re.MULTILINE | re.IGNORECASE | re.DOTALL)


def _tokenize(text: str) -> list[str]:
    # Note that such simple tokenization will work ok for any language,
    # even if several words will be clumped together, as we expect
    # that extra predicted text will still be separated.
    return _TOKEN_RE.findall(text or "")


def _ngrams(text: str, n: int) -> list[tuple[str, ...]]:
    tokens = _tokenize(text)
    result = []
    for i in range(0, max(1, len(tokens) - n + 1)):
        shingle = tuple(tokens[i : i + n])
        if shingle:
            result.append(shingle)
    return result


def _all_shingles(text: str, ngram_n: int) -> dict[tuple[str, ...], int]:
    return dict(Counter(_ngrams(text, ngram_n)))


def string_shingle_matching(true: str, pred: str, ngram_n: int = 4) -> TpFpFn:
    """TP/FP/FN across shingles (joined ngrams) of the reference and predicted bodies.

    Multiset counts: a shingle twice in the reference and once in the prediction is one TP and
    one FN. The three are normalised to sum to 1 so that longer texts do not weigh more.
    """
    true_shingles = _all_shingles(true, ngram_n)
    pred_shingles = _all_shingles(pred, ngram_n)
    tp = fp = fn = 0.0
    for key in set(true_shingles) | set(pred_shingles):
        true_count = true_shingles.get(key, 0)
        pred_count = pred_shingles.get(key, 0)
        tp += min(true_count, pred_count)
        fp += max(0, pred_count - true_count)
        fn += max(0, true_count - pred_count)
    s = tp + fp + fn
    # Normalize metrics so that longer texts do not have more weight.
    if s > 0:
        return (tp / s, fp / s, fn / s)
    return (tp, fp, fn)


def precision_score(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    if tp == fp == 0:
        return 0.0
    return tp / (tp + fp)


def recall_score(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    if tp == fn == 0:
        return 0.0
    return tp / (tp + fn)


def _mean(values: list[float]) -> float:
    return statistics.mean(values) if values else 0.0


def metrics_from_tp_fp_fns(tp_fp_fns: list[TpFpFn]) -> dict[str, float]:
    """Precision averaged over pages with a prediction, recall over pages with a reference,
    F1 the harmonic mean of the two averages (not the mean of per-page F1s)."""
    precision = _mean([precision_score(*t) for t in tp_fp_fns if t[0] + t[1] > 0])
    recall = _mean([recall_score(*t) for t in tp_fp_fns if t[0] + t[2] > 0])
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"f1": f1, "precision": precision, "recall": recall}


def bootstrap_ci(tp_fp_fns: list[TpFpFn], n_bootstrap: int, seed: int = 0) -> dict[str, float]:
    """1.96 standard deviations of each metric over bootstrap resamples of the pages."""
    rng = random.Random(seed)  # noqa: S311 - resampling, not security
    values: dict[str, list[float]] = {}
    n = len(tp_fp_fns)
    if n < 2 or n_bootstrap < 2:
        return {}
    for _ in range(n_bootstrap):
        sample = [tp_fp_fns[rng.randint(0, n - 1)] for _ in range(n)]
        for key, value in metrics_from_tp_fp_fns(sample).items():
            values.setdefault(key, []).append(value)
    return {f"{key}_ci": 1.96 * statistics.stdev(v) for key, v in sorted(values.items())}


# --- The run -----------------------------------------------------------------------------------


def load_pages(folder: Path, limit: int | None) -> list[tuple[Path, str, str]]:
    """(html path, url, reference body) of the folder's pages, by hash, at most `limit`."""
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for key in sorted(truth):
        path = folder / "html" / f"{key}.html.gz"
        if not path.is_file():
            raise SystemExit(f"{folder}: ground-truth.json names {key}, no html/{key}.html.gz")
        pages.append((path, str(truth[key].get("url") or ""), truth[key].get("articleBody", "")))
    return pages[:limit] if limit is not None else pages


# The body method of each of our pages, by `ours` (it only runs in `run`'s single thread).
_BODY_METHODS: Counter[str] = Counter()


def ours(path: Path, url: str) -> tuple[str | None, str | None]:
    """(body, None) or (None, reason) by the generic extraction, as `hkarchive extract`."""
    records = extract_page(path, url or None, None)
    if "error" in records[0]:
        return None, str(records[0]["error"])
    _BODY_METHODS.update(str(r["extraction"].get("body")) for r in records)
    return "\n".join(str(r["body_text"] or "") for r in records), None


def trafilatura_default(path: Path, url: str) -> tuple[str | None, str | None]:
    """(body, None) or (None, reason) by trafilatura.extract with its default options."""
    import trafilatura

    del url  # the defaults: no URL given
    text = trafilatura.extract(gzip.decompress(path.read_bytes()))
    if not text:
        return None, "trafilatura returned nothing"
    return text, None


EXTRACTORS: dict[str, Callable[[Path, str], tuple[str | None, str | None]]] = {
    "ours": ours,
    "trafilatura": trafilatura_default,
}


def run(folder: Path, limit: int | None = None, n_bootstrap: int = 1000) -> dict[str, Any]:
    """Extract, time and score every page by both contenders; the results as a dict."""
    import trafilatura

    pages = load_pages(folder, limit)
    if not pages:
        raise SystemExit(f"{folder}: no pages")
    # Warm both up (lazy imports, compiled patterns) on the first page, untimed.
    for name in CONTENDERS:
        EXTRACTORS[name](pages[0][0], pages[0][1])
    _BODY_METHODS.clear()
    scores: dict[str, list[TpFpFn]] = {name: [] for name in CONTENDERS}
    ms: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    refusals: dict[str, Counter[str]] = {name: Counter() for name in CONTENDERS}
    per_page: list[dict[str, Any]] = []
    for path, url, reference in pages:
        row: dict[str, Any] = {"page": path.name.removesuffix(".html.gz"), "url": url}
        for name in CONTENDERS:
            started = time.perf_counter()
            body, reason = EXTRACTORS[name](path, url)
            ms[name].append((time.perf_counter() - started) * 1000)
            if reason is not None:
                refusals[name][reason] += 1
            tp_fp_fn = string_shingle_matching(true=reference, pred=body or "")
            scores[name].append(tp_fp_fn)
            row[name] = {
                "ms": ms[name][-1],
                "refused": reason,
                "f1": metrics_from_tp_fp_fns([tp_fp_fn])["f1"],
            }
        per_page.append(row)
    contenders: dict[str, dict[str, Any]] = {}
    for name in CONTENDERS:
        contenders[name] = {
            "items": len(pages) - sum(refusals[name].values()),
            "refusals": dict(refusals[name].most_common()),
            **metrics_from_tp_fp_fns(scores[name]),
            **bootstrap_ci(scores[name], n_bootstrap),
            "ms_per_page_median": statistics.median(ms[name]),
            "ms_per_page_mean": statistics.mean(ms[name]),
        }
    return {
        "folder": folder.name,
        "pages": len(pages),
        "trafilatura_version": trafilatura.__version__,
        "contenders": contenders,
        "ours_body_methods": dict(_BODY_METHODS.most_common()),
        "ratios": {
            "ms_median": statistics.median(ms["ours"]) / statistics.median(ms["trafilatura"]),
            "ms_mean": statistics.mean(ms["ours"]) / statistics.mean(ms["trafilatura"]),
        },
        "per_page": per_page,
    }


def table(results: dict[str, Any]) -> str:
    """The results as a Markdown table, a row per contender and a row of ratios."""
    lines = [
        f"{results['folder']}: {results['pages']} pages, "
        f"trafilatura {results['trafilatura_version']} (default options)",
        "",
        "| extractor | items / pages | refusals | body F1 | precision | recall "
        "| ms/page median | ms/page mean |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, c in results["contenders"].items():
        refused = "; ".join(f"{n} × {reason}" for reason, n in c["refusals"].items()) or "none"

        def ci(key: str, c: dict[str, Any] = c) -> str:
            return f" ± {c[key + '_ci']:.3f}" if key + "_ci" in c else ""

        lines.append(
            f"| {name} | {c['items']} / {results['pages']} | {refused} "
            f"| {c['f1']:.3f}{ci('f1')} | {c['precision']:.3f}{ci('precision')} "
            f"| {c['recall']:.3f}{ci('recall')} "
            f"| {c['ms_per_page_median']:.2f} | {c['ms_per_page_mean']:.2f} |"
        )
    r = results["ratios"]
    lines.append(f"| ours / trafilatura | | | | | | {r['ms_median']:.2f}× | {r['ms_mean']:.2f}× |")
    methods = ", ".join(f"{n} {m}" for m, n in results["ours_body_methods"].items())
    lines += ["", f"ours, body by: {methods or 'no page'}"]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--folder",
        type=Path,
        default=DEFAULT_FOLDER,
        help="html/*.html.gz + ground-truth.json (default: the copied dev set)",
    )
    p.add_argument("--limit", type=int, help="the first N pages by hash (default: all)")
    p.add_argument("--bootstrap", type=int, default=1000, help="resamples for the ± 95%% intervals")
    p.add_argument("--out", type=Path, help="also write every number, per page too, as JSON")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.limit is not None and args.limit < 1:
        raise SystemExit("--limit must be at least 1")
    results = run(args.folder, args.limit, args.bootstrap)
    print(table(results))
    if args.out:
        args.out.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
