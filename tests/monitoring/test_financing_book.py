"""The financing book by product and its early warnings, on the hand-written book of financing_book_data.py.

SQLite and PostgreSQL (the ``session`` fixture). Every expected number is worked out in the
comments from the table in that module's docstring.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy.orm import Session

from credit import clock
from credit.monitoring.financing_book import ProductFigures, financing_book
from credit.monitoring.financing_positions import positions
from credit.monitoring.financing_warnings import (
    FINANCING_WARNING_REASONS,
    financing_warnings,
    loan_behind,
)
from credit.financing.journal import Entry
from tests.api.checkout.factories import make_firm
from tests.monitoring.financing_book_data import (
    B1,
    S1,
    S3,
    FinancingBookIds,
    book_financing,
    make_financing_book,
    make_invoice,
    make_order,
    pay_out,
    post,
)

NOW = datetime(2026, 5, 3, 9, 0)


@pytest.fixture
def ids(session: Session) -> FinancingBookIds:
    return make_financing_book(session)


def _warnings(session: Session, day: date) -> dict[tuple[int, str], dict]:
    return {(w.financing_id, w.rule): w.details for w in financing_warnings(positions(session, day), day)}


def _row(**figures: int) -> ProductFigures:
    return ProductFigures(**figures)


# --------------------------------------------------------------------------- the table


def test_the_book_on_may_2_by_product(session, ids) -> None:
    with clock.frozen(NOW):
        book = financing_book(session, date(2026, 5, 2))
    assert [row.kind for row in book.products] == ["order", "receivable", "loan"]
    assert book.statuses_read_at == NOW
    # orders: O1 600,000 outstanding (1,600,000 - 1,000,000), O2 400,000 booked and not paid out; O3 was
    # cancelled Mar-06, O4 settled. Paid out O1 1,600,000 + O4 300,000. Fees: O1 17,096 + O4 1,500;
    # received O4's 1,500. O1 is late (invoice I3 due Apr-24 unpaid; due_on May-01) and in recourse.
    assert book.product("order") == _row(
        kind="order", outstanding_count=2, outstanding_minor=1_000_000, paid_out_count=2, paid_out_minor=1_900_000,
        collected_minor=1_000_000, recovered_minor=300_000, financed_face_minor=2_400_000,
        fees_earned_minor=18_596, fees_received_minor=1_500, overdue_count=1, overdue_minor=600_000,
        recourse_count=1, recourse_minor=600_000)
    # receivables: nothing outstanding (R1 settled; R2 400,000 - 30,000 collected - 370,000 written off net).
    # Collected R1 880,000 + R2 30,000; written off 400,000 + 2,000 fee, 30,000 written back: loss 372,000.
    # Diluted 50,000 of 1,500,000 face paid out; fees 4,437 + 2,000, received R1's 4,437; released 65,563.
    receivables = book.product("receivable")
    assert receivables == _row(
        kind="receivable", paid_out_count=2, paid_out_minor=1_280_000, collected_minor=910_000,
        written_off_minor=402_000, written_back_minor=30_000, diluted_minor=50_000, financed_face_minor=1_500_000,
        fees_earned_minor=6_437, fees_received_minor=4_437, released_minor=65_563)
    assert receivables.realised_loss_minor == 372_000
    assert receivables.dilution_share == pytest.approx(50_000 / 1_500_000)
    # the loan: 1,000,000 - 110,000 withheld; 62 days in, 2 periods done: 200,000 due, 110,000 repaid: overdue
    assert book.product("loan") == _row(
        kind="loan", outstanding_count=1, outstanding_minor=890_000, paid_out_count=1, paid_out_minor=1_000_000,
        collected_minor=110_000, financed_face_minor=1_000_000, fees_earned_minor=50_000, overdue_count=1,
        overdue_minor=890_000)
    assert book.product("order").dilution_share is None and book.product("loan").realised_loss_minor == 0


def test_a_past_day_reads_the_journal_as_it_stood_then(session, ids) -> None:
    with clock.frozen(NOW):
        book = financing_book(session, date(2026, 3, 31))
    # orders on Mar-31: O1 1,600,000 (its collection is Apr-10), O2 400,000; O4 recovered Mar-13 with 1,500 fee.
    # O1 is not late yet, but its status *now* is recourse: statuses are not journaled, so a past day shows
    # them as they stand (with O1's amount at risk that day).
    assert book.product("order") == _row(
        kind="order", outstanding_count=2, outstanding_minor=2_000_000, paid_out_count=2, paid_out_minor=1_900_000,
        recovered_minor=300_000, financed_face_minor=2_400_000, fees_earned_minor=1_500, fees_received_minor=1_500,
        recourse_count=1, recourse_minor=1_600_000)
    # receivables: both paid out and unpaid, both invoices overdue at the end of Mar-31 (I1 due Mar-31 00:00,
    # I2 due Mar-15 00:00); the return already diluted R1 (Mar-10)
    assert book.product("receivable") == _row(
        kind="receivable", outstanding_count=2, outstanding_minor=1_280_000, paid_out_count=2,
        paid_out_minor=1_280_000, diluted_minor=50_000, financed_face_minor=1_500_000, fees_earned_minor=6_437,
        overdue_count=2, overdue_minor=1_280_000)
    # the loan: 90,000 withheld by Mar-31, the first period's minimum 100,000 missed
    assert book.product("loan") == _row(
        kind="loan", outstanding_count=1, outstanding_minor=910_000, paid_out_count=1, paid_out_minor=1_000_000,
        collected_minor=90_000, financed_face_minor=1_000_000, fees_earned_minor=50_000, overdue_count=1,
        overdue_minor=910_000)


def test_a_booking_counts_at_its_advance_until_paid_out_and_a_cancelled_one_until_its_cancel_day(session, ids) -> None:
    # Mar-05: O2 and O3 booked that day (400,000 + 100,000 at their advances), O1 1,600,000 and O4 300,000 paid out
    orders = financing_book(session, date(2026, 3, 5)).product("order")
    assert (orders.outstanding_count, orders.outstanding_minor, orders.paid_out_count) == (4, 2_400_000, 2)
    # Mar-06: O3 cancelled
    orders = financing_book(session, date(2026, 3, 6)).product("order")
    assert (orders.outstanding_count, orders.outstanding_minor) == (3, 2_300_000)
    # Feb-28: nothing booked yet
    empty = financing_book(session, date(2026, 2, 28))
    assert empty.products == tuple(ProductFigures(kind=kind) for kind in ("order", "receivable", "loan"))
    assert empty.warnings == ()


def test_an_empty_store_has_three_empty_rows(session) -> None:
    book = financing_book(session, date(2026, 5, 2))
    assert book.products == tuple(ProductFigures(kind=kind) for kind in ("order", "receivable", "loan"))
    assert book.warnings == ()


def test_a_defaulted_financing_is_counted_with_its_amount_at_risk(session) -> None:
    make_firm(session, firm_id=S1, roles="supplier")
    make_firm(session, firm_id=B1, roles="buyer")
    order = make_order(session, 9501, B1, S1, 200_000, date(2026, 3, 1))
    invoice = make_invoice(session, 9502, order, S1, B1, 200_000, date(2026, 3, 1), date(2026, 6, 1))
    financing = book_financing(session, datetime(2026, 3, 2, 9), kind="receivable", supplier_id=S1, buyer_id=B1,
                               invoice_id=invoice, face_minor=200_000, advance_minor=150_000, reserve_minor=50_000,
                               fee_minor=1_000, recourse=False, due_on=date(2026, 6, 11))
    pay_out(session, financing, date(2026, 3, 2))
    post(session, financing, date(2026, 3, 20), Entry("write_off", "principal", 40_000, "partial"),
         status="defaulted")
    receivables = financing_book(session, date(2026, 3, 20)).product("receivable")
    # 150,000 paid out, 40,000 written off: 110,000 at risk, defaulted; the loss 40,000
    assert (receivables.defaulted_count, receivables.defaulted_minor) == (1, 110_000)
    assert (receivables.outstanding_minor, receivables.realised_loss_minor) == (110_000, 40_000)
    # the day before the write-off, the journal had 150,000 at risk (the status is as it stands now)
    before = financing_book(session, date(2026, 3, 19)).product("receivable")
    assert (before.defaulted_minor, before.realised_loss_minor) == (150_000, 0)


# --------------------------------------------------------------------------- early warnings


def test_the_catalogue_has_the_four_rules_in_order() -> None:
    assert list(FINANCING_WARNING_REASONS) == ["invoice_overdue", "invoice_disputed", "order_past_due",
                                               "loan_behind"]


def test_a_financed_invoice_turns_overdue_one_whole_day_after_its_due_time(session, ids) -> None:
    # I2 due Mar-15 00:00: at the end of Mar-14 not yet due a day; at the end of Mar-15 one whole day past due
    assert (ids.r2, "invoice_overdue") not in _warnings(session, date(2026, 3, 14))
    assert _warnings(session, date(2026, 3, 15))[(ids.r2, "invoice_overdue")] == {
        "invoice_id": ids.i2, "due_at": "2026-03-15T00:00:00", "days_past_due": 1, "unpaid_minor": 500_000}
    # still flagged the day before the write-off (Apr-19: 36 days), not from it (nothing at risk)
    assert _warnings(session, date(2026, 4, 19))[(ids.r2, "invoice_overdue")]["days_past_due"] == 36
    assert (ids.r2, "invoice_overdue") not in _warnings(session, date(2026, 4, 20))
    # R1: I1 due Mar-31 00:00; paid Apr-05 (950,000 of 1,000,000: the credit note is not netted, but the
    # financing is repaid, so nothing is at risk)
    assert (ids.r1, "invoice_overdue") not in _warnings(session, date(2026, 3, 30))
    assert _warnings(session, date(2026, 4, 4))[(ids.r1, "invoice_overdue")]["days_past_due"] == 5
    assert (ids.r1, "invoice_overdue") not in _warnings(session, date(2026, 4, 5))


def test_an_order_advance_is_watched_through_the_invoice_that_carries_it(session, ids) -> None:
    # I3 (O1's invoice, issued Mar-25) due Apr-24 00:00, 1,000,000 of 2,000,000 paid Apr-10
    assert (ids.o1, "invoice_overdue") not in _warnings(session, date(2026, 4, 23))
    assert _warnings(session, date(2026, 4, 24))[(ids.o1, "invoice_overdue")] == {
        "invoice_id": ids.i3, "due_at": "2026-04-24T00:00:00", "days_past_due": 1, "unpaid_minor": 1_000_000}


def test_a_dispute_opened_after_financing_warns_while_it_is_open(session, ids) -> None:
    # D1 on I1 opened Mar-08 09:00, resolved Mar-12 10:00; R1 was booked Mar-02
    assert (ids.r1, "invoice_disputed") not in _warnings(session, date(2026, 3, 7))
    expected = {"disputes": [ids.d1], "disputed_minor": 30_000, "opened_on": "2026-03-08", "reasons": ["quality"]}
    assert _warnings(session, date(2026, 3, 8))[(ids.r1, "invoice_disputed")] == expected
    assert _warnings(session, date(2026, 3, 11))[(ids.r1, "invoice_disputed")] == expected
    assert (ids.r1, "invoice_disputed") not in _warnings(session, date(2026, 3, 12))
    # D2 on I2's order was opened Mar-01, before R2 was booked (Mar-02): never a warning
    for day in (date(2026, 3, 2), date(2026, 3, 20), date(2026, 4, 10)):
        assert (ids.r2, "invoice_disputed") not in _warnings(session, day)


def test_an_order_advance_past_its_due_on(session, ids) -> None:
    # O1 due_on May-01: past due from May-02; O4 (due_on May-02) was settled Mar-13: never
    assert (ids.o1, "order_past_due") not in _warnings(session, date(2026, 5, 1))
    assert _warnings(session, date(2026, 5, 2))[(ids.o1, "order_past_due")] == {
        "due_on": "2026-05-01", "days_past_due": 1, "invoice_id": ids.i3}
    assert all(financing != ids.o4 for financing, _ in _warnings(session, date(2026, 5, 3)))


@pytest.mark.parametrize(("day", "expected"), [
    # 90,000 repaid by Mar-25 (40,000 Mar-10 + 50,000 Mar-25): the straight line is 100,000 x elapsed / 30
    (date(2026, 3, 28), None),  # 27 days: 90,000 due, 90,000 repaid
    (date(2026, 3, 29), ("straight_line", 28, 0, 93_334, 0, 90_000, 3_334)),  # ceil(93,333.3)
    (date(2026, 3, 30), ("straight_line", 29, 0, 96_667, 0, 90_000, 6_667)),
    (date(2026, 3, 31), ("period_end", 30, 1, 100_000, 100_000, 90_000, 10_000)),  # first period ends Mar-31
    (date(2026, 4, 1), ("period_end", 31, 1, 103_334, 100_000, 90_000, 13_334)),
    (date(2026, 4, 2), None),  # 20,000 more: 110,000 >= ceil(106,666.7)
    (date(2026, 4, 3), None),  # 33 days: 110,000 due exactly
    (date(2026, 4, 4), ("straight_line", 34, 1, 113_334, 100_000, 110_000, 3_334)),
    (date(2026, 4, 29), ("straight_line", 59, 1, 196_667, 100_000, 110_000, 86_667)),
    (date(2026, 4, 30), ("period_end", 60, 2, 200_000, 200_000, 110_000, 90_000)),
])
def test_a_loan_falls_behind_its_minimum_schedule(session, ids, day: date, expected: tuple | None) -> None:
    flags = loan_behind(positions(session, day), day)
    if expected is None:
        assert flags == {}
        return
    keys = ("basis", "elapsed_days", "periods_completed", "required_minor", "period_minimum_minor", "repaid_minor",
            "shortfall_minor")
    assert flags == {ids.l1: dict(zip(keys, expected, strict=True))}


def test_the_schedule_stops_at_what_the_loan_costs(session) -> None:
    make_firm(session, firm_id=S3, roles="supplier")
    loan = book_financing(session, datetime(2026, 1, 1, 8), kind="loan", supplier_id=S3, face_minor=150_000,
                          advance_minor=150_000, fee_minor=6_000, withholding_rate="0.10", minimum_minor=100_000,
                          period_days=30)
    pay_out(session, loan, date(2026, 1, 1))
    # 90 days in: 3 x 100,000 = 300,000 by the schedule, but the loan costs 156,000 in all
    flags = loan_behind(positions(session, date(2026, 4, 1)), date(2026, 4, 1))
    assert flags[loan] == {"basis": "period_end", "elapsed_days": 90, "periods_completed": 3,
                                "required_minor": 156_000, "period_minimum_minor": 156_000, "repaid_minor": 0,
                                "shortfall_minor": 156_000}


def test_the_warnings_on_may_2_name_the_supplier_the_buyer_and_the_amount_at_risk(session, ids) -> None:
    with clock.frozen(NOW):
        warnings = financing_book(session, date(2026, 5, 2)).warnings
    assert [(w.rule, w.financing_id, w.kind, w.firm_id, w.buyer_id, w.at_risk_minor) for w in warnings] == [
        ("invoice_overdue", ids.o1, "order", S1, B1, 600_000),
        ("order_past_due", ids.o1, "order", S1, B1, 600_000),
        ("loan_behind", ids.l1, "loan", S3, None, 890_000),
    ]
    assert warnings[2].details["basis"] == "period_end" and warnings[0].text.startswith("The financed invoice")
