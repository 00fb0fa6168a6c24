"""The crawl contenders, each a child process against a mirror served by another process."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from bench.measure import ChildRun, run_child
from bench.sitegen import Site

REPO = Path(__file__).resolve().parent.parent


def child_env(overrides: dict[str, Any] | None = None) -> dict[str, str]:
    """This environment without the project's own overrides, so every child starts alike;
    with `overrides`, those settings (HKARCHIVE_OVERRIDES, applied last by the crawl)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HKARCHIVE_")}
    env["PYTHONPATH"] = str(REPO)
    if overrides:
        env["HKARCHIVE_OVERRIDES"] = json.dumps(overrides)
    return env


def live_politeness() -> dict[str, Any]:
    """The settings a crawl of the real sites runs with where a loopback mirror lifts them
    (crawler/mirror.py): each at the value crawler/settings.py gives it, so that a crawl of a
    mirror with these overrides waits as a crawl of the live sites does. AutoThrottle's own
    settings (start and maximum delay, target concurrency) are never lifted: they stay as
    settings.py has them."""
    from crawler import settings
    from crawler.mirror import mirror_overrides

    lifted = (
        mirror_overrides("http://127.0.0.1:1").keys() - mirror_overrides("http://a.example").keys()
    )
    return {name: getattr(settings, name) for name in sorted(lifted)}


class Mirror:
    """A mirror directory served by `python -m bench.serve` in its own process."""

    def __init__(self, proc: subprocess.Popen[str], url: str) -> None:
        """Use `Mirror.serve`."""
        self.proc = proc
        self.url = url

    @classmethod
    @contextmanager
    def serve(cls, root: Path, delay_ms: float = 0) -> Iterator[Mirror]:
        """Serve root until the block ends (answering each request delay_ms late)."""
        proc = subprocess.Popen(  # noqa: S603 (our own module, a path we created)
            [sys.executable, "-m", "bench.serve", str(root), str(delay_ms)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=child_env(),
            cwd=REPO,
        )
        try:
            yield cls(proc, cls._line(proc.stdout))
        finally:
            if proc.stdin:
                proc.stdin.close()
            proc.wait(timeout=30)

    @staticmethod
    def _line(stream: IO[str] | None) -> str:
        line = stream.readline().strip() if stream else ""
        if not line:
            raise SystemExit("the mirror server did not start (see its error above)")
        return line

    def _ask(self, command: str) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._line(self.proc.stdout)

    def reset(self) -> None:
        """Forget the requests counted so far."""
        self._ask("reset")

    def counts(self) -> dict[str, Any]:
        """Requests since the last reset: total, by status, release and index pages by status."""
        counts: dict[str, Any] = json.loads(self._ask("counts"))
        return counts


@dataclass(frozen=True)
class Contender:
    """One measured crawl: what it cost, and what the mirror and the archive saw."""

    run: ChildRun
    requests: dict[str, Any]
    stored: dict[str, Any]

    def as_dict(self, pages: int) -> dict[str, Any]:
        """The figures with per-page rates for `pages` release pages."""
        return (
            self.run.as_dict()
            | {
                "pages_per_s": pages / self.run.wall_s if self.run.wall_s else 0.0,
                "cpu_ms_per_page": self.run.cpu_s * 1000 / pages if pages else 0.0,
            }
            | {"requests": self.requests, "stored": self.stored}
        )


def _measured(
    mirror: Mirror,
    argv: list[str],
    log: Path,
    overrides: dict[str, Any] | None = None,
    *,
    cwd: Path = REPO,
    env: dict[str, str] | None = None,
) -> tuple[ChildRun, dict[str, Any]]:
    mirror.reset()
    cpu_before = mirror.counts()["server_cpu_s"]
    run = run_child(argv, log, env=env or child_env(overrides), cwd=cwd)
    if run.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:4])}... exited {run.returncode}; see {log}")
    counts = mirror.counts()
    # The server shares the cores: how busy it was tells whether it, not the crawler, limited.
    counts["server_cpu_s"] -= cpu_before
    return run, counts


def ours(
    mirror: Mirror, site: Site, db: Path, log: Path, overrides: dict[str, Any] | None = None
) -> Contender:
    """`hkarchive crawl govhk` of the whole site into the archive at db (with `overrides`:
    those settings applied last, as HKARCHIVE_OVERRIDES)."""
    argv = [
        sys.executable, "-m", "hkarchive", "crawl", "govhk",
        "--since", site.first_day.isoformat(), "--until", site.last_day.isoformat(),
        "--lang", "all", "--mirror", mirror.url, "--db", str(db),
    ]  # fmt: skip
    run, requests = _measured(mirror, argv, log, overrides)
    return Contender(run, requests, _last_run(db))


def _last_run(db: Path) -> dict[str, Any]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        row = conn.execute(
            "SELECT status, pages_fetched, requests, items_new, items_updated, items_unchanged, "
            "errors, (SELECT count(*) FROM articles) AS articles "
            "FROM crawl_runs ORDER BY id DESC LIMIT 1"
        ).fetchone()
    conn.close()
    return dict(row) if row else {}


