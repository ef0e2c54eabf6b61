"""The validation pass: every rule over a whole frame at once, and a tidy frame of problems.

`validate(frame, rules)` computes the rules' helper columns once (in waves: those that read only
the frame's columns together), evaluates every rule as one Boolean column in a single `select`,
and builds the problems frame (row, column, rule, error_code, message, excerpt) from the invalid
rows alone, rule by rule with filters: no Python loop over rows. The valid rows are a filter of
the whole frame, which copies every column, so they are only taken when asked for.

`broken_rows(lazy, rules)` is the same check as a filter of a lazy query, for a caller that needs
only the broken rows (a streaming scan of a Parquet job for `validate`): it keeps them with their
rule flags, and `invalid_rows` builds their problems as `validate` does, into an `InvalidRows`
(the invalid rows, their problems and the count of rows checked).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import polars as pl

from batch.validation.conditions import Derived, columns_read, merge_derived
from batch.validation.rules import ROW, Rule, excerpt_expr, getter

PROBLEM_SCHEMA = {
    ROW: pl.Int64,
    "column": pl.String,
    "rule": pl.String,
    "error_code": pl.String,
    "message": pl.String,
    "excerpt": pl.String,
}


class _ProblemViews:
    """What a report reads of a check's problems (both result types have them)."""

    problems: pl.DataFrame

    def by_rule(self) -> pl.DataFrame:
        """Problem counts per (rule, column, error_code), most frequent first."""
        keys = ["rule", "column", "error_code"]
        counts = self.problems.group_by(keys).agg(pl.len().alias("count"))
        return counts.sort(["count", *keys], descending=[True, False, False, False])

    def reasons(self) -> pl.DataFrame:
        """One line per invalid row: `row`, first `error_code`, all `reasons` joined by "; "."""
        text = pl.format("{}: {} [{}, {}]", "column", "message", "rule", "error_code")
        return self.problems.group_by(ROW, maintain_order=True).agg(
            pl.col("error_code").first(), text.str.join("; ").alias("reasons")
        )


@dataclass(frozen=True)
class ValidationResult(_ProblemViews):
    """Every row checked, which of them broke a rule, and one problem per (row, rule) broken."""

    checked: pl.DataFrame  # the frame as validated (text columns plus `row`)
    broken: pl.Series  # Boolean, one per row of `checked`: some rule is broken
    problems: pl.DataFrame
    # The invalid rows when the check has already taken them out (a filter copies every column).
    taken: pl.DataFrame | None = field(default=None, repr=False, compare=False)

    @cached_property
    def invalid(self) -> pl.DataFrame:
        """The rows that broke a rule, in file order."""
        return self.checked.filter(self.broken) if self.taken is None else self.taken

    @cached_property
    def valid(self) -> pl.DataFrame:
        """The rows that passed, in file order (all of `checked` when none failed)."""
        return self.checked if self.invalid_rows == 0 else self.checked.filter(~self.broken)

    @property
    def rows(self) -> int:
        """Rows checked."""
        return self.checked.height

    @cached_property
    def invalid_rows(self) -> int:
        """How many rows broke a rule (without taking them out of the frame)."""
        return int(self.broken.sum())

    @property
    def valid_rows(self) -> int:
        """How many rows passed (without taking them out of the frame)."""
        return self.rows - self.invalid_rows


@dataclass(frozen=True)
class InvalidRows(_ProblemViews):
    """A check's invalid rows and problems, without its valid rows (what `validate` reports)."""

    rows: int  # rows checked
    invalid: pl.DataFrame  # the rows that broke a rule, in file order
    problems: pl.DataFrame

    @property
    def invalid_rows(self) -> int:
        """How many rows broke a rule."""
        return self.invalid.height

    @property
    def valid_rows(self) -> int:
        """How many rows passed."""
        return self.rows - self.invalid_rows


