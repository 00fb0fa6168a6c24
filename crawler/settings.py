"""The one settings module: politeness defaults for live crawls, the pipelines, the archive path.

Environment overrides are read here and nowhere else: ``HKARCHIVE_DB`` (the archive),
``HKARCHIVE_MIRROR`` (fetch from a mirror instead of the live sites), ``HKARCHIVE_CONTACT``
(the contact URL in the User-Agent), ``HKARCHIVE_SOURCES`` (a directory of extra source
files) and ``HKARCHIVE_NOW`` (a frozen clock, for tests).
"""

from __future__ import annotations

import os

from crawler import __version__
from crawler.mirror_settings import mirror_overrides

BOT_NAME = "hkarchive"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

HKARCHIVE_DB = os.environ.get("HKARCHIVE_DB") or "data/archive.db"
HKARCHIVE_MIRROR = os.environ.get("HKARCHIVE_MIRROR") or None
# A directory of extra source files (*.toml), read besides crawler/sources/.
HKARCHIVE_SOURCES = os.environ.get("HKARCHIVE_SOURCES") or None
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
DOWNLOAD_DELAY = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 60
RETRY_TIMES = 3
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
DOWNLOADER_MIDDLEWARES = {"crawler.rawarchive.RawArchiveMiddleware": 580}
EXTENSIONS = {"crawler.progress.ProgressExtension": 500}
# Keep every response in WARC files beside the archive (hkarchive reparse reads them).
HKARCHIVE_RAW_ARCHIVE = True
# Download photos and attachments too (hkarchive crawl --media), following redirects.
HKARCHIVE_MEDIA = False
MEDIA_ALLOW_REDIRECTS = True
# Set by the CLI when it holds the archive's lock for the process; else the store takes it.
HKARCHIVE_LOCK_HELD = False
# A live progress line on a terminal (never in cron, where LogStats logs plain lines).
HKARCHIVE_PROGRESS = True

LOG_LEVEL = "INFO"
LOGSTATS_INTERVAL = 30.0
FEED_EXPORT_ENCODING = "utf-8"

if HKARCHIVE_MIRROR:
    globals().update(mirror_overrides(HKARCHIVE_MIRROR))
