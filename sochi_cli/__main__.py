"""`python -m sochi_cli` entry point."""

import sys

from sochi_cli.main import main

sys.exit(main())
