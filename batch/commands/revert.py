"""`uom-batch revert LEDGER`: an undo job for an update-ticket run, from the run's journal.

The journal is found through the ledger's audit facts (or `--journal`). Every `updated` row gets
an undo row: the fields it changed back to their values before, guarded by `expect.<Field>` = the
value the run set; memos it added deleted, edited restored, deleted added again. The tickets of
rows that added memos are read (GetTicketDetail, nothing written) to find the new memos' numbers.
The undo job is an ordinary job file: review it with `plan`, apply it with `run`. What cannot be
undone goes to `<undo>.not-revertible.csv` with the reason. Exit 0 written, 2 could not start.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batch.commands.arguments import add_connection_arguments
from batch.errors import ConfigError
from batch.exit_codes import ExitCode

if TYPE_CHECKING:
    from batch.outcome import RowOutcome
    from batch.runs.retry import Ledger
    from batch.uom.credentials import Credentials


def register(subparsers: Any) -> None:
    """Add the `revert` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "revert",
        help="write an undo job for an update-ticket run (review it with plan, apply it with run)",
        description="Write a job file that puts back what the run of LEDGER changed: fields to their "
        "values before (guarded by expect.<Field> = the value the run set), memos it added deleted, "
        "edited restored, deleted added again. Lists what cannot be undone, with the reason.",
    )
    parser.add_argument("ledger", type=Path, metavar="LEDGER", help="the run's ledger (.csv or .parquet)")
    parser.add_argument(
        "--journal", type=Path, metavar="PATH", help="the run's journal (default: from the ledger)"
    )
    parser.add_argument("--out", type=Path, metavar="PATH", help="undo job (default <ledger stem>.undo.csv)")
    add_connection_arguments(parser)
    parser.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    import anyio

    from batch.journal.history import HistoryRecord, append_history
    from batch.output.undo_files import not_revertible_path, write_job_csv, write_not_revertible
    from batch.runs.retry import read_ledger
    from jobs.fields import ORIGINAL_ROW
    from jobs.revert import adds_memos, undo_run

    started = datetime.now(UTC)
    ledger = read_ledger(args.ledger)
    journal, outcomes, in_flight = _journalled(args, ledger)
    needs_reads = [o for o in outcomes if adds_memos(o)]
    added = anyio.run(_find_added_memos, args, needs_reads) if needs_reads else {}
    undo = undo_run(outcomes, added, in_flight)
    out = args.out or args.ledger.with_name(f"{_stem(args.ledger)}.undo.csv")
    skipped_path = not_revertible_path(out)
    write_job_csv(out, undo.rows, first=(ORIGINAL_ROW, "TicketId"))
    write_not_revertible(skipped_path, [(n.row, n.ticket_id, n.what, n.reason) for n in undo.not_revertible])
    _summary(ledger, out, skipped_path, len(undo.rows), undo.not_revertible)
    counts = {"undo_rows": len(undo.rows), "not_revertible": len(undo.not_revertible)}
    record = HistoryRecord(
        mode="revert",
        job_sha256=ledger.audit.get("job_sha256", ""),
        started_at=started.isoformat(),
        ended_at=datetime.now(UTC).isoformat(),
        end_status="completed",
        counts=counts,
        requests=len(added),
        output_path=str(out),
    )
    append_history(journal, record)
    return ExitCode.OK


def _journalled(args: argparse.Namespace, ledger: Ledger) -> tuple[Path, list[RowOutcome], dict[int, str]]:
    """The run's journal, its outcomes and its in-flight rows (row → ticket)."""
    from batch.journal.journal_file import Journal
    from batch.runs.retry import job_candidates

    if "run_id" not in ledger.audit:
        raise ConfigError(f"{ledger.path}: its audit facts name no run_id; is it a run's ledger?")
    path = args.journal or _found(job_candidates(ledger.path, ledger.audit.get("journal", ""), Path.cwd()))
    if path is None:
        raise ConfigError(f"{ledger.path}: its journal is not where the ledger says; pass --journal PATH")
    with Journal.open(path) as journal:
        run = journal.run(int(ledger.audit["run_id"]))
        outcomes = list(run.outcomes())
        in_flight = {row: str(entry["ticket_id"]) for row, entry in run.in_flight().items()}
    return path, outcomes, in_flight


def _found(candidates: list[Path]) -> Path | None:
    return next((p for p in candidates if p.is_file()), None)


async def _find_added_memos(args: argparse.Namespace, rows: list[RowOutcome]) -> dict[int, list[str | None]]:
    """Read the tickets of rows that added memos; each row's added memos' numbers (None: gone)."""
    from batch.commands.run import credentials_from
    from batch.uom.client import UomClient
    from jobs.revert import added_memo_seqs

    credentials: Credentials = credentials_from(args)
    found: dict[int, list[str | None]] = {}
    taken: dict[str, set[str]] = {}
    async with UomClient(credentials, max_connections=4) as client:
        tickets = {t: await client.get_ticket_detail(t) for t in dict.fromkeys(o.ticket_id for o in rows)}
        for o in sorted(rows, key=lambda o: o.row):
            taken_here = taken.setdefault(o.ticket_id, set())
            found[o.row] = added_memo_seqs(o.memos or {}, tickets[o.ticket_id], taken_here)
    return found


def _stem(path: Path) -> str:
    """`x.ledger.csv` → `x` (the job's stem), else the file's stem."""
    return path.name.removesuffix(path.suffix).removesuffix(".ledger")


def _summary(ledger: Ledger, out: Path, skipped_path: Path, rows: int, skipped: list[Any]) -> None:
    print(f"undo job: {out} ({rows} rows, for run {ledger.audit['run_id']} of {ledger.audit['job_file']})")
    print(f"not revertible: {len(skipped)}, listed with the reason in {skipped_path}")
    grouped = Counter((item.what, item.reason) for item in skipped)
    for (what, reason), count in grouped.most_common():
        print(f"  {what} on {count} rows: {reason}")
    if rows:
        print(f"review it: uom-batch plan {out}\nthen apply exactly that: uom-batch run --plan <the plan>")
