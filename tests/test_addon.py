"""The project's add-on (crawler/addon.py) on the project's settings: what a crawl runs with."""

from __future__ import annotations

from scrapy.settings import Settings

from crawler import settings as project_settings
from crawler.addon import ArchiveAddon


def crawl_settings(**given: object) -> Settings:
    settings = Settings()
    settings.setmodule(project_settings, priority="project")
    settings.update(given, priority="cmdline")
    ArchiveAddon().update_settings(settings)
    return settings


def test_items_of_a_response_go_one_at_a_time() -> None:
    assert crawl_settings().getint("CONCURRENT_ITEMS") == 1


def test_with_media_items_wait_for_their_downloads_together() -> None:
    settings = crawl_settings(HKARCHIVE_MEDIA=True)
    assert settings.getint("CONCURRENT_ITEMS") == settings.getint("MEDIA_CONCURRENT_ITEMS") > 1


def test_overrides_win() -> None:
    settings = crawl_settings(HKARCHIVE_MEDIA=True, HKARCHIVE_OVERRIDES={"CONCURRENT_ITEMS": 4})
    assert settings.getint("CONCURRENT_ITEMS") == 4
