"""Streamed passes over a file's bytes: its SHA-256, and how many commas it holds.

The hash identifies the job file for the journal; it runs in a thread beside polars' parse
(hashlib and polars both release the GIL). The comma count is only needed when the CSV's shape
cannot be told from the parsed frame alone (batch.jobfile.csv_shape).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

CHUNK_BYTES = 1 << 20


def sha256_of(path: Path) -> str:
    """The SHA-256 (hex) of `path`'s bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def commas_in(path: Path) -> int:
    """How many commas `path` holds (in UTF-8 a comma byte is always a comma)."""
    count = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            count += chunk.count(b",")
    return count


def sha256_in_background(path: Path) -> Callable[[], str]:
    """Start hashing `path` in a thread of its own; call the result to wait for the hash."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="uom-batch-sha256")
    future = pool.submit(sha256_of, path)
    pool.shutdown(wait=False)  # the thread ends with its one task
    return future.result
