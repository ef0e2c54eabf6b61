"""Cells holding a JSON list of flat records: shape, duplicates, escapes, items; both forms agree."""

from __future__ import annotations

import json

import polars as pl
import pytest

from batch.validation.check import validate
from batch.validation.conditions import empty
from batch.validation.json_records import any_record, malformed
from batch.validation.rules import Rule, condition

CODE = "PARAMETER_ERROR"


def broken(rule: Rule, values: list[str], column: str = "A") -> list[bool]:
    """Per value: is `rule` broken (vectorised)? Asserts the scalar side agrees."""
    data = pl.DataFrame({"row": list(range(2, len(values) + 2)), column: values})
    vector = data.select(rule.violations(data)).to_series().to_list()
    assert vector == [not rule.check({column: v}) for v in values]
    return vector


KEYS = ("S", "C", "T")
RECORDS = condition("json", CODE, "A", malformed("A", KEYS), "bad")


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("", False),
        ("[]", False),
        (' [ { "S" : "1" , "T" : "x" } , {} ] ', False),
        ('[{"T":"\\u65e5\\ud83d\\ude00 \\"q\\" \\n"}]', False),
        ("not json", True),
        ('{"S":"1"}', True),
        ('[{"S":1}]', True),
        ('[{"S":null}]', True),
        ('[{"X":"1"}]', True),
        ('[{"S":"1","S":"2"}]', True),
        ('[{"T":"a\nb"}]', True),
        ('[{"T":"\\ud83d"}]', True),
        ('[{"T":"\\x"}]', True),
        ('[{"S":"1"}', True),
        ('[{"S":"1"},]', True),
        ("[[]]", True),
        ('["s"]', True),
        ("null", True),
    ],
)
def test_json_records_shape(text: str, bad: bool) -> None:
    """A records cell must be a JSON list of flat objects with known keys, string values, no repeats."""
    assert broken(RECORDS, [text]) == [bad]


def test_any_record_checks_each_item_and_skips_malformed() -> None:
    """any_record tests every item; a malformed cell is left to the shape rule (no crash)."""
    rule = condition("t", CODE, "A", any_record("A", KEYS, empty("T")), "no text")
    values = ['[{"T":"a"},{"S":"1"}]', '[{"T":"a"}]', "[]", "garbage", ""]
    assert broken(rule, values) == [True, False, False, False, False]


def test_json_pattern_accepts_what_json_dumps_writes() -> None:
    """Records written by json.dumps (ASCII escapes or raw UTF-8) are well formed."""
    records = [{"S": "", "C": "0", "T": 'メモ "引用" \\ / \t\n😀'}]
    for text in (json.dumps(records), json.dumps(records, ensure_ascii=False)):
        assert broken(RECORDS, [text]) == [False]


def test_validate_computes_helper_columns_once_and_drops_them() -> None:
    """validate() decodes a records column once for all its rules; the helpers do not leak out."""
    rules = [RECORDS, condition("t", CODE, "A", any_record("A", KEYS, empty("T")), "no text")]
    data = pl.DataFrame({"row": [2, 3, 4], "A": ['[{"T":"x"}]', '[{"S":"1"}]', "{"]})
    result = validate(data, rules)
    assert result.problems.select("row", "rule").rows() == [(3, "t"), (4, "json")]
    assert result.valid.columns == result.invalid.columns == ["row", "A"]


def test_no_record_is_false_for_cells_without_records_in_either_form() -> None:
    """Negated, any_record holds for malformed, empty and "[]" cells alike, in both forms."""
    from batch.validation.conditions import filled

    rule = condition("n", CODE, "A", filled("A") & ~any_record("A", KEYS, empty("T")), "all have text")
    values = ["garbage", "[]", '[{"T":""}]', '[{"T":"x"}]', "", '[{"S":"1","S":"1"}]']
    assert broken(rule, values) == [True, True, False, True, False, True]
