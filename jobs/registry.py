"""How a job file's kind is decided, and the check of a loaded file against it.

Order of precedence: `--action`, then an `Action` column (the same value in every row), then (a
later issue) the job definition; when none says, the kind is inferred from the columns and the
answer says so. The kinds themselves are registered once, in jobs.kinds.KINDS.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import polars as pl

from batch.errors import JobFileError
from batch.jobfile.load import LoadedJob
from batch.validation.check import ValidationResult, validate
from jobs.fields import ACTION
from jobs.kinds import KINDS, RegisteredKind


def kind_named(text: str) -> str | None:
    """The kind a name stands for: a kind's own name or its API action, any case; else None."""
    wanted = text.strip().lower()
    for kind_name, kind in KINDS.items():
        if wanted in (a.lower() for a in kind.actions):
            return kind_name
    return None


def action_in_file(frame: pl.DataFrame, source: str) -> str | None:
    """The `Action` column's one value (None when there is no column or it is empty throughout)."""
    if ACTION not in frame.columns:
        return None
    values = frame.get_column(ACTION).unique(maintain_order=True).to_list()
    if values == [""]:
        return None
    if len(values) > 1:
        shown = ", ".join(repr(v) for v in values[:5])
        raise JobFileError(f"{source}: the Action column must hold one value in every row: {shown}")
    return str(values[0])


def detect_kind(
    columns: Collection[str], action: str | None, *, column_action: str | None = None
) -> tuple[str, str]:
    """(kind name, how it was decided): "--action", "Action column" or "inferred from columns …"."""
    sources = ((action, "--action"), (column_action, "Action column"))
    decided = [(_known(text, how), how) for text, how in sources if text]
    if len({kind for kind, _ in decided}) > 1:
        raise JobFileError(f"--action {action!r} disagrees with the file's Action column {column_action!r}")
    return decided[0] if decided else _inferred(columns)


def _known(text: str, how: str) -> str:
    found = kind_named(text)
    if found is None:
        raise JobFileError(f"{how} names an unknown kind {text!r} (known: {', '.join(KINDS)})")
    return found


def _inferred(columns: Collection[str]) -> tuple[str, str]:
    marks = {n: k.recognises(columns) for n, k in KINDS.items() if k.recognises(columns)}
    if len(marks) == 1:
        ((kind_name, cols),) = marks.items()
        return kind_name, f"inferred from columns {','.join(cols)}"
    which = "columns of several kinds" if marks else "no column that marks a kind"
    raise JobFileError(f"cannot tell the job kind: the file has {which}; pass --action KIND")


@dataclass(frozen=True)
class CheckedJob:
    """A loaded job file, its kind (and how that was decided), and its validation."""

    job: LoadedJob
    kind: RegisteredKind
    how: str
    result: ValidationResult


def check_job(job: LoadedJob, action: str | None = None) -> CheckedJob:
    """Decide the kind, check the columns (JobFileError) and validate every row."""
    in_file = action_in_file(job.frame, job.path.name)
    kind_name, how = detect_kind(job.columns, action, column_action=in_file)
    kind = KINDS[kind_name]
    kind.check_columns(job.columns, job.path.name)
    return CheckedJob(job, kind, how, validate(job.frame, kind.rules(job.columns)))
