"""Each early-warning rule on a tiny hand-built case: who is flagged, who is not, and the numbers behind it."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from credit.monitoring.config import load_monitoring_config
from credit.monitoring.early_warning import (
    EarlyWarningInputs,
    arrears_approaching,
    dbt_rising,
    early_warnings,
    grade_drop,
    new_overdue,
    partner_default,
    utilisation_high,
)
from credit.monitoring.results import WARNING_REASONS
from credit.policy import default_policy

AS_OF = date(2025, 6, 1)
POLICY = default_policy()  # master scale A < .0025 <= B < .005 <= C < .01 <= D < .02 <= E < .04 <= F ...
T = pd.Timestamp


def _unpaid(rows: list[tuple[int, int, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["invoice_id", "buyer_id", "due_at", "unpaid_minor"]).astype(
        {"due_at": "datetime64[us]"})


def _features(rows: dict[int, tuple[float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame.from_dict(rows, orient="index", columns=[
        "debtor_dbt_trend_90d", "debtor_days_beyond_terms_mean_90d", "debtor_days_past_due"])


def _lines(rows: list[tuple[int, int, int, int, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["firm_id", "limit_minor", "posted_minor", "pending_minor", "status"])


def test_grade_drop_needs_two_notches():
    before = pd.Series({1: 0.003, 2: 0.003, 3: 0.05, 4: 0.001})
    now = pd.Series({1: 0.012, 2: 0.006, 3: 0.002, 5: 0.5})
    # firm 1: B (0.003) -> D (0.012), two notches; firm 2: B -> C, one; firm 3 improved;
    # firm 4 is not scored now and firm 5 was not scored before: neither can be compared
    flags = grade_drop(now, before, POLICY.grades_of, POLICY.grades, notches=2)
    assert flags == {1: {"grade_before": "B", "grade_now": "D", "notches": 2, "pd_before": 0.003, "pd_now": 0.012}}


def test_new_overdue_is_an_invoice_crossing_the_grace_days_within_the_lookback():
    unpaid = _unpaid([
        (10, 1, "2025-05-01", 5_000),   # 31 days past due on 2025-06-01, 1 on May 2 (t - 30 days): new
        (11, 1, "2025-04-03", 7_000),   # 59 days now, 29 on May 2: new
        (12, 2, "2025-04-02", 9_000),   # 60 days now, already 30 on May 2: old arrears, not new
        (13, 3, "2025-05-03", 1_000),   # 29 days: not yet 30 days past due
    ])
    flags = new_overdue(unpaid, AS_OF, grace_days=30, lookback_days=30)
    assert flags == {1: {"invoices": 2, "unpaid_minor": 12_000, "max_days_past_due": 59}}


def test_dbt_rising_reads_the_trend_feature():
    features = _features({1: (12.5, 20.0, 0), 2: (9.99, 30.0, 0), 3: (np.nan, np.nan, 0), 4: (-15.0, 2.0, 0)})
    assert dbt_rising(features, min_rise_days=10.0) == {1: {"dbt_rise_days": 12.5, "dbt_mean_90d_days": 20.0}}


def test_partner_default_needs_a_large_share_and_a_recent_first_event():
    trade = pd.DataFrame([
        (1, 100, 300), (1, 101, 700),   # firm 1: partner 100 is 30% of its trade
        (2, 100, 100), (2, 102, 900),   # firm 2: partner 100 is 10%: too small
        (3, 103, 500), (3, 104, 500),   # firm 3: partner 103 is 50% but defaulted long ago
    ], columns=["firm_id", "partner_id", "trade_minor"])
    events = pd.DataFrame([(100, T("2025-04-15"), "default_90dpd"), (103, T("2024-01-10"), "insolvency"),
                           (105, T("2025-06-01"), "insolvency")],  # 105: on the as-of day itself, not before it
                          columns=["firm_id", "occurred_at", "kind"])
    flags = partner_default(trade, events, AS_OF, min_share=0.2, lookback_days=90)
    assert flags == {1: {"partner_id": 100, "share": 0.3, "trade_minor": 300, "event_at": "2025-04-15",
                         "event_kind": "default_90dpd", "partners": 1}}


def test_arrears_approaching_is_a_late_payer_with_a_line_and_an_invoice_about_to_cross_the_block():
    # the policy's checkout blocks at more than 0 days past due: an invoice due May 31 is blocked from June 1
    unpaid = _unpaid([
        (20, 1, "2025-06-10", 4_000),   # due in 9 days: blocked from June 11, within 14 days
        (21, 2, "2025-06-10", 4_000),   # the same, but firm 2 pays on time lately
        (22, 3, "2025-06-10", 4_000),   # the same, but firm 3 has no line
        (23, 4, "2025-06-30", 4_000),   # due in 29 days: beyond the horizon
        (24, 5, "2025-06-05", 4_000),   # firm 5 is already blocked (an invoice 12 days past due)
    ])
    features = _features({1: (0, 6.0, 0), 2: (0, 0.0, 0), 3: (0, 6.0, 0), 4: (0, 6.0, 0), 5: (0, 6.0, 12)})
    lines = _lines([(1, 10_000, 0, 0, "active"), (2, 10_000, 0, 0, "active"), (4, 10_000, 0, 0, "active"),
                    (5, 10_000, 0, 0, "active")])
    flags = arrears_approaching(unpaid, features, lines, AS_OF, block_days=0, horizon_days=14)
    assert flags == {1: {"invoices": 1, "unpaid_minor": 4_000, "blocked_from": "2025-06-11",
                         "dbt_mean_90d_days": 6.0, "block_after_days": 0}}


def test_utilisation_high_counts_posted_and_held_exposure_of_open_lines():
    lines = _lines([
        (1, 100_000, 60_000, 30_000, "active"),   # 90%: flagged
        (2, 100_000, 89_999, 0, "active"),        # 89.999%: not
        (3, 100_000, 95_000, 0, "closed"),        # closed lines are not watched
        (4, 0, 0, 0, "frozen"),                   # no limit
        (5, 50_000, 50_000, 0, "frozen"),         # frozen still owes: flagged
    ])
    flags = utilisation_high(lines, min_share=0.9)
    assert flags == {1: {"limit_minor": 100_000, "posted_minor": 60_000, "pending_minor": 30_000, "utilisation": 0.9},
                     5: {"limit_minor": 50_000, "posted_minor": 50_000, "pending_minor": 0, "utilisation": 1.0}}


def test_the_list_keeps_scored_firms_orders_reasons_and_puts_most_reasons_first():
    config = load_monitoring_config().early_warning
    inputs = EarlyWarningInputs(
        as_of=AS_OF,
        pd_now=pd.Series({1: 0.012, 2: 0.001}), pd_before=pd.Series({1: 0.003, 2: 0.001}),
        features=_features({1: (15.0, 20.0, 0), 2: (0, 0, 0), 3: (11.0, 1.0, 0)}),
        unpaid=_unpaid([(30, 2, "2025-05-01", 100)]),
        trade=pd.DataFrame(columns=["firm_id", "partner_id", "trade_minor"]),
        first_events=pd.DataFrame(columns=["firm_id", "occurred_at", "kind"]),
        lines=_lines([(1, 1_000, 950, 0, "active"), (9, 1_000, 1_000, 0, "active")]))  # 9: not scored now
    listed = early_warnings(inputs, config, grades_of=POLICY.grades_of, grade_order=POLICY.grades,
                            block_days=POLICY.checkout.max_days_past_due)
    assert [(w.firm_id, w.reasons) for w in listed] == [
        (1, ("grade_drop", "dbt_rising", "utilisation_high")), (2, ("new_overdue",)), (3, ("dbt_rising",))]
    assert set(listed[0].details) == {"grade_drop", "dbt_rising", "utilisation_high"}


def test_every_reason_code_has_plain_language_text():
    assert list(WARNING_REASONS) == ["grade_drop", "new_overdue", "dbt_rising", "partner_default",
                                     "arrears_approaching", "utilisation_high"]
    assert all(text.endswith(".") and len(text.split()) >= 8 for text in WARNING_REASONS.values())


@pytest.mark.parametrize("code", ["grade_drop", "utilisation_high"])
def test_an_unknown_reason_code_cannot_be_stored(code: str):
    from credit.monitoring.results import ordered_reasons

    assert ordered_reasons([code]) == (code,)
    with pytest.raises(ValueError, match="unknown early-warning reason code"):
        ordered_reasons([code, "vibes"])
