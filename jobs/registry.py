"""How a job file's kind is decided, and the check of a loaded file against it.

Order of precedence: `--action`, then an `Action` column (the same value in every row), then (a
later issue) the job definition; when none says, the kind is inferred from the columns and the
answer says so. The kinds themselves are registered once, in jobs.kinds.KINDS.

`check_job` checks a loaded file and keeps every row (a run needs the valid ones).
`check_job_file` is `uom-batch validate`'s: it needs only the invalid rows, so a plain Parquet
file (batch.jobfile.parquet_scan) is read, checked and filtered in one streaming query that keeps
only the rows breaking a rule, with their rule flags (and blank rows, when no rule breaks an
empty row): the same rule expressions and the same problem builder as `validate`. Whatever that path
does not take as it is (a CSV file, an Action column with several values, a column error, an
unreadable file, no row with a value) goes through load_job and check_job, which decide the answer
and name every error, in their order.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from batch.errors import JobFileError
from batch.jobfile.load import LoadedJob, load_job
from batch.jobfile.parquet_scan import UNREADABLE, ScannedJob, scan_parquet_job
from batch.validation.check import InvalidRows, ValidationResult, broken_rows, invalid_rows, validate
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
    kind, how = _checked_kind(job.columns, job.path.name, action, in_file)
    return CheckedJob(job, kind, how, validate(job.frame, kind.rules(job.columns)))


def _checked_kind(
    columns: tuple[str, ...], source: str, action: str | None, in_file: str | None
) -> tuple[RegisteredKind, str]:
    """The job's kind and how it was decided, its columns checked (JobFileError)."""
    kind_name, how = detect_kind(columns, action, column_action=in_file)
    kind = KINDS[kind_name]
    kind.check_columns(columns, source)
    return kind, how


@dataclass(frozen=True)
class CheckedFile:
    """What `uom-batch validate` reports of a job file: its kind, its invalid rows and problems."""

    job: LoadedJob | ScannedJob
    kind: RegisteredKind
    how: str
    result: ValidationResult | InvalidRows


def check_job_file(path: Path, action: str | None = None, *, encoding: str | None = None) -> CheckedFile:
    """Load, decide the kind, check the columns and validate, keeping what a report needs.

    A plain Parquet file goes through one streaming query that keeps only the broken rows
    (batch.jobfile.parquet_scan); any other file, or one that query cannot take as it is, is
    loaded whole by load_job and checked by check_job, which also name every problem.
    """
    scanned = scan_parquet_job(path)
    found = None if scanned is None else _check_scanned(scanned, action)
    if found is not None:
        return found
    checked = check_job(load_job(path, encoding=encoding, digest=False), action)
    return CheckedFile(checked.job, checked.kind, checked.how, checked.result)


def _check_scanned(job: ScannedJob, action: str | None) -> CheckedFile | None:
    """check_job's answer for a scanned file, or None where the whole-file path must decide."""
    try:
        actions = job.distinct(ACTION) if ACTION in job.columns else [""]
        if len(actions) > 1:
            return None  # action_in_file decides, over the rows that are not blank
        kind, how = _checked_kind(job.columns, job.path.name, action, actions[0] or None)
        rules = kind.rules(job.columns)
        # Every blank row is among the broken ones when a row of empty cells breaks a rule (the
        # scalar test, which the vectorised one is held to); else blank rows are kept as well.
        blank = None if any(not rule.check({}) for rule in rules) else _is_blank(job.columns)
        kept = broken_rows(job.frame, rules, blank).collect(engine="streaming")
    except (JobFileError, *UNREADABLE):
        return None  # load_job and check_job raise the right error, in the right order
    filled = kept.filter(~_is_blank(job.columns))
    job = replace(job, blank_rows=kept.height - filled.height)
    if job.rows == 0:
        return None  # no row with any value: load_job says so
    return CheckedFile(job, kind, how, invalid_rows(filled, rules, job.rows))


def _is_blank(columns: Collection[str]) -> pl.Expr:
    return pl.all_horizontal(pl.col(c).str.len_bytes() == 0 for c in columns)
