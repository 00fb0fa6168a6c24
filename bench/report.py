"""The benchmark's one table: section, metric, value, target, and whether the target is met."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Row = tuple[str, str, str, str, str]


def _fmt(value: float, unit: str = "") -> str:
    if float(value).is_integer() and abs(value) < 1e4:
        text = f"{value:.0f}"
    elif abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text}{unit}"


def _row(
    section: str,
    metric: str,
    value: float | None,
    unit: str = "",
    target: str = "",
    ok: Callable[[float], bool] | None = None,
) -> Row:
    if value is None:
        return (section, metric, "not measured", target, "")
    verdict = "" if ok is None else ("pass" if ok(value) else "MISS")
    return (section, metric, _fmt(value, unit), target, verdict)


def rows(results: dict[str, Any]) -> list[Row]:
    """Every row of the table, from results.json's "sections"."""
    s = results["sections"]
    out: list[Row] = []
    ceiling, ours, naive = s.get("ceiling"), s.get("ours"), s.get("naive")
    peer = s.get("newsplease")
    if ceiling:
        out.append(_row("ceiling", "pages/s (bare Scrapy)", ceiling["median"]["pages_per_s"]))
        out.append(_row("ceiling", "CPU ms/page", ceiling["median"]["cpu_ms_per_page"]))
        out.extend(_server_row("ceiling", ceiling))
    if ours:
        m = ours["median"]
        out.append(_row("ours", "pages/s (hkarchive crawl)", m["pages_per_s"]))
        out.append(_row("ours", "CPU ms/page", m["cpu_ms_per_page"]))
        out.append(_row("ours", "peak RSS, crawl + extraction worker", m["peak_rss_mb"], " MB"))
        out.extend(_server_row("ours", ours))
        if ceiling:
            # Issue 16's target (by wall and by CPU time); the goal beyond it is 0.8×.
            out.append(_row("ours", "ratio to ceiling", ours["ratio_to_ceiling"], "×",
                            "≥ 0.5×", lambda v: v >= 0.5))  # fmt: skip
        if naive:
            out.append(_row("ours", "ratio to naive", ours["ratio_to_naive"], "×",
                            "≥ 5×", lambda v: v >= 5))  # fmt: skip
        if peer:
            out.append(_row("ours", "ratio to news-please", ours["ratio_to_newsplease"], "×"))
        # CPU time per page moves far less than wall time when other work shares the cores.
        for name, other in (("ceiling", ceiling), ("naive", naive), ("news-please", peer)):
            if other:
                ratio = other["median"]["cpu_ms_per_page"] / m["cpu_ms_per_page"]
                target = ("≥ 0.5×", lambda v: v >= 0.5) if other is ceiling else ("", None)
                out.append(_row("ours", f"ratio to {name}, by CPU time per page", ratio, "×",
                                *target))  # fmt: skip
    if naive:
        out.append(_row("naive", "pages/s (requests + bs4)", naive["median"]["pages_per_s"]))
        out.append(_row("naive", "CPU ms/page", naive["median"]["cpu_ms_per_page"]))
    if peer:
        what = f"{peer['pages']:,} pages, its Download crawler, extraction and file storage"
        out.append(_row("news-please", f"pages/s ({what})", peer["median"]["pages_per_s"]))
        out.append(_row("news-please", "CPU ms/page", peer["median"]["cpu_ms_per_page"]))
        out.append(_row("news-please", "peak RSS", peer["median"]["peak_rss_mb"], " MB"))
    late = s.get("latency")
    if late:
        out.extend(_latency_rows(late))
    ext = s.get("extraction")
    if ext:
        out.append(_row("extraction", "GovHK extractor ms/page", ext["govhk_ms_per_page"],
                        " ms", "≤ 2 ms", lambda v: v <= 2))  # fmt: skip
        out.append(_row("extraction", "  of which HTML parsing", ext["html_parse_ms_per_page"],
                        " ms"))  # fmt: skip
        out.append(_row("extraction", "trafilatura ms/page", ext["trafilatura_ms_per_page"], " ms"))
        peer = ext.get("newsplease")
        if peer:
            out.append(_row("extraction", f"news-please {peer['version']} ms/page (from_html)",
                            peer["ms_per_page"], " ms"))  # fmt: skip
            out.append(_row("extraction", "news-please / GovHK extractor",
                            peer["ms_per_page"] / ext["govhk_ms_per_page"], "×"))  # fmt: skip
    inc = s.get("incremental")
    if inc:
        m = inc["median"]
        out.append(_row("incremental", "release pages fetched", m["release_pages_fetched"], "",
                        "0", lambda v: v == 0))  # fmt: skip
        out.append(_row("incremental", "requests made", m["requests"]))
        out.append(_row("incremental", "wall time (fixed cost: start-up)", m["wall_s"], " s"))
        out.append(_row("incremental", "CPU time", m["cpu_s"], " s"))
        out.append(_row("incremental", "wall time / first run", m["wall_share"] * 100, " %",
                        "≤ 5 %", lambda v: v <= 5))  # fmt: skip
    out.extend(_search_rows(s.get("search")))
    out.extend(_memory_rows(s.get("memory")))
    return out


