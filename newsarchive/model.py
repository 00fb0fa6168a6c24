"""The items spiders yield: one Article per news item, with its media and links, and its
content hash."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

# The date method of an item whose page, feed, URL and server gave no date: it is dated by
# when the archive first saw it, and keeps that date when it is stored again.
FIRST_SEEN = "first-seen"

# The title method of an item whose page or feed entry gave no title: its body's first words.
FIRST_WORDS = "first-words"

# The body method of an item whose page has a title and no text at all: stored with an empty
# body, the one kind of item that may have none.
NO_BODY = "none"

# The routes an item can be read by, best first: a site's API, its feed, its own page. Each
# gives the same post in its own detail (a feed lists tags among its categories and carries no
# featured image), so readings by different routes are compared only with readings by the same
# route (newsarchive.articles). The route is told by the method that gave the body.
ROUTES = ("api", "feed", "page")


def reading_route(body_method: str | None) -> str:
    """The route of an item's reading, by the extraction method of its body."""
    body = body_method or ""
    if body.startswith("wp-api"):
        return "api"
    if body.startswith(("rss:", "atom:")):
        return "feed"
    return "page"


# Where a downloaded photo or attachment was saved (hkarchive crawl --media): not content.
MEDIA_FIELDS = ("local_path", "checksum", "file_size")


@dataclass
class Photo:
    """A photo shown with an item: full-size URL, thumbnail URL and caption.

    Sites that list image files as links (``4.jpg (4.09 MB)``) also give the file's name and
    size: ``size_label`` as shown, ``size_bytes`` as read from it. With media downloads on,
    ``local_path`` (relative to the archive's directory), ``checksum`` (MD5) and ``file_size``
    (bytes) say where the downloaded file is kept.
    """

    url: str
    thumbnail_url: str | None = None
    caption: str = ""
    name: str | None = None
    size_label: str | None = None
    size_bytes: int | None = None
    # Set by MediaPipeline (--media) after hashing: where the file is kept, not what the item says.
    local_path: str | None = None
    checksum: str | None = None
    file_size: int | None = None


@dataclass
class Attachment:
    """A file attached to an item (usually a PDF); with media downloads on, where it is kept."""

    url: str
    title: str = ""
    local_path: str | None = None
    checksum: str | None = None
    file_size: int | None = None


@dataclass
class Video:
    """A video (or audio) recording published with an item."""

    url: str
    title: str = ""


@dataclass
class Link:
    """A link to a related item."""

    url: str
    title: str = ""


@dataclass
class Article:
    """One news item as extracted from its page, before the pipelines normalise and store it.

    ``published_at`` is ISO 8601 in Hong Kong time (``2022-05-25T20:20:00+08:00``), or a bare
    date when the page gave no time. ``extraction`` records how each field was obtained
    (``selector:#PRHeadlineSpan``, ``footer``, ``url-folder`` ...) so that a change of markup
    shows up in the data.
    """

    source: str
    native_id: str
    url: str
    lang: str
    title: str
    published_at: str | None
    body_text: str
    body_html: str
    photos: list[Photo] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    videos: list[Video] = field(default_factory=list)
    related: list[Link] = field(default_factory=list)
    category: str | None = None
    extraction: dict[str, str] = field(default_factory=dict)
    content_hash: str | None = None
    body_hash: str | None = None
    # How the page was fetched, not what it says: kept for conditional requests, never hashed.
    etag: str | None = None
    last_modified: str | None = None

    @property
    def id(self) -> str:
        """The archive's primary key, ``source:native_id``."""
        return f"{self.source}:{self.native_id}"


def _present(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Empty fields are left out, so adding an optional field to an item never changes the hash
    # of items that do not have it (which would look like a revision of every archived row).
    # Where a file was downloaded to is not what the item says either.
    return [
        {k: v for k, v in entry.items() if v not in (None, "") and k not in MEDIA_FIELDS}
        for entry in entries
    ]


def content_hash(article: Article) -> str:
    """SHA-256 of what a reader sees: title, date, body text and media (not the HTML markup).

    Two fetches of a page that differ only in markup or in fetch-time details hash the same,
    so a re-crawl of an unchanged release changes nothing.
    """
    # asdict() of the media lists only: asdict(article) would copy the body HTML and text too.
    content = {
        "title": article.title,
        "published_at": article.published_at,
        "body_text": article.body_text,
        "category": article.category,
        "photos": _present([asdict(photo) for photo in article.photos]),
        "attachments": _present([asdict(attachment) for attachment in article.attachments]),
        "videos": _present([asdict(video) for video in article.videos]),
    }
    encoded = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


@dataclass
class ListingRead:
    """A listing page read (or found missing): remembered so a backfill can skip settled days."""

    source: str
    url: str
    status: int
    items: int


@dataclass
class NotModified:
    """A revisited page the server answered with 304 Not Modified: the item is still current."""

    source: str
    native_id: str

    @property
    def id(self) -> str:
        """The archived item's primary key, ``source:native_id``."""
        return f"{self.source}:{self.native_id}"


@dataclass
class FetchFailed:
    """A page that could not be archived in this run: not fetched, or fetched but unreadable.

    ``kind`` says how it failed (see crawler/failure_kinds.py: ``http``, ``timeout``,
    ``connection``, ``truncated``, ``oversize``, ``redirect``, ``offsite``, ``robots``,
    ``fetch``, or ``parse`` for a page fetched but quarantined); ``role`` whether it is a
    listing page or an item's page (``listing`` or ``item``), so that the next run knows how
    to ask for it again.
    """

    source: str
    url: str
    kind: str
    error: str
    role: str = "item"
    item_id: str | None = None
