"""`uom-batch split JOB --shards N --state-dir S`: one job as N shard files, validated once.

Rows are placed by a stable hash (jobs.sharding: a ticket's rows, or a master's group, stay whole
and in file order), each shard keeps every row's spreadsheet number in its `OriginalRow` column,
and the invalid rows are recorded once, in `S/invalid.ledger.parquet`. `S/manifest.json` holds the
job's SHA-256 and kind, N, and each shard's SHA-256 and row count. Each shard then runs on its own
(`uom-batch run --state-dir S --shard i/N`), and `uom-batch merge S` joins their ledgers.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batch import __version__
from batch.commands.arguments import add_job_arguments
from batch.exit_codes import ExitCode

if TYPE_CHECKING:
    import polars as pl

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
    from batch.commands.prepare import invalid_outcomes
    from batch.output.ledger import write_ledger
    from jobs.sharding import shard_numbers

    loaded, checked = _checked(job, action, encoding)
    kind, result = checked.kind, checked.result
    state.mkdir(parents=True, exist_ok=True)
    files = _write_shards(
        state, shards, _numbered(result.valid, loaded.columns), shard_numbers(result.valid, kind.name, shards)
    )
    invalid = invalid_outcomes(result, kind.name, kind.ticket_column)
    identity = {"job_file": str(job.resolve()), "job_sha256": loaded.sha256, "kind": kind.name}
    write_ledger(state / INVALID_LEDGER, invalid, {**identity, "mode": "run", "tool_version": __version__})
    manifest = {
        **identity,
        "shards": shards,
        "rows": result.rows,
        "invalid": len(invalid),
        "shard_files": files,
    }
    _write_json(state / MANIFEST, manifest)
    return manifest


def _checked(job: Path, action: str | None, encoding: str | None) -> tuple[Any, Any]:
    """The loaded and checked job file; a retry job is refused (its rows are numbered already)."""
    from batch.errors import JobFileError
    from batch.jobfile.load import load_job
    from jobs.fields import ORIGINAL_ROW
    from jobs.registry import check_job

    loaded = load_job(job, encoding=encoding)
    if ORIGINAL_ROW in loaded.columns:
        raise JobFileError(f"{job}: a retry job (OriginalRow) is not split; run it as one job")
    return loaded, check_job(loaded, action)


def _numbered(valid: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """The valid rows with their spreadsheet numbers as OriginalRow, first, then the file's columns."""
    import polars as pl

    from batch.jobfile.load import ROW
    from jobs.fields import ORIGINAL_ROW

    return valid.with_columns(pl.col(ROW).cast(pl.String).alias(ORIGINAL_ROW)).select(ORIGINAL_ROW, *columns)


def _write_shards(state: Path, shards: int, rows: pl.DataFrame, numbers: pl.Series) -> list[dict[str, Any]]:
    """One Parquet file per shard; each one's name, SHA-256 and row count."""
    from batch.jobfile.tally import sha256_of
    from batch.output.files import atomic_target

    files = []
    for index in range(shards):
        part, path = rows.filter(numbers == index), shard_file(state, index)
        with atomic_target(path) as tmp:
            part.write_parquet(tmp)
        files.append({"file": path.name, "sha256": sha256_of(path), "rows": part.height})
    return files


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    from batch.output.files import atomic_target

    with atomic_target(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


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