def _latency_rows(late: dict[str, Any]) -> list[Row]:
    """Pages/s and CPU ms/page of each contender against the late mirror; the live-settings
    one is what a user's crawl of the real sites runs with."""
    delay = f"{late['delay_ms']:.0f} ms late"
    out: list[Row] = []
    live = late.get("live")
    ours = late["ours"]
    contenders = [(f"ours, mirror settings{_politeness(ours)}", ours, late["pages"])]
    if live:
        contenders.append(
            (f"ours, live settings{_politeness(live)}: what a user gets", live, live["pages"])
        )
    contenders.append(("naive", late["naive"], late["pages"]))
    for name, data, pages in contenders:
        out.append(_row("latency", f"{name}, {pages:,} pages: pages/s, every answer {delay}",
                        data["pages_per_s"]))  # fmt: skip
        out.append(_row("latency", f"{name}: CPU ms/page", data["cpu_ms_per_page"]))
    out.append(_row("latency", "ours, mirror settings: ratio to naive", late["ratio_to_naive"],
                    "×", "≥ 5×", lambda v: v >= 5))  # fmt: skip
    if live:
        # Not held to the target: politeness, not the crawler, sets this rate.
        out.append(_row("latency", "ours, live settings: ratio to naive",
                        late["live_ratio_to_naive"], "×"))  # fmt: skip
    return out


def _politeness(crawl: dict[str, Any]) -> str:
    """The politeness settings a latency contender ran with, as " (2 per site, 0.5 s delay,
    AutoThrottle)"; empty where the results do not record them."""
    settings = crawl.get("settings")
    if not settings:
        return ""
    parts = [f"{settings.get('CONCURRENT_REQUESTS', '?')} in flight",
             f"{settings.get('CONCURRENT_REQUESTS_PER_DOMAIN', '?')} per site",
             f"{settings.get('DOWNLOAD_DELAY', '?')} s delay"]  # fmt: skip
    if settings.get("AUTOTHROTTLE_ENABLED"):
        parts.append("AutoThrottle")
    return f" ({', '.join(parts)})"


