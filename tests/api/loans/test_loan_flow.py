"""A transaction-flow loan from its offer to its payoff, at fixed clocks, every amount worked by hand (both stores).

The seller's worked history (:func:`tests.financing.loan_factories.seller_with_history`): trailing
sales 125,000.00, 12 active months, CV 0.2, grade C. Offer (as of 2027-03-15): 12,500.00, fee
750.00, minimum 2,208.34 in every 60 days, withholding 12 %, valid to 2027-03-22.

Accepted for 10,000.00 on 2027-03-16 (the value date): fee 750.00 x 10,000 / 12,500 = 600.00,
minimum ceil(10,600.00 / 6) = 1,766.67. Period ends: 2027-05-15 (1,766.67 due), 2027-07-14
(3,533.34), 2027-09-12 (5,300.01), ...

Sales withheld at 12 %: 5,000.00 -> 600.00 (2027-03-16), 3,333.33 -> 399.9996, half up 400.00
(2027-04-10), 10,000.00 -> 1,200.00 (2027-05-01): 2,200.00 by 2027-05-15 >= 1,766.67. Then
5,000.00 -> 600.00 (2027-06-01): 2,800.00 by 2027-07-14 < 3,533.34: overdue, its missed-minimum
date 2027-03-16 + (2,800.00 // 1,766.67 + 1) x 60 days = 2027-07-14, short 733.34; the firm is 1
day past due at checkout on 2027-07-15. 7,000.00 -> 840.00 (2027-07-20): 3,640.00 >= 3,533.34,
cured. Payoff on 2027-07-21: principal 10,000.00 - 3,640.00 = 6,360.00 (sales repay principal
first) plus the flat fee 600.00: 6,960.00.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.checkout.service import buyer_state
from credit import clock
from credit.audit import replay
from credit.audit.tables import DecisionRecord
from credit.financing import loans
from credit.financing.offers import run_offers
from credit.financing.tables import Financing, FinancingEntry
from credit.policy import default_policy
from credit.standing import sql as standing
from tests.financing import loan_factories as factories
from tests.financing.loan_factories import AS_OF, seller_with_history

POLICY = default_policy()


def _run_day(store, day: date) -> dict[str, int]:  # noqa: ANN001
    with clock.frozen(datetime.combine(day, datetime.min.time()).replace(hour=23, minute=30)), \
            Session(store) as session, session.begin():
        return loans.run_day(session, day, POLICY)


def _sale(store, seller: int, buyer: int, amount: int, at: datetime) -> None:  # noqa: ANN001
    with Session(store) as session, session.begin():
        factories.sale(session, seller, buyer, amount, at)


def test_a_loan_offered_accepted_withheld_overdue_caught_up_and_paid_off(store, loans_client, loans_keys):
    http, keys = loans_client, loans_keys
    with Session(store) as session, session.begin():
        seller, buyer = seller_with_history(session)
    with clock.frozen(datetime(2027, 3, 16, 0, 30)), Session(store) as session, session.begin():
        assert run_offers(session, AS_OF, POLICY)["offered"] == 1

    with clock.frozen(datetime(2027, 3, 16, 10)):
        got = http.get(f"/v1/firms/{seller}/loan-offers", headers=keys["checkout"])
        assert got.status_code == 200, got.text
        [offer] = got.json()["offers"]
        assert {k: offer[k] for k in ("trailing_sales", "amount", "fee", "withholding_rate", "minimum", "period_days",
                                      "periods", "expires_on")} == {
            "trailing_sales": "125000.00", "amount": "12500.00", "fee": "750.00", "withholding_rate": "0.12",
            "minimum": "2208.34", "period_days": 60, "periods": 6, "expires_on": "2027-04-14"}
        assert got.json()["reason_codes"] == []
        path = f"/v1/loan-offers/{offer['offer_id']}/acceptances"
        assert http.post(path, json={"amount": "10000.00"}, headers=keys["checkout"]).status_code == 400  # no key
        assert http.post(path, json={"amount": "10000.00"}, headers=keys["payments"] | {"Idempotency-Key": "x"}
                         ).status_code == 403
        above = http.post(path, json={"amount": "12500.01"}, headers=keys["checkout"] | {"Idempotency-Key": "a0"})
        assert (above.status_code, above.json()["error"]["code"]) == (409, "amount_above_offer")
        accepted = http.post(path, json={"amount": "10000.00"}, headers=keys["checkout"] | {"Idempotency-Key": "a1"})
        assert accepted.status_code == 201, accepted.text
        loan = accepted.json()
        assert {k: loan[k] for k in ("status", "amount", "fee", "withholding_rate", "minimum", "period_days",
                                     "value_date", "principal_outstanding", "fee_owed", "repaid")} == {
            "status": "paid_out", "amount": "10000.00", "fee": "600.00", "withholding_rate": "0.12",
            "minimum": "1766.67", "period_days": 60, "value_date": "2027-03-16", "principal_outstanding": "10000.00",
            "fee_owed": "600.00", "repaid": "0.00"}
        replayed = http.post(path, json={"amount": "10000.00"}, headers=keys["checkout"] | {"Idempotency-Key": "a1"})
        assert replayed.headers.get("Idempotent-Replayed") == "true" and replayed.json() == loan
        again = http.post(path, json={}, headers=keys["finance"] | {"Idempotency-Key": "a2"})
        assert (again.status_code, again.json()["error"]["code"]) == (409, "offer_already_accepted")
        after = http.get(f"/v1/firms/{seller}/loan-offers", headers=keys["analyst"]).json()
        assert after["offers"] == [] and [r["code"] for r in after["reason_codes"]] == ["loan_already_open"]
    loan_id = loan["loan_id"]

    _sale(store, seller, buyer, 500_000, datetime(2027, 3, 16, 15))
    _sale(store, seller, buyer, 333_333, datetime(2027, 4, 10, 12))
    _sale(store, seller, buyer, 1_000_000, datetime(2027, 5, 1, 9))
    _sale(store, buyer, seller, 4_000_000, datetime(2027, 5, 2, 9))  # the seller paying as a buyer: not withheld
    assert _run_day(store, date(2027, 5, 15)) == {"withheld": 3, "withheld_minor": 220_000}
    assert _run_day(store, date(2027, 5, 15)) == {}  # a re-run books nothing

    _sale(store, seller, buyer, 500_000, datetime(2027, 6, 1, 9))
    assert _run_day(store, date(2027, 7, 14)) == {"withheld": 1, "withheld_minor": 60_000, "overdue": 1,
                                                  "decisions": 1}
    assert _run_day(store, date(2027, 7, 14)) == {}
    checkout_at = datetime(2027, 7, 15, 10)
    with Session(store) as session:
        assert session.get(Financing, loan_id).status == "overdue"
        assert standing.firm_days_past_due(session, seller, checkout_at) == 1
        assert standing.firm_standing(session, seller, checkout_at) == standing.FirmStanding(1, 73_334, 1)
        assert buyer_state(session, seller, checkout_at).days_past_due == 1  # checkout's own read: in arrears
        step = session.execute(select(DecisionRecord).where(DecisionRecord.kind == "loan_step")).scalar_one()
        assert step.reason_codes == ["loan_minimum_missed"] and step.result["missed_on"] == "2027-07-14"
        assert step.result["required_minor"] == 353_334

    _sale(store, seller, buyer, 700_000, datetime(2027, 7, 20, 9))
    assert _run_day(store, date(2027, 7, 20)) == {"withheld": 1, "withheld_minor": 84_000, "cured": 1,
                                                  "decisions": 1}
    with Session(store) as session:
        assert session.get(Financing, loan_id).status == "paid_out"
        assert standing.firm_days_past_due(session, seller, datetime(2027, 7, 21, 10)) == 0

    with clock.frozen(datetime(2027, 7, 21, 10)):
        payoff = http.get(f"/v1/loans/{loan_id}/payoff", headers=keys["checkout"])
        assert payoff.json() == {"loan_id": loan_id, "as_of": "2027-07-21", "status": "paid_out",
                                 "principal": "6360.00", "fee": "600.00", "total": "6960.00"}
        repay = f"/v1/loans/{loan_id}/repayments"
        assert http.post(repay, json={"amount": "6960.00", "reference": "P-1"}, headers=keys["checkout"] |
                         {"Idempotency-Key": "r0"}).status_code == 403
        too_much = http.post(repay, json={"amount": "6960.01", "reference": "P-1"},
                             headers=keys["payments"] | {"Idempotency-Key": "r1"})
        assert (too_much.status_code, too_much.json()["error"]["code"]) == (409, "amount_exceeds_owed")
        part = http.post(repay, json={"amount": "960.00", "reference": "P-1"},
                         headers=keys["payments"] | {"Idempotency-Key": "r2"})
        assert part.status_code == 201 and part.json()["principal_outstanding"] == "5400.00"
        twice = http.post(repay, json={"amount": "10.00", "reference": "P-1"},
                          headers=keys["payments"] | {"Idempotency-Key": "r3"})
        assert (twice.status_code, twice.json()["error"]["code"]) == (409, "duplicate_reference")
        paid = http.post(repay, json={"amount": "6000.00", "reference": "P-2"},
                         headers=keys["payments"] | {"Idempotency-Key": "r4"})
        assert paid.status_code == 201, paid.text
        assert {k: paid.json()[k] for k in ("status", "principal_outstanding", "fee_owed", "repaid")} == {
            "status": "settled", "principal_outstanding": "0.00", "fee_owed": "0.00", "repaid": "10600.00"}
        closed = http.post(repay, json={"amount": "1.00", "reference": "P-3"},
                           headers=keys["payments"] | {"Idempotency-Key": "r5"})
        assert (closed.status_code, closed.json()["error"]["code"]) == (409, "financing_closed")
        assert http.get("/v1/loans/999999/payoff", headers=keys["finance"]).json()["error"]["code"] == "loan_not_found"
        assert http.get("/v1/loan-offers/1/payoff", headers=keys["finance"]).status_code == 404
        missing = http.post("/v1/loan-offers/999999/acceptances", json={},
                            headers=keys["finance"] | {"Idempotency-Key": "m"})
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, "loan_offer_not_found")

    _sale(store, seller, buyer, 1_000_000, datetime(2027, 8, 1, 9))
    assert _run_day(store, date(2027, 8, 1)) == {}  # settled: later sales are the seller's own
    with Session(store) as session:
        sums = dict(((kind, part), int(total)) for kind, part, total in session.execute(
            select(FinancingEntry.kind, FinancingEntry.part, func.sum(FinancingEntry.amount_minor))
            .where(FinancingEntry.financing_id == loan_id).group_by(FinancingEntry.kind, FinancingEntry.part)))
        # withheld 600 + 400 + 1,200 + 600 + 840 = 3,640.00, then 960.00 and 6,000.00: principal 10,000.00, fee 600.00
        assert sums == {("payout", "principal"): 1_000_000, ("fee", "fee"): 60_000,
                        ("collection", "principal"): 1_000_000, ("collection", "fee"): 60_000}
        for decision_id in session.execute(select(DecisionRecord.decision_id).where(
                DecisionRecord.kind.in_(("loan_offer", "loan_step")))).scalars():
            assert replay(session, decision_id).same
