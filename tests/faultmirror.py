"""A mirror that misbehaves on purpose, for tests: per-URL faults or seeded random ones.

`FaultMirrorServer` serves a DIR/HOST/PATH mirror like `hkarchive.mirror.MirrorServer` (loopback
only) but answers the targets given a rule with a fault instead: an HTTP error burst, 429 with
Retry-After, a hang longer than the crawl's timeout, a connection reset, a body cut short of
its Content-Length, an empty 200, another body or Content-Type (a charset problem, broken
HTML, a gzip bomb), a huge page, a redirect (a loop, or to another host). A rule applies to
the first `times` requests of its target (all of them when None), so a transient fault can be
made to heal. With `random_faults(seed, rate, kinds)` a seeded share of the other targets gets a
transient fault, the same ones for the same seed.
"""

from __future__ import annotations

import random
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import TypedDict, Unpack

from hkarchive.mirror import MirrorRequestHandler, MirrorServer

# Fault kinds a rule can name.
KINDS = (
    "status",  # answer `status` (500/502/503 bursts, 404)
    "retry_after",  # 429 with Retry-After: `retry_after` seconds
    "hang",  # say nothing for `delay` seconds, then close
    "reset",  # close the connection with a TCP reset before answering
    "truncate",  # promise Content-Length, send half the body, close
    "empty",  # 200 with an empty body
    "body",  # 200 with `body`, `content_type` (and `content_encoding`) instead of the file
    "huge",  # 200 with a body of `size` bytes (with or without Content-Length)
    "redirect",  # `status` (302 by default) to `location`
    "late",  # serve the file, `delay` seconds late
)
TRANSIENT = ("status", "retry_after", "reset", "truncate")
_CHUNK = 256 * 1024


@dataclass
class Fault:
    """What to do instead of serving a target, for its first `times` requests (None: always)."""

    kind: str
    times: int | None = None
    status: int = 503
    retry_after: str = "1"
    delay: float = 5.0
    body: bytes = b""
    content_type: str | None = "text/html"
    # Sent as Content-Encoding with a `body` fault: "gzip" makes a gzip bomb of a small body.
    content_encoding: str | None = None
    size: int = 20 * 1024 * 1024
    content_length: bool = True
    location: str = ""
    served: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r} (known: {', '.join(KINDS)})")


class FaultOptions(TypedDict, total=False):
    """A Fault's fields but its kind, as `FaultMirrorServer.add` takes them; each may be left
    out for its default."""

    times: int  # left out: every request gets the fault
    status: int
    retry_after: str
    delay: float
    body: bytes
    content_type: str | None
    content_encoding: str | None
    size: int
    content_length: bool
    location: str


class FaultRule(FaultOptions):
    """A fault written down as data: its kind and options, for `add(target, **rule)`."""

    kind: str


class FaultRequestHandler(MirrorRequestHandler):
    """Serve the mirror, or the fault its server's rules give the request's target."""

    server: FaultMirrorServer

    def do_GET(self) -> None:
        fault = self.server.fault_for(self.path)
        if fault is None:
            super().do_GET()
            return
        getattr(self, f"_fault_{fault.kind}")(fault)

    def _fault_status(self, fault: Fault) -> None:
        self._send_bytes(b"<html><body>error</body></html>", "text/html", status=fault.status)

    def _fault_retry_after(self, fault: Fault) -> None:
        self.send_response(HTTPStatus.TOO_MANY_REQUESTS)
        self.send_header("Retry-After", fault.retry_after)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _fault_hang(self, fault: Fault) -> None:
        self.server.record(self.path, 0)
        time.sleep(fault.delay)
        self.close_connection = True

    def _fault_late(self, fault: Fault) -> None:
        time.sleep(fault.delay)
        super().do_GET()

    def _fault_reset(self, fault: Fault) -> None:
        self.server.record(self.path, 0)
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def _fault_truncate(self, fault: Fault) -> None:
        body = self._file_bytes()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True

    def _fault_empty(self, fault: Fault) -> None:
        self._send_bytes(b"", fault.content_type)

    def _fault_body(self, fault: Fault) -> None:
        self._send_bytes(fault.body, fault.content_type, encoding=fault.content_encoding)

    def _fault_huge(self, fault: Fault) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html")
        if fault.content_length:
            self.send_header("Content-Length", str(fault.size))
        self.end_headers()
        chunk = b"<p>" + b"x" * (_CHUNK - 8) + b"</p>\n\n"
        sent = 0
        try:
            while sent < fault.size:
                part = chunk[: fault.size - sent]
                self.wfile.write(part)
                sent += len(part)
        except OSError:
            pass  # the crawler gave up on the page, as it should
        self.close_connection = True

    def _fault_redirect(self, fault: Fault) -> None:
        self.send_response(fault.status if 300 <= fault.status < 400 else HTTPStatus.FOUND)
        self.send_header("Location", fault.location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _file_bytes(self) -> bytes:
        found = self.server.locate(self.path)
        return found[0].read_bytes() if found else b"<html><body>gone</body></html>"

    def _send_bytes(
        self, body: bytes, content_type: str | None, status: int = 200, encoding: str | None = None
    ) -> None:
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        if encoding is not None:
            self.send_header("Content-Encoding", encoding)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class FaultMirrorServer(MirrorServer):
    """A loopback `MirrorServer` whose `rules` (request target -> Fault) override the files.

    Targets are paths as the crawler asks the mirror for them: "/HOST/PATH", e.g.
    "/www.info.gov.hk/gia/general/202205/25/P2022052500588.htm".
    """

    def __init__(self, directory: str | Path, port: int = 0) -> None:
        # Tests only, and never reachable from another machine.
        super().__init__(directory, host="127.0.0.1", port=port)
        self.RequestHandlerClass = FaultRequestHandler
        self.rules: dict[str, Fault] = {}
        self._rules_lock = threading.Lock()
        self._random: tuple[int, float, tuple[str, ...]] | None = None
        self._times: dict[str, list[float]] = {}

    def record(self, target: str, status: int) -> None:
        """Count one answer, and remember when it was given (time.monotonic)."""
        super().record(target, status)
        with self._rules_lock:
            self._times.setdefault(target, []).append(time.monotonic())

    @property
    def times(self) -> dict[str, list[float]]:
        """Snapshot of when each target was answered, in order (time.monotonic seconds)."""
        with self._rules_lock:
            return {target: list(times) for target, times in self._times.items()}

    def add(self, target: str, kind: str, **options: Unpack[FaultOptions]) -> Fault:
        """Give `target` a fault; returns it."""
        fault = Fault(kind, **options)
        with self._rules_lock:
            self.rules[target] = fault
        return fault

    def random_faults(self, seed: int, rate: float, kinds: tuple[str, ...] = TRANSIENT) -> None:
        """Give a `rate` share of the targets without a rule one transient fault each (seeded):
        each such target fails once, then is served."""
        self._random = (seed, rate, kinds)

    def fault_for(self, target: str) -> Fault | None:
        """The fault to answer `target` with now, or None to serve the file."""
        with self._rules_lock:
            fault = self.rules.get(target)
            if fault is None and self._random is not None and "robots.txt" not in target:
                seed, rate, kinds = self._random
                # Decided by the seed and the target alone, whatever order requests come in.
                rng = random.Random(f"{seed}\0{target}")
                chosen = rng.random() < rate
                fault = Fault(rng.choice(kinds), times=1 if chosen else 0, retry_after="0")
                self.rules[target] = fault
            if fault is None or (fault.times is not None and fault.served >= fault.times):
                return None
            fault.served += 1
            return fault
