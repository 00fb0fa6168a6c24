"""`python -m crawler` runs the `hkarchive` CLI."""

import sys

from crawler.cli import main

sys.exit(main())
