"""Reason codes: the catalogue covers every panel feature, and rows get codes worked out by hand.

The hand-built frames use real feature names so that the codes are the catalogue's; the
comment above each assertion shows the sums per code. Values are binary fractions (0.5,
0.25, ...) so the sums are exact and a tie is a real tie.

The golden file ``golden/reason_codes.json`` shows the catalogue and which features fall
under each code; after a deliberate change, regenerate it with
``.venv/bin/python -m tests.models.test_reasons`` and review the diff.
"""

from __future__ import annotations

import itertools
import json
import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credit.features.catalog import MARKETPLACE_FEATURES
from credit.features.domain import DERIVED, DOMAIN_FEATURES
from credit.features.panel import FIRMOGRAPHICS, KEY_COLUMNS, build_panel, label_column
from credit.models import reasons
from credit.models.pd_model import LightGBMPD
from credit.models.reasons import (
    FEATURE_RULES,
    REASON_CATALOGUE,
    REASON_CATALOGUE_VERSION,
    REASON_CONDITIONS,
    feature_reason_codes,
    reason_codes,
    reason_codes_from_points,
    true_of_firm,
)
from tests.features.histories import firm, history, invoice, order

GOLDEN = Path(__file__).parent / "golden" / "reason_codes.json"

DPD, OVERDUE = "debtor_days_past_due", "debtor_overdue_value"  # R01
ON_TIME = "debtor_on_time_rate_365d"  # R03
GROWTH = "buyer_gmv_growth_3m"  # R06
TENURE = "tenure_days"  # R07
INDUSTRY = "industry"  # R12
SIX = [DPD, OVERDUE, ON_TIME, GROWTH, TENURE, INDUSTRY]


def panel_feature_columns() -> list[str]:
    """Every feature column the panel writes, from the definitions (not from a built panel)."""
    declarative = [name for feature in MARKETPLACE_FEATURES for name in feature.column_names()]
    derived = [feature.name for feature in DERIVED]
    domain = [name.replace("<role>", role) for name, _ in DOMAIN_FEATURES
              for role in (("buyer", "supplier") if "<role>" in name else ("",))]
    return [*declarative, *derived, *domain, *FIRMOGRAPHICS, "verified", "deposit_minor"]


def frame(rows: list[list[float]], columns: list[str] = SIX) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


def golden_table() -> dict:
    by_code: dict[str, list[str]] = {code: [] for code in REASON_CATALOGUE}
    for feature, code in feature_reason_codes(panel_feature_columns()).items():
        by_code[code].append(feature)
    conditions = {code: None if rules is None else [f"{rule.how} of {', '.join(rule.features)} {rule.side} "
                                                     f"{rule.threshold}: {rule.text}" for rule in rules]
                  for code, rules in REASON_CONDITIONS.items()}
    return {"version": REASON_CATALOGUE_VERSION, "catalogue": REASON_CATALOGUE, "cited_only_when": conditions,
            "features": {code: sorted(features) for code, features in by_code.items()}}


# ---------------------------------------------------------------------------------------------
# the catalogue and the feature mapping
# ---------------------------------------------------------------------------------------------


def test_every_feature_column_of_the_panel_maps_to_exactly_one_reason_code() -> None:
    columns = panel_feature_columns()
    assert len(columns) == len(set(columns)) > 100
    # raises, naming them, for a feature no rule claims or two codes claim
    codes = feature_reason_codes(columns)
    assert set(codes) == set(columns)
    assert set(codes.values()) <= set(REASON_CATALOGUE)


def test_the_listed_feature_columns_are_exactly_those_a_built_panel_has() -> None:
    source = history(firms=[firm(1), firm(2)],
                     orders=[order(1, buyer=1, supplier=2, created="2024-01-10", amount=100),
                             order(2, buyer=2, supplier=1, created="2024-03-10", amount=100)],
                     invoices=[invoice(1, buyer=1, supplier=2, issued="2024-01-10", due="2024-02-10", amount=100)])
    built = build_panel(source, [date(2024, 3, 1)])
    produced = set(built.frame.columns) - {*KEY_COLUMNS, label_column(12)}
    # the list the coverage test checks is the panel's own; a new feature cannot slip past it
    assert produced == set(panel_feature_columns())
    assert set(built.manifest["feature_columns"]) == produced


