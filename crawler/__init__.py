"""HK News Archive: the Scrapy project (settings, items, spiders, extraction) and the CLI."""

__version__ = "0.1.0"
