"""`python -m batch` is the same as `uom-batch`."""

import sys

from batch.cli import main

sys.exit(main())
