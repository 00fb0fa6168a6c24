"""The one settings module: politeness defaults for live crawls, the pipelines, the archive path.

Environment overrides are read here and nowhere else: ``HKARCHIVE_DB`` (the archive),
``HKARCHIVE_MIRROR`` (fetch from a mirror instead of the live sites), ``HKARCHIVE_CONTACT``
(the contact URL in the User-Agent), ``HKARCHIVE_SOURCES`` (the user's folder of source
files; default ``$XDG_CONFIG_HOME/hkarchive/sources``), ``HKARCHIVE_NOW`` (a frozen clock, for
tests) and ``HKARCHIVE_OVERRIDES`` (a JSON object of settings applied last, e.g.
``{"DOWNLOAD_TIMEOUT": 1}``: tests shorten timeouts and retry delays with it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from crawler import __version__
from newsarchive import DEFAULT_ARCHIVE

BOT_NAME = "hkarchive"
SPIDER_MODULES = ["crawler.spiders"]
# `scrapy crawl` exits non-zero when a run fails or the archive is locked (crawler/commands).
COMMANDS_MODULE = "crawler.commands"
NEWSPIDER_MODULE = "crawler.spiders"
# Scrapy's loader, plus one spider per source file (crawler/spiderloader.py).
SPIDER_LOADER_CLASS = "crawler.spiderloader.ArchiveSpiderLoader"

HKARCHIVE_DB = os.environ.get("HKARCHIVE_DB") or DEFAULT_ARCHIVE
HKARCHIVE_MIRROR = os.environ.get("HKARCHIVE_MIRROR") or None
# The user's sources folder (*.toml files, read besides crawler/sources/; `hkarchive source
# add` writes there): HKARCHIVE_SOURCES, else hkarchive/sources in the XDG config folder.
HKARCHIVE_SOURCES = os.environ.get("HKARCHIVE_SOURCES") or str(
    Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "hkarchive" / "sources"
)
# Tests freeze the crawl's clock (ISO 8601 with +08:00) to step through the revisit schedule.
HKARCHIVE_NOW = os.environ.get("HKARCHIVE_NOW") or None
HKARCHIVE_CONTACT = (
    os.environ.get("HKARCHIVE_CONTACT") or "https://github.com/hk-news-archive/hkarchive"
)

# Live politeness: identify ourselves, obey robots.txt, and let AutoThrottle back off when the
# site slows down, with at most two requests in flight per site.
USER_AGENT = f"hkarchive/{__version__} (+{HKARCHIVE_CONTACT})"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
# Items of one response one at a time: every page here gives one item (a WordPress API page
# some tens) and the store writes them one by one, so Scrapy's default (100) only started a task
# per callback for nothing: a tenth of the crawl's CPU. With --media each item waits for its
# downloads, and the add-on (crawler/addon.py) lets MEDIA_CONCURRENT_ITEMS of them wait together.
CONCURRENT_ITEMS = 1
MEDIA_CONCURRENT_ITEMS = 16
DOWNLOAD_DELAY = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 60
# Transient failures (5xx, 429, timeouts, resets, bodies cut short) are retried 3 times within a
# run, waiting 2 s, 4 s, 8 s (crawler/middlewares/retry.py), or what a 429/503's Retry-After
# asks, up to 2 minutes. What still fails goes to the failures table and is asked for again by
# later runs, up to HKARCHIVE_FAILURE_MAX_ATTEMPTS runs in all.
RETRY_TIMES = 3
HKARCHIVE_RETRY_BACKOFF = 2.0
HKARCHIVE_RETRY_BACKOFF_MAX = 60.0
HKARCHIVE_RETRY_AFTER_MAX = 120.0
HKARCHIVE_FAILURE_MAX_ATTEMPTS = 5
# A press release is some 20-100 kB: a page over 10 MB is refused (and recorded as oversize).
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
REDIRECT_MAX_TIMES = 5
# GovHK's busiest day lists a few hundred releases, a centre's listing page a few dozen: a page
# linking more items than this is refused whole (recorded as oversize), not followed.
HKARCHIVE_MAX_LINKS_PER_PAGE = 5000
# A sitemap may list 50,000 URLs; a news site's are far smaller. One over this size, gzip
# decompressed or not, is refused (recorded as oversize), not read.
HKARCHIVE_MAX_SITEMAP_BYTES = 10 * 1024 * 1024
COOKIES_ENABLED = False
# No listening ports on a machine that crawls from cron.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

ITEM_PIPELINES = {
    "pipelines.normalize.NormalizePipeline": 100,
    "pipelines.validate.ValidatePipeline": 200,
    "pipelines.dedupe.DedupePipeline": 300,
    "pipelines.media.MediaPipeline": 800,
    "pipelines.store.StorePipeline": 900,
}
# Responses are handled from high numbers to low: at 580 they are decompressed (590), after
# redirects (600) and before retries (550), so every answer the site gave is kept.
# The charset fix (570) sees them next and only sets how the body is decoded.
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.retry.BackoffRetryMiddleware": 550,
    "crawler.middlewares.charset.CharsetMiddleware": 570,
    "crawler.middlewares.rawcapture.RawArchiveMiddleware": 580,
    # A <meta http-equiv="refresh"> to another site fails the page too; after the raw capture.
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawler.middlewares.redirects.GuardedMetaRefreshMiddleware": 579,
    # Redirects to other sites fail the page; redirect loops end in a recorded failure.
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "crawler.middlewares.redirects.GuardedRedirectMiddleware": 600,
}
# Next to the spider: a full disk or a damaged archive met by a callback stops the crawl.
SPIDER_MIDDLEWARES = {"crawler.faults.FaultMiddleware": 950}
EXTENSIONS = {"crawler.progress.ProgressExtension": 500}
# Keep every response in WARC files beside the archive (hkarchive reparse reads them).
HKARCHIVE_RAW_ARCHIVE = True
# Download photos and attachments too (hkarchive crawl --media), following redirects.
HKARCHIVE_MEDIA = False
MEDIA_ALLOW_REDIRECTS = True
# Seconds a write waits for another connection's write lock before waiting again; after 20
# such waits (10 minutes) it gives up (newsarchive/db.py). Tests shorten it.
HKARCHIVE_BUSY_TIMEOUT = 30.0
# Release pages are extracted in this many worker processes beside the crawl, which then
# fetches and stores on one core while they parse on another (0: in the crawl's process).
HKARCHIVE_EXTRACT_WORKERS = 1
# A live progress line on a terminal (never in cron, where LogStats logs plain lines).
HKARCHIVE_PROGRESS = True

LOG_LEVEL = "INFO"
LOGSTATS_INTERVAL = 30.0
FEED_EXPORT_ENCODING = "utf-8"

HKARCHIVE_OVERRIDES = json.loads(os.environ.get("HKARCHIVE_OVERRIDES") or "{}")
if not isinstance(HKARCHIVE_OVERRIDES, dict):
    raise ValueError("HKARCHIVE_OVERRIDES must be a JSON object of settings")

# The mirror's settings and the overrides are applied by the add-on, for every crawl however
# it is started.
ADDONS = {"crawler.addon.ArchiveAddon": 0}
