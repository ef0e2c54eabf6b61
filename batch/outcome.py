"""What happened to one row: the value shared by the engine, the journal and the ledger.

Every input row ends with exactly one `RowOutcome`. Rows are numbered as a spreadsheet shows
them (header = 1, first data row = 2; for Parquet, index + 2).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple

from batch.exit_codes import ExitCode

__all__ = [
    "FINAL_OUTCOMES",
    "LEDGER_FIELDS",
    "ORIGINAL_ROW",
    "PREDICTIONS",
    "LedgerRow",
    "Outcome",
    "RowOutcome",
    "exit_code_for",
    "ledger_row",
    "utc_iso",
]



class Outcome(StrEnum):
    """The outcome of a row; all but `skipped` are final (a resume does not retry them)."""

    UPDATED = "updated"
    UNCHANGED = "unchanged"
    RELEASED = "released"
    INVALID = "invalid"
    FAILED = "failed"
    PRECONDITION_FAILED = "precondition_failed"
    STALE = "stale"  # run --plan: the ticket changed since the plan; untouched, never merged again
    SKIPPED = "skipped"  # not attempted: the run stopped first; a resume attempts it
    # What a plan predicts for rows that a run would send (a plan's own outcomes, never a run's).
    WOULD_UPDATE = "would_update"
    WOULD_RELEASE = "would_release"


FINAL_OUTCOMES = frozenset(o for o in Outcome if o is not Outcome.SKIPPED)
PREDICTIONS = frozenset({Outcome.WOULD_UPDATE, Outcome.WOULD_RELEASE})
_NOT_OK = frozenset({Outcome.FAILED, Outcome.INVALID, Outcome.STALE})


class _OutcomeFields(NamedTuple):
    row: int
    action: str
    ticket_id: str
    outcome: Outcome
    attempts: int = 0
    conflicts: int = 0
    error_type: str | None = None
    error_message: str | None = None
    error_detail: str | None = None
    request_id: str | None = None
    changed_fields: tuple[str, ...] = ()
    before: dict[str, str] = None  # type: ignore[assignment]  # None: a new empty dict (in __new__)
    after: dict[str, str] = None  # type: ignore[assignment]
    started_at: datetime | None = None
    finished_at: datetime | None = None
    plan: Mapping[str, Any] | None = None
    memos: Mapping[str, Any] | None = None


class RowOutcome(_OutcomeFields):
    """One row's outcome, with the evidence: attempts, the deciding reply, and what changed.

    `before`/`after` hold, for each field in `changed_fields`, the value before and after the
    update (so a run can be put back). `error_detail` is the API's ErrorDetail as JSON text, or
    plain text. Timestamps must be timezone-aware. `plan` is set by a planning attempt only: what
    a run would send (the request, the stamps it carries); it is never journalled. `memos`: the
    memo operations an update sent, the texts they replaced and the seqs the ticket had before
    (what a revert needs; journalled).

    A NamedTuple, checked as it is built: one is built per row, and a frozen dataclass of 17
    fields costs three times as much (each field set through `object.__setattr__`).
    """

    __slots__ = ()

    def __new__(cls, *args: Any, **kwargs: Any) -> RowOutcome:
        # The fields are _OutcomeFields'; checked here, and normalised only when they need it.
        o = super().__new__(cls, *args, **kwargs)
        if o.row < 2:
            raise ValueError(f"row numbers start at 2 (header = 1), got {o.row}")
        for stamp in (o.started_at, o.finished_at):
            if stamp is not None and stamp.tzinfo is not UTC and stamp.utcoffset() is None:
                raise ValueError(f"row {o.row}: timestamps must be timezone-aware")
        if (
            type(o.outcome) is Outcome
            and type(o.changed_fields) is tuple
            and o.before is not None
            and o.after is not None
        ):
            return o
        return tuple.__new__(cls, (
            *o[:3], Outcome(o.outcome), *o[4:10], tuple(o.changed_fields),
            {} if o.before is None else o.before, {} if o.after is None else o.after, *o[13:],
        ))

    def _replace(self, **changes: Any) -> RowOutcome:
        """A copy with `changes`, checked as a new outcome is."""
        return RowOutcome(**{**self._asdict(), **changes})


class LedgerRow(NamedTuple):
    """The part of an outcome the ledger shows, in its column order: what the journal streams to
    the ledger without building a `RowOutcome` per row. Stamps are `utc_iso` text."""

    row: int
    action: str
    ticket_id: str
    outcome: str
    attempts: int
    conflicts: int
    error_type: str | None
    error_message: str | None
    error_detail: str | None
    request_id: str | None
    changed_fields: tuple[str, ...]
    started_at: str | None
    finished_at: str | None


LEDGER_FIELDS: tuple[str, ...] = LedgerRow._fields  # the ledger's columns, in order
ORIGINAL_ROW = "original_row"  # the ledger's column after `row` for a job written by `retry`


def utc_iso(stamp: datetime | None) -> str | None:
    """A timestamp as ISO 8601 text in UTC (`...+00:00`), as the journal and `LedgerRow` keep it."""
    if stamp is None:
        return None
    return (stamp if stamp.tzinfo is UTC else stamp.astimezone(UTC)).isoformat()


def ledger_row(o: RowOutcome) -> LedgerRow:
    """The ledger's view of one outcome."""
    return LedgerRow(
        o.row, o.action, o.ticket_id, o.outcome.value, o.attempts, o.conflicts, o.error_type,
        o.error_message, o.error_detail, o.request_id, o.changed_fields, utc_iso(o.started_at),
        utc_iso(o.finished_at),
    )


def exit_code_for(counts: Mapping[Outcome, int], interrupted: bool, auth_stopped: bool) -> int:
    """The process exit code for a run's outcome counts.

    130 if interrupted (Ctrl-C); else 1 on a stop for repeated AUTH_FAILURE or if any row is
    `failed` or `invalid`; else 0 (`precondition_failed` is a deliberate no, not an error, and
    `skipped` rows can only come from a stop, which the first two cases already cover).
    """
    if interrupted:
        return ExitCode.INTERRUPTED
    if auth_stopped or any(counts.get(o, 0) > 0 for o in _NOT_OK):
        return ExitCode.ROWS_FAILED
    return ExitCode.OK
