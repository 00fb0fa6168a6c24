"""The project's spider loader: the spider modules' classes, and one spider per source file.

Source files are read when a crawl starts, from the folder its settings name
(HKARCHIVE_SOURCES), not when the spiders module is imported: a source added by
`hkarchive source add` is known to the next command, and a crawl given another folder (the
demo's) sees that folder's sources.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.spiderloader import SpiderLoader

from crawler.sources import configs
from crawler.sources.config import SourceConfig
from crawler.spiders.centres import CentreSpider, HtmlSpider, WordpressSpider
from crawler.spiders.discovering import DiscoveringSpider

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings


class ArchiveSpiderLoader(SpiderLoader):
    """Scrapy's loader, plus a spider class built from each source config."""

    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        for config in configs(settings.get("HKARCHIVE_SOURCES")).values():
            self._spiders[config.name] = spider_class(config)


BASES: dict[str, type[CentreSpider]] = {
    "wordpress": WordpressSpider,
    "html": HtmlSpider,
    "auto": DiscoveringSpider,
    "feed": DiscoveringSpider,
    "sitemap": DiscoveringSpider,
}


def spider_class(config: SourceConfig) -> type[CentreSpider]:
    """A spider class for one source config, of the class its kind needs."""
    return type(
        f"{config.name.title().replace('_', '')}Spider",
        (BASES[config.kind],),
        {
            "name": config.name,
            "config": config,
            "allowed_domains": config.domains,
            "earliest": config.earliest,
            "__module__": BASES[config.kind].__module__,
            "__doc__": f"{config.title} ({config.kind} source, {config.name}.toml).",
        },
    )
