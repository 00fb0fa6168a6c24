"""Downloader middleware: every response kept, compressed, in a WARC file per run (raw_captures).

Each crawl run writes ``<archive dir>/warc/<run start>-<run id>-<spider>.warc.gz``: a
``warcinfo`` record, then one gzip-compressed ``response`` record per answer (the original URL,
the fetch time, the HTTP status line and headers, the body). After a record is written and
flushed its row goes into ``raw_captures`` with the record's offset and length, so a process
killed mid-write can leave a torn last record in the file but never an index row pointing at
one. ``read_capture`` reads a record back as the Scrapy response the spider was given.
"""

from __future__ import annotations

import logging
import sqlite3
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from io import BytesIO
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes
from warcio.archiveiterator import ArchiveIterator  # type: ignore[import-untyped]
from warcio.exceptions import ArchiveLoadFailed  # type: ignore[import-untyped]
from warcio.statusandheaders import StatusAndHeaders  # type: ignore[import-untyped]
from warcio.warcwriter import WARCWriter  # type: ignore[import-untyped]

from crawler import __version__
from crawler.connection import ArchiveConnection
from crawler.faults import stop_on_fault, stopped
from crawler.middlewares.charset import with_page_encoding
from newsarchive.clock import hk_now
from newsarchive.db import ArchiveError, write_transaction

if TYPE_CHECKING:
    from typing import Self

    import sqlite_utils
    from scrapy.crawler import Crawler
    from scrapy.http import Request

logger = logging.getLogger(__name__)

