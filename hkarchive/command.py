"""The `hkarchive` command's entry point, which imports the CLI only when the command runs.

The command's script (`[project.scripts]`) imports this module and calls `main`. An extraction
worker beside a crawl (crawler/offload.py) is a spawned Python process, which first imports
the script that started the crawl again: importing the CLI there would load all of Scrapy,
sqlite-utils and click into it for nothing (some 50 MB), where this module loads nothing.
"""

from __future__ import annotations

from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI (`hkarchive.cli.main`)."""
    from hkarchive.cli import main as run

    return run(argv)
