"""Receivables financing after booking, end to end at a fixed clock, on SQLite and PostgreSQL.

One invoice of 1,100,000 (minor units) due 2027-04-30 00:00; the debtor paid 100,000 of it
before the booking, so the face financed is 1,000,000: advance 900,000, reserve 100,000,
flat fee 12,000, paid out with value date 2027-04-01. Every amount below is worked out by hand.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from credit import clock
from credit.audit import DecisionRecord, get_decision, replay
from credit.financing import factoring, journal, lifecycle
from credit.financing.factoring import RUN_COUNTS, NotAReceivableFinancing
from credit.financing.tables import Financing
from tests.decisions.policies import POLICY
from tests.financing.factoring_book import Financed, book_receivable, credit_note, dispute, journal_of, pay, totals

ISSUED = datetime(2027, 3, 20, 9, 0)
DUE = datetime(2027, 4, 30, 0, 0)
BOOKED = datetime(2027, 4, 1, 8, 0)
VALUE_DATE = date(2027, 4, 1)
NOTHING = dict.fromkeys(RUN_COUNTS, 0)


def financed(session, *, recourse: bool = True) -> Financed:
    book = book_receivable(session, invoice_minor=1_100_000, face_minor=1_000_000, advance_minor=900_000,
                           fee_minor=12_000, recourse=recourse, issued_at=ISSUED, due_at=DUE, booked_at=BOOKED)
    pay(session, book, 100_000, datetime(2027, 4, 1, 7, 0))  # before the booking: the face already nets it
    return book


def paid_out(session, *, recourse: bool = True) -> Financed:
    book = financed(session, recourse=recourse)
    with clock.frozen(datetime(2027, 4, 1, 10, 0)):
        factoring.pay_out(session, book.financing_id, reference="PAY-1", value_date=VALUE_DATE, actor="payments",
                          now=clock.now())
    return book


def run(session, day: date) -> dict[str, int]:
    with clock.frozen(datetime.combine(day, datetime.min.time()).replace(hour=23)):
        return factoring.run_day(session, day, POLICY)


def counts(**done: int) -> dict[str, int]:
    return NOTHING | done


def recover(session, book: Financed, amount: int, reference: str, day: date) -> None:
    with clock.frozen(datetime.combine(day, datetime.min.time()).replace(hour=12)):
        lifecycle.receive(session, book.financing_id, amount, kind="recovery", source=f"api:{reference}",
                          booked_on=day, actor="supplier-desk", now=clock.now(), policy=POLICY)


def step_decisions(session, book: Financed) -> list:
    ids = session.execute(select(DecisionRecord.decision_id).where(
        DecisionRecord.kind == "receivable_financing_step", DecisionRecord.firm_id == book.supplier_id)
        .order_by(DecisionRecord.created_at)).scalars().all()
    return [get_decision(session, i) for i in ids]


def test_an_invoice_collected_in_full_settles_the_advance_and_fee_and_releases_the_reserve_less_fee(session):
    book = financed(session)
    assert run(session, date(2027, 4, 1)) == NOTHING  # booked, not paid out: nothing to do
    with clock.frozen(datetime(2027, 4, 1, 10, 0)):
        factoring.pay_out(session, book.financing_id, reference="PAY-1", value_date=VALUE_DATE, actor="payments",
                          now=clock.now())
    assert journal_of(session, book.financing_id) == [
        ("payout", "principal", 900_000, "payout:PAY-1", VALUE_DATE),
        ("fee", "fee", 12_000, "fee:flat", VALUE_DATE)]

    pay(session, book, 600_000, datetime(2027, 4, 20, 15, 0))
    assert run(session, date(2027, 4, 19)) == counts(financings=1)  # the payment is not known yet
    assert run(session, date(2027, 4, 20)) == counts(financings=1, collections=1)
    assert totals(session, book.financing_id)["collected"] == 600_000  # principal first
    assert totals(session, book.financing_id)["status"] == "paid_out"

    last = pay(session, book, 400_000, datetime(2027, 4, 29, 11, 0))
    assert run(session, date(2027, 4, 29)) == counts(financings=1, collections=1)
    assert journal_of(session, book.financing_id)[3:] == [
        ("collection", "principal", 300_000, f"payment:{last}", date(2027, 4, 29)),
        ("collection", "fee", 12_000, f"payment:{last}:fee", date(2027, 4, 29)),
        ("release", "surplus", 88_000, f"payment:{last}:release", date(2027, 4, 29))]
    assert totals(session, book.financing_id) == {
        "paid_out": 900_000, "collected": 900_000, "recovered": 0, "written_off": 0, "fee_charged": 12_000,
        "fee_collected": 12_000, "fee_recovered": 0, "fee_written_off": 0, "diluted": 0,
        "released": 88_000,  # the reserve 100,000 less the fee 12,000
        "status": "settled"}
    written = len(journal_of(session, book.financing_id))
    assert run(session, date(2027, 4, 29)) == NOTHING  # settled and nothing left to collect
    assert len(journal_of(session, book.financing_id)) == written
    assert step_decisions(session, book) == []


def test_the_journals_payout_charges_the_flat_fee_so_the_day_run_only_collects(session):
    book = financed(session)
    journal.pay_out(session, book.financing_id, reference="PAY-9", value_date=VALUE_DATE, actor="payments",
                    now=datetime(2027, 4, 1, 10, 0))
    payment = pay(session, book, 1_000_000, datetime(2027, 4, 2, 9, 0))
    assert run(session, date(2027, 4, 2)) == counts(financings=1, collections=1)
    assert journal_of(session, book.financing_id)[1:] == [
        ("fee", "fee", 12_000, "fee:flat", VALUE_DATE),
        ("collection", "principal", 900_000, f"payment:{payment}", date(2027, 4, 2)),
        ("collection", "fee", 12_000, f"payment:{payment}:fee", date(2027, 4, 2)),
        ("release", "surplus", 88_000, f"payment:{payment}:release", date(2027, 4, 2))]


def test_a_credit_note_after_financing_eats_the_reserve_then_a_lost_dispute_is_clawed_back_from_the_supplier(session):
    book = paid_out(session)
    credit_note(session, book, 60_000, datetime(2027, 4, 10, 12, 0))
    assert run(session, date(2027, 4, 10)) == counts(financings=1, dilutions=1)
    # collectible 1,000,000 - 60,000 = 940,000 >= owed 900,000 + 12,000: the reserve took it (28,000 of it left)
    assert totals(session, book.financing_id)["status"] == "paid_out"
    assert step_decisions(session, book) == []

    lost = dispute(session, book, 150_000, opened_at=datetime(2027, 4, 12, 9, 0),
                   resolved_at=datetime(2027, 4, 15, 16, 0), resolution="buyer_favour")
    dispute(session, book, 50_000, opened_at=datetime(2027, 4, 12, 9, 0), resolved_at=datetime(2027, 4, 15, 17, 0),
            resolution="supplier_favour")  # won by the supplier: not dilution
    assert run(session, date(2027, 4, 15)) == counts(financings=1, dilutions=1, decisions=1, clawbacks=1)
    assert journal_of(session, book.financing_id)[-1] == (
        "dilution", "surplus", 150_000, f"dispute:{lost}", date(2027, 4, 15))
    # collectible 940,000 - 150,000 = 790,000 < owed 912,000: 122,000 from the supplier, i.e. the dilution past
    # the reserve (210,000 - 100,000 = 110,000) and the fee the reserve no longer covers (12,000)
    [decision] = step_decisions(session, book)
    assert decision.reason_codes == ["receivable_clawback"]
    assert decision.amounts == {"due_from_supplier_minor": 122_000, "write_off_principal_minor": 0,
                                "write_off_fee_minor": 0}
    assert replay(session, decision.decision_id).same
    assert totals(session, book.financing_id)["status"] == "recourse"
    assert run(session, date(2027, 4, 15)) == counts(financings=1)  # again: nothing new

    payment = pay(session, book, 790_000, datetime(2027, 4, 28, 10, 0))
    assert run(session, date(2027, 4, 28)) == counts(financings=1, collections=1)
    assert journal_of(session, book.financing_id)[-1] == (
        "collection", "principal", 790_000, f"payment:{payment}", date(2027, 4, 28))
    assert totals(session, book.financing_id)["status"] == "recourse"  # the supplier still owes 110,000 + 12,000

    recover(session, book, 122_000, "REC-1", date(2027, 5, 2))
    assert journal_of(session, book.financing_id)[-2:] == [
        ("recovery", "principal", 110_000, "api:REC-1", date(2027, 5, 2)),
        ("recovery", "fee", 12_000, "api:REC-1:fee", date(2027, 5, 2))]
    assert totals(session, book.financing_id) == {
        "paid_out": 900_000, "collected": 790_000, "recovered": 110_000, "written_off": 0, "fee_charged": 12_000,
        "fee_collected": 0, "fee_recovered": 12_000, "fee_written_off": 0, "diluted": 210_000, "released": 0,
        "status": "settled"}


def test_a_clawback_repaid_by_the_supplier_returns_the_financing_to_the_debtors_payment(session):
    book = paid_out(session)
    credit_note(session, book, 150_000, datetime(2027, 4, 10, 12, 0))
    assert run(session, date(2027, 4, 10)) == counts(financings=1, dilutions=1, decisions=1, clawbacks=1)
    # collectible 850,000, owed 912,000: 62,000 clawed back; repaid, principal first
    recover(session, book, 62_000, "REC-1", date(2027, 4, 12))
    assert run(session, date(2027, 4, 12)) == counts(financings=1, decisions=1, clawbacks_repaid=1)
    assert totals(session, book.financing_id)["status"] == "paid_out"
    payment = pay(session, book, 850_000, datetime(2027, 4, 29, 9, 0))
    assert run(session, date(2027, 4, 29)) == counts(financings=1, collections=1)
    assert journal_of(session, book.financing_id)[-2:] == [
        ("collection", "principal", 838_000, f"payment:{payment}", date(2027, 4, 29)),
        ("collection", "fee", 12_000, f"payment:{payment}:fee", date(2027, 4, 29))]
    assert totals(session, book.financing_id)["status"] == "settled"
    assert [d.reason_codes for d in step_decisions(session, book)] == [
        ["receivable_clawback"], ["receivable_clawback_repaid"]]


def test_a_non_recourse_default_is_written_off_and_the_debtors_later_payments_win_the_loss_back(session):
    book = paid_out(session, recourse=False)
    pay(session, book, 300_000, datetime(2027, 4, 20, 9, 0))
    assert run(session, date(2027, 4, 20)) == counts(financings=1, collections=1)
    # due 2027-04-30 00:00: 59 days past due at the end of 06-27, 60 at the end of 06-28 (default_days 60)
    assert run(session, date(2027, 6, 27)) == counts(financings=1)
    assert run(session, date(2027, 6, 28)) == counts(financings=1, decisions=1, defaults=1)
    [decision] = step_decisions(session, book)
    assert decision.reason_codes == ["receivable_default_non_recourse"]
    assert decision.amounts == {"due_from_supplier_minor": 0, "write_off_principal_minor": 600_000,
                                "write_off_fee_minor": 12_000}
    assert replay(session, decision.decision_id).same
    assert journal_of(session, book.financing_id)[-2:] == [
        ("write_off", "principal", 600_000, "default_write_off:2027-06-28", date(2027, 6, 28)),
        ("write_off", "fee", 12_000, "default_write_off:2027-06-28:fee", date(2027, 6, 28))]
    assert totals(session, book.financing_id)["status"] == "defaulted"
    assert journal.amounts(journal.lock(session, book.financing_id)).outstanding == 0
    assert run(session, date(2027, 6, 28)) == counts(financings=1)

    late = pay(session, book, 100_000, datetime(2027, 7, 15, 9, 0))
    assert run(session, date(2027, 7, 15)) == counts(financings=1, collections=1)
    assert journal_of(session, book.financing_id)[-2:] == [
        ("write_off", "principal", -100_000, f"payment:{late}:loss", date(2027, 7, 15)),
        ("collection", "principal", 100_000, f"payment:{late}:recovered-loss", date(2027, 7, 15))]
    assert totals(session, book.financing_id)["written_off"] == 500_000

    last = pay(session, book, 550_000, datetime(2027, 8, 2, 9, 0))
    assert run(session, date(2027, 8, 2)) == counts(financings=1, collections=1)
    assert journal_of(session, book.financing_id)[-5:] == [
        ("write_off", "principal", -500_000, f"payment:{last}:loss", date(2027, 8, 2)),
        ("collection", "principal", 500_000, f"payment:{last}:recovered-loss", date(2027, 8, 2)),
        ("write_off", "fee", -12_000, f"payment:{last}:loss:fee", date(2027, 8, 2)),
        ("collection", "fee", 12_000, f"payment:{last}:recovered-loss:fee", date(2027, 8, 2)),
        ("release", "surplus", 38_000, f"payment:{last}", date(2027, 8, 2))]  # the first row of its allocation
    assert totals(session, book.financing_id) == {
        "paid_out": 900_000, "collected": 900_000, "recovered": 0, "written_off": 0, "fee_charged": 12_000,
        "fee_collected": 12_000, "fee_recovered": 0, "fee_written_off": 0, "diluted": 0,
        "released": 38_000,  # 950,000 paid of the face: 1,000,000 - 50,000 unpaid - 900,000 - 12,000
        "status": "settled"}


def test_a_non_recourse_loss_becomes_final_after_the_write_off_days(session):
    book = paid_out(session, recourse=False)
    assert run(session, date(2027, 6, 28)) == counts(financings=1, decisions=1, defaults=1)
    assert run(session, date(2027, 10, 25)) == counts(financings=1)  # 119 days after the default
    assert run(session, date(2027, 10, 26)) == counts(financings=1, decisions=1, closed=1)  # 120
    assert [d.reason_codes for d in step_decisions(session, book)][-1] == ["receivable_loss_final"]
    assert totals(session, book.financing_id) | {"status": None} == {
        "paid_out": 900_000, "collected": 0, "recovered": 0, "written_off": 900_000, "fee_charged": 12_000,
        "fee_collected": 0, "fee_recovered": 0, "fee_written_off": 12_000, "diluted": 0, "released": 0,
        "status": None}
    assert totals(session, book.financing_id)["status"] == "written_off"
    pay(session, book, 100_000, datetime(2027, 11, 1, 9, 0))
    assert run(session, date(2027, 11, 1)) == NOTHING  # closed: no longer booked


def test_a_recourse_default_is_recovered_from_the_supplier(session):
    book = paid_out(session, recourse=True)
    assert run(session, date(2027, 6, 28)) == counts(financings=1, decisions=1, defaults=1)
    [decision] = step_decisions(session, book)
    assert decision.reason_codes == ["receivable_default_recourse"]
    assert decision.amounts == {"due_from_supplier_minor": 912_000, "write_off_principal_minor": 0,
                                "write_off_fee_minor": 0}
    assert replay(session, decision.decision_id).same
    assert totals(session, book.financing_id)["status"] == "recourse"

    recover(session, book, 500_000, "REC-1", date(2027, 7, 1))
    assert run(session, date(2027, 7, 1)) == counts(financings=1)
    recover(session, book, 412_000, "REC-2", date(2027, 7, 10))
    assert journal_of(session, book.financing_id)[-3:] == [
        ("recovery", "principal", 500_000, "api:REC-1", date(2027, 7, 1)),
        ("recovery", "principal", 400_000, "api:REC-2", date(2027, 7, 10)),
        ("recovery", "fee", 12_000, "api:REC-2:fee", date(2027, 7, 10))]
    assert totals(session, book.financing_id) == {
        "paid_out": 900_000, "collected": 0, "recovered": 900_000, "written_off": 0, "fee_charged": 12_000,
        "fee_collected": 0, "fee_recovered": 12_000, "fee_written_off": 0, "diluted": 0, "released": 0,
        "status": "settled"}


def test_recourse_unpaid_for_the_write_off_days_is_written_off(session):
    book = paid_out(session, recourse=True)
    assert run(session, date(2027, 6, 28)) == counts(financings=1, decisions=1, defaults=1)
    recover(session, book, 500_000, "REC-1", date(2027, 7, 1))
    assert run(session, date(2027, 10, 25)) == counts(financings=1)  # 119 days since the demand
    assert run(session, date(2027, 10, 26)) == counts(financings=1, decisions=1, write_offs=1)
    assert journal_of(session, book.financing_id)[-2:] == [
        ("write_off", "principal", 400_000, "recourse_write_off:2027-10-26", date(2027, 10, 26)),
        ("write_off", "fee", 12_000, "recourse_write_off:2027-10-26:fee", date(2027, 10, 26))]
    assert totals(session, book.financing_id)["status"] == "written_off"
    assert all(replay(session, d.decision_id).same for d in step_decisions(session, book))


def test_only_receivables_financing_is_paid_out_here_and_a_non_date_day_is_refused(session):
    book = financed(session)
    with pytest.raises(TypeError, match="as_of"):
        factoring.run_day(session, datetime(2027, 4, 1), POLICY)
    session.execute(Financing.__table__.update().where(Financing.financing_id == book.financing_id)
                    .values(kind="order", order_id=book.order_id))
    with pytest.raises(NotAReceivableFinancing) as refused:
        factoring.pay_out(session, book.financing_id, reference="PAY-1", value_date=VALUE_DATE, actor="payments",
                          now=datetime(2027, 4, 1, 10, 0))
    assert refused.value.code == "not_a_receivable_financing"