WARC_DIR = "warc"
# Request meta key: do not keep this response. Downloaded media are kept in media/ already.
SKIP_META = "hkarchive_raw_skip"
# Headers that describe how the bytes travelled, not the body as kept: Scrapy has already
# de-chunked and decompressed it. They are kept under these names, as web archives do.
_ORIGINAL_PREFIX = "X-Archive-Orig-"
_INSERT_SQL = (
    "INSERT INTO raw_captures (run_id, source, url, status, content_type, fetched_at, "
    "warc_file, warc_offset, warc_length) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def archive_dir(db_path: str | Path) -> Path:
    """The directory that holds the archive file, its WARC files and its media."""
    return Path(db_path).parent


def warc_name(started: datetime, run_id: int | None, spider: str) -> str:
    """The WARC file of one run: ``20261122T120000-3-govhk.warc.gz`` (start in HK time)."""
    run = str(run_id) if run_id is not None else "norun"
    return f"{started:%Y%m%dT%H%M%S}-{run}-{spider}.warc.gz"


def warc_date(moment: datetime) -> str:
    """A WARC-Date: UTC, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stored_headers(response: Response) -> list[tuple[str, str]]:
    """The response's headers as kept with its body (which Scrapy has already decoded)."""
    body_length = len(response.body)
    kept: list[tuple[str, str]] = []
    for raw_name, raw_values in response.headers.items():
        name = raw_name.decode("latin-1")
        for raw in raw_values:
            value = raw.decode("latin-1")
            lower = name.lower()
            # An empty body (HEAD, 304) keeps the length the server announced.
            stale_length = (
                lower == "content-length" and body_length > 0 and value != str(body_length)
            )
            if lower == "transfer-encoding" or stale_length:
                kept.append((_ORIGINAL_PREFIX + name, value))
                if stale_length:
                    kept.append((name, str(body_length)))
            else:
                kept.append((name, value))
    return kept


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


@dataclass(frozen=True)
class Capture:
    """Where one response record was written."""

    url: str
    status: int
    content_type: str | None
    fetched_at: str
    warc_file: str
    offset: int
    length: int


# warcio would compress at level 9; level 6 is faster and, on release pages, within 0.1 % of
# its size. A whole record is compressed at once, not warcio's pieces one by one.
GZIP_LEVEL = 6


class GzipMembers:
    """Where the WARC writer writes: each record, at its flush, one gzip member of the file."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.pending: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.pending.append(data)
        return len(data)

    def flush(self) -> None:
        if self.pending:
            compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS + 16)
            self.file.write(compressor.compress(b"".join(self.pending)) + compressor.flush())
            self.pending = []
        self.file.flush()


class WarcFile:
    """One run's WARC file, appended one record at a time, and its rows in raw_captures.

    The file is opened in append mode, so a second writer of the same name (two runs started
    in the same second without a run id) adds whole gzip members after the first's.
    """

    def __init__(
        self, db_path: str | Path, name: str, info: dict[str, str], *, db: sqlite_utils.Database
    ) -> None:
        """A WARC file beside the archive at db_path, indexed through db: the crawl's
        connection to it (crawler/connection.py), which this never closes."""
        self.root = archive_dir(db_path)
        self.relative = f"{WARC_DIR}/{name}"
        path = self.root / self.relative
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file: IO[bytes] = path.open("ab")
        self.writer = WARCWriter(GzipMembers(self.file), gzip=False, warc_version="1.1")
        self.db = db
        try:
            if self.file.tell() == 0:
                self.writer.write_record(self.writer.create_warcinfo_record(name, info))
                self.file.flush()
        except BaseException:
            self.close()
            raise

    def write(
        self, response: Response, *, run_id: int | None, source: str, fetched: datetime
    ) -> Capture:
        """Append a response record, flush it, then index it in its own transaction."""
        http = StatusAndHeaders(
            _status_line(response.status),
            stored_headers(response),
            protocol=response.protocol or "HTTP/1.1",
        )
        record = self.writer.create_warc_record(
            response.url,
            "response",
            payload=BytesIO(response.body),
            length=len(response.body),
            http_headers=http,
            warc_headers_dict={"WARC-Date": warc_date(fetched)},
        )
        offset = self.file.tell()
        self.writer.write_record(record)
        self.file.flush()
        content_type = response.headers.get("Content-Type")
        capture = Capture(
            url=response.url,
            status=response.status,
            content_type=content_type.decode("latin-1") if content_type else None,
            fetched_at=fetched.isoformat(),
            warc_file=self.relative,
            offset=offset,
            length=self.file.tell() - offset,
        )
        self._index(capture, run_id=run_id, source=source)
        return capture

    def _index(self, capture: Capture, *, run_id: int | None, source: str) -> None:
        with write_transaction(self.db):
            self.db.execute(
                _INSERT_SQL,
                [
                    run_id,
                    source,
                    capture.url,
                    capture.status,
                    capture.content_type,
                    capture.fetched_at,
                    capture.warc_file,
                    capture.offset,
                    capture.length,
                ],
            )

    def close(self) -> None:
        """Close the file; safe to call more than once."""
        try:
            self.file.close()
        except OSError as exc:
            # A record the disk had no room for: the file is closed all the same, and the
            # record, never indexed, is a torn end that readers skip.
            logger.warning("Closing %s: %s", self.relative, exc)


class RawArchiveMiddleware:
    """Keeps every response the downloader hands back, in the run's WARC file.

    At 580 it sees responses after redirects were followed (600) and bodies decompressed
    (590), and before retries (550), so an error answer that is retried is kept too. Setting
    ``HKARCHIVE_RAW_ARCHIVE`` false turns it off. A response that cannot be kept is logged as
    an error and counted (``hkarchive/raw/failed``); the crawl goes on, unless the disk is full
    or the archive damaged: then the crawl stops (crawler/faults.py).
    """

    def __init__(self, crawler: Crawler, db_path: str) -> None:
        self.crawler = crawler
        self.db_path = db_path
        self.started = hk_now()
        self.warc: WarcFile | None = None
        self.closed = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Read the archive path; connect to the spider's open and close."""
        if not crawler.settings.getbool("HKARCHIVE_RAW_ARCHIVE", True):
            # At INFO, not as Scrapy's warning for a NotConfigured with a message: it is off
            # on purpose.
            logger.info("Raw captures are off (HKARCHIVE_RAW_ARCHIVE): no WARC files are kept")
            raise NotConfigured
        middleware = cls(crawler, str(crawler.settings.get("HKARCHIVE_DB")))
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def spider_opened(self) -> None:
        """The run starts now: its WARC file is named after this moment."""
        self.started = hk_now()

    def spider_closed(self) -> None:
        """Close the run's WARC file."""
        self.closed = True
        if self.warc is not None:
            self.warc.close()
            self.warc = None

    def process_response(self, request: Request, response: Response) -> Response:
        """Keep the response (unless the request asks not to) and pass it on unchanged.

        A full disk or a damaged archive stops the crawl (crawler/faults.py); after that no
        response is kept.
        """
        if request.meta.get(SKIP_META) or self.closed or stopped(self.crawler):
            return response
        stats = self.crawler.stats
        assert stats is not None
        try:
            capture = self._open().write(
                response,
                run_id=self._run_id(),
                source=self._source(),
                fetched=hk_now(),
            )
        except (OSError, sqlite3.Error, ArchiveError) as exc:
            stats.inc_value("hkarchive/raw/failed")
            if not stop_on_fault(self.crawler, exc, self._target(exc)):
                logger.error("Cannot keep the raw response of %s: %s", response.url, exc)
            return response
        stats.inc_value("hkarchive/raw/records")
        stats.inc_value("hkarchive/raw/bytes", capture.length)
        return response

    def _target(self, exc: BaseException) -> str:
        """What exc failed to write: the index (the archive), or the WARC file (its folder
        before it is open)."""
        if isinstance(exc, (sqlite3.Error, ArchiveError)):
            return self.db_path
        if self.warc is not None:
            return str(self.warc.root / self.warc.relative)
        return str(archive_dir(self.db_path) / WARC_DIR)

    def _run_id(self) -> int | None:
        # StorePipeline sets it when the spider opens, which may be after this was built.
        assert self.crawler.stats is not None
        value = self.crawler.stats.get_value("hkarchive/run_id")
        return int(value) if value is not None else None

    def _source(self) -> str:
        spider = self.crawler.spider
        return spider.name if spider is not None else "unknown"

    def _open(self) -> WarcFile:
        if self.warc is None:
            run_id, source = self._run_id(), self._source()
            info = {
                "software": f"hkarchive/{__version__} (warcio)",
                "format": "WARC File Format 1.1",
                "conformsTo": "https://iipc.github.io/warc-specifications/specifications/"
                "warc-format/warc-1.1/",
                "isPartOf": f"{source} run {run_id}",
            }
            mirror = self.crawler.settings.get("HKARCHIVE_MIRROR")
            if mirror:
                # The records name the real URLs; the bytes came from this mirror of them.
                info["x-hkarchive-mirror"] = str(mirror)
            name = warc_name(self.started, run_id, source)
            db = ArchiveConnection.of(self.crawler).open()
            self.warc = WarcFile(self.db_path, name, info, db=db)
            logger.info("Keeping raw responses in %s", self.warc.relative)
        return self.warc


class CaptureError(Exception):
    """A capture that cannot be read back: a missing file, a torn or corrupt record."""


@dataclass(frozen=True)
class StoredResponse:
    """A response as read back from a WARC record."""

    url: str
    status: int
    headers: Headers
    body: bytes

    def response(self) -> Response:
        """The response as Scrapy built it for the spider: its class chosen by headers and body."""
        cls = responsetypes.from_args(headers=self.headers, url=self.url, body=self.body)
        response = cls(url=self.url, status=self.status, headers=self.headers, body=self.body)
        # Decoded as the crawl decoded it (CharsetMiddleware), whatever charset was declared.
        return with_page_encoding(response)


def read_capture(path: Path, offset: int, length: int | None) -> StoredResponse:
    """Read the response record at offset in a WARC file; CaptureError says what is wrong."""
    if length is None or length <= 0:
        raise CaptureError(f"{path.name}: the index gives no record length")
    try:
        with path.open("rb") as stream:
            stream.seek(offset)
            data = stream.read(length)
    except OSError as exc:
        reason = exc.strerror.lower() if exc.strerror else str(exc)
        raise CaptureError(f"cannot read {path.name}: {reason}") from exc
    if len(data) < length:
        raise CaptureError(f"{path.name}: torn record at {offset} (the file ends inside it)")
    inflater = zlib.decompressobj(wbits=31)
    try:
        raw = inflater.decompress(data)
    except zlib.error as exc:
        raise CaptureError(f"{path.name}: corrupt record at {offset} ({exc})") from exc
    if not inflater.eof:
        raise CaptureError(f"{path.name}: torn record at {offset} (incomplete gzip member)")
    return _parse_record(path, offset, raw)


def _parse_record(path: Path, offset: int, raw: bytes) -> StoredResponse:
    where = f"{path.name}: record at {offset}"
    try:
        record: Any = next(iter(ArchiveIterator(BytesIO(raw), check_digests=True)), None)
        if record is None or record.rec_type != "response" or record.http_headers is None:
            raise CaptureError(f"{where} is not an HTTP response record")
        body = record.raw_stream.read()
    except (ArchiveLoadFailed, ValueError) as exc:
        raise CaptureError(f"{where} cannot be parsed ({exc})") from exc
    if record.digest_checker.passed is False:
        raise CaptureError(f"{where} fails its digest check")
    grouped: dict[str, list[str]] = {}
    for name, value in record.http_headers.headers:
        grouped.setdefault(name, []).append(value)
    return StoredResponse(
        url=record.rec_headers.get_header("WARC-Target-URI"),
        status=int(record.http_headers.get_statuscode()),
        headers=Headers(grouped, encoding="latin-1"),
        body=body,
    )