def validate(frame: pl.DataFrame | pl.LazyFrame, rules: Sequence[Rule]) -> ValidationResult:
    """Check every row of `frame` (text columns plus `row`) against `rules`, vectorised."""
    data = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    data = data.with_columns(pl.col(pl.String).fill_null(""))
    if not rules:
        return ValidationResult(data, pl.repeat(False, data.height, eager=True), _no_problems())
    flags = rule_flags(data, rules)
    broken = flags.select(pl.any_horizontal(pl.all())).to_series()
    if not broken.any():
        return ValidationResult(data, broken, _no_problems())
    invalid = data.filter(broken)
    problems = _problems(invalid, flags.filter(broken), rules)
    return ValidationResult(data, broken, problems, taken=invalid)


def rule_flags(data: pl.DataFrame, rules: Sequence[Rule]) -> pl.DataFrame:
    """One Boolean column per rule (`__rule<i>`), true where broken.

    One lazy query: polars' eager `select` costs about a third more CPU for the same expressions.
    """
    work, flags = _flagged(data.lazy(), data.columns, rules)
    return work.select(flags).collect()


def broken_rows(frame: pl.LazyFrame, rules: Sequence[Rule], also: pl.Expr | None = None) -> pl.LazyFrame:
    """The rows of `frame` that break some rule (or where `also` holds): `frame`'s columns, then
    the rule flags (`__rule<i>`), for `invalid_rows`.

    Their text is copied out (`+ ""`): a filtered string column still points into the whole
    decoded block it came from, so a few kept rows per block would hold the whole file in memory
    (a third more peak memory on a 1M-row Parquet job, and the CPU to fault it in).
    """
    schema = frame.collect_schema()
    work, flags = _flagged(frame, schema.names(), rules)
    names = [f"__rule{i}" for i in range(len(rules))]
    broken = pl.any_horizontal(names) if rules else pl.lit(False)
    copied = [pl.col(c) + pl.lit("") if t == pl.String else pl.col(c) for c, t in schema.items()]
    return work.with_columns(flags).filter(broken if also is None else broken | also).select(*copied, *names)


def _flagged(
    frame: pl.LazyFrame, columns: Sequence[str], rules: Sequence[Rule]
) -> tuple[pl.LazyFrame, list[pl.Expr]]:
    """The frame with the rules' helper columns, and one flag per rule (`__rule<i>`: broken)."""
    work, names = _with_derived(frame, columns, merge_derived(*(r.broken.derived for r in rules)))
    return work, [r.violations(names).alias(f"__rule{i}") for i, r in enumerate(rules)]


def invalid_rows(kept: pl.DataFrame, rules: Sequence[Rule], rows: int) -> InvalidRows:
    """What `validate` finds, from the rows `broken_rows` kept (without blank ones) of `rows`."""
    flags = kept.select(f"__rule{i}" for i in range(len(rules)))
    invalid = kept.drop(flags.columns)
    problems = _problems(invalid, flags, rules) if invalid.height else _no_problems()
    return InvalidRows(rows, invalid, problems)


def _no_problems() -> pl.DataFrame:
    return pl.DataFrame(schema=PROBLEM_SCHEMA)


def _with_derived(
    data: pl.LazyFrame, columns: Sequence[str], derived: Sequence[Derived]
) -> tuple[pl.LazyFrame, list[str]]:
    """The frame with each derived helper column added once, and its columns: in waves, each
    wave computing together (in parallel) the helpers whose inputs the frame already has."""
    names = list(columns)
    pending = list(derived)
    while pending:
        wave = [d for d in pending if not _inputs(d, pending)] or pending[:1]  # [:1]: a cycle
        get = getter(names)
        data = data.with_columns(build(get).alias(name) for name, build in wave)
        names += [name for name, _ in wave if name not in names]
        pending = [d for d in pending if d not in wave]
    return data, names


def _inputs(derived: Derived, pending: Sequence[Derived]) -> set[str]:
    """The pending helper columns that `derived` reads (found by building its expression)."""
    return columns_read(derived[1]) & {name for name, _ in pending}


def _problems(rows: pl.DataFrame, flags: pl.DataFrame, rules: Sequence[Rule]) -> pl.DataFrame:
    """The problems of the invalid `rows` (with their `flags`), in row then rule order."""
    get = getter(rows.columns)
    both = pl.concat([rows, flags], how="horizontal").lazy()  # one query: only the columns used
    parts = [
        both.filter(pl.col(f"__rule{i}")).select(
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
    return pl.concat(parts).sort([ROW, "__order"]).drop("__order").collect()
