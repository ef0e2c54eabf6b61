"""The validation pass: every rule over a whole frame at once, and a tidy frame of problems.

`validate(frame, rules)` evaluates every rule as one Boolean column in a single `select`, then
builds the problems frame (row, column, rule, error_code, message, excerpt) rule by rule with
filters: no Python loop over rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from batch.validation.conditions import Derived, merge_derived
from batch.validation.rules import ROW, Rule, excerpt_expr, getter

PROBLEM_SCHEMA = {
    ROW: pl.Int64,
    "column": pl.String,
    "rule": pl.String,
    "error_code": pl.String,
    "message": pl.String,
    "excerpt": pl.String,
}


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
