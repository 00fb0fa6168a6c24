"""Shared test fixtures: golden fixture folders, the loopback mirror, and running the CLI."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# No test reads or writes the user's own sources folder: the default one is a fresh folder
# (set before the project's settings module is first imported), and HKARCHIVE_SOURCES is unset.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="hkarchive-tests-config-")
os.environ.pop("HKARCHIVE_SOURCES", None)

import pytest
import sqlite_utils
from hypothesis import settings
from scrapy.http import Headers, TextResponse
from scrapy.responsetypes import responsetypes

from hkarchive.mirror import MirrorServer
from newsarchive.schema import MIGRATIONS

# Property tests: bounded, and the same examples on every run (CI included), so a failure
# can be reproduced; HYPOTHESIS_PROFILE=explore searches further with fresh examples.
settings.register_profile("ci", max_examples=200, deadline=None, derandomize=True, database=None)
settings.register_profile("explore", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

TESTS = Path(__file__).resolve().parent
REPO_ROOT = TESTS.parent
FIXTURES = TESTS / "fixtures"
MIRROR = TESTS / "mirror"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="Rewrite every fixture's expected.json from the current extractors (review the diff).",
    )


@dataclass(frozen=True)
class Fixture:
    """A saved page: raw response bytes, the URL and headers it was served with, and metadata."""

    folder: Path
    meta: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.folder.parent.name}/{self.folder.name}"

    @property
    def body(self) -> bytes:
        name: str = self.meta.get("body_file", "body.html")
        return (self.folder / name).read_bytes()

    @property
    def in_mirror(self) -> bool:
        """Redesigned variants are fixtures only; every other page is also in the mirror."""
        return bool(self.meta.get("mirror", True))

    @property
    def expected_path(self) -> Path:
        return self.folder / "expected.json"

    def response(self) -> TextResponse:
        """The page as Scrapy would hand it to a callback: bytes and saved headers, not text."""
        url, headers, body = self.meta["url"], self.meta["headers"], self.body
        cls = responsetypes.from_args(headers=Headers(headers), url=url, body=body)
        response = cls(url=url, body=body, headers=headers)
        assert isinstance(response, TextResponse), f"{self.name}: not a text response"
        return response


def load_fixtures() -> list[Fixture]:
    """Every fixture folder, tests/fixtures/<source>/<case>/."""
    return [
        Fixture(folder, json.loads((folder / "meta.json").read_text(encoding="utf-8")))
        for folder in sorted(FIXTURES.glob("*/*/"))
        if (folder / "meta.json").is_file()
    ]


@pytest.fixture(scope="session")
def mirror_server() -> Iterator[MirrorServer]:
    """The project's mirror of captured pages, served on 127.0.0.1 for the whole session."""
    with MirrorServer(MIRROR).start() as server:
        yield server


@dataclass
class Result:
    """A finished CLI run."""

    code: int
    stdout: str
    stderr: str


def archive_at_schema(path: Path, version: int) -> sqlite_utils.Database:
    """A new archive at path as a release of that schema version left it: only the first
    `version` migrations applied, each in its own transaction."""
    db = sqlite_utils.Database(path)
    for number, migration in enumerate(MIGRATIONS[:version], start=1):
        with db.atomic():
            migration(db)
            db.execute(f"PRAGMA user_version = {number}")
    return db


def rows(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of one query on a fresh connection (the crawl that wrote the archive is gone)."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Result:
    """Run `hkarchive` in a child process (Scrapy's reactor cannot restart in this one)."""
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("HKARCHIVE_")}
    child_env.update(env or {})
    done = subprocess.run(
        [sys.executable, "-m", "hkarchive", *args],
        capture_output=True,
        text=True,
        env=child_env,
        cwd=cwd or REPO_ROOT,
        timeout=300,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)
