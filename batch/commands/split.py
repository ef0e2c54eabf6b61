"""`uom-batch split JOB --shards N --state-dir S`: one job as N shard files, validated once.

Rows are placed by a stable hash (jobs.sharding: a ticket's rows, or a master's group, stay whole
and in file order), each shard keeps every row's spreadsheet number in its `OriginalRow` column,
and the invalid rows are recorded once, in `S/invalid.ledger.parquet`. `S/manifest.json` holds the
job's SHA-256 and kind, N, and each shard's SHA-256 and row count. Each shard then runs on its own
(`uom-batch run --state-dir S --shard i/N`), and `uom-batch merge S` joins their ledgers.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

from batch.commands.arguments import add_job_arguments
from batch.exit_codes import ExitCode

MANIFEST = "manifest.json"
INVALID_LEDGER = "invalid.ledger.parquet"


def shard_file(state: Path, index: int) -> Path:
    """`S/shard-000i.parquet`."""
    return state / f"shard-{index:04d}.parquet"


def shard_ledger(state: Path, index: int) -> Path:
    """`S/shard-000i.ledger.parquet`: where a shard's run writes its ledger."""
    return state / f"shard-{index:04d}.ledger.parquet"


def register(subparsers: Any) -> None:
    """Add the `split` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "split",
        help="validate a job once and write it as N shards for parallel runs (Kubernetes Indexed Jobs)",
        description="Validate JOBFILE and write its valid rows as N Parquet shards in STATE_DIR, by a "
        "stable hash that keeps a ticket's rows (or a master's group) together, with a manifest.",
    )
    add_job_arguments(parser)
    parser.add_argument("--shards", type=int, required=True, metavar="N", help="how many shards")
    parser.add_argument("--state-dir", type=Path, required=True, metavar="S", help="where the shards go")
    parser.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    from batch.errors import ConfigError

    if args.shards < 1:
        raise ConfigError(f"--shards {args.shards}: at least 1")
    manifest = split_job(args.job, args.state_dir, args.shards, action=args.action, encoding=args.encoding)
    counts = ", ".join(str(s["rows"]) for s in manifest["shard_files"])
    print(
        f"{manifest['rows']} rows of {args.job}: {manifest['invalid']} invalid (recorded once), "
        f"{args.shards} shards of {counts} rows in {args.state_dir}"
    )
    print(f"run each: uom-batch run --state-dir {args.state_dir} --shard i/{args.shards}")
    print(f"then: uom-batch merge {args.state_dir} --out LEDGER")
    return ExitCode.OK


def split_job(
    job: Path, state: Path, shards: int, *, action: str | None, encoding: str | None
) -> dict[str, Any]:
    """Validate `job`, write its shards, the invalid rows and the manifest into `state`."""
    import polars as pl

    from batch import __version__
    from batch.commands.prepare import invalid_outcomes
    from batch.errors import JobFileError
    from batch.jobfile.load import ROW, load_job
    from batch.output.files import atomic_target
    from batch.output.ledger import write_ledger
    from jobs.fields import ORIGINAL_ROW
    from jobs.registry import check_job
    from jobs.sharding import shard_numbers

    loaded = load_job(job, encoding=encoding)
    if ORIGINAL_ROW in loaded.columns:
        raise JobFileError(f"{job}: a retry job (OriginalRow) is not split; run it as one job")
    checked = check_job(loaded, action)
    kind = checked.kind
    state.mkdir(parents=True, exist_ok=True)
    valid = checked.result.valid
    numbers = shard_numbers(valid, kind.name, shards)
    rows = valid.with_columns(pl.col(ROW).cast(pl.String).alias(ORIGINAL_ROW))
    rows = rows.select(ORIGINAL_ROW, *(c for c in loaded.columns))
    files = []
    for index in range(shards):
        part = rows.filter(numbers == index)
        path = shard_file(state, index)
        with atomic_target(path) as tmp:
            part.write_parquet(tmp)
        files.append({"file": path.name, "sha256": file_sha256(path), "rows": part.height})
    invalid = invalid_outcomes(checked.result, kind.name, kind.ticket_column)
    facts = {
        "job_file": str(job.resolve()),
        "job_sha256": loaded.sha256,
        "kind": kind.name,
        "mode": "run",
        "tool_version": __version__,
    }
    write_ledger(state / INVALID_LEDGER, invalid, facts)
    manifest = {
        "job_file": str(job.resolve()),
        "job_sha256": loaded.sha256,
        "kind": kind.name,
        "shards": shards,
        "rows": checked.result.rows,
        "invalid": len(invalid),
        "shard_files": files,
    }
    with atomic_target(state / MANIFEST) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest


def read_manifest(state: Path) -> dict[str, Any]:
    """The manifest of a state directory; ConfigError when there is none."""
    from batch.errors import ConfigError

    path = state / MANIFEST
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{state}: no {MANIFEST}; make one with uom-batch split JOB --state-dir {state}"
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a readable manifest ({exc})") from None
    return manifest


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
