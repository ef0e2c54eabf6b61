"""The plan file: what a run would do to every row, and the exact requests to send, checksummed.

One Parquet file. Per row: the predicted outcome, the fields it changes (before and after as
JSON), the exact request a run would send (with the ticket's concurrency timestamps as read), the
landed-check intent, and the reason for a row that would fail. Key-value metadata: the job's
SHA-256 and kind, endpoint, master ID, tool version, created-at, and `plan.sha256`: a checksum
over the metadata and every row, so a plan altered after it was written is refused. Never a
credential: requests carry ServiceCode and MasterID (the account), never a key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import polars as pl

from batch.errors import JobFileError
from batch.outcome import RowOutcome
from batch.output.files import atomic_target

FORMAT_VERSION = "1"
CHECKSUM_KEY = "plan.sha256"
_WRITER_KEYS = ("ARROW:", "pandas", "polars")  # what the Parquet writer adds of its own
_SCHEMA: dict[str, pl.DataType] = {
    "row": pl.Int64(),
    "ticket_id": pl.String(),
    "predicted": pl.String(),
    "changed_fields": pl.List(pl.String()),
    "before_json": pl.String(),
    "after_json": pl.String(),
    "request_json": pl.String(),
    "intent_json": pl.String(),
    "request_id": pl.String(),
    "error_type": pl.String(),
    "error_message": pl.String(),
}


class PlanError(JobFileError):
    """A plan that cannot be applied: unreadable, altered, too old, or made for another account."""


@dataclass(frozen=True)
class Plan:
    """A plan read back and checked: its facts and its rows."""

    path: Path
    meta: Mapping[str, str]
    rows: pl.DataFrame

    @property
    def sha256(self) -> str:
        """The plan's own checksum (also what its apply run is journalled under)."""
        return self.meta[CHECKSUM_KEY]

    @property
    def created_at(self) -> datetime:
        return datetime.fromisoformat(self.meta["created_at"])


def default_plan_path(job_path: Path) -> Path:
    """`<job stem>.plan.parquet` beside the job file."""
    return job_path.with_name(f"{job_path.stem}.plan.parquet")


def plan_frame(outcomes: Sequence[RowOutcome]) -> pl.DataFrame:
    """One plan row per outcome, in row order."""
    return pl.DataFrame([_plan_row(o) for o in sorted(outcomes, key=lambda o: o.row)], schema=_SCHEMA)


def _plan_row(o: RowOutcome) -> dict[str, object]:
    plan = o.plan or {}
    return {
        "row": o.row,
        "ticket_id": o.ticket_id,
        "predicted": o.outcome.value,
        "changed_fields": list(o.changed_fields),
        "before_json": _json(o.before),
        "after_json": _json(o.after),
        "request_json": _json(plan["request"]) if "request" in plan else None,
        "intent_json": _json(plan["intent"]) if "intent" in plan else None,
        "request_id": o.request_id,
        "error_type": o.error_type,
        "error_message": o.error_message,
    }


def write_plan(path: Path, rows: pl.DataFrame, facts: Mapping[str, str]) -> str:
    """Write the plan atomically with its facts and checksum; the checksum."""
    meta = {**facts, "plan.format_version": FORMAT_VERSION, "plan.rows": str(rows.height)}
    meta[CHECKSUM_KEY] = checksum(meta, rows)
    with atomic_target(path) as tmp:
        rows.write_parquet(tmp, metadata=meta)
    return meta[CHECKSUM_KEY]


def checksum(meta: Mapping[str, str], rows: pl.DataFrame) -> str:
    """SHA-256 over the facts (less the checksum and the writer's own keys) and every row."""
    facts = {k: v for k, v in meta.items() if k != CHECKSUM_KEY and not k.startswith(_WRITER_KEYS)}
    digest = hashlib.sha256(orjson.dumps(facts, option=orjson.OPT_SORT_KEYS))
    for record in rows.iter_rows(named=True):
        digest.update(b"\n" + orjson.dumps(record, option=orjson.OPT_SORT_KEYS))
    return digest.hexdigest()


def read_plan(path: Path) -> Plan:
    """Read a plan and check its checksum; PlanError when it is not a plan or was altered."""
    try:
        meta = dict(pl.read_parquet_metadata(path))
        rows = pl.read_parquet(path)
    except FileNotFoundError:
        raise PlanError(f"{path}: no such plan file") from None
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise PlanError(f"{path}: not a readable plan file ({exc})") from None
    if meta.get("plan.format_version") != FORMAT_VERSION or CHECKSUM_KEY not in meta:
        raise PlanError(f"{path}: not a uom-batch plan (no plan.format_version {FORMAT_VERSION})")
    if dict(rows.schema) != _SCHEMA or checksum(meta, rows) != meta[CHECKSUM_KEY]:
        raise PlanError(f"{path}: the plan was altered after it was written (checksum mismatch); re-plan")
    return Plan(path, meta, rows)


def check_applicable(plan: Plan, *, endpoint: str, master_id: str, max_age: timedelta, now: datetime) -> None:
    """PlanError unless the plan is recent enough and was made for this endpoint and master ID."""
    made_for = (plan.meta.get("endpoint", "").rstrip("/"), plan.meta.get("master_id", ""))
    if made_for[0] != endpoint.rstrip("/"):
        raise PlanError(f"{plan.path}: made for endpoint {made_for[0]}, not {endpoint}; re-plan against it")
    if made_for[1] != master_id:
        raise PlanError(f"{plan.path}: made for master ID {made_for[1]}, not {master_id}; re-plan")
    age = now - plan.created_at
    if age > max_age:
        raise PlanError(
            f"{plan.path}: made {_hours(age)} ago, older than --max-plan-age {_hours(max_age)}; "
            "re-plan (the tickets may have changed), or raise --max-plan-age"
        )


def _hours(span: timedelta) -> str:
    return f"{span.total_seconds() / 3600:.1f} h"


def _json(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode("utf-8")