def ceiling(mirror: Mirror, urls: Path, log: Path) -> Contender:
    """The bare spider over the same URLs."""
    argv = [sys.executable, "-m", "bench.ceiling", "--mirror", mirror.url, "--urls", str(urls)]
    run, requests = _measured(mirror, argv, log)
    return Contender(run, requests, {})


def naive(mirror: Mirror, site: Site, db: Path, log: Path) -> Contender:
    """The sequential requests + BeautifulSoup script over the same days."""
    argv = [
        sys.executable, "-m", "bench.naive", "--mirror", mirror.url,
        "--since", site.first_day.isoformat(), "--until", site.last_day.isoformat(),
        "--db", str(db),
    ]  # fmt: skip
    run, requests = _measured(mirror, argv, log)
    with sqlite3.connect(db) as conn:
        stored = {"articles": conn.execute("SELECT count(*) FROM articles").fetchone()[0]}
    conn.close()
    if stored["articles"] != site.releases:
        raise SystemExit(f"the naive script stored {stored['articles']} of {site.releases} pages")
    return Contender(run, requests, stored)


def fresh_dir(path: Path) -> Path:
    """An empty directory at path (removing what was there)."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


# news-please's settings a loopback mirror changes, as ours and the ceiling get theirs from
# crawler.mirror: as many requests in flight, no robots.txt. Its images would be fetched from
# the live sites, which this machine may not reach: its own no-images extractor instead.
_NEWSPLEASE_CHANGES = (
    (r"^working_path\s*=.*$", "working_path = {work}/"),
    (r"^url_input_file_name\s*=.*$", "url_input_file_name = {sites}"),
    (r"'newspaper_extractor'", "'newspaper_extractor_no_images'"),
    (r"^ROBOTSTXT_OBEY\s*=.*$", "ROBOTSTXT_OBEY = False"),
    (r"^CONCURRENT_REQUESTS\s*=.*$", "CONCURRENT_REQUESTS = {concurrent}"),
    (r"^CONCURRENT_REQUESTS_PER_DOMAIN\s*=.*$", "CONCURRENT_REQUESTS_PER_DOMAIN = {per_site}"),
)


def newsplease_urls(site: Site, mirror_url: str, pages: int) -> list[str]:
    """The first `pages` release pages of the site, as URLs of the mirror itself (news-please
    fetches what it is given; it has no mirror download handler)."""
    from newsarchive.urls import release_ref

    releases = [url for url in site.urls() if release_ref(url) is not None][:pages]
    return [mirror_url.rstrip("/") + "/" + url.split("://", 1)[1] for url in releases]


def newsplease_config(default: str, *, work: Path, sites: Path, mirror_url: str) -> str:
    """news-please's default config.cfg with its data in `work`, its site list `sites`, and
    the changes a loopback mirror makes (_NEWSPLEASE_CHANGES)."""
    import re

    from crawler.mirror import mirror_overrides

    loopback = mirror_overrides(mirror_url)
    values = {
        "work": work, "sites": sites,
        "concurrent": loopback.get("CONCURRENT_REQUESTS", 16),
        "per_site": loopback.get("CONCURRENT_REQUESTS_PER_DOMAIN", 8),
    }  # fmt: skip
    config = default
    for pattern, replacement in _NEWSPLEASE_CHANGES:
        config, changed = re.subn(pattern, replacement.format(**values), config, flags=re.M)
        if not changed:
            raise SystemExit(f"news-please's config.cfg has no line matching {pattern!r}")
    return config


def newsplease(mirror: Mirror, site: Site, python: str, work: Path, pages: int) -> Contender:
    """news-please 1.6's own crawl (its `Download` crawler over a list of URLs, its extractors,
    its storage: an HTML and a JSON file per article) of up to `pages` release pages."""
    fresh_dir(work)
    urls = newsplease_urls(site, mirror.url, pages)
    sites = work / "sitelist.hjson"
    sites.write_text(json.dumps({"base_urls": [{"url": urls, "crawler": "Download"}]}), "utf-8")
    found = subprocess.run(  # noqa: S603 (the interpreter the user named)
        [python, "-c", "import newsplease, os; print(os.path.dirname(newsplease.__file__))"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if found.returncode != 0:
        raise SystemExit(f"no newsplease module in {python}: pip install news-please")
    default = (Path(found.stdout.strip()) / "config" / "config.cfg").read_text("utf-8")
    config = newsplease_config(default, work=work, sites=sites, mirror_url=mirror.url)
    cfg = work / "config.cfg"
    cfg.write_text(config, "utf-8")
    argv = [python, "-m", "newsplease.single_crawler", str(cfg), str(sites), "0", "False", "False"]
    # Outside this project (no PYTHONPATH to it, no scrapy.cfg in the working directory).
    env = {k: v for k, v in child_env().items() if k != "PYTHONPATH"}
    run, requests = _measured(mirror, argv, work / "newsplease.log", cwd=work, env=env)
    stored = [json.loads(p.read_text("utf-8")) for p in (work / "data").rglob("*.json")]
    if len(stored) != len(urls):
        raise SystemExit(f"news-please stored {len(stored)} of {len(urls)} pages; see {work}")
    titled = sum(1 for article in stored if article.get("title"))
    return Contender(run, requests, {"articles": len(stored), "with_title": titled})
