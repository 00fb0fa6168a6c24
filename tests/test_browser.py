"""`hkarchive serve` in headless Chromium: the articles, a Chinese search, a canned query.

Chromium is driven through the DevTools protocol over a pipe (--remote-debugging-pipe: JSON
messages ending in NUL on file descriptors 3 and 4), so no extra package is needed. Every host
but 127.0.0.1 resolves to nothing: the pages' links to the publishers' sites are never fetched.

Run as a script to redraw the README's screenshots (the home page and the reader's pages):
    python -m tests.test_browser docs
"""

from __future__ import annotations

import base64
import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.test_serve import INNOHK_ZH, Server, demo_archive, serving

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--window-size=1280,900",
    "--remote-debugging-pipe",
]
TIMEOUT = 60


def find_chromium() -> str:
    """Debian's chromium; skipped where it is missing, except in CI, where it must be there."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is missing in CI: apt-get install -y chromium")
    pytest.skip("chromium is not installed (apt-get install chromium); CI runs this test")


class BrowserError(Exception):
    """Chromium answered a command with an error, or did not answer in time."""


class Browser:
    """One Chromium page, driven through the DevTools protocol over a pipe."""

    def __init__(self, chromium: str, profile: Path) -> None:
        commands_read, self._commands = os.pipe()
        self._events, events_write = os.pipe()
        # bash (dash takes one-digit descriptors only) puts the pipe's ends on descriptors 3
        # and 4, where Chromium expects them.
        script = f'exec "$0" "$@" 3<&{commands_read} 4>&{events_write}'
        self.process = subprocess.Popen(
            ["bash", "-c", script, chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}"],
            pass_fds=(commands_read, events_write),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(commands_read)
        os.close(events_write)
        self._buffer = b""
        self._next_id = 0
        self._pending: list[dict[str, Any]] = []
        self.session = ""

    def start(self) -> None:
        """Open a page to drive, 1280 by 900 pixels."""
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        self.send("Page.enable", session=True)
        self.resize(1280, 900)

    def resize(self, width: int, height: int) -> None:
        """Make the page's window width by height pixels."""
        self.send(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    def _read_message(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            with selectors.DefaultSelector() as selector:
                selector.register(self._events, selectors.EVENT_READ)
                if not selector.select(timeout=TIMEOUT):
                    raise BrowserError(f"chromium said nothing for {TIMEOUT}s")
            chunk = os.read(self._events, 1 << 16)
            if not chunk:
                raise BrowserError(f"chromium closed the pipe (exit {self.process.poll()})")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        parsed: dict[str, Any] = json.loads(message)
        return parsed

    def send(self, method: str, session: bool = False, **params: Any) -> dict[str, Any]:
        """Run one command (on the page when session) and return its result."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read_message()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self._pending.append(reply)

    def wait_for_load(self) -> None:
        """Wait for the page's next load event."""
        while True:
            event = self._pending.pop(0) if self._pending else self._read_message()
            if event.get("method") == "Page.loadEventFired":
                return

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression on the page."""
        result = self.send(
            "Runtime.evaluate", session=True, expression=expression, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url: str) -> None:
        """Load url and wait until it has loaded."""
        self._pending.clear()
        self.send("Page.navigate", session=True, url=url)
        self.wait_for_load()

    def follow(self, script: str) -> None:
        """Run a script that leaves the page (a click, a form submitted) and wait for the next."""
        self._pending.clear()
        self.evaluate(script)
        self.wait_for_load()

    def type_and_enter(self, text: str) -> None:
        """Type text into the focused field, press Enter, and wait for the page that loads."""
        self._pending.clear()
        self.send("Input.insertText", session=True, text=text)
        for kind in ("keyDown", "keyUp"):
            self.send(
                "Input.dispatchKeyEvent",
                session=True,
                type=kind,
                key="Enter",
                code="Enter",
                windowsVirtualKeyCode=13,
                **({"text": "\r"} if kind == "keyDown" else {}),
            )
        self.wait_for_load()

    def text(self) -> str:
        return str(self.evaluate("document.body.innerText"))

    def screenshot(self, path: Path) -> Path:
        """Save what the window shows as a PNG."""
        data = self.send("Page.captureScreenshot", session=True, format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except BrowserError:
            pass  # it may close the pipe before answering
        finally:
            os.close(self._commands)
            os.close(self._events)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def browsing(profile: Path) -> Iterator[Browser]:
    """A headless Chromium with a new empty profile, closed at the end of the block."""
    browser = Browser(find_chromium(), profile)
    try:
        browser.start()
        yield browser
    finally:
        browser.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    archive = demo_archive(tmp_path_factory)
    with serving(archive, tmp_path_factory.mktemp("browser-serve")) as running:
        yield running


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    with browsing(tmp_path / "profile") as running:
        yield running


def is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000


def test_articles_table_searches_chinese_in_the_browser(
    server: Server, browser: Browser, tmp_path: Path
) -> None:
    browser.open(server.url + "archive/articles")
    assert browser.evaluate("document.querySelector('h1').innerText").startswith("articles")
    rows = browser.evaluate("document.querySelectorAll('table.rows-and-columns tbody tr').length")
    assert rows > 50
    facets = browser.evaluate("[...document.querySelectorAll('.facet-info')].map(f => f.id)")
    assert {"facet-source", "facet-lang", "facet-category"} <= set(facets), facets
    assert is_png(browser.screenshot(tmp_path / "articles.png"))

    browser.evaluate("document.querySelector('input#_search').focus()")
    browser.type_and_enter("創新")
    assert "_search=" in browser.evaluate("location.search")
    titles = browser.evaluate(
        "[...document.querySelectorAll('td.col-title')].map(cell => cell.innerText)"
    )
    assert any(title.startswith(INNOHK_ZH) for title in titles), titles
    assert browser.evaluate("document.querySelector('input#_search').value") == "創新"
    assert is_png(browser.screenshot(tmp_path / "search.png"))


def test_canned_query_opens_from_the_database_page(
    server: Server, browser: Browser, tmp_path: Path
) -> None:
    browser.open(server.url + "archive")
    browser.follow(
        "[...document.querySelectorAll('a')]"
        ".find(a => a.innerText.includes('Stories told by more than one source')).click()"
    )
    assert browser.evaluate("location.pathname") == "/archive/stories_across_sources"
    text = browser.text()
    assert "InnoHK Launch Ceremony concludes with great success" in text
    assert "cairs,cpii,govhk" in text
    assert is_png(browser.screenshot(tmp_path / "stories.png"))


def test_row_page_shows_the_body_with_its_paragraphs(server: Server, browser: Browser) -> None:
    browser.open(server.url + "archive/articles/govhk~3AP2022052500588")
    body = browser.evaluate("document.querySelector('.hk-body').innerText")
    assert "\n\n" in body
    assert browser.evaluate("getComputedStyle(document.querySelector('.hk-body')).whiteSpace") == (
        "pre-wrap"
    )
    assert browser.evaluate("document.querySelector('details.hk-html').open") is False


# The reader's pages the README shows, as docs/<name>: (path below the server's root, the
# element scrolled to the top, or None for the whole page from its top).
READER_SHOTS = {
    "reader-article-en.png": ("-/article/govhk:P2022052500588", None),
    "reader-article-zh.png": ("-/article/govhk:P2022052500584", None),
    "reader-search.png": ("-/search?q=" + urllib.parse.quote("創新"), None),
    "reader-story.png": ("-/article/cpii:2022/06/02/innohk-launch-ceremony", ".hk-members"),
}
SHOT_HEIGHT = 1600


def reader_screenshots(url: str, page: Browser, folder: Path) -> list[Path]:
    """Screenshots of the reader's pages at 1280 pixels wide, as the README shows them."""
    saved = []
    for name, (path, element) in READER_SHOTS.items():
        page.resize(1280, SHOT_HEIGHT)
        page.open(url + path)
        if element is not None:
            page.evaluate(f"document.querySelector({element!r}).scrollIntoView()")
        saved.append(page.screenshot(folder / name))
    return saved


def test_reader_shows_an_english_and_a_chinese_article(server: Server, browser: Browser) -> None:
    # The reader needs no JavaScript.
    browser.send("Emulation.setScriptExecutionDisabled", session=True, value=True)
    for ident, headline, twin in (
        ("govhk:P2022052500588", "InnoHK Launch Ceremony concludes with great success", INNOHK_ZH),
        ("govhk:P2022052500584", INNOHK_ZH, "InnoHK Launch Ceremony concludes"),
    ):
        browser.open(server.url + "-/article/" + ident)
        assert browser.evaluate("document.querySelector('h1.hk-headline').innerText").startswith(
            headline
        )
        photos = browser.evaluate(
            "[...document.querySelectorAll('figure.hk-photo')].map(f => "
            "[f.querySelector('img').getAttribute('src'), f.querySelector('figcaption').innerText])"
        )
        assert len(photos) == 4, photos
        assert all(src.startswith("http") and caption for src, caption in photos), photos
        paragraphs = browser.evaluate(
            "[...document.querySelectorAll('.hk-text p')].map(p => p.innerText)"
        )
        assert len(paragraphs) >= 5, paragraphs
        members = browser.evaluate(
            "[...document.querySelectorAll('.hk-members tbody tr')].map(r => r.innerText)"
        )
        assert len(members) >= 2 and any("(this item)" in m for m in members), members
        assert twin in browser.evaluate("document.querySelector('a.hk-translation').innerText")


def test_reader_search_finds_both_languages(server: Server, browser: Browser) -> None:
    for query, title in (("創新", INNOHK_ZH), ("InnoHK", "InnoHK Launch")):
        browser.open(server.url + "-/search")
        browser.evaluate("document.querySelector('input[name=q]').focus()")
        browser.type_and_enter(query)
        hits = browser.evaluate(
            "[...document.querySelectorAll('.hk-hit')].map(h => "
            "[h.querySelector('.hk-hit-title').innerText, "
            "[...h.querySelectorAll('mark')].map(m => m.innerText)])"
        )
        assert any(found.startswith(title) for found, _ in hits), hits
        assert all(query in marks for _, marks in hits), hits


def test_reader_fits_a_phone(server: Server, browser: Browser) -> None:
    browser.resize(390, 844)
    for path in ("-/article/govhk:P2022052500584", "-/search?q=InnoHK"):
        browser.open(server.url + path)
        assert browser.evaluate("document.documentElement.scrollWidth") <= 390, path


def test_reader_screenshots(server: Server, browser: Browser, tmp_path: Path) -> None:
    saved = reader_screenshots(server.url, browser, tmp_path)
    assert [path.name for path in saved] == list(READER_SHOTS)
    assert all(is_png(path) for path in saved)


def main(folder: str) -> None:
    """Serve the demo archive and save the README's screenshots to folder: datasette's home
    page (datasette-home.png) and the reader's pages (READER_SHOTS)."""
    from tests.conftest import run_cli
    from tests.test_serve import add_sample_rows, add_search_stand_in

    target = Path(folder)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "archive.db"
        result = run_cli("demo", "--db", str(db))
        if result.code != 0:
            raise SystemExit(result.stderr)
        add_search_stand_in(db)
        add_sample_rows(db)
        with serving(db, Path(tmp) / "logs") as running, browsing(Path(tmp) / "profile") as page:
            page.open(running.url)
            # As tall as the page's content, not the window.
            height = page.evaluate("Math.ceil(document.body.getBoundingClientRect().bottom)")
            page.resize(1280, int(height))
            page.screenshot(target / "datasette-home.png")
            reader_screenshots(running.url, page, target)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs")
