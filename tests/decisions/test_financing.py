"""Order and receivables financing quotes under the default policy, worked out by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from credit.decisions import OrderFinancingRequest, ReceivableRequest, quote_order_financing, quote_receivable
from tests.decisions.policies import POLICY


def order(*, buyer_pd="0.004", supplier_pd="0.015", po=1_000_000, tenor=60, confirmed=True, sales=30,
          cancellation=0.0, returns=0.05, disputes=0.0, buyer_exposure=0, supplier_exposure=0, debtor_total=0,
          supplier_total=0) -> OrderFinancingRequest:
    record = {"supplier_sale_count_365d": sales, "supplier_cancellation_rate_365d": cancellation,
              "supplier_return_rate_365d": returns, "supplier_dispute_rate_365d": disputes}
    return OrderFinancingRequest(order_id=11, buyer_id=1, supplier_id=2, po_value_minor=po, tenor_days=tenor,
                                 po_confirmed=confirmed, buyer_pd=Decimal(buyer_pd), supplier_pd=Decimal(supplier_pd),
                                 supplier_record=record, buyer_exposure_minor=buyer_exposure,
                                 supplier_exposure_minor=supplier_exposure, debtor_total_exposure_minor=debtor_total,
                                 supplier_total_exposure_minor=supplier_total)


def codes(quote) -> list[str]:
    return [rule.code for rule in quote.rules_fired]


def test_order_advance_and_fee_from_grades_and_the_supplier_record():
    # buyer B, supplier D: 0.80; return rate 0.05 > 0.03: -0.05 -> 0.75 x 1,000,000 = 750,000.
    # PD = 1 - 0.996 x 0.985 = 0.01894; (0.01894 x 0.45 + 0.08) x 60 / 365 = 0.0145517... -> 0.014552;
    # fee 750,000 x 0.014552 = 10,914.
    quote = quote_order_financing(order(), POLICY)
    assert (quote.outcome, quote.buyer_grade, quote.supplier_grade) == ("approve", "B", "D")
    assert quote.advance_rate == Decimal("0.75")
    assert quote.advance_minor == 750_000
    assert quote.fee_rate == Decimal("0.014552")
    assert quote.fee_minor == 10_914
    assert codes(quote) == ["supplier_record_adjustment"]


def test_every_supplier_record_adjustment_above_its_threshold_deducts():
    # A/A 0.90; cancellations 0.20: -0.05 -0.10; returns 0.10: -0.05 -0.10 -> 0.60; disputes 0.06: -0.05 -> 0.55
    quote = quote_order_financing(order(buyer_pd="0.001", supplier_pd="0.001", cancellation=0.20, returns=0.10,
                                        disputes=0.06), POLICY)
    assert quote.outcome == "approve"
    assert quote.advance_rate == Decimal("0.55")
    assert quote.advance_minor == 550_000
    assert codes(quote).count("supplier_record_adjustment") == 5


def test_an_advance_rate_below_the_minimum_declines():
    # buyer C, supplier F: 0.60; cancellations 0.20: -0.15 -> 0.45 < 0.50
    quote = quote_order_financing(order(buyer_pd="0.006", supplier_pd="0.05", cancellation=0.20, returns=0.0), POLICY)
    assert (quote.outcome, quote.advance_minor, quote.fee_minor) == ("decline", 0, 0)
    assert codes(quote)[0] == "advance_rate_below_minimum"


def test_a_grade_pair_outside_the_table_is_not_financed():
    quote = quote_order_financing(order(buyer_pd="0.10"), POLICY)
    assert quote.outcome == "decline" and codes(quote) == ["grade_pair_not_financed", "supplier_record_adjustment"]


@pytest.mark.parametrize("overrides, code", [
    ({"confirmed": False}, "po_not_confirmed"),
    ({"tenor": 121}, "tenor_too_long"),
    ({"sales": 5}, "supplier_track_record_short"),
])
def test_an_order_is_refused_for(overrides, code):
    quote = quote_order_financing(order(**overrides), POLICY)
    assert quote.outcome == "decline" and codes(quote)[0] == code
    assert quote.advance_minor == 0


def test_the_advance_is_cut_to_the_buyers_remaining_exposure_cap():
    # cap 50,000,000 - 49,800,000 = 200,000 < 750,000
    quote = quote_order_financing(order(buyer_exposure=49_800_000), POLICY)
    assert (quote.outcome, quote.advance_minor) == ("approve", 200_000)
    assert codes(quote) == ["supplier_record_adjustment", "buyer_exposure_cap"]
    assert quote.fee_minor == 2_910  # 200,000 x 0.014552 = 2,910.4


def test_too_little_room_under_the_suppliers_exposure_cap_declines():
    # cap 200,000,000 - 199,950,000 = 50,000 < the minimum advance 100,000
    quote = quote_order_financing(order(supplier_exposure=199_950_000), POLICY)
    assert quote.outcome == "decline"
    assert codes(quote) == ["advance_below_minimum", "supplier_record_adjustment", "supplier_exposure_cap"]


def test_a_buyer_whose_credit_line_fills_its_debtor_cap_gets_only_the_rest():
    # buyer B: one-exposure cap 120,000,000; its line counts at its limit 100,000,000, plus 19,500,000 of
    # order advances it owes = 119,500,000 -> headroom 500,000 < 750,000 (its order-financing exposure
    # 19,500,000 is under the product cap 50,000,000). Fee 500,000 x 0.014552 = 7,276.
    quote = quote_order_financing(order(buyer_exposure=19_500_000, debtor_total=119_500_000), POLICY)
    assert (quote.outcome, quote.advance_minor, quote.fee_minor) == ("approve", 500_000, 7_276)
    assert codes(quote) == ["supplier_record_adjustment", "debtor_concentration_cap"]
    assert quote.rules_fired[-1].detail == ("advance 750000 > all products, grade B: cap 120000000 - exposure "
                                            "119500000 = 500000")


def test_the_advance_is_cut_to_the_suppliers_remaining_concentration_cap():
    # supplier D: cap 100,000,000 - 99,400,000 (its invoices' advances and loans) = 600,000 < 750,000;
    # fee 600,000 x 0.014552 = 8,731.2 -> 8,731
    quote = quote_order_financing(order(supplier_total=99_400_000), POLICY)
    assert (quote.outcome, quote.advance_minor, quote.fee_minor) == ("approve", 600_000, 8_731)
    assert codes(quote) == ["supplier_record_adjustment", "supplier_concentration_cap"]


def test_the_product_cap_then_the_concentration_cap_each_cut_and_each_says_so():
    # product cap: 50,000,000 - 49,800,000 = 200,000; then the buyer's whole exposure 119,900,000 leaves
    # 120,000,000 - 119,900,000 = 100,000, exactly the minimum advance: approved; fee 1,455.2 -> 1,455
    quote = quote_order_financing(order(buyer_exposure=49_800_000, debtor_total=119_900_000), POLICY)
    assert (quote.outcome, quote.advance_minor, quote.fee_minor) == ("approve", 100_000, 1_455)
    assert codes(quote) == ["supplier_record_adjustment", "buyer_exposure_cap", "debtor_concentration_cap"]


def test_too_little_room_under_the_buyers_debtor_cap_declines():
    # 120,000,000 - 119,950,000 = 50,000 < 100,000
    quote = quote_order_financing(order(debtor_total=119_950_000), POLICY)
    assert (quote.outcome, quote.advance_minor) == ("decline", 0)
    assert codes(quote) == ["advance_below_minimum", "supplier_record_adjustment", "debtor_concentration_cap"]
    assert quote.next_actions == ("contact_finance",)


def test_a_short_order_pays_the_floor_fee():
    # A/A: PD 1 - 0.999^2 = 0.001999; (0.001999 x 0.45 + 0.08) x 10 / 365 = 0.002216 < 0.005
    quote = quote_order_financing(order(buyer_pd="0.001", supplier_pd="0.001", returns=0.0, tenor=10), POLICY)
    assert (quote.advance_minor, quote.fee_rate, quote.fee_minor) == (900_000, Decimal("0.005"), 4_500)
    assert codes(quote) == ["fee_at_floor"]


AS_OF = date(2026, 11, 1)


def invoice(*, outstanding=500_000, issued=date(2026, 10, 1), due=date(2026, 12, 1), as_of=AS_OF, disputed=False,
            financed=False, pd="0.03", return_rate=0.04, exposure=0, debtor_total=0, creditor_pd=None,
            supplier_total=0) -> ReceivableRequest:
    return ReceivableRequest(invoice_id=5, creditor_id=2, debtor_id=1, outstanding_minor=outstanding, issued_on=issued,
                             due_on=due, as_of=as_of, disputed=disputed, already_financed=financed,
                             debtor_pd=Decimal(pd), debtor_return_rate=return_rate, debtor_exposure_minor=exposure,
                             debtor_total_exposure_minor=debtor_total,
                             creditor_pd=None if creditor_pd is None else Decimal(creditor_pd),
                             supplier_total_exposure_minor=supplier_total)


def test_receivable_advance_after_dilution_reserve_and_risk_haircut():
    # debtor E; reserve 1.5 x 0.04 = 0.06; haircut 0.04; 0.90 - 0.06 - 0.04 = 0.80 x 500,000 = 400,000.
    # tenor 30 days to due + 10 = 40; (0.03 x 0.45 + 0.06) x 40 / 365 = 0.0080548 -> 0.008055; fee 3,222.
    quote = quote_receivable(invoice(), POLICY)
    assert quote.eligible and quote.outcome == "approve"
    assert (quote.debtor_grade, quote.dilution_reserve_rate, quote.risk_haircut_rate) == ("E", Decimal("0.06"),
                                                                                          Decimal("0.04"))
    assert quote.advance_rate == Decimal("0.80")
    assert (quote.advance_minor, quote.tenor_days, quote.fee_rate, quote.fee_minor) == (400_000, 40,
                                                                                        Decimal("0.008055"), 3_222)
    assert codes(quote) == ["dilution_reserve", "risk_haircut"]


def test_a_debtor_without_return_history_gets_the_minimum_reserve():
    quote = quote_receivable(invoice(pd="0.001", return_rate=None), POLICY)
    assert (quote.dilution_reserve_rate, quote.risk_haircut_rate, quote.advance_rate) == (
        Decimal("0.02"), Decimal("0"), Decimal("0.88"))
    assert quote.advance_minor == 440_000


def test_the_dilution_reserve_is_capped():
    quote = quote_receivable(invoice(return_rate=0.5), POLICY)  # 0.75 -> 0.25
    assert quote.dilution_reserve_rate == Decimal("0.25")
    assert quote.advance_rate == Decimal("0.61")  # 0.90 - 0.25 - 0.04


@pytest.mark.parametrize("overrides, reason", [
    ({"financed": True}, "invoice_already_financed"),
    ({"outstanding": 0}, "invoice_not_outstanding"),
    ({"as_of": date(2026, 12, 2), "issued": date(2026, 11, 1)}, "invoice_overdue"),
    ({"disputed": True}, "invoice_disputed"),
    ({"issued": date(2026, 8, 2)}, "invoice_too_old"),  # 91 days before 1 November
    ({"pd": "0.08"}, "debtor_grade_too_low"),  # G, worse than F
])
def test_an_invoice_is_not_eligible_when(overrides, reason):
    quote = quote_receivable(invoice(**overrides), POLICY)
    assert quote.outcome == "decline" and not quote.eligible
    assert quote.eligibility_reasons == (reason,)
    assert quote.reason_codes[0] == reason
    assert (quote.advance_minor, quote.fee_minor) == (0, 0)


def test_an_invoice_on_its_due_date_and_exactly_at_the_maximum_age_is_eligible():
    quote = quote_receivable(invoice(issued=date(2026, 8, 3), due=AS_OF), POLICY)  # 90 days old, due today
    assert quote.eligible and quote.tenor_days == 10


def test_every_eligibility_reason_that_applies_is_reported_in_order():
    quote = quote_receivable(invoice(financed=True, disputed=True, issued=date(2026, 1, 1), due=date(2026, 2, 1),
                                     pd="0.5"), POLICY)
    assert quote.eligibility_reasons == ("invoice_already_financed", "invoice_overdue", "invoice_disputed",
                                         "invoice_too_old", "debtor_grade_too_low")
    assert quote.next_actions == ("finance_another_invoice", "resolve_dispute")


def test_the_advance_is_cut_to_the_debtors_remaining_concentration_cap():
    # E cap 25,000,000 - 24,900,000 = 100,000 < 400,000
    quote = quote_receivable(invoice(exposure=24_900_000), POLICY)
    assert (quote.outcome, quote.advance_minor) == ("approve", 100_000)
    assert codes(quote)[-1] == "debtor_concentration_cap"
    assert quote.fee_minor == 806  # 100,000 x 0.008055 = 805.5, half up


def test_a_debtor_at_its_concentration_cap_gets_nothing():
    quote = quote_receivable(invoice(exposure=25_000_000), POLICY)
    assert quote.outcome == "decline" and quote.eligible  # eligible invoice, no room left
    assert codes(quote)[0] == "advance_below_minimum" and "debtor_concentration_cap" in codes(quote)


def test_a_debtor_whose_credit_line_fills_its_debtor_cap_gets_only_the_rest():
    # debtor E: one-exposure cap 35,000,000; line at its limit 20,000,000 + 14,800,000 of order advances it
    # owes = 34,800,000 -> headroom 200,000 < 400,000 (no financed receivables: the product cap 25,000,000
    # leaves all of it). Fee 200,000 x 0.008055 = 1,611.
    quote = quote_receivable(invoice(debtor_total=34_800_000), POLICY)
    assert (quote.outcome, quote.advance_minor, quote.fee_minor) == ("approve", 200_000, 1_611)
    assert codes(quote) == ["dilution_reserve", "risk_haircut", "debtor_concentration_cap"]
    assert "all products, grade E: cap 35000000" in quote.rules_fired[-1].detail


def test_the_receivables_cap_then_the_debtors_whole_exposure_each_cut():
    # receivables cap E: 25,000,000 - 24,900,000 = 100,000; whole exposure 35,000,000 - 34,950,000 = 50,000,
    # exactly the minimum advance: approved; fee 50,000 x 0.008055 = 402.75 -> 403. The code is reported once.
    quote = quote_receivable(invoice(exposure=24_900_000, debtor_total=34_950_000), POLICY)
    assert (quote.outcome, quote.advance_minor, quote.fee_minor) == ("approve", 50_000, 403)
    assert codes(quote) == ["dilution_reserve", "risk_haircut", "debtor_concentration_cap", "debtor_concentration_cap"]
    assert quote.reason_codes == ("dilution_reserve", "risk_haircut", "debtor_concentration_cap")


def test_the_advance_is_cut_to_the_creditors_remaining_supplier_cap():
    # creditor PD 0.015 -> D: cap 100,000,000 - 99,750,000 = 250,000 < 400,000; fee 250,000 x 0.008055
    # = 2,013.75 -> 2,014
    quote = quote_receivable(invoice(creditor_pd="0.015", supplier_total=99_750_000), POLICY)
    assert (quote.outcome, quote.advance_minor, quote.fee_minor) == ("approve", 250_000, 2_014)
    assert codes(quote) == ["dilution_reserve", "risk_haircut", "supplier_concentration_cap"]
    full = quote_receivable(invoice(creditor_pd="0.015", supplier_total=99_600_000), POLICY)  # 400,000 fits exactly
    assert (full.advance_minor, codes(full)) == (400_000, ["dilution_reserve", "risk_haircut"])


def test_a_creditor_at_its_supplier_cap_gets_nothing_and_is_told_why():
    # creditor PD 0.05 -> F: cap 20,000,000, all used
    quote = quote_receivable(invoice(creditor_pd="0.05", supplier_total=20_000_000), POLICY)
    assert quote.outcome == "decline" and quote.eligible
    assert codes(quote) == ["advance_below_minimum", "dilution_reserve", "risk_haircut", "supplier_concentration_cap"]


def test_decisions_recorded_before_the_one_exposure_caps_replay_unchanged():
    # their stored inputs lack the new fields: the totals read as 0 and an unknown creditor grade checks no
    # supplier cap, so the same quote comes back
    from credit.audit.kinds import KINDS

    spec = KINDS["receivable_financing"]
    stored = spec.inputs_json(invoice(exposure=24_900_000))
    for name in ("debtor_total_exposure_minor", "creditor_pd", "supplier_total_exposure_minor"):
        del stored[name]
    old = spec.inputs_from_json(stored)
    assert (old.debtor_total_exposure_minor, old.creditor_pd, old.supplier_total_exposure_minor) == (0, None, 0)
    assert quote_receivable(old, POLICY) == quote_receivable(invoice(exposure=24_900_000), POLICY)
    assert quote_receivable(old, POLICY).advance_minor == 100_000
    orders = KINDS["order_financing"]
    stored = orders.inputs_json(order())
    del stored["debtor_total_exposure_minor"], stored["supplier_total_exposure_minor"]
    assert quote_order_financing(orders.inputs_from_json(stored), POLICY) == quote_order_financing(order(), POLICY)


@pytest.mark.parametrize("field", ["debtor_total_exposure_minor", "supplier_total_exposure_minor"])
def test_a_negative_total_exposure_is_refused(field):
    with pytest.raises(ValueError, match=field):
        OrderFinancingRequest(order_id=1, buyer_id=1, supplier_id=2, po_value_minor=1, tenor_days=1, po_confirmed=True,
                              buyer_pd=Decimal("0.01"), supplier_pd=Decimal("0.01"), supplier_record={}, **{field: -1})
