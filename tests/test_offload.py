"""Extraction in worker processes gives what extraction in the crawl's process gives."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, TextResponse

from crawler import offload
from crawler.extract import ExtractionError
from crawler.extract.govhk import extract_release
from crawler.middlewares.charset import with_page_encoding
from crawler.offload import Extractors, Page
from tests.conftest import load_fixtures

REPO = Path(__file__).resolve().parent.parent
GOVHK = [fixture for fixture in load_fixtures() if fixture.folder.parent.name == "govhk"]


@pytest.fixture
def asyncio_reactor(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run as under Scrapy's asyncio reactor (here: asyncio.run, no reactor installed)."""
    monkeypatch.setattr(offload, "_asyncio_reactor", lambda: True)


def extract_all(extractors: Extractors, responses: list[TextResponse]) -> list[object]:
    async def run() -> list[object]:
        found = await asyncio.gather(
            *(extractors.run(extract_release, response) for response in responses),
            return_exceptions=True,
        )
        return [repr(item) if isinstance(item, BaseException) else asdict(item) for item in found]

    try:
        return asyncio.run(run())
    finally:
        extractors.close()


def test_a_page_sent_to_a_worker_decodes_as_the_crawl_decided() -> None:
    body = "<html><head><title>香港</title></head><body>政府新聞公報</body></html>".encode("big5")
    # No charset anywhere: the charset fix picks Big5-HKSCS, which the worker must keep.
    response = with_page_encoding(HtmlResponse("https://www.info.gov.hk/x.htm", body=body))
    assert isinstance(response, TextResponse)
    again = Page.of(response).response()
    assert type(again) is type(response)
    assert again.text == response.text and "政府新聞公報" in again.text
    assert (again.url, again.status, again.headers, again.body) == (
        response.url, response.status, response.headers, response.body
    )  # fmt: skip


@pytest.mark.usefixtures("asyncio_reactor")
def test_a_worker_extracts_every_release_as_the_crawl_process_does() -> None:
    responses = [fixture.response() for fixture in GOVHK]
    assert len(responses) > 50
    in_process = extract_all(Extractors(0), responses)
    in_worker = extract_all(Extractors(1), responses)
    assert in_worker == in_process


@pytest.mark.usefixtures("asyncio_reactor")
def test_an_extraction_error_in_a_worker_is_raised_in_the_crawl() -> None:
    page = HtmlResponse(
        "https://www.info.gov.hk/gia/general/202205/25/P2022052500588.htm",
        body=b"<html><body>no release here</body></html>",
    )
    [found] = extract_all(Extractors(1), [page])
    assert found == repr(ExtractionError("no headline, og:title or <title>"))


def dies_in_a_worker(response: TextResponse) -> str:
    if multiprocessing.parent_process() is not None:
        os._exit(3)
    return response.url


@pytest.mark.usefixtures("asyncio_reactor")
def test_a_worker_that_dies_leaves_extraction_to_the_crawl_process() -> None:
    extractors = Extractors(1)
    page = HtmlResponse("https://www.info.gov.hk/x.htm", body=b"<html></html>")

    async def run() -> list[str]:
        return [await extractors.run(dies_in_a_worker, page) for _ in range(2)]

    try:
        assert asyncio.run(run()) == [page.url, page.url]
    finally:
        extractors.close()
    assert extractors.workers == 0


def test_without_the_asyncio_reactor_extraction_stays_in_process() -> None:
    extractors = Extractors(2)
    [fixture] = GOVHK[:1]
    [found] = extract_all(extractors, [fixture.response()])
    assert isinstance(found, dict) and found["title"]
    assert extractors.workers == 0


KILLED_CRAWL = """
import asyncio, os, signal, sys
from scrapy.http import HtmlResponse
from crawler import offload
from tests.test_offload import worker_pid

offload._asyncio_reactor = lambda: True
extractors = offload.Extractors(1)
page = HtmlResponse("https://www.info.gov.hk/x.htm", body=b"<html></html>")
print(asyncio.run(extractors.run(worker_pid, page)), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def worker_pid(response: TextResponse) -> int:
    """The process an extraction runs in."""
    return os.getpid()


def test_a_worker_ends_with_a_crawl_killed_by_sigkill() -> None:
    # The worker shares the crawl's standard error: were it left running, whoever reads the
    # crawl's output to its end (cron, a test) would wait for ever.
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", KILLED_CRAWL],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == -signal.SIGKILL, done.stderr
    worker = int(done.stdout)
    assert worker != done.returncode
    while Path(f"/proc/{worker}").exists() and time.monotonic() - started < 30:
        time.sleep(0.1)
    assert not Path(f"/proc/{worker}").exists(), "the extraction worker outlived the crawl"


def test_a_worker_parses_every_page_into_the_tree_the_crawl_process_parses() -> None:
    # Big5 and UTF-8 pages, with and without a declared charset: the same text and tree.
    responses = [with_page_encoding(fixture.response()) for fixture in load_fixtures()]
    html_pages = [r for r in responses if isinstance(r, HtmlResponse)]
    assert len(html_pages) > 50
    for response in html_pages:
        page = Page.of(response)
        document = page.for_extraction()
        assert isinstance(document, offload.Document), response.url
        assert document.text == response.text, response.url
        assert document.selector.root.base_url == response.selector.root.base_url
        assert document.selector.get() == response.selector.get(), response.url


def test_a_page_other_than_html_reaches_a_worker_as_a_scrapy_response() -> None:
    xml = TextResponse("https://www.info.gov.hk/x.xml", body=b"<rss></rss>", encoding="utf-8")
    again = Page.of(xml).for_extraction()
    assert type(again) is TextResponse and again.text == xml.text


@pytest.mark.usefixtures("asyncio_reactor")
def test_a_worker_imports_neither_scrapy_nor_twisted() -> None:
    from tests.offload_probe import modules_loaded

    [fixture] = GOVHK[:1]
    extractors = Extractors(1)

    async def run() -> list[str]:
        return await extractors.run(modules_loaded, fixture.response())

    try:
        modules = asyncio.run(run())
    finally:
        extractors.close()
    assert "lxml.html" in modules and "parsel" in modules
    heavy = [m for m in modules if m.split(".")[0] in ("scrapy", "twisted", "OpenSSL")]
    assert heavy == []
