"""The project as installed: packages from this checkout, the spider list, politeness settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scrapy.settings import Settings

import crawler
import pipelines
from crawler.mirror import mirror_overrides
from tests.conftest import REPO_ROOT


def test_packages_import_from_this_checkout() -> None:
    assert Path(crawler.__file__).resolve().parent == REPO_ROOT / "crawler"
    assert Path(pipelines.__file__).resolve().parent == REPO_ROOT / "pipelines"


def test_scrapy_list_shows_the_govhk_spider(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "scrapy", "list"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert "govhk" in done.stdout.split()


def project_settings() -> Settings:
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    return settings


def test_live_crawls_are_polite_by_default() -> None:
    settings = project_settings()
    assert settings.getbool("ROBOTSTXT_OBEY")
    assert settings.getbool("AUTOTHROTTLE_ENABLED")
    assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") <= 2
    assert settings.getfloat("DOWNLOAD_DELAY") > 0
    assert "hkarchive/" in settings["USER_AGENT"]
    assert "+http" in settings["USER_AGENT"]
    assert not settings.getbool("TELNETCONSOLE_ENABLED")
    assert not settings.getbool("REMOTE_CONTROL_ENABLED")


def test_politeness_is_lifted_only_for_a_loopback_mirror() -> None:
    local = mirror_overrides("http://127.0.0.1:8000/")
    assert local["HKARCHIVE_MIRROR"] == "http://127.0.0.1:8000"
    assert local["ROBOTSTXT_OBEY"] is False
    remote = mirror_overrides("https://mirror.example.org/pages")
    assert "ROBOTSTXT_OBEY" not in remote
    assert "DOWNLOAD_HANDLERS" in remote


def test_ci_runs_exactly_the_readme_commands() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    commands = [line for line in readme.splitlines() if line.startswith("python3 -m venv")]
    test_command = next(c for c in commands if "pytest" in c)
    setup = next(line for line in readme.splitlines() if line.startswith("command -v chromium"))
    ci_lines = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    run = [line for line in ci_lines if line and not line.startswith(("#", "set ", "cd "))]
    assert run == [setup, test_command]
