"""Every status a financing takes is announced once, from the journal that sets it; loan offers when made.

The order advance of tests/financing/test_order_lifecycle.py: 10,000.00 on a 12,000.00 order at
a yearly 12 %, paid out 2027-03-01, invoiced 03-10, paid 4,000.00 on 03-21 and 8,000.00 on
04-10: settled. A loan offer from the worked sales history of tests/financing/loan_factories.py:
12,500.00, fee 750.00, withholding 0.12, minimum 2,208.34 every 60 days.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from credit import clock
from credit.financing import journal, loans
from credit.financing.offers import run_offers
from credit.financing.orders import run_day
from credit.financing.tables import Financing, LoanOffer
from credit.policy import default_policy
from credit.store.tables import Order
from tests.events.recorded import one, types, written
from tests.financing.factories import make_order, make_parties, pay_invoice, ship_and_invoice
from tests.financing.loan_factories import AS_OF, seller_with_history

POLICY = default_policy()
T0 = datetime(2027, 3, 1, 9, 0)


def _approve(session: Session, order_id: int, advance_minor: int) -> Financing:
    """The booking of an approved quote, as the API writes it (:func:`credit.financing.journal.add`)."""
    order = session.get(Order, order_id)
    return journal.add(session, Financing(
        kind="order", decision_id=f"quote-{order_id}", supplier_id=order.supplier_id, buyer_id=order.buyer_id,
        order_id=order_id, face_minor=order.amount_minor, advance_minor=advance_minor, fee_minor=0,
        annual_rate="0.12", recourse=True, tenor_days=60, due_on=date(2027, 4, 30), status="approved", actor="test",
        created_at=T0, updated_at=T0))


def _day(session: Session, day: date) -> None:
    with clock.frozen(datetime.combine(day, datetime.min.time()).replace(hour=18)):
        run_day(session, day, POLICY)


def test_an_order_advance_announces_approved_paid_out_invoiced_and_settled(session):
    buyer, supplier = make_parties(session)
    order = make_order(session, buyer, supplier, 1_200_000, at=T0)
    financing = _approve(session, order, 1_000_000)
    journal.pay_out(session, financing.financing_id, reference="PAY-1", value_date=date(2027, 3, 1), actor="payments",
                    now=T0 + timedelta(hours=1))
    invoice = ship_and_invoice(session, order, 1_200_000, at=datetime(2027, 3, 10, 10, 0))
    _day(session, date(2027, 3, 10))
    _day(session, date(2027, 3, 10))  # again: nothing new
    pay_invoice(session, invoice, 400_000, at=datetime(2027, 3, 21, 14, 0))
    pay_invoice(session, invoice, 800_000, at=datetime(2027, 4, 10, 8, 30))
    _day(session, date(2027, 3, 25))  # collects 4,000.00: no change of status
    _day(session, date(2027, 4, 10))
    _day(session, date(2027, 4, 10))

    events = written(session, "financing.changed")
    assert [(e.data["previous_status"], e.data["status"]) for e in events] == [
        (None, "approved"), ("approved", "paid_out"), ("paid_out", "invoiced"), ("invoiced", "settled")]
    assert {(e.object_type, e.object_id, e.firm_id) for e in events} == {
        ("financing", str(financing.financing_id), supplier)}
    approved, paid_out, invoiced, settled = events
    assert approved.data == {
        "financing_id": financing.financing_id, "kind": "order", "status": "approved", "previous_status": None,
        "decision_id": f"quote-{order}", "supplier_id": supplier, "buyer_id": buyer, "order_id": order,
        "invoice_id": None, "offer_id": None, "recourse": True, "due_on": "2027-04-30", "value_date": None,
        "payout_reference": None, "currency": "EUR", "advance": "10000.00", "paid_out": "0.00",
        "outstanding": "0.00", "fee_owed": "0.00", "written_off": "0.00"}
    assert approved.occurred_at == T0 and paid_out.occurred_at == T0 + timedelta(hours=1)
    assert (paid_out.data["paid_out"], paid_out.data["outstanding"], paid_out.data["value_date"],
            paid_out.data["payout_reference"]) == ("10000.00", "10000.00", "2027-03-01", "PAY-1")
    # invoicing moves no money: the invoice now carries all 10,000.00
    assert (invoiced.data["invoice_id"], invoiced.data["outstanding"]) == (invoice, "10000.00")
    assert (settled.data["outstanding"], settled.data["fee_owed"]) == ("0.00", "0.00")


def test_an_approved_advance_never_paid_out_announces_its_cancellation(session):
    buyer, supplier = make_parties(session)
    financing = _approve(session, make_order(session, buyer, supplier, 500_000, at=T0), 400_000)
    journal.cancel(session, financing.financing_id, actor="finance", now=T0 + timedelta(days=2))
    cancelled = written(session, "financing.changed")[-1]
    assert (cancelled.data["previous_status"], cancelled.data["status"], cancelled.occurred_at) == (
        "approved", "cancelled", T0 + timedelta(days=2))


def test_a_rolled_back_booking_announces_nothing(session):
    buyer, supplier = make_parties(session)
    order = make_order(session, buyer, supplier, 500_000, at=T0)
    savepoint = session.begin_nested()
    financing = _approve(session, order, 400_000)
    journal.pay_out(session, financing.financing_id, reference="PAY-9", value_date=T0.date(), actor="payments", now=T0)
    assert types(session) == ["financing.changed", "financing.changed"]
    savepoint.rollback()
    assert types(session) == []


def test_a_loan_offer_is_announced_when_made_and_its_acceptance_as_a_loan_paid_out(session):
    seller, _ = seller_with_history(session)
    with clock.frozen(datetime(2027, 3, 16, 0, 30)):
        run_offers(session, AS_OF, POLICY)
    with clock.frozen(datetime(2027, 3, 16, 0, 40)):
        run_offers(session, AS_OF, POLICY)  # the offer stands: nothing new
    offer = session.execute(select(LoanOffer).where(LoanOffer.firm_id == seller)).scalar_one()
    made = one(session, "loan_offer.made")
    assert (made.object_type, made.object_id, made.firm_id, made.occurred_at) == (
        "loan_offer", str(offer.offer_id), seller, datetime(2027, 3, 16, 0, 30))
    assert made.data == {
        "offer_id": offer.offer_id, "status": "open", "decision_id": offer.decision_id, "as_of": "2027-03-15",
        "expires_on": "2027-04-14", "currency": "EUR", "amount": "12500.00", "fee": "750.00",
        "withholding_rate": "0.12", "minimum": "2208.34", "period_days": 60, "replaces_offer_id": None}

    loan = loans.accept_offer(session, offer.offer_id, amount_minor=None, policy=POLICY, actor="test",
                              now=datetime(2027, 3, 16, 10))
    events = written(session, "financing.changed")
    assert [(e.data["kind"], e.data["previous_status"], e.data["status"]) for e in events] == [
        ("loan", None, "approved"), ("loan", "approved", "paid_out")]
    assert {(e.object_id, e.firm_id) for e in events} == {(str(loan.financing_id), seller)}
    # the flat fee is charged with the payout: 12,500.00 out, 750.00 owed
    assert (events[1].data["buyer_id"], events[1].data["offer_id"], events[1].data["paid_out"],
            events[1].data["fee_owed"]) == (None, offer.offer_id, "12500.00", "750.00")
