"""MediaPipeline: with --media, photos and attachments are downloaded under data/media/."""

from __future__ import annotations

import inspect
import logging
from io import BytesIO
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from scrapy.http.request import NO_CALLBACK
from scrapy.pipelines.files import FilesPipeline, FilesStoreProtocol, FSFilesStore

from crawler.faults import stop_on_fault, stopped
from crawler.middlewares.rawcapture import SKIP_META, archive_dir
from newsarchive.db import DISK_FULL, storage_fault
from newsarchive.model import Article, Attachment, Photo

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.pipelines.media import FileInfo, FileInfoOrError
    from scrapy.pipelines.media import MediaPipeline as _Media

logger = logging.getLogger(__name__)

MEDIA_DIR = "media"


def media_entries(item: Any) -> list[Photo | Attachment]:
    """The files of an item worth keeping: full-size photos and attachments (not thumbnails)."""
    if not isinstance(item, Article):
        return []
    return [*item.photos, *item.attachments]


class MediaStore(FSFilesStore):
    """The media folder. A file the disk has no room for is removed (a partial file would pass
    for a download) and kept in ``full`` rather than raised, so the pipeline can stop the crawl
    without Scrapy logging a traceback for every file."""

    def __init__(self, basedir: str | PathLike[str]) -> None:
        super().__init__(basedir)
        self.full: tuple[Path, OSError] | None = None

    def persist_file(
        self,
        path: str | PathLike[str],
        buf: BytesIO,
        info: Any,
        meta: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        target = Path(self.basedir) / path
        try:
            super().persist_file(path, buf, info, meta=meta, headers=headers)
        except OSError as exc:
            if storage_fault(exc) != DISK_FULL:
                raise
            target.unlink(missing_ok=True)
            self.full = self.full or (target, exc)


class MediaPipeline(FilesPipeline):
    """Downloads an item's photos and attachments into ``<archive dir>/media/``.

    Files keep Scrapy's names (``full/<SHA-1 of the URL>.<ext>``). Each Photo and Attachment
    gets ``local_path`` (relative to the archive dir), ``checksum`` (the MD5 Scrapy computes)
    and ``file_size`` in bytes, which StorePipeline writes to ``images``/``attachments``. A file
    already in the store and younger than ``FILES_EXPIRES`` days (Scrapy's default 90) is not
    fetched again. Media may live on other hosts than the pages (gia.info.gov.hk), so its
    requests are exempt from the spider's ``allowed_domains``; they are not kept in the WARC
    files (the files themselves are the copy). A file the server answers without (a 404, any
    status but 200, an empty body) is a warning counted as ``hkarchive/media/missing``; a failed
    download (network) is Scrapy's error, counted as ``hkarchive/media/failed``. Either is
    tried again by the next crawl that yields the item. A full disk stops the crawl
    (crawler/faults.py): no file is recorded after that.
    """

    STORE_SCHEMES: ClassVar[dict[str, type[FilesStoreProtocol]]] = {
        **FilesPipeline.STORE_SCHEMES,
        "": MediaStore,
        "file": MediaStore,
    }

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        """Enabled by ``HKARCHIVE_MEDIA``; the store is the archive's own directory."""
        if not crawler.settings.getbool("HKARCHIVE_MEDIA"):
            # Said at INFO, and NotConfigured without a message: with one, Scrapy logs it as a
            # warning, on every scheduled crawl, of a setting that is off on purpose.
            logger.info("Media downloads are off (HKARCHIVE_MEDIA; hkarchive crawl --media)")
            raise NotConfigured
        root = archive_dir(str(crawler.settings.get("HKARCHIVE_DB"))).resolve()
        return cls(str(root / MEDIA_DIR), crawler=crawler)

    def __init__(self, store_uri: str, download_func: None = None, *, crawler: Crawler) -> None:
        super().__init__(store_uri, download_func, crawler=crawler)
        self.root = Path(store_uri).parent

    def get_media_requests(self, item: Any, info: _Media.SpiderInfo) -> list[Request]:
        """One request per distinct file URL of the item."""
        urls = dict.fromkeys(entry.url for entry in media_entries(item))
        return [
            Request(
                url,
                callback=NO_CALLBACK,
                # Media hosts are not the spider's domains; the files are not raw pages.
                meta={"allow_offsite": True, SKIP_META: True},
            )
            for url in urls
        ]

    async def media_downloaded(
        self,
        response: Response,
        request: Request,
        info: _Media.SpiderInfo,
        *,
        item: Any = None,
    ) -> FileInfo:
        """Store a file the server sent; a file it does not have is a warning, not an error.

        Scrapy would raise, and log the failure as an error with a traceback: a photo gone
        from a page would fail the whole crawl. Network failures still do.
        """
        if response.status == 200 and response.body and not stopped(self.crawler):
            stored = super().media_downloaded(response, request, info, item=item)
            done = await stored if inspect.isawaitable(stored) else stored
            full = getattr(self.store, "full", None)
            if full is None:
                return done
            stop_on_fault(self.crawler, full[1], str(full[0]))
        if stopped(self.crawler):
            return {"url": request.url, "path": "", "checksum": None, "status": "not stored"}
        logger.warning("Media file %s not downloaded: HTTP %d%s", request.url, response.status,
                       "" if response.body else ", empty")  # fmt: skip
        return {"url": request.url, "path": "", "checksum": None, "status": "missing"}

    def item_completed(
        self, results: list[FileInfoOrError], item: Any, info: _Media.SpiderInfo
    ) -> Any:
        """Record where each downloaded file is, with its checksum and size, on the item."""
        stats = self.crawler.stats
        assert stats is not None
        done: dict[str, FileInfo] = {}
        for ok, value in results:
            if not ok:
                # Scrapy has logged the URL and the reason.
                stats.inc_value("hkarchive/media/failed")
            elif isinstance(value, dict) and value["path"]:
                done[value["url"]] = value
            else:
                stats.inc_value("hkarchive/media/missing")
        for entry in media_entries(item):
            found = done.get(Request(entry.url).url)
            if found is None:
                continue
            local = f"{MEDIA_DIR}/{found['path']}"
            entry.local_path = local
            entry.checksum = found["checksum"]
            try:
                entry.file_size = (self.root / local).stat().st_size
            except OSError as exc:
                logger.error("Downloaded %s but cannot read %s: %s", entry.url, local, exc)
            stats.inc_value("hkarchive/media/files")
        return item
