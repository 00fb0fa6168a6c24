"""Local mirror of the crawled sites: URL mapping, a static HTTP server and a Scrapy handler."""

from __future__ import annotations

import contextlib
import logging
import mimetypes
import os
import shutil
import socket
import socketserver
import sys
import threading
from collections import Counter
from email.utils import formatdate, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import unquote

if TYPE_CHECKING:
    from types import TracebackType


__all__ = [
    "MirrorRequestHandler",
    "MirrorServer",
    "serve",
]

logger = logging.getLogger(__name__)

# Above this size a file is copied to the socket in chunks rather than held in memory.
STREAM_THRESHOLD = 1024 * 1024
_CHUNK_SIZE = 64 * 1024
# Enough to get past an XML declaration, a stylesheet PI or a comment to the root element.
_SNIFF_SIZE = 512

# A private table with only Python's built-in defaults: the global `mimetypes` also reads
# /etc/mime.types or the Windows registry, so the same mirror would be served differently
# from one machine to the next.
_TYPES = mimetypes.MimeTypes()
# Agree with what sniffing answers for the same bytes.
_TYPES.add_type("application/xml", ".xml")
_TYPES.add_type("application/rss+xml", ".rss")

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"\x1f\x8b", "application/gzip"),
)
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
# stop() waits up to one poll interval for serve_forever to notice; the default 0.5 s adds
# up quickly in a test suite that starts a server per test.
_POLL_INTERVAL = 0.05


def sniff_content_type(head: bytes) -> str:
    """Guess a Content-Type from the first bytes of a file whose name says nothing."""
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    text = head
    for bom in _BOMS:
        if text.startswith(bom):
            text = text[len(bom) :]
            break
    text = text.lstrip().lower()
    if text.startswith(b"<?xml"):
        return "application/rss+xml" if b"<rss" in text else "application/xml"
    if text.startswith((b"<rss", b"<feed")):
        return "application/xml"
    if text.startswith((b"<!doctype html", b"<html")):
        return "text/html"
    if text.startswith((b"{", b"[")):
        return "application/json"
    return "application/octet-stream"


class MirrorRequestHandler(BaseHTTPRequestHandler):
    """Answer GET and HEAD from the mirror directory of the `MirrorServer` it belongs to."""

    server: MirrorServer
    server_version = "HKArchiveMirror/1.0"
    sys_version = ""

    def do_GET(self) -> None:
        """Send the mirrored file with its headers."""
        self._send_file(with_body=True)

    def do_HEAD(self) -> None:
        """Send the headers a GET would get, without the body."""
        self._send_file(with_body=False)

    def send_response(self, code: int, message: str | None = None) -> None:
        """Send the status line and count it in the server's tallies."""
        # Every answer, including send_error's, passes through here exactly once; `path` is
        # missing only when the request line was too garbled to name a target.
        target: str | None = getattr(self, "path", None)
        if target is not None:
            self.server.record(target, int(code))
        super().send_response(code, message)

    def log_message(self, format: str, *args: Any) -> None:
        """Log through `logging` at DEBUG rather than writing every request to stderr."""
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s", self.address_string(), format % args)

    def _not_modified(self, etag: str, mtime: float) -> bool:
        """Whether the request's validators say the client's copy is current (RFC 9110)."""
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            return etag in {tag.strip() for tag in if_none_match.split(",")} or if_none_match == "*"
        since = self.headers.get("If-Modified-Since")
        if since:
            try:
                return int(mtime) <= int(parsedate_to_datetime(since).timestamp())
            except (TypeError, ValueError):
                return False
        return False

    def _send_file(self, *, with_body: bool) -> None:
        found = self.server.locate(self.path)
        if found is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        path, type_name = found
        try:
            stream = path.open("rb")
        except OSError:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        with stream:
            stat = os.fstat(stream.fileno())
            size = stat.st_size
            # Validators as a static web server gives them, so crawls can be conditional.
            etag = f'"{stat.st_mtime_ns:x}-{size:x}"'
            last_modified = formatdate(stat.st_mtime, usegmt=True)
            if self._not_modified(etag, stat.st_mtime):
                self.send_response(HTTPStatus.NOT_MODIFIED)
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", last_modified)
                self.end_headers()
                return
            body = stream.read(size) if size <= STREAM_THRESHOLD else None
            head = body[:_SNIFF_SIZE] if body is not None else stream.read(_SNIFF_SIZE)
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", _content_type(type_name, head))
            self.send_header("Content-Length", str(size))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", last_modified)
            self.end_headers()
            if not with_body:
                return
            try:
                if body is not None:
                    self.wfile.write(body)
                else:
                    self.wfile.write(head)
                    shutil.copyfileobj(stream, self.wfile, _CHUNK_SIZE)
            except ConnectionError:
                # The client hung up mid-body; nothing left to tell it.
                self.close_connection = True


def _content_type(name: str, head: bytes) -> str:
    content_type, encoding = _TYPES.guess_type(name, strict=False)
    # "x.html.gz" guesses text/html + gzip, but the bytes on disk are gzip: let them speak.
    if content_type is None or encoding is not None:
        return sniff_content_type(head)
    return content_type


