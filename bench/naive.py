"""The naive baseline: what many users would write instead of a crawler framework.

Sequential ``requests`` (one session) and BeautifulSoup, one day and language at a time: fetch
the daily index page, fetch every release it links to, pull out the headline, body, date and
photos, and insert the row into SQLite, committing each page. It reads the same pages from the
same mirror as the crawl and stores the same fields.

    python -m bench.naive --mirror http://127.0.0.1:PORT --since 2024-01-01 --until 2024-12-31 \
        --db naive.db
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
from datetime import date, timedelta
from urllib.parse import urljoin

import requests
from bs4 import BeautifulSoup

SITE = "https://www.info.gov.hk"
RELEASE = re.compile(r"/gia/general/\d{6}/\d{2}/P\d{12,13}\.htm$")
EN_DATE = re.compile(r"([A-Z][a-z]+ \d{1,2}, \d{4})")
ZH_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
HKT = re.compile(r"(\d{1,2})[:時](\d{2})")


def scrape(mirror: str, since: date, until: date, db: sqlite3.Connection, parser: str) -> int:
    """Fetch and store every release of the days; returns how many were stored."""
    session = requests.Session()
    session.trust_env = False  # a proxy from the environment cannot reach a loopback mirror
    host = f"{mirror.rstrip('/')}/www.info.gov.hk"
    stored = 0
    day = since
    while day <= until:
        for lang, suffix in (("en", ""), ("zh", "c")):
            index_url = f"https://www.info.gov.hk/gia/general/{day:%Y%m}/{day:%d}{suffix}.htm"
            index = session.get(host + index_url.removeprefix(SITE), timeout=30)
            if index.status_code != 200:
                continue
            soup = BeautifulSoup(index.content, parser)
            for a in soup.find_all("a", href=True):
                # English index pages link releases relatively, Chinese ones absolutely.
                url = urljoin(index_url, str(a["href"]))
                if not url.startswith(SITE) or not RELEASE.search(url):
                    continue
                page = session.get(host + url.removeprefix(SITE), timeout=30)
                if page.status_code == 200:
                    store(db, url, lang, page.content, parser)
                    stored += 1
        day += timedelta(days=1)
    return stored


def store(db: sqlite3.Connection, url: str, lang: str, content: bytes, parser: str) -> None:
    """Extract one release page and insert it."""
    soup = BeautifulSoup(content, parser)
    headline = soup.find(id="PRHeadlineSpan")
    body = soup.find(id="pressrelease")
    footer = soup.find("div", class_="mB15")
    footer_text = footer.get_text(" ", strip=True) if footer else ""
    if footer:
        footer.decompose()
    published = ""
    if m := EN_DATE.search(footer_text):
        published = m[1]
    elif m := ZH_DATE.search(footer_text):
        published = f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}"
    if m := HKT.search(footer_text.split("HKT")[-1] if "HKT" in footer_text else footer_text):
        published += f" {int(m[1]):02d}:{m[2]}"
    photos = [a["href"] for a in soup.find_all("a", class_="fancybox", href=True)]
    db.execute(
        "INSERT OR REPLACE INTO articles VALUES (?, ?, ?, ?, ?, ?)",
        [
            url,
            lang,
            headline.get_text(" ", strip=True) if headline else "",
            published,
            body.get_text("\n", strip=True) if body else "",
            json.dumps(photos),
        ],
    )
    db.commit()


def main() -> None:
    """Scrape the range into a fresh SQLite file."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mirror", required=True)
    parser.add_argument("--since", required=True, type=date.fromisoformat)
    parser.add_argument("--until", required=True, type=date.fromisoformat)
    parser.add_argument("--db", required=True)
    parser.add_argument("--parser", default="html.parser", help="BeautifulSoup's parser")
    args = parser.parse_args()
    db = sqlite3.connect(args.db)
    db.execute(
        "CREATE TABLE IF NOT EXISTS articles (url TEXT PRIMARY KEY, lang TEXT, title TEXT, "
        "published_at TEXT, body_text TEXT, photos TEXT)"
    )
    count = scrape(args.mirror, args.since, args.until, db, args.parser)
    db.close()
    print(json.dumps({"stored": count}))


if __name__ == "__main__":
    main()
