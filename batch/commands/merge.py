"""`uom-batch merge S --out LEDGER`: the shards' ledgers of a split job as one ledger, in row order.

Refused (exit 1, listing why) while a shard has not finished or when a row has two final
outcomes; `--partial` writes what there is and lists the rows still pending.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from batch.exit_codes import ExitCode

SHOWN = 20


def register(subparsers: Any) -> None:
    """Add the `merge` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "merge",
        help="join the ledgers of a split job's shards into one ledger",
        description="Read STATE_DIR's manifest and every shard's ledger and write one ledger in the "
        "job's row order. Refuses while a shard has not finished or a row has two final outcomes.",
    )
    parser.add_argument("state_dir", type=Path, metavar="STATE_DIR", help="the split's state directory")
    parser.add_argument("--out", type=Path, required=True, metavar="LEDGER", help=".csv or .parquet")
    parser.add_argument("--partial", action="store_true", help="write what there is; list the pending rows")
    parser.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    import polars as pl

    from batch.commands.split import INVALID_LEDGER, read_manifest, shard_ledger
    from batch.runs.merge import merge_ledgers, write_merged

    manifest = read_manifest(args.state_dir)
    ledgers = []
    for index, entry in enumerate(manifest["shard_files"]):
        path = shard_ledger(args.state_dir, index)
        frame = pl.read_parquet(path) if path.is_file() else None
        if frame is not None and pl.read_parquet_metadata(path).get("job_sha256") != entry["sha256"]:
            frame = None  # a ledger of another split: as good as none
        ledgers.append((entry["file"], frame))
    invalid = pl.read_parquet(args.state_dir / INVALID_LEDGER)
    result = merge_ledgers(manifest, invalid, ledgers)
    _say(result)
    if result.duplicates or not (result.complete or args.partial):
        return ExitCode.ROWS_FAILED
    write_merged(args.out, result, manifest)
    print(f"merged {len(result.outcomes)} rows of {manifest['rows']} into {args.out}")
    return ExitCode.OK if result.complete else ExitCode.ROWS_FAILED


def _say(result: Any) -> None:
    for why in result.unfinished:
        print(f"not finished: {why}")
    for row, shards in list(result.duplicates.items())[:SHOWN]:
        print(f"row {row} has two final outcomes: from {' and '.join(shards)}")
    if result.pending:
        shown = ", ".join(map(str, result.pending[:SHOWN]))
        more = f" and {len(result.pending) - SHOWN} more" if len(result.pending) > SHOWN else ""
        print(f"pending: {len(result.pending)} rows ({shown}{more})")