def _server_row(section: str, data: dict[str, Any]) -> list[Row]:
    """The mirror server's CPU ms per page while this contender ran (median of the runs)."""
    runs = [r["requests"].get("server_cpu_s") for r in data["runs"]]
    if None in runs or not runs:
        return []
    per_page = sorted(cpu * 1000 / data["pages"] for cpu in runs)[len(runs) // 2]
    return [_row(section, "mirror server CPU ms/page (not counted above)", per_page)]


# Targets at 1M articles (issue 16), per order: p50 and p95 of a warm search, in ms.
_SEARCH_TARGETS = {"newest": (20, None), "relevance": (50, 200)}
_COLD_TARGET = 500  # ms, p95 of the first search after opening a cold archive


def _search_rows(search: dict[str, Any] | None) -> list[Row]:
    if not search:
        return []
    out: list[Row] = [
        _row("search", "insert rate, upsert_article (crawl path)",
             search["upsert"]["articles_per_s"], " /s"),
    ]  # fmt: skip
    for size, data in search["sizes"].items():
        n = int(size)
        label = f"{n // 1000}k" if n < 1_000_000 else f"{n / 1e6:g}M"
        at_1m = n >= 1_000_000
        # Older results timed newest first only, under "latency".
        orders = {"newest": data["latency"], "relevance": data.get("latency_relevance")}
        for order, by_lang in orders.items():
            if not by_lang:
                continue
            for lang in ("en", "zh"):
                lat = by_lang[lang]
                for stat, target in zip(("p50", "p95"), _SEARCH_TARGETS[order], strict=True):
                    out.append(_latency_row(f"{label} {lang} {order} {stat}",
                                            lat[f"{stat}_ms"], target, at_1m))  # fmt: skip
        cold = data.get("cold")
        if cold:
            name = f"{label} first search after opening a cold archive"
            out.append(_row("search", f"{name} p50", cold["p50_ms"], " ms"))
            out.append(_latency_row(f"{name} p95", cold["p95_ms"], _COLD_TARGET, at_1m))
        out.append(_row("search", f"{label} size per 1,000 articles",
                        data["mb_per_1000_articles"], " MB"))  # fmt: skip
        out.extend(_storage_rows(label, data.get("storage")))
        out.append(_row("search", f"{label} bulk insert + index rate",
                        data["bulk_articles_per_s"], " /s"))  # fmt: skip
    return out


def _latency_row(metric: str, ms: float, target: float | None, at_1m: bool) -> Row:
    """A search time held to its target at 1M; over it at a smaller size, it misses at 1M."""
    if target is None:
        return _row("search", metric, ms, " ms")
    row = _row("search", metric, ms, " ms", f"≤ {target:g} ms at 1M",
               (lambda v: v <= target) if at_1m else None)  # fmt: skip
    if not at_1m and ms > target:
        # Latency grows with the archive: a miss at a smaller size is a miss at 1M.
        row = (*row[:4], "MISS (so at 1M)")
    return row


def _storage_rows(label: str, storage: dict[str, Any] | None) -> list[Row]:
    """MB per 1,000 articles of each part of the archive (dbstat), a virtual table's shadow
    tables folded into it and shown beside it."""
    if not storage:
        return []
    out: list[Row] = []
    shadows = storage.get("shadow_mb_per_1000_articles", {})
    rest = 0.0
    for part, mb in storage["mb_per_1000_articles"].items():
        if mb < 0.01:
            rest += mb
            continue
        inside = [
            f"{name} {size:.2f}" for name, size in shadows.get(part, {}).items() if size >= 0.01
        ]
        shown = f"{part} ({', '.join(inside)})" if inside else part
        out.append(_row("search", f"{label} per 1,000 articles: {shown}", mb, " MB"))
    if rest >= 0.01:
        out.append(_row("search", f"{label} per 1,000 articles: the rest", rest, " MB"))
    out.append(_row("search", f"{label} per 1,000 articles: total (dbstat)",
                    storage["total_mb_per_1000_articles"], " MB"))  # fmt: skip
    return out


def _memory_rows(memory: dict[str, Any] | None) -> list[Row]:
    if not memory:
        return []
    out: list[Row] = []
    steps = memory["steps"]
    for size, data in steps.items():
        n = int(size)
        ok = (lambda v: v <= 200) if n >= 100_000 else None
        out.append(_row("memory", f"peak RSS at {n:,} pages", data["peak_rss_mb"], " MB",
                        "≤ 200 MB at 100k", ok))  # fmt: skip
    course = memory.get("largest") or {}
    if course:
        shown = " / ".join(f"{v:.0f}" for v in course.values())
        out.append(("memory", "RSS at 25/50/75 % of the largest crawl", f"{shown} MB", "", ""))
    if len(steps) > 1 and "growth" in memory:
        out.append(_row("memory", "growth, largest / smallest step", memory["growth"], "×",
                        "flat (≤ 1.25×)", lambda v: v <= 1.25))  # fmt: skip
    return out


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table (readable in a terminal as it is)."""
    header: Row = ("section", "metric", "value", "target", "result")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(5)]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
        for r in [header, *rows]
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
