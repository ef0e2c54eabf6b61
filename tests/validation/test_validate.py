"""The generic rule machinery: conditions, rules, validate(), and vectorised/scalar agreement."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batch.validation.check import validate
from batch.validation.conditions import calendar_time
from batch.validation.header import column_problems
from batch.validation.json_records import any_record, malformed
from batch.validation.name_lists import lists, lists_other_than, names_in
from batch.validation.rules import (
    Rule,
    Violation,
    calendar_datetime,
    check_values,
    choice,
    condition,
    excerpt,
    max_bytes,
    max_chars,
    required,
    shape,
)

CODE = "PARAMETER_ERROR"


def frame(column: str, values: list[str]) -> pl.DataFrame:
    """A one-column job frame with spreadsheet row numbers."""
    return pl.DataFrame({"row": list(range(2, len(values) + 2)), column: values})


def broken(rule: Rule, values: list[str], column: str = "A") -> list[bool]:
    """Per value: is `rule` broken (vectorised)? Asserts the scalar side agrees."""
    data = frame(column, values)
    vector = data.select(rule.violations(data)).to_series().to_list()
    scalar = [not rule.check({column: v}) for v in values]
    assert vector == scalar
    return vector


def test_required_flags_only_empty() -> None:
    """required: "" is broken; any text, even a space or "null", is a value."""
    assert broken(required("A", "PARAMETER_REQUIRED"), ["", " ", "null", "0"]) == [True, False, False, False]


def test_max_chars_boundary() -> None:
    """max_chars 256: exactly 256 characters pass (CJK and emoji count one each), 257 do not."""
    rule = max_chars("A", 256, "PARAMETER_TOO_LONG")
    values = ["a" * 256, "a" * 257, "障" * 256, "障" * 257, "😀" * 256, "😀" * 257, ""]
    assert broken(rule, values) == [False, True, False, True, False, True, False]


def test_max_bytes_boundary_with_three_byte_characters() -> None:
    """max_bytes 65535 counts UTF-8: 21845 CJK = 65535 bytes pass; one more byte does not."""
    rule = max_bytes("A", 65535, "PARAMETER_TOO_LONG")
    values = ["障" * 21845, "障" * 21845 + "a", "a" * 65535, "a" * 65536, "😀" * 16383 + "abc", "😀" * 16384]
    assert broken(rule, values) == [False, True, False, True, False, True]


def test_choice_checks_filled_cells_only() -> None:
    """choice: an empty cell passes (leave as it is); exact strings only."""
    rule = choice("A", ("高", "中", "低"), CODE)
    assert broken(rule, ["高", "", "他", " 高", "高 "]) == [False, False, True, True, True]


def test_choice_with_guard() -> None:
    """A guarded choice applies only where its guard holds."""
    from batch.validation.conditions import equals

    rule = choice("A", ("x",), CODE, when=equals("K", "1"))
    data = pl.DataFrame({"row": [2, 3, 4], "A": ["y", "y", "x"], "K": ["1", "2", "1"]})
    assert data.select(rule.violations(data)).to_series().to_list() == [True, False, False]
    assert [rule.check(r) for r in data.drop("row").to_dicts()] == [False, True, True]


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("20240229235959", True),
        ("20000229000000", True),
        ("20230229000000", False),
        ("19000229000000", False),
        ("20240431000000", False),
        ("20241301000000", False),
        ("20240100000000", False),
        ("20240101240000", False),
        ("20240101236000", False),
        ("20240101000060", False),
        ("00000101000000", False),
        ("2024010100000", False),
        ("202401010000000", False),
        ("２０２４０１０１００００００", False),
        ("2024 101000000", False),
        ("20240101000000\n", False),
    ],
)
def test_calendar_datetime(text: str, ok: bool) -> None:
    """YYYYMMDDhhmmss must name a real time: no Feb 29 off leap years, no 24:00, no second 60."""
    assert broken(calendar_datetime("A", CODE), [text]) == [not ok]


def test_calendar_datetime_ignores_empty() -> None:
    """An empty date cell is not a bad date."""
    assert broken(calendar_datetime("A", CODE), [""]) == [False]


def test_shape_is_a_full_match() -> None:
    """shape: the whole cell must match (no prefix match, no trailing newline, ASCII digits)."""
    rule = shape("A", "UTM[0-9]+", "UTM + digits", CODE)
    values = ["UTM123", "UTM", "xUTM1", "UTM1x", "UTM1\n", "UTM１", ""]
    assert broken(rule, values) == [False, True, True, True, True, True, False]


def test_names_lists() -> None:
    """A names cell splits on ; and , and drops blanks (incl. full-width spaces)."""
    assert names_in(" A ;B,,\u3000C\u3000; ") == ["A", "B", "C"]
    rule = condition("x", CODE, "A", lists("A", "B"), "lists B")
    assert broken(rule, ["A;B", "AB", "", "B"]) == [True, False, False, True]
    other = condition("y", CODE, "A", lists_other_than("A", ["A", "B"]), "other")
    assert broken(other, ["A;B", "A;C", "", " ; "]) == [False, True, False, False]


def test_excerpt_cuts_and_shows_line_breaks() -> None:
    """Excerpts are at most 40 characters, cut with …, line breaks shown as ⏎."""
    assert excerpt("a\r\nb\nc") == "a⏎b⏎c"
    assert excerpt("x" * 40) == "x" * 40
    assert excerpt("x" * 41) == "x" * 39 + "…"


def test_validate_reports_tidy_problems() -> None:
    """validate() splits valid from invalid rows and lists every problem with row, rule and code."""
    rules = [
        required("A", "PARAMETER_REQUIRED"),
        max_chars("B", 3, "PARAMETER_TOO_LONG"),
        choice("B", ("abc", "x⏎"), CODE),
    ]
    data = pl.DataFrame({"row": [2, 3, 4, 7], "A": ["1", "", "", "2"], "B": ["abc", "abcd", "", "y\nz"]})
    result = validate(data, rules)
    assert result.valid["row"].to_list() == [2]
    assert result.invalid["row"].to_list() == [3, 4, 7]
    assert result.problems.rows() == [
        (3, "A", "required", "PARAMETER_REQUIRED", "is empty", ""),
        (3, "B", "max_chars", "PARAMETER_TOO_LONG", "over 3 characters", "abcd"),
        (3, "B", "choice", CODE, "not one of abc, x⏎", "abcd"),
        (4, "A", "required", "PARAMETER_REQUIRED", "is empty", ""),
        (7, "B", "choice", CODE, "not one of abc, x⏎", "y⏎z"),
    ]
    assert result.rows == 4


def test_validate_counts_and_reasons() -> None:
    """by_rule() counts problems; reasons() gives one line per invalid row."""
    rules = [required("A", "PARAMETER_REQUIRED"), required("B", "PARAMETER_REQUIRED")]
    data = pl.DataFrame({"row": [2, 3, 4], "A": ["", "", "x"], "B": ["", "y", "y"]})
    result = validate(data, rules)
    assert result.by_rule().rows() == [
        ("required", "A", "PARAMETER_REQUIRED", 2),
        ("required", "B", "PARAMETER_REQUIRED", 1),
    ]
    reasons = result.reasons()
    assert reasons["row"].to_list() == [2, 3]
    assert (
        reasons["reasons"][0]
        == "A: is empty [required, PARAMETER_REQUIRED]; B: is empty [required, PARAMETER_REQUIRED]"
    )


def test_validate_without_rules_or_problems() -> None:
    """No rules: every row is valid and the problems frame is empty but typed."""
    data = pl.DataFrame({"row": [2], "A": ["x"]})
    result = validate(data, [])
    assert (result.valid.height, result.invalid.height, result.problems.height) == (1, 0, 0)
    assert validate(data, [required("A", "X")]).problems.schema["row"] == pl.Int64


def test_validate_reads_nulls_and_absent_columns_as_empty() -> None:
    """A null cell or an absent column is an empty cell; a lazy frame is accepted."""
    data = pl.DataFrame({"row": [2, 3], "A": [None, "x"]}).lazy()
    result = validate(data, [required("A", "R"), required("Z", "R")])
    assert result.problems.select("row", "column").rows() == [(2, "A"), (2, "Z"), (3, "Z")]


def test_scalar_check_lists_violations() -> None:
    """check_values() gives Violation values for one merged mapping."""
    rules = [required("A", "R"), max_chars("B", 2, "L")]
    found = check_values({"A": "", "B": "abc"}, rules, row=9)
    assert found == [
        Violation("A", "required", "R", "is empty", "", 9),
        Violation("B", "max_chars", "L", "over 2 characters", "abc", 9),
    ]
    assert check_values({"A": "x"}, rules) == []


def test_column_problems_suggest_names() -> None:
    """Unknown columns get the nearest known name; refused and missing columns are named."""
    problems = column_problems(
        ["ticketid", "StateCod", "Zzz", "Old"],
        known=["TicketId", "StateCode"],
        required=["TicketId"],
        refused={"Old": "is not allowed"},
    )
    assert problems == [
        "column 'Old' is not allowed",
        "unknown column 'ticketid' (did you mean 'TicketId'?)",
        "unknown column 'StateCod' (did you mean 'StateCode'?)",
        "unknown column 'Zzz'",
        "missing required column 'TicketId'",
    ]


# Vectorised and scalar forms agree on arbitrary rows.

KEYS = ("S", "C", "T")

SPECIAL = st.sampled_from(
    [
        "",
        " ",
        "高",
        "中",
        "20240229235959",
        "20230229000000",
        "20240101240000",
        "UTM1",
        "UTM",
        "a" * 5,
        "a" * 6,
        "障" * 2,
        "😀",
        "A;B",
        "B, C",
        '[{"T":"x"}]',
        '[{"S":"1","C":"2"}]',
        "[]",
        '[{"T":""}]',
        '[{"S":"1","S":"1"}]',
        "[{",
        "\n",
        "null",
    ]
)
TEXT = st.one_of(SPECIAL, st.text(st.characters(blacklist_categories=("Cs",)), max_size=12))
ROWS = st.lists(st.fixed_dictionaries({"A": TEXT, "B": TEXT}), min_size=1, max_size=20)


def _agreement_rules() -> list[Rule]:
    from batch.validation.conditions import empty, equals, filled

    return [
        required("A", "R"),
        max_chars("A", 5, "L"),
        max_bytes("B", 6, "L"),
        choice("A", ("高", "中"), CODE, when=equals("B", "x")),
        calendar_datetime("A", CODE),
        shape("B", "UTM[0-9]+", "id", CODE),
        condition("names", CODE, "A", lists_other_than("A", ["A", "B"]) | lists("B", "C"), "n"),
        condition("json", CODE, "B", malformed("B", KEYS), "j"),
        condition("item", CODE, "B", any_record("B", KEYS, empty("T") & filled("S")), "i"),
        condition("time", CODE, "A", filled("B") & calendar_time("A"), "t"),
    ]


@settings(max_examples=150, deadline=None)
@given(ROWS)
def test_vectorised_and_scalar_forms_agree(rows: list[dict[str, str]]) -> None:
    """For every rule, the polars expression and the Python check give the same verdict per row."""
    data = pl.DataFrame(
        {"row": list(range(2, len(rows) + 2)), "A": [r["A"] for r in rows], "B": [r["B"] for r in rows]}
    )
    for rule in _agreement_rules():
        vector = data.select(rule.violations(data)).to_series().to_list()
        assert vector == [not rule.check(r) for r in rows], rule.name


DIGITS14 = st.one_of(
    st.from_regex(r"[0-9]{14}", fullmatch=True),
    st.builds(
        lambda y, m, d, h, mi, s: f"{y:04d}{m:02d}{d:02d}{h:02d}{mi:02d}{s:02d}",
        st.integers(0, 9999),
        st.integers(0, 13),
        st.integers(0, 32),
        st.integers(0, 25),
        st.integers(0, 61),
        st.integers(0, 61),
    ),
    st.from_regex(r"[+\-0-9 ]{14}", fullmatch=True),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(DIGITS14, min_size=1, max_size=50))
def test_calendar_time_agrees_on_any_fourteen_characters(values: list[str]) -> None:
    """Real dates, Feb 29 of any year, hour 24, second 60, signs and blanks: both forms agree."""
    broken(calendar_datetime("A", CODE), values)


def test_valid_rows_are_counted_without_taking_them_out() -> None:
    """Counts come from the flags; with no invalid row, `valid` is the checked frame itself."""
    data = pl.DataFrame({"row": [2, 3, 4], "A": ["x", "", "y"]})
    result = validate(data, [required("A", "R")])
    assert (result.rows, result.valid_rows, result.invalid_rows) == (3, 2, 1)
    assert result.valid["row"].to_list() == [2, 4] and result.invalid["row"].to_list() == [3]
    clean = validate(data.filter(pl.col("A") != ""), [required("A", "R")])
    assert clean.valid is clean.checked and clean.invalid_rows == 0


def test_helper_columns_that_read_helpers_come_after_them() -> None:
    """A helper column built from another helper is computed after it, each once, then dropped."""
    from batch.validation.conditions import Cond

    first = ("__upper", lambda g: g("A").str.to_uppercase())
    second = ("__twice", lambda g: g("__upper") + g("__upper"))
    scalar = lambda v: (v.get("A") or "").upper() * 2 == "XX"  # noqa: E731
    cond = Cond(lambda g: g("__twice") == "XX", scalar, (second, first))  # listed out of order
    data = pl.DataFrame({"row": [2, 3], "A": ["x", "y"]})
    result = validate(data, [condition("twice", CODE, "A", cond, "is x")])
    assert result.problems.select("row", "rule").rows() == [(2, "twice")]
    assert result.invalid.columns == ["row", "A"]