class MirrorServer(ThreadingHTTPServer):
    """Serve a DIR/HOST/PATH mirror over HTTP and count what was asked for.

    Every answer is tallied under a lock: `hits` counts request targets (path with query,
    exactly as sent, e.g. "/www.info.gov.hk/gia/general/202001/02.htm") whatever the outcome,
    `statuses` counts status codes, and `hits_for(200)` / `hits_for(404)` count the targets
    answered with one status. All three return snapshots, safe to read while serving;
    `reset_counts()` starts the tallies again.
    """

    daemon_threads = True
    # socketserver listens with a backlog of 5: a crawler opening 16 connections at once then
    # overflows it, and every dropped SYN costs a one-second retransmit (p50 latency 0.4 s).
    request_queue_size = socket.SOMAXCONN
    # SO_REUSEADDR on Windows lets a second server steal a port that is in use.
    allow_reuse_address = sys.platform != "win32"

    def __init__(self, directory: str | Path, host: str = "127.0.0.1", port: int = 0) -> None:
        """Bind to host:port (0 for any free port) to serve `directory`; ValueError if absent."""
        root = Path(directory)
        if not root.is_dir():
            raise ValueError(f"mirror directory does not exist: {root}")
        self.root = root.resolve()
        self.host = host
        self._count_lock = threading.Lock()
        self._hits: Counter[str] = Counter()
        self._statuses: Counter[int] = Counter()
        self._by_status: dict[int, Counter[str]] = {}
        self._thread: threading.Thread | None = None
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), MirrorRequestHandler)

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup of the host, which can stall."""
        socketserver.TCPServer.server_bind(self)
        self.server_name = self.host
        self.server_port = self.port

    @property
    def port(self) -> int:
        """The port actually bound, useful when 0 was asked for."""
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        """Base URL of the mirror, without a trailing slash, e.g. http://127.0.0.1:8000."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def hits(self) -> Counter[str]:
        """Snapshot of requests per target (path with query), whatever the status."""
        with self._count_lock:
            return self._hits.copy()

    @property
    def statuses(self) -> Counter[int]:
        """Snapshot of responses per status code."""
        with self._count_lock:
            return self._statuses.copy()

    def hits_for(self, status: int) -> Counter[str]:
        """Snapshot of requests per target answered with `status`."""
        with self._count_lock:
            return self._by_status.get(status, Counter()).copy()

    def record(self, target: str, status: int) -> None:
        """Count one answer to `target` with `status`."""
        with self._count_lock:
            self._hits[target] += 1
            self._statuses[status] += 1
            self._by_status.setdefault(status, Counter())[target] += 1

    def reset_counts(self) -> None:
        """Forget every request counted so far."""
        with self._count_lock:
            self._hits.clear()
            self._statuses.clear()
            self._by_status.clear()

    def locate(self, target: str) -> tuple[Path, str] | None:
        """Map a request target to (file inside the mirror, name to type it by), or None."""
        if not target.startswith("/"):
            # Absolute-form and other oddities: a mirror is not a proxy.
            return None
        raw_path, _, query = target.partition("#")[0].partition("?")
        decoded = unquote(raw_path)
        if "\0" in decoded or "\0" in query or "\\" in decoded:
            return None
        segments = decoded.split("/")
        if ".." in segments:
            return None
        names = [segment for segment in segments if segment not in ("", ".")]
        # The query is part of the file name, as a mirroring tool saves it: "P1.htm?x=1".
        suffix = f"?{query}" if query else ""
        if not names or decoded.endswith("/"):
            candidate = self.root.joinpath(*names, f"index.html{suffix}")
            type_name = "index.html"
        else:
            candidate = self.root.joinpath(*names[:-1], names[-1] + suffix)
            type_name = names[-1]
        resolved = self._inside(candidate)
        if resolved is not None and resolved.is_dir():
            resolved = self._inside(resolved / "index.html")
            type_name = "index.html"
        if resolved is None or not resolved.is_file():
            return None
        return resolved, type_name.split("?", 1)[0]

    def _inside(self, candidate: Path) -> Path | None:
        # Resolving follows symlinks, so a link pointing out of the mirror is caught here too.
        try:
            resolved = candidate.resolve()
        except (OSError, RuntimeError, ValueError):
            return None
        return resolved if resolved.is_relative_to(self.root) else None

    def start(self) -> Self:
        """Serve from a daemon thread and return self, ready for requests."""
        if self._thread is not None:
            raise RuntimeError("mirror server already started")
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL},
            name=f"mirror-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the socket; safe to call more than once."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self.shutdown()
            thread.join()
        self.server_close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the server when the `with` block ends."""
        self.stop()


def serve(directory: str | Path, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the mirror at `directory` in the foreground until Ctrl-C."""
    # Binding happens in the constructor, so a busy port raises OSError before anything prints.
    with MirrorServer(directory, host, port) as server:
        print(f"Serving {directory} at {server.url}/ (Ctrl-C to stop)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
