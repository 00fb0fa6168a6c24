"""`hkarchive extract`: extract saved pages offline and print what the archive would store.

Nothing is written: this is how a user checks a site before adding it, and how extraction is
measured (`--batch` over a list of saved pages).
"""

from __future__ import annotations

import gzip
import json
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

import click

from crawler.extract import ExtractionError
from crawler.sources import known_sources
from hkarchive.cli.options import db_option, usage_error
from newsarchive.model import Article

if TYPE_CHECKING:
    from scrapy.http import TextResponse

# Where a page is said to come from when no --url is given.
PLACEHOLDER_URL = "https://example.org/page.html"
# A saved page larger than this is not a news article.
MAX_PAGE_BYTES = 50 * 1024 * 1024


def _read(path: Path) -> bytes:
    """The page's bytes, unzipped when the file is gzip (``.html.gz``)."""
    data = path.read_bytes()
    if len(data) > MAX_PAGE_BYTES:
        raise ExtractionError(f"{path} is over {MAX_PAGE_BYTES // 2**20} MB: not a page")
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise ExtractionError(f"{path} is not valid gzip: {exc}") from None
    return data


def _response(path: Path, url: str) -> TextResponse:
    from scrapy.http import HtmlResponse, TextResponse

    from crawler.middlewares.charset import with_page_encoding

    response = HtmlResponse(url=url, body=_read(path), headers={"Content-Type": "text/html"})
    page = with_page_encoding(response)  # a legacy Big5 page as the crawl decodes it
    assert isinstance(page, TextResponse)
    return page


def _record(article: Article) -> dict[str, Any]:
    return {
        "url": article.url,
        "title": article.title,
        "published_at": article.published_at,
        "date_method": article.extraction.get("published_at"),
        "lang": article.lang,
        "body_text": article.body_text,
        "photos": [asdict(photo) for photo in article.photos],
        "extraction": article.extraction,
    }


def extract_page(path: Path, url: str | None, source: str | None) -> list[dict[str, Any]]:
    """The items a saved page gives, as printed; one ``{"url", "error"}`` when it gives none."""
    from crawler.extract.dispatch import extract_items
    from crawler.extract.generic import extract_detail, undescribed_source

    url = url or PLACEHOLDER_URL
    try:
        response = _response(path, url)
        if source is None:
            articles = [extract_detail(response, undescribed_source(url))]
        else:
            articles = extract_items(source, response)
            if not articles:
                raise ExtractionError(f"no item of {source} at this URL")
    except (ExtractionError, OSError) as exc:
        return [{"url": url, "error": str(exc)}]
    return [_record(article) for article in articles]


def _batch(list_file: Path) -> Iterator[tuple[Path, str | None]]:
    """(path, url) of every line of a JSON lines list; a relative path is read from the
    list's folder."""
    with list_file.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                path = Path(entry["path"])
                url = entry.get("url")
            except (ValueError, KeyError, TypeError):
                usage_error(f'{list_file}, line {number}: expected {{"path": ..., "url": ...}}')
            if url is not None and not isinstance(url, str):
                usage_error(f"{list_file}, line {number}: url must be a string")
            yield (path if path.is_absolute() else list_file.parent / path), url


def _print(records: list[dict[str, Any]], out: TextIO) -> None:
    for record in records:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")


@click.command("extract")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--url", help="The page's address (default: a placeholder); links and ids need it.")
@click.option("--source", metavar="NAME", help="Extract as this source does (default: generic).")
@click.option(
    "--batch",
    "batch",
    type=click.Path(dir_okay=False, path_type=Path),
    help='A JSON lines file of pages, one {"path": ..., "url": ...} a line, instead of FILE.',
)
@db_option
def extract(
    file: Path | None, url: str | None, source: str | None, batch: Path | None, db_path: str
) -> None:
    """Extract saved pages offline and print one JSON object per item, nothing written.

    Each line has url, title, published_at, date_method (how the date was found: time,
    article:published_time, json-ld:datePublished, time-near-title, date-line, htmldate,
    url, last-modified, and first-seen for a page with no date at all, dated here by the time
    of extraction; a crawl may also date a page by its feed or sitemap), lang, body_text,
    photos and extraction (the method of every field); a page that gives nothing prints
    {"url": ..., "error": ...}. Without --source the generic extraction reads
    the page, as for a site nobody has described. A summary goes to standard error; the exit
    status is 1 when any page gave nothing.

    Example: hkarchive extract saved.html --url https://www.example.org/news/1
    """
    del db_path  # accepted like on every command; extraction reads no archive
    if (file is None) == (batch is None):
        usage_error("give a FILE or --batch LIST.jsonl (not both)")
    if source is not None and source not in known_sources():
        usage_error(f"unknown source {source!r} (available: {', '.join(known_sources())})")
    if batch is not None and url is not None:
        usage_error("--url goes with FILE; in --batch each line gives its url")
    if url is not None and urlsplit(url).scheme not in ("http", "https"):
        usage_error(f"--url {url}: expected an http(s) URL")
    if batch is not None:
        pages = list(_batch(batch))
    else:
        assert file is not None
        pages = [(file, url)]
    for path, _ in pages:
        if not path.is_file():
            usage_error(f"no file {path}")
    methods: Counter[str] = Counter()
    failed = 0
    for path, page_url in pages:
        records = extract_page(path, page_url, source)
        _print(records, sys.stdout)
        for record in records:
            if "error" in record:
                failed += 1
            else:
                methods[str(record["date_method"])] += 1
    items = sum(methods.values())
    by_method = ", ".join(f"{name} {count}" for name, count in methods.most_common())
    click.echo(
        f"{len(pages)} pages: {items} items, {failed} without an item"
        + (f"; dates by method: {by_method}" if by_method else ""),
        err=True,
    )
    if failed:
        raise click.ClickException(f"{failed} of {len(pages)} pages gave no item")
