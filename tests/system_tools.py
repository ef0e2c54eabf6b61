"""Programs some tests run besides Python (Debian's redis-server, chromium), and when to skip.

`.ci/run` installs them when missing, so in CI (CI set) a test that needs one always runs; on a
developer's machine without it the test is skipped, saying what to install.
"""

from __future__ import annotations

import os
import shutil

import pytest


def needs(program: str, package: str | None = None) -> pytest.MarkDecorator:
    """Skip unless `program` is on PATH, except in CI, where its absence must fail the test."""
    missing = shutil.which(program) is None and not os.environ.get("CI")
    reason = f"{program} is not installed here (apt-get install {package or program}); .ci/run installs it"
    return pytest.mark.skipif(missing, reason=reason)
