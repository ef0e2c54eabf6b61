"""Validation rules and the vectorised check of a whole frame against them.

A `Rule` names what it checks, the API error code the server would answer for it, the column it
reports, and a `Cond` (batch.validation.conditions) that holds where the row is broken. The same rule object
gives `violations(frame)` (a polars Boolean expression, true where violated) for a job file, and
`check(values)` (True when satisfied) for one merged update after a fetch.

`validate(frame, rules)` evaluates every rule as one Boolean column in a single `select`, then
builds a tidy problems frame (row, column, rule, error_code, message, excerpt) rule by rule with
filters: no Python loop over rows. Job kinds (jobs/) build their rules from these constructors;
nothing here knows a UOM field.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from batch.errors import JobFileError
from batch.validation.conditions import (
    Cond,
    Derived,
    Getter,
    Values,
    bytes_over,
    calendar_time,
    empty,
    filled,
    full_match,
    longer_than,
    merge_derived,
    one_of,
    value,
)

ROW = "row"
EXCERPT_CHARS = 40
PROBLEM_SCHEMA = {
    ROW: pl.Int64,
    "column": pl.String,
    "rule": pl.String,
    "error_code": pl.String,
    "message": pl.String,
    "excerpt": pl.String,
}


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule on one row (scalar form, used after a fetch)."""

    column: str
    rule: str
    error_code: str
    message: str
    excerpt: str
    row: int | None = None


@dataclass(frozen=True, eq=False)
class Rule:
    """A named check over a row: broken where `broken` holds; reported on `column`."""

    name: str
    error_code: str
    column: str
    broken: Cond
    message: str

    def violations(self, frame: pl.DataFrame | pl.LazyFrame | Collection[str]) -> pl.Expr:
        """Boolean expression over `frame` (or its column names): true where the rule is broken."""
        get = getter(_names(frame), self.broken.derived)
        return self.broken.expr(get).fill_null(False).alias(self.name)

    def check(self, values: Values) -> bool:
        """True when one row (a mapping of column to text) satisfies the rule."""
        return not self.broken.test(values)

    def violation(self, values: Values, row: int | None = None) -> Violation | None:
        """The rule's Violation for one row, or None when satisfied."""
        if self.check(values):
            return None
        cell = excerpt(value(values, self.column))
        return Violation(self.column, self.name, self.error_code, self.message, cell, row)


def check_values(values: Values, rules: Sequence[Rule], row: int | None = None) -> list[Violation]:
    """Every rule `values` breaks, in rule order."""
    found = (rule.violation(values, row) for rule in rules)
    return [v for v in found if v is not None]


def _names(frame: pl.DataFrame | pl.LazyFrame | Collection[str]) -> frozenset[str]:
    if isinstance(frame, pl.LazyFrame):
        return frozenset(frame.collect_schema().names())
    if isinstance(frame, pl.DataFrame):
        return frozenset(frame.columns)
    return frozenset(frame)


def getter(columns: Collection[str], derived: Sequence[Derived] = ()) -> Getter:
    """Column access for conditions: a derived column not yet in the frame is computed inline;
    any other absent column reads as empty text."""
    present = frozenset(columns)
    builders = dict(derived)

    def get(name: str) -> pl.Expr:
        if name in present:
            return pl.col(name)
        if name in builders:
            return builders[name](get)
        return pl.lit("", dtype=pl.String)

    return get


def excerpt(text: str) -> str:
    """At most 40 characters of a value, line breaks shown as ⏎, cut with …."""
    flat = re.sub("\r\n|\r|\n", "⏎", text)
    return flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 1] + "…"


def excerpt_expr(cell: pl.Expr) -> pl.Expr:
    """Vectorised `excerpt`."""
    flat = cell.str.replace_all("\r\n|\r|\n", "⏎")
    cut = flat.str.slice(0, EXCERPT_CHARS - 1) + pl.lit("…")
    return pl.when(flat.str.len_chars() > EXCERPT_CHARS).then(cut).otherwise(flat)


# Constructors. The error code is the caller's: the kinds know which API answer a rule stands for.


def required(column: str, code: str) -> Rule:
    """The cell must have a value."""
    return Rule("required", code, column, empty(column), "is empty")


def max_chars(column: str, limit: int, code: str) -> Rule:
    """At most `limit` characters."""
    return Rule("max_chars", code, column, longer_than(column, limit), f"over {limit} characters")


def max_bytes(column: str, limit: int, code: str) -> Rule:
    """At most `limit` bytes in UTF-8."""
    return Rule("max_bytes", code, column, bytes_over(column, limit), f"over {limit} UTF-8 bytes")


def choice(
    column: str,
    choices: Sequence[str],
    code: str,
    *,
    when: Cond | None = None,
    name: str = "choice",
    what: str = "",
) -> Rule:
    """A filled cell must be one of `choices` (only where `when` holds, if given)."""
    broken = filled(column) & ~one_of(column, choices)
    message = f"not one of {', '.join(choices)}{what}"
    return Rule(name, code, column, broken if when is None else broken & when, message)