def test_every_catalogue_code_has_features_and_every_rule_names_a_catalogue_code() -> None:
    assert {code for code, _ in FEATURE_RULES} == set(REASON_CATALOGUE)
    assert set(feature_reason_codes(panel_feature_columns()).values()) == set(REASON_CATALOGUE)
    assert list(REASON_CATALOGUE) == sorted(REASON_CATALOGUE)
    assert all(0 < len(text) <= 80 for text in REASON_CATALOGUE.values())


def test_catalogue_and_feature_mapping_match_the_golden_file() -> None:
    golden = json.loads(GOLDEN.read_text())
    current = golden_table()
    if (current["catalogue"], current["cited_only_when"]) != (golden["catalogue"], golden.get("cited_only_when")):
        # decisions store codes with the version: the same version must mean the same texts
        assert current["version"] > golden["version"], \
            "the reason catalogue changed: bump REASON_CATALOGUE_VERSION, then regenerate the golden file"
    assert current == golden, "regenerate with `.venv/bin/python -m tests.models.test_reasons` and review the diff"


def test_features_map_to_the_code_a_finance_reader_expects() -> None:
    expected = {
        "debtor_days_past_due": "R01", "debtor_days_beyond_terms_max_365d": "R02", "debtor_on_time_rate_all": "R03",
        "debtor_partial_payment_rate_365d": "R04", "debtor_dbt_trend_90d": "R05", "supplier_gmv_volatility_12m": "R06",
        "tenure_days": "R07", "buyer_order_count_all": "R07", "buyer_partners_hhi_365d": "R08",
        "supplier_partners_defaulted_365d": "R09", "supplier_return_rate_365d": "R10",
        "supplier_lead_time_max_365d": "R10", "buyer_days_since_order_all": "R11", "size_band": "R12",
        "buyer_order_count_30d": "R13", "verified": "R14", "creditor_on_time_rate_365d": "R15",
        "buyer_credit_terms_share_365d": "R16", "debtor_late_payment_rate_30d": "R02",
        "debtor_days_since_payment_all": "R02", "creditor_late_payment_rate_90d": "R15",
        "supplier_hours_to_ship_mean_30d": "R10",
    }
    assert feature_reason_codes(list(expected)) == expected


def test_an_unknown_feature_column_is_refused_by_name() -> None:
    contributions = frame([[0.5] * 7], [*SIX, "buyer_mystery_score_90d"])
    with pytest.raises(ValueError, match="no reason code for feature.*buyer_mystery_score_90d"):
        reason_codes(contributions)
    # a near miss of a real name is unknown too: rules match whole names
    with pytest.raises(ValueError, match="debtor_days_past_due_90d"):
        feature_reason_codes(["debtor_days_past_due_90d"])


def test_a_feature_claimed_by_two_codes_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reasons, "_COMPILED", [*reasons._COMPILED, ("R11", re.compile("tenure_days"))])
    with pytest.raises(ValueError, match=r"more than one reason code.*tenure_days \(R07, R11\)"):
        feature_reason_codes(["tenure_days"])


# ---------------------------------------------------------------------------------------------
# reason_codes: contributions to the log-odds
# ---------------------------------------------------------------------------------------------


def test_codes_add_up_features_of_one_code_and_rank_by_size_with_ties_in_code_order() -> None:
    contributions = frame([[0.5, 0.25, 0.5, 0.125, -0.25, 0.5]])
    # R01 = 0.5 + 0.25 = 0.75; R03 = 0.5 and R12 = 0.5 tie -> R03 first; R06 = 0.125; R07 < 0 dropped
    assert reason_codes(contributions) == [["R01", "R03", "R12", "R06"]]
    # each R01 feature alone (0.375, 0.25) is weaker than R03, together (0.625) stronger
    assert reason_codes(contributions.assign(**{DPD: 0.375})) == [["R01", "R03", "R12", "R06"]]
    # R01 = 0.125 + 0.25 = 0.375 falls below R03 and R12
    assert reason_codes(contributions.assign(**{DPD: 0.125})) == [["R03", "R12", "R01", "R06"]]


