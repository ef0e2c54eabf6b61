"""`uom-batch report LEDGER [--html OUT]`: what a run did, from its ledger alone.

On the terminal: counts by outcome and error type, changed fields (drift, for a plan or a
reconcile), latency, the slowest tickets and the conflicts. `--html OUT`: the same with charts, in
one self-contained file that fetches nothing when it is viewed. The ledger is CSV (UTF-8 with BOM
or CP932, audit facts in `<ledger>.meta.json`) or Parquet (audit facts in its metadata).
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batch.errors import JobFileError
from batch.exit_codes import ExitCode

if TYPE_CHECKING:
    import polars as pl


def register(subparsers: Any) -> None:
    """Add the `report` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "report",
        help="summarise a ledger: outcomes, errors, fields, slowest tickets, conflicts",
        description="Summarise the ledger a run (or retry, plan, reconcile) wrote: counts by outcome "
        "and error type, changed fields, latency, the slowest tickets and the conflicts. With "
        "--html, also write one self-contained HTML page with charts (nothing is fetched when it "
        "is viewed).",
    )
    parser.add_argument("ledger", type=Path, metavar="LEDGER", help="a ledger (.csv or .parquet)")
    parser.add_argument("--html", type=Path, metavar="OUT", help="write the HTML report here")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Read the ledger, print the summary, write the HTML page if asked; exit 0."""
    # Imported here: `uom-batch --help` should not pay for polars and rich.
    from batch.output.files import atomic_target
    from batch.output.report import print_summary, summarise
    from batch.output.report_page import render_html
    from batch.output.validation_report import console_for_stdout

    frame, audit = read_ledger(args.ledger)
    try:
        summary = summarise(frame, audit)
    except JobFileError as exc:
        raise JobFileError(f"{args.ledger}: {exc}") from exc
    console = console_for_stdout()
    print_summary(console, args.ledger.name, summary)
    if args.html is not None:
        with atomic_target(args.html) as tmp:
            tmp.write_text(render_html(args.ledger.name, summary), encoding="utf-8")
        console.print(f"HTML report: {args.html}")
    return ExitCode.OK


def read_ledger(path: Path) -> tuple[pl.DataFrame, dict[str, str]]:
    """The ledger's rows (Parquet typed, CSV as text) and its audit facts ({} when there are none)."""
    import polars as pl

    if not path.is_file():
        raise JobFileError(f"{path}: no such ledger")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pl.read_parquet(path), dict(pl.read_parquet_metadata(path))
        if suffix == ".csv":
            audit = _sidecar(path)
            return pl.read_csv(_utf8(path, audit), infer_schema=False), audit
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise JobFileError(f"{path}: not a readable ledger ({exc})") from exc
    raise JobFileError(f"{path}: a ledger ends in .csv or .parquet")


def _sidecar(path: Path) -> dict[str, str]:
    """The CSV ledger's audit facts; {} when the sidecar is missing or not a JSON object."""
    sidecar = path.with_name(path.name + ".meta.json")
    try:
        facts = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in facts.items()} if isinstance(facts, dict) else {}


def _utf8(path: Path, audit: dict[str, str]) -> Path | io.BytesIO:
    """The CSV as UTF-8 for polars (which reads nothing else): the file itself, or CP932 transcoded."""
    named = audit.get("ledger.encoding", "").lower().replace("_", "-")
    if named in ("utf-8", "utf-8-sig", "utf8"):
        return path  # polars skips the BOM
    data = path.read_bytes()
    if not named:  # no sidecar: UTF-8 unless it cannot be
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            named = "cp932"
        else:
            return path
    try:
        return io.BytesIO(data.decode(named).encode("utf-8"))
    except (UnicodeDecodeError, LookupError) as exc:
        raise JobFileError(f"{path}: cannot be read as {named} ({exc})") from exc
