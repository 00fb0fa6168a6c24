"""`python -m hkarchive` runs the `hkarchive` CLI."""

import sys

from hkarchive.cli import main

sys.exit(main())