def test_a_row_where_nothing_pushes_risk_up_gets_no_codes() -> None:
    contributions = frame([[-0.5, 0.0, -0.25, -1.0, 0.0, -0.125]])
    # every sum is <= 0: a zero contribution is no reason either
    assert reason_codes(contributions) == [[]]


def test_a_feature_that_lowers_risk_offsets_another_of_the_same_code() -> None:
    contributions = frame([[1.0, -0.75, 0.0, 0.25, 0.375, 0.0625],
                           [1.0, -1.0, 0.0, 0.25, 0.0, 0.0]])
    # row 0: R07 = 0.375; R01 = 1 - 0.75 = 0.25 ties R06 = 0.25 -> R01 first; R12 = 0.0625
    # row 1: R01 = 1 - 1 = 0 is no reason; only R06 = 0.25
    assert reason_codes(contributions) == [["R07", "R01", "R06", "R12"], ["R06"]]


def test_top_keeps_only_the_strongest_codes_row_by_row() -> None:
    contributions = frame([[0.5, 0.25, 0.5, 0.125, -0.25, 0.5],
                           [-0.5, 0.0, -0.25, -1.0, 0.0, -0.125],
                           [0.0, 0.0, 0.0, 0.25, 0.0, 0.0]])
    assert reason_codes(contributions, top=2) == [["R01", "R03"], [], ["R06"]]
    assert reason_codes(contributions, top=1) == [["R01"], [], ["R06"]]


def test_shuffled_columns_give_the_same_codes_even_at_a_floating_point_tie() -> None:
    late = ["debtor_days_late_last_all", "debtor_days_late_max_90d", "debtor_days_late_mean_90d"]  # R02
    contributions = frame([[0.3, 0.2, 0.1, 0.1 + 0.2 + 0.3, 0.125]], [*late, ON_TIME, TENURE])
    # R02 adds 0.3 + 0.2 + 0.1, which in floating point is 0.6 in some orders and 0.6000000000000001
    # in others, against R03 = 0.6000000000000001: naive column-order sums would flip the order
    expected = reason_codes(contributions)
    assert expected == [["R03", "R02", "R07"]]
    for columns in itertools.permutations(contributions.columns):
        assert reason_codes(contributions[list(columns)]) == expected


def test_shuffled_columns_give_the_same_codes_over_every_panel_feature() -> None:
    columns = panel_feature_columns()
    rng = np.random.default_rng(7)
    contributions = pd.DataFrame(rng.normal(scale=0.1, size=(200, len(columns))), columns=columns)
    expected = reason_codes(contributions)
    for seed in range(5):
        shuffled = list(np.random.default_rng(seed).permutation(columns))
        assert reason_codes(contributions[shuffled]) == expected


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.lists(st.sampled_from([-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0]), min_size=6, max_size=6),
                       min_size=1, max_size=8),
       top=st.integers(1, 6))
def test_codes_come_from_the_catalogue_once_each_strongest_first(values: list[list[float]], top: int) -> None:
    contributions = frame(values)
    codes = reason_codes(contributions, top=top)
    assert len(codes) == len(values)
    totals = contributions.T.groupby(feature_reason_codes(contributions.columns)).sum().T
    for row, row_codes in zip(totals.itertuples(index=False), codes):
        by_code = row._asdict()
        assert set(row_codes) <= set(REASON_CATALOGUE)
        assert len(row_codes) == len(set(row_codes)) <= top
        assert all(by_code[code] > 0 for code in row_codes)
        ranked = [(-by_code[code], code) for code in row_codes]
        assert ranked == sorted(ranked)
        # nothing left out is stronger than the weakest code kept, and a short list kept every positive code
        left_out = [total for code, total in by_code.items() if code not in row_codes and total > 0]
        if len(row_codes) < top:
            assert left_out == []
        elif left_out:
            assert max(left_out) <= by_code[row_codes[-1]]


