"""The mirror server in its own process, so its CPU time is never counted as the crawler's.

Started by bench/run.py as ``python -m bench.serve DIR [DELAY_MS]``: prints the base URL on one
line,
then answers commands on stdin, one per line: ``counts`` prints the tallies since the last
``reset`` as one JSON line (statuses, requests for release pages and index pages by status,
and the server's own CPU seconds so far), ``reset`` forgets them; end of input stops the server.
With DELAY_MS, every request is answered that many milliseconds late, as by a server across a
network (the delay is slept in the request's own thread, so requests still overlap).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections import Counter
from typing import Any

from hkarchive.mirror import MirrorServer
from newsarchive.urls import index_day, release_ref


def _counts(server: MirrorServer) -> dict[str, object]:
    releases: Counter[str] = Counter()
    indexes: Counter[str] = Counter()
    for status in server.statuses:
        for target, n in server.hits_for(status).items():
            # Targets are /HOST/PATH; the URL patterns want https://HOST/PATH.
            url = f"https:/{target}"
            if release_ref(url) is not None:
                releases[str(status)] += n
            elif index_day(url) is not None:
                indexes[str(status)] += n
    return {
        "requests": sum(server.statuses.values()),
        "statuses": {str(k): v for k, v in server.statuses.items()},
        "release_requests": dict(releases),
        "index_requests": dict(indexes),
        # Cumulative: the harness subtracts the figure read before a contender ran.
        "server_cpu_s": _cpu_s(),
    }


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class DelayedServer(MirrorServer):
    """The mirror, answering every request `delay` seconds late."""

    delay = 0.0

    def finish_request(self, request: Any, client_address: Any) -> None:
        time.sleep(self.delay)
        super().finish_request(request, client_address)


def main() -> None:
    """Serve sys.argv[1] on a free loopback port until stdin closes."""
    server_class = MirrorServer
    if len(sys.argv) > 2 and float(sys.argv[2]) > 0:
        server_class = DelayedServer
        DelayedServer.delay = float(sys.argv[2]) / 1000
    with server_class(sys.argv[1]) as server:
        server.start()
        print(server.url, flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "counts":
                print(json.dumps(_counts(server)), flush=True)
            elif command == "reset":
                server.reset_counts()
                print("ok", flush=True)


if __name__ == "__main__":
    main()
