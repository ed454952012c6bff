"""The vectorised masks honour every option a rule declares, or refuse it by name."""

from __future__ import annotations

import pandas as pd
import pytest

from credit.ingest import rules
from credit.ingest.rules import Rule, rule_masks


def _declaring(monkeypatch: pytest.MonkeyPatch, *declared: Rule) -> None:
    monkeypatch.setattr(rules, "table_rules", lambda table: declared)


def test_between_rejects_values_above_max_value_as_well_as_below_min_value(monkeypatch):
    _declaring(monkeypatch, Rule("range:score", "score is 1 to 10", ("score",), (
        "ExpectColumnValuesToBeBetween", {"column": "score", "min_value": 1, "max_value": 10})))
    frame = pd.DataFrame({"score": pd.array([0, 1, 5, 10, 11, None], dtype="Int64")})

    flagged = rule_masks("orders", frame)["range:score"]

    assert flagged.tolist() == [True, False, False, False, True, False]  # 0 < 1, 11 > 10; missing not judged


def test_between_with_only_max_value_and_strict_bounds(monkeypatch):
    _declaring(
        monkeypatch,
        Rule("at_most:score", "score <= 3", ("score",), (
            "ExpectColumnValuesToBeBetween", {"column": "score", "max_value": 3})),
        Rule("strictly_inside:score", "1 < score < 3", ("score",), (
            "ExpectColumnValuesToBeBetween",
            {"column": "score", "min_value": 1, "max_value": 3, "strict_min": True, "strict_max": True})),
    )
    frame = pd.DataFrame({"score": pd.array([-5, 1, 2, 3, 4], dtype="Int64")})

    masks = rule_masks("orders", frame)

    assert masks["at_most:score"].tolist() == [False, False, False, False, True]
    assert masks["strictly_inside:score"].tolist() == [True, True, False, True, True]


def test_pair_rule_strictly_greater_when_or_equal_is_false(monkeypatch):
    _declaring(monkeypatch, Rule("a_after_b", "a > b", ("a", "b"), (
        "ExpectColumnPairValuesAToBeGreaterThanB",
        {"column_A": "a", "column_B": "b", "or_equal": False, "ignore_row_if": "either_value_is_missing"})))
    frame = pd.DataFrame({"a": pd.array([2, 2, 1, None], dtype="Int64"), "b": pd.array([1, 2, 2, 5], dtype="Int64")})

    assert rule_masks("orders", frame)["a_after_b"].tolist() == [False, True, True, False]


def test_pair_rule_with_an_unimplemented_option_is_refused_naming_the_rule_and_columns(monkeypatch):
    _declaring(monkeypatch, Rule("paid_after_issued", "paid_at >= issued_at", ("paid_at", "issued_at"), (
        "ExpectColumnPairValuesAToBeGreaterThanB",
        {"column_A": "paid_at", "column_B": "issued_at", "or_equal": True, "ignore_row_if": "neither"})))
    frame = pd.DataFrame({"paid_at": pd.to_datetime(["2024-01-02"]), "issued_at": pd.to_datetime(["2024-01-01"])})

    with pytest.raises(ValueError, match=r"payments\.paid_after_issued .*paid_at, issued_at.*'neither'"):
        rule_masks("payments", frame)