def test_codes_from_a_fitted_pd_model_name_what_drives_its_risk() -> None:
    rng = np.random.default_rng(11)

    def rows(n: int) -> tuple[pd.DataFrame, np.ndarray]:
        X = pd.DataFrame({DPD: rng.integers(0, 91, n).astype(float), TENURE: rng.integers(30, 2000, n).astype(float),
                          "buyer_order_count_30d": rng.poisson(3, n).astype(float)})
        logit = -3.0 + 0.04 * X[DPD] - 0.001 * X[TENURE]
        return X, (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)

    X, y = rows(6000)
    Xv, yv = rows(2000)
    model = LightGBMPD(params={"learning_rate": 0.1}, calibration=None).fit(X, y, X_valid=Xv, y_valid=yv)
    firms = pd.DataFrame({DPD: [85.0, 0.0], TENURE: [1900.0, 40.0], "buyer_order_count_30d": [3.0, 3.0]})
    codes = reason_codes(model.contributions(firms), top=1)
    # 85 days past due after years on the platform vs nothing overdue but only 40 days of history
    assert codes == [["R01"], ["R07"]]


# ---------------------------------------------------------------------------------------------
# reason_codes_from_points: the scorecard's points lost against each feature's best bin
# ---------------------------------------------------------------------------------------------