def calendar_datetime(column: str, code: str) -> Rule:
    """A filled cell must be `YYYYMMDDhhmmss` naming a real time."""
    broken = filled(column) & ~calendar_time(column)
    return Rule("datetime", code, column, broken, "not a real YYYYMMDDhhmmss time")


def shape(column: str, pattern: str, label: str, code: str) -> Rule:
    """A filled cell must match `pattern` in full (`label` says it in words)."""
    broken = filled(column) & ~full_match(column, pattern)
    return Rule("shape", code, column, broken, f"not {label}")


def condition(name: str, code: str, column: str, broken: Cond, message: str) -> Rule:
    """Any other rule, e.g. over several columns: broken where `broken` holds."""
    return Rule(name, code, column, broken, message)


@dataclass(frozen=True)
class ValidationResult:
    """The rows that passed, the rows that did not, and one problem per (row, rule) broken."""

    valid: pl.DataFrame
    invalid: pl.DataFrame
    problems: pl.DataFrame

    @property
    def rows(self) -> int:
        """Rows checked."""
        return self.valid.height + self.invalid.height

    def by_rule(self) -> pl.DataFrame:
        """Problem counts per (rule, column, error_code), most frequent first."""
        keys = ["rule", "column", "error_code"]
        counts = self.problems.group_by(keys).agg(pl.len().alias("count"))
        return counts.sort(["count", *keys], descending=[True, False, False, False])

    def reasons(self) -> pl.DataFrame:
        """One line per invalid row: `row`, first `error_code`, all `reasons` joined by "; "."""
        p = self.problems
        text = pl.format("{}: {} [{}, {}]", "column", "message", "rule", "error_code")
        return p.group_by(ROW, maintain_order=True).agg(
            pl.col("error_code").first(), text.str.join("; ").alias("reasons")
        )


def validate(frame: pl.DataFrame | pl.LazyFrame, rules: Sequence[Rule]) -> ValidationResult:
    """Check every row of `frame` (text columns plus `row`) against `rules`, vectorised."""
    data = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    data = data.with_columns(pl.col(pl.String).fill_null(""))
    if not rules:
        return ValidationResult(data, data.clear(), pl.DataFrame(schema=PROBLEM_SCHEMA))
    work = _with_derived(data, merge_derived(*(r.broken.derived for r in rules)))
    flags = work.select(r.violations(work.columns).alias(f"__rule{i}") for i, r in enumerate(rules))
    bad = flags.select(pl.any_horizontal(pl.all())).to_series()
    problems = _problems(data, flags, rules)
    return ValidationResult(data.filter(~bad), data.filter(bad), problems)


def _with_derived(data: pl.DataFrame, derived: Sequence[Derived]) -> pl.DataFrame:
    """The frame with each derived helper column added once (in order: later ones may read earlier)."""
    for name, build in derived:
        data = data.with_columns(build(getter(data.columns)).alias(name))
    return data


def _problems(data: pl.DataFrame, flags: pl.DataFrame, rules: Sequence[Rule]) -> pl.DataFrame:
    get = getter(data.columns)
    parts = [
        data.filter(flags.get_column(f"__rule{i}")).select(
            pl.col(ROW).cast(pl.Int64),
            pl.lit(rule.column).alias("column"),
            pl.lit(rule.name).alias("rule"),
            pl.lit(rule.error_code).alias("error_code"),
            pl.lit(rule.message).alias("message"),
            excerpt_expr(get(rule.column)).alias("excerpt"),
            pl.lit(i, dtype=pl.Int32).alias("__order"),
        )
        for i, rule in enumerate(rules)
        if flags.get_column(f"__rule{i}").any()
    ]
    if not parts:
        return pl.DataFrame(schema=PROBLEM_SCHEMA)
    return pl.concat(parts).sort([ROW, "__order"]).drop("__order")


def check_header(
    columns: Sequence[str],
    source: str,
    *,
    known: Collection[str],
    required: Sequence[str],
    refused: Mapping[str, str] | None = None,
) -> None:
    """JobFileError naming every unknown, refused or missing column of `source`."""
    problems = column_problems(columns, known=known, required=required, refused=refused)
    if problems:
        raise JobFileError(f"{source}: " + "; ".join(problems))


def column_problems(
    columns: Sequence[str],
    *,
    known: Collection[str],
    required: Sequence[str],
    refused: Mapping[str, str] | None = None,
) -> list[str]:
    """What is wrong with a job file's header: refused, unknown (with a suggestion), missing."""
    refused = refused or {}
    found = [f"column {c!r} {refused[c]}" for c in columns if c in refused]
    unknown = [c for c in columns if c not in known and c not in refused]
    found += [f"unknown column {c!r}{_suggestion(c, known)}" for c in unknown]
    found += [f"missing required column {c!r}" for c in required if c not in columns]
    return found


def _suggestion(name: str, known: Collection[str]) -> str:
    by_lower = {k.lower(): k for k in known}
    match = by_lower.get(name.strip().lower())
    if match is None:
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
        match = close[0] if close else None
    return f" (did you mean {match!r}?)" if match else ""
