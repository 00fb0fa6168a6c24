"""The GovHK spider asks for each release once, by id, without the dupefilter's help."""

from __future__ import annotations

from pathlib import Path

from scrapy.http import Request
from scrapy.utils.test import get_crawler

from crawler.seen import SeenState
from crawler.spiders.govhk import GovhkSpider
from newsarchive.urls import release_ref

FIRST = "https://www.info.gov.hk/gia/general/202412/31/P2024123100123.htm"
SECOND = "https://www.info.gov.hk/gia/general/202412/31/P2024123100456.htm"


def test_a_release_listed_twice_is_requested_once_past_the_dupefilter(tmp_path: Path) -> None:
    crawler = get_crawler(GovhkSpider, {"HKARCHIVE_DB": str(tmp_path / "archive.db")})
    spider = GovhkSpider.from_crawler(crawler, since="2024-12-31", until="2024-12-31")
    # No archive yet: every release is new.
    spider.seen = SeenState(tmp_path / "archive.db", "2025-01-01T00:00:00+08:00")
    refs = [release_ref(url) for url in (FIRST, SECOND)]
    assert None not in refs
    listed = [r for r in refs if r is not None]
    asked = [*spider._follow(listed, "index 1"), *spider._follow(listed[::-1], "index 2")]
    assert [r.url for r in asked if isinstance(r, Request)] == [FIRST, SECOND]
    # The spider's own record of requested ids is the one the crawl keeps of them: the
    # scheduler neither fingerprints nor filters them (nor does the offsite check, which
    # their URLs, built on the site's host, would pass anyway).
    assert all(r.dont_filter for r in asked)
    hosts = {r.url.split("/")[2] for r in asked}
    assert hosts <= set(GovhkSpider.allowed_domains)


class BusyEngine:
    """An engine whose downloader is full: start() must wait for the scheduler to empty."""

    def needs_backout(self) -> bool:
        return True


def test_a_backfill_asks_for_the_next_index_page_once_the_scheduler_is_empty(
    tmp_path: Path,
) -> None:
    import asyncio

    from scrapy import signals

    crawler = get_crawler(GovhkSpider, {"HKARCHIVE_DB": str(tmp_path / "archive.db"),
                                        "HKARCHIVE_NOW": "2025-01-01T00:00:00+08:00"})  # fmt: skip
    spider = GovhkSpider.from_crawler(crawler, since="2024-12-30", until="2024-12-31", lang="en")
    crawler.spider = spider
    crawler.engine = BusyEngine()  # type: ignore[assignment]

    async def run() -> list[str]:
        start = spider.start()
        pending = asyncio.ensure_future(anext(start))
        await asyncio.sleep(0.05)
        waited = not pending.done()
        crawler.signals.send_catch_log(signals.scheduler_empty)
        first = await asyncio.wait_for(pending, 5)
        return [str(waited), first.url]

    waited, url = asyncio.run(run())
    assert waited == "True"
    assert url.endswith("/gia/general/202412/31.htm")