def test_points_lost_rank_codes_like_contributions_do() -> None:
    points_below_best = frame([[20.0, 10.0, 20.0, 5.0, 0.0, 20.0],
                               [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                               [0.0, 0.0, 15.0, 0.0, 40.0, 0.0]])
    # row 0: R01 = 20 + 10 = 30; R03 = 20 ties R12 = 20 -> R03 first; R06 = 5; R07 lost nothing
    # row 1: best bin everywhere, no reasons; row 2: R07 = 40, R03 = 15
    assert reason_codes_from_points(points_below_best) == [["R01", "R03", "R12", "R06"], [], ["R07", "R03"]]
    assert reason_codes_from_points(points_below_best, top=2) == [["R01", "R03"], [], ["R07", "R03"]]


def test_negative_points_below_best_are_refused_by_column() -> None:
    points_below_best = frame([[20.0, 10.0, -5.0, 5.0, 0.0, 20.0]])
    with pytest.raises(ValueError, match=rf"must be >= 0.*\['{ON_TIME}'\]"):
        reason_codes_from_points(points_below_best)


# ---------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("top", [0, -1, 2.5, True, "4"])
def test_top_must_be_a_positive_integer(top: object) -> None:
    with pytest.raises(ValueError, match=r"`top` must be an integer >= 1; got"):
        reason_codes(frame([[0.5] * 6]), top=top)  # type: ignore[arg-type]


def test_missing_contributions_are_refused_by_column() -> None:
    with pytest.raises(ValueError, match=rf"missing values in column\(s\) \['{GROWTH}'\]"):
        reason_codes(frame([[0.5, 0.25, 0.5, np.nan, -0.25, 0.5]]))


def test_a_feature_given_twice_is_refused() -> None:
    with pytest.raises(ValueError, match=rf"duplicated column\(s\) \['{DPD}'\]"):
        reason_codes(frame([[0.5] * 7], [*SIX, DPD]))


# ---------------------------------------------------------------------------------------------
# a reason is cited only when it is true of the firm
# ---------------------------------------------------------------------------------------------

# a firm nothing is wrong with: on the good side of every condition
GOOD_FIRM = {
    "debtor_days_past_due": 0, "debtor_overdue_invoices": 0, "debtor_overdue_value": 0,
    "debtor_days_late_mean_90d": 1.5, "debtor_late_payment_rate_365d": 0.05, "debtor_on_time_rate_365d": 0.95,
    "debtor_partial_payment_rate_365d": 0.0, "debtor_dbt_trend_90d": -0.5, "buyer_gmv_growth_3m": 0.1,
    "buyer_gmv_volatility_12m": 0.2, "tenure_days": 2320.4, "buyer_suppliers_365d": 6,
    "buyer_partners_top_share_365d": 0.3, "buyer_partners_defaulted_365d": 0, "buyer_return_rate_365d": 0.01,
    "supplier_hours_to_ship_mean_365d": None, "buyer_active_months_12m": 12, "buyer_days_since_order_all": 4,
    "industry": "chemicals", "buyer_gmv_365d": 24_000_000, "buyer_order_count_365d": 40, "verified": True,
    "deposit_minor": 500_000, "creditor_on_time_rate_365d": None, "buyer_credit_terms_share_365d": 0.4,
    "debtor_terms_days_mean_365d": 30,
}


def test_every_catalogue_code_declares_when_it_is_true_and_names_only_its_own_features() -> None:
    assert list(REASON_CONDITIONS) == list(REASON_CATALOGUE)
    codes = feature_reason_codes(panel_feature_columns())
    for code, conditions in REASON_CONDITIONS.items():
        for condition in conditions or ():
            assert {codes[name] for name in condition.features} == {code}, (code, condition.features)


def test_a_firm_on_the_good_side_of_every_threshold_is_cited_for_its_profile_only() -> None:
    assert [code for code in REASON_CATALOGUE if true_of_firm(code, GOOD_FIRM)] == ["R12"]


@pytest.mark.parametrize(("changes", "code"), [
    ({"tenure_days": 729.9}, "R07"),
    ({"verified": False}, "R14"),
    ({"deposit_minor": 99_999}, "R14"),
    ({"debtor_days_past_due": 3}, "R01"),
    ({"debtor_on_time_rate_365d": 0.89}, "R03"),
    ({"buyer_gmv_growth_3m": -0.01}, "R06"),
    ({"supplier_hours_to_ship_mean_365d": 142.385}, "R10"),
    ({"buyer_gmv_365d": 4_999_999}, "R13"),
])
def test_one_value_past_its_threshold_makes_its_code_true_and_no_other(changes: dict, code: str) -> None:
    assert [c for c in REASON_CATALOGUE if true_of_firm(c, GOOD_FIRM | changes)] == sorted({code, "R12"})


def test_at_the_threshold_itself_the_code_is_not_cited() -> None:
    assert not true_of_firm("R07", {"tenure_days": 730})
    assert not true_of_firm("R14", {"verified": 1, "deposit_minor": 100_000})
    assert true_of_firm("R14", {"verified": 1, "deposit_minor": 0})  # a buyer with no deposit: a small deposit


def test_a_code_whose_values_are_unknown_is_not_cited() -> None:
    assert not true_of_firm("R07", {})
    assert not true_of_firm("R07", {"tenure_days": None})
    assert not true_of_firm("R07", {"tenure_days": float("nan")})
    assert not true_of_firm("R10", {"supplier_hours_to_ship_mean_365d": None})  # a firm that never sold
    assert true_of_firm("R12", {})  # the profile has no adverse side


def test_a_long_standing_verified_firm_is_not_given_the_short_history_or_unverified_reasons() -> None:
    # the model pushes tenure and verification up for this firm, yet neither text is true of it
    contributions = frame([[0.0, 0.0, 0.0, 0.125, 0.5, 0.0, 0.25, 0.0]], [*SIX, "verified", "deposit_minor"])
    values = pd.DataFrame([GOOD_FIRM | {"buyer_gmv_growth_3m": -0.2}])
    assert reason_codes(contributions) == [["R07", "R14", "R06"]]  # the model's ranking alone
    assert reason_codes(contributions, values=values) == [["R06"]]
    # a two-month-old unverified firm: both texts are true
    young = values.assign(tenure_days=61.0, verified=False)
    assert reason_codes(contributions, values=young) == [["R07", "R14", "R06"]]
    # top counts the codes kept, not the ones dropped
    assert reason_codes(contributions, top=1, values=values) == [["R06"]]


def test_values_of_another_number_of_rows_are_refused() -> None:
    with pytest.raises(ValueError, match="`values` has 2 rows; `contributions` has 1"):
        reason_codes(frame([[0.5] * 6]), values=pd.DataFrame([GOOD_FIRM, GOOD_FIRM]))


if __name__ == "__main__":
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps(golden_table(), indent=2) + "\n")
    print(f"wrote {GOLDEN}")
