"""The SQLite archive: its schema, articles, runs, search, stories and pairs (no Scrapy, no
click)."""

# Where the archive is unless --db or HKARCHIVE_DB says otherwise (relative: from the
# directory the command runs in).
DEFAULT_ARCHIVE = "data/archive.db"
