"""A buyer's statement, the receivables page by page, and their CSV export, on SQLite and PostgreSQL.

Every figure is worked out by hand from the scenario of tests/servicing/march.py (cents).
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
from sqlalchemy import select, update

from credit import ledger
from credit.policy import default_policy
from credit.servicing import receivables, repayments
from credit.servicing.ageing import ageing_bucket
from credit.servicing.amounts import OWED, RECEIVABLES, owed_parts
from credit.servicing.tables import ServicingAction
from credit.servicing.statement import (
    CSV_HEADER,
    InvalidCursor,
    InvalidPeriod,
    all_receivables,
    decode_cursor,
    encode_cursor,
    get_receivable,
    list_receivables,
    receivables_csv,
    statement,
)
from tests.ledger.factories import make_firm
from tests.servicing.march import NOW, capture, march_book, open_buyer, refund

ACTIONS = ServicingAction.__table__
MARCH = {"period_start": datetime(2026, 3, 1), "period_end": datetime(2026, 4, 1)}


def ageing_of(result) -> dict[str, tuple[int, int]]:  # noqa: ANN001
    return {bucket.bucket: (bucket.receivables, bucket.owed_minor) for bucket in result.ageing}


def test_march_statement_worked_by_hand(session) -> None:
    book = march_book(session)
    result = statement(session, book.firm_id, **MARCH)
    # opening, owed just before 1 March:
    #   R1 40,000 - 17,900 paid (fee and late fee paid)    = 22,100
    #   R2 100,000 + 2,500                                 = 102,500
    #   R5 30,000 + 450 + 1,000 late                       = 31,450
    #   R6 10,000 (the merchant pays its fee)              = 10,000
    #   R7 5,000 - 1,000 refunded + 75 + 500 late          = 4,575
    assert result.opening_minor == 22_100 + 102_500 + 31_450 + 10_000 + 4_575 == 170_625
    assert result.new_receivables_minor == 60_000 + 900  # R3; R4 is April's
    assert result.fees_minor == 800  # R6's late fee; R2's is April's
    assert result.payments_minor == 12_100 + 2_500 + 20_000  # P2; P3 paid and was returned; P1 February's
    assert result.adjustments_minor == 5_000  # R3's refund; R2's is April's
    # closing, owed just before 1 April:
    #   R1 40,000 - 17,900 - 12,100 = 10,000; R2 100,000 - 20,000 = 80,000 (fee paid);
    #   R3 60,000 - 5,000 + 900 = 55,900; R5 31,450; R6 10,000 + 800 = 10,800; R7 4,575
    assert result.closing_minor == 10_000 + 80_000 + 55_900 + 31_450 + 10_800 + 4_575 == 192_725
    assert result.closing_minor == 170_625 + 60_900 + 800 - 34_600 - 5_000
    assert result.balances
    assert result.credit_balance_minor == 50_000 - 34_600 - 1_400  # P2's rest less what was paid back; P3 returned
    # days past due at 1 April 00:00: R2 and R3 not due; R6 11 (due 21 March); R1 55 (due 4 Feb 09:00);
    # R7 86 (due 5 Jan); R5 102 (due 20 Dec)
    assert ageing_of(result) == {"current": (2, 80_000 + 55_900), "1-30": (1, 10_800), "31-60": (1, 10_000),
                                 "61-90": (1, 4_575), "90+": (1, 31_450)}
    assert (result.line_id, result.currency) == (book.line_id, "EUR")


def test_a_book_booked_by_the_servicing_writers(session) -> None:
    """Captures, repayments, a returned one, refunds (one giving paid principal back) and a credit payback.

    The policy's merchant pays the terms fee, so the buyer owes principal only; repayments pay
    the oldest due first; a refund takes the order's newest capture first.
    """
    firm_id, line_id = open_buyer(session, limit_minor=500_000)
    policy = default_policy()

    def receive(amount: int, reference: str, at: datetime) -> int:
        return repayments.receive(session, line_id=line_id, amount_minor=amount, reference=reference,
                                  received_by="payments", policy=policy, now=at).repayment_id

    def ship(hold: int, amount: int, reference: str, at: datetime) -> int:
        return receivables.book_capture(session, hold_id=hold, amount_minor=amount, shipment_reference=reference,
                                        authorized_by=None, policy=policy, now=at)[1]

    def order(amount: int, reference: str, at: datetime) -> int:
        return ledger.authorize(session, line_id, amount, order_reference=reference, terms_days=30, now=at).hold_id

    first = order(100_000, "PO-1", datetime(2026, 2, 10, 9))
    r1 = ship(first, 60_000, "S-1", datetime(2026, 2, 10, 9))  # due 12 March 09:00
    receive(20_000, "P1", datetime(2026, 2, 20))  # R1 principal 20,000
    r2 = ship(first, 40_000, "S-2", datetime(2026, 3, 5, 10))  # due 4 April 10:00
    receivables.book_refund(session, hold_id=first, amount_minor=10_000, reference="CN-1", authorized_by=None,
                            now=datetime(2026, 3, 8))  # the newest capture: R2 refunded 10,000
    receive(45_000, "P2", datetime(2026, 3, 15))  # R1 40,000 (paid off), R2 5,000
    r3 = ship(order(20_000, "PO-2", datetime(2026, 3, 18)), 20_000, "S-3", datetime(2026, 3, 18))  # due 17 April
    p3 = receive(20_000, "P3", datetime(2026, 3, 20))  # R2 20,000 (it owed 25,000)
    repayments.return_repayment(session, p3, reason="bounced", policy=policy, now=datetime(2026, 3, 25))
    # R2 refundable 30,000, owes 25,000: a refund of 28,000 gives 3,000 of P2's principal back to credit
    receivables.book_refund(session, hold_id=first, amount_minor=28_000, reference="CN-2", authorized_by=None,
                            now=datetime(2026, 3, 26))
    repayments.refund_credit(session, line_id=line_id, amount_minor=2_000, reference="BACK-1",
                             now=datetime(2026, 3, 28))
    ship(order(5_000, "PO-3", datetime(2026, 4, 3)), 5_000, "S-4", datetime(2026, 4, 3))  # April: takes the credit

    result = statement(session, firm_id, **MARCH)
    assert result.opening_minor == 60_000 - 20_000
    assert result.new_receivables_minor == 40_000 + 20_000
    assert result.fees_minor == 0
    assert result.payments_minor == 45_000 + 20_000 - 20_000 - 3_000  # P2, P3 and its return, the give-back
    assert result.adjustments_minor == 10_000 + 28_000
    assert result.closing_minor == 40_000 + 60_000 - 42_000 - 38_000 == 20_000  # R3 alone owes
    assert result.balances
    assert result.credit_balance_minor == 3_000 - 2_000  # P2's given-back principal less the payback
    assert ageing_of(result)["current"] == (1, 20_000)
    owed = {row.receivable_id: row.owed_minor for row in list_receivables(session, firm_id=firm_id).rows}
    assert (owed[r1], owed[r2], owed[r3]) == (0, 0, 20_000 - 1_000)  # April's capture applied the credit to R3


def test_what_is_booked_at_the_start_is_in_the_period_and_at_the_end_is_not(session) -> None:
    book = march_book(session)
    result = statement(session, book.firm_id, period_start=datetime(2026, 3, 15, 9),
                       period_end=datetime(2026, 3, 20, 10))
    # opening: the March figures before P2, with R3 captured (60,000 - 5,000 refunded + 900)
    assert result.opening_minor == 22_100 + 102_500 + 31_450 + 10_000 + 4_575 + 55_900 == 226_525
    assert result.payments_minor == 34_600  # P2, at the start; P3, at the end, is not in
    assert (result.new_receivables_minor, result.fees_minor, result.adjustments_minor) == (0, 0, 0)
    assert result.closing_minor == 226_525 - 34_600 == 191_925
    assert result.credit_balance_minor == 15_400  # P3 received at the end: not yet; the payback came later


def test_a_statement_to_now_closes_on_what_the_book_owes_now(session) -> None:
    book = march_book(session)
    result = statement(session, book.firm_id, period_start=datetime(2026, 4, 1), period_end=NOW)
    assert result.opening_minor == 192_725
    assert result.new_receivables_minor == 20_000 + 300  # R4
    assert result.fees_minor == 2_000  # R2's late fee
    assert result.payments_minor == 5_000  # P4
    assert result.adjustments_minor == 1_000  # R2's refund
    # now: R1 10,000; R2 100,000 - 1,000 - 20,000 + 2,000 late = 81,000; R3 60,000 - 5,000 - 5,000 + 900 = 50,900;
    # R4 20,300; R5 31,450; R6 10,800; R7 4,575
    assert result.closing_minor == 10_000 + 81_000 + 50_900 + 20_300 + 31_450 + 10_800 + 4_575 == 209_025
    assert result.closing_minor == 192_725 + 20_300 + 2_000 - 5_000 - 1_000
    owed_now = session.execute(select(OWED).where(RECEIVABLES.c.firm_id == book.firm_id)).scalars()
    assert result.closing_minor == sum(owed_now)  # the rows' running totals agree with the journals
    assert result.credit_balance_minor == 14_000
    # days past due at NOW (20 April 12:00): R4 current; R3 11 (due 9 April 12:00); R2 17 (due 3 April 10:00);
    # R6 30 (21 March); R1 75 (4 Feb 09:00); R7 105 (5 Jan); R5 121 (20 Dec)
    assert ageing_of(result) == {"current": (1, 20_300), "1-30": (3, 50_900 + 81_000 + 10_800), "31-60": (0, 0),
                                 "61-90": (1, 10_000), "90+": (2, 4_575 + 31_450)}


def test_a_statement_before_anything_was_booked_is_all_zero(session) -> None:
    book = march_book(session)
    result = statement(session, book.firm_id, period_start=datetime(2025, 1, 1), period_end=datetime(2025, 11, 20))
    assert (result.opening_minor, result.new_receivables_minor, result.closing_minor, result.credit_balance_minor) \
        == (0, 0, 0, 0)
    assert all(bucket.receivables == 0 and bucket.owed_minor == 0 for bucket in result.ageing)


def test_a_firm_without_a_line_has_an_empty_statement(session) -> None:
    march_book(session)  # someone else's book
    firm_id = make_firm(session)
    result = statement(session, firm_id, **MARCH)
    assert (result.line_id, result.opening_minor, result.closing_minor, result.credit_balance_minor) == (
        None, 0, 0, 0)


def test_refunds_after_the_period_are_laid_newest_capture_first(session) -> None:
    """Two captures of one order; a refund in the period and one after it."""
    _, line_id = open_buyer(session)
    hold = ledger.authorize(session, line_id, 50_000, order_reference="PO-9", now=datetime(2026, 3, 1)).hold_id
    _, older = capture(session, line_id, at=datetime(2026, 3, 1), principal=20_000, hold_id=hold, reference="S-1")
    _, newer = capture(session, line_id, at=datetime(2026, 3, 5), principal=30_000, hold_id=hold, reference="S-2")
    refund(session, hold, newer, 25_000, at=datetime(2026, 3, 10))  # newest capture first: all on S-2
    refund(session, hold, newer, 5_000, at=datetime(2026, 4, 10))  # S-2 is then fully refunded
    refund(session, hold, older, 4_000, at=datetime(2026, 4, 11))  # then S-1
    firm_id = ledger.get_line(session, line_id).firm_id
    result = statement(session, firm_id, period_start=datetime(2026, 3, 1), period_end=datetime(2026, 4, 1))
    assert result.adjustments_minor == 25_000
    # at 1 April: S-1 owes 20,000 (due 31 March: 1 day past due), S-2 owes 30,000 - 25,000 (due 4 April: current)
    assert ageing_of(result)["1-30"] == (1, 20_000)
    assert ageing_of(result)["current"] == (1, 5_000)
    april = statement(session, firm_id, period_start=datetime(2026, 4, 1), period_end=datetime(2026, 5, 1))
    assert (april.opening_minor, april.adjustments_minor, april.closing_minor) == (25_000, 9_000, 16_000)


def test_installments_move_principal_and_add_only_their_fee(session) -> None:
    """R of 12,000 split into 3 installments of 4,000 with a fee of 100 each, on 10 March."""
    firm_id, line_id = open_buyer(session)
    hold, parent = capture(session, line_id, at=datetime(2026, 2, 20), principal=12_000, fee=0)
    at = datetime(2026, 3, 10)
    for number in (1, 2, 3):
        session.execute(RECEIVABLES.insert().values(
            line_id=line_id, firm_id=firm_id, hold_id=hold, parent_id=parent, kind="installment",
            installment_number=number, installment_count=3, shipment_reference="SHIP", terms_days=30 * number,
            issued_at=at, due_at=datetime(2026, 3 + number, 10), principal_minor=4_000, refunded_minor=0,
            rescheduled_minor=0, fee_minor=100, merchant_fee_minor=0, late_fee_minor=0, paid_principal_minor=0,
            paid_fee_minor=0, paid_late_fee_minor=0, charged_off_minor=0, recovered_minor=0, status="open",
            created_at=at, updated_at=at))
    session.execute(update(RECEIVABLES).where(RECEIVABLES.c.receivable_id == parent)
                    .values(rescheduled_minor=12_000, status="rescheduled"))
    result = statement(session, firm_id, **MARCH)
    assert (result.opening_minor, result.new_receivables_minor, result.closing_minor) == (12_000, 300, 12_300)
    assert ageing_of(result)["current"] == (3, 12_300)
    assert result.balances


def test_a_charged_off_receivable_ages_90_plus_from_its_charge_off(session) -> None:
    """Due 31 Dec 00:00; the line charged off on 31 March 00:00, at 90 days past due."""
    firm_id, line_id = open_buyer(session)
    _, receivable_id = capture(session, line_id, at=datetime(2025, 12, 1), principal=7_000)
    session.execute(ACTIONS.insert().values(
        line_id=line_id, receivable_id=None, subject=f"line:{line_id}", step="charge_off", step_key="charge_off:90",
        reason_code="charged_off", days_past_due=90, amount_minor=7_000, decision_id="d" * 36,
        as_of=date(2026, 3, 30), created_at=datetime(2026, 3, 31)))
    before = statement(session, firm_id, period_start=datetime(2026, 3, 1), period_end=datetime(2026, 3, 30, 12))
    after = statement(session, firm_id, period_start=datetime(2026, 3, 1), period_end=datetime(2026, 3, 31, 12))
    assert ageing_of(before)["61-90"] == (1, 7_000)  # 89 days past due
    assert ageing_of(after)["61-90"] == (0, 0)  # 90 days past due, but written off: 90+
    assert ageing_of(after)["90+"] == (1, 7_000)  # still owed: collections go on
    assert after.closing_minor == 7_000


def test_a_period_must_end_after_it_starts(session) -> None:
    book = march_book(session)
    with pytest.raises(InvalidPeriod):
        statement(session, book.firm_id, period_start=datetime(2026, 3, 1), period_end=datetime(2026, 3, 1))


def test_a_statement_of_no_firm_is_refused(session) -> None:
    with pytest.raises(ledger.FirmNotFound):
        statement(session, 987_654_321, **MARCH)


@pytest.mark.parametrize(("days", "bucket"), [(-5, "current"), (0, "current"), (1, "1-30"), (30, "1-30"),
                                              (31, "31-60"), (60, "31-60"), (61, "61-90"), (90, "61-90"),
                                              (91, "90+"), (400, "90+")])
def test_ageing_buckets_by_whole_days_past_due(days: int, bucket: str) -> None:
    assert ageing_bucket(days) == bucket


def test_owed_in_python_is_the_sql_formula(session) -> None:
    book = march_book(session)
    r = RECEIVABLES.c
    for row in session.execute(select(RECEIVABLES, OWED.label("owed")).where(r.firm_id == book.firm_id)):
        parts = owed_parts(principal=row.principal_minor, refunded=row.refunded_minor,
                           rescheduled=row.rescheduled_minor, paid_principal=row.paid_principal_minor,
                           fee=row.fee_minor, paid_fee=row.paid_fee_minor, late_fee=row.late_fee_minor,
                           paid_late_fee=row.paid_late_fee_minor)
        assert sum(parts) == row.owed


# ---------------------------------------------------------------------------------------------
# the list


def test_the_list_shows_each_receivable_with_what_it_owes_now(session) -> None:
    book = march_book(session)
    page = list_receivables(session, firm_id=book.firm_id, limit=50)
    r = book.receivables
    assert [row.receivable_id for row in page.rows] == sorted(r.values())
    assert page.next_cursor is None
    by_id = {row.receivable_id: row for row in page.rows}
    two = by_id[r["R2"]]
    assert (two.owed.principal, two.owed.fee, two.owed.late_fee, two.owed_minor) == (79_000, 0, 2_000, 81_000)
    assert (two.shipment_reference, two.order_reference, two.status, two.currency) == (
        "SHIP-R2", "PO-SHIP-R2", "overdue", "EUR")
    assert (two.issued_at, two.due_at) == (datetime(2026, 2, 2, 10), datetime(2026, 4, 3, 10))
    assert by_id[r["R6"]].merchant_fee_minor == 150
    assert get_receivable(session, r["R3"]).owed_minor == 50_900
    assert get_receivable(session, 987_654_321) is None


def test_filters_by_firm_line_status_and_due_days(session) -> None:
    book = march_book(session)
    other_firm, other_line = open_buyer(session)
    _, stranger = capture(session, other_line, at=datetime(2026, 3, 3), principal=1_000)
    r = book.receivables

    def ids(**filters: object) -> list[int]:
        return [row.receivable_id for row in list_receivables(session, **filters).rows]

    assert ids(firm_id=other_firm) == [stranger]
    assert ids(line_id=book.line_id) == sorted(r.values())
    assert ids(firm_id=book.firm_id, statuses=["open"]) == [r["R4"]]
    assert ids(statuses=["open"]) == sorted([r["R4"], stranger])
    assert ids(firm_id=book.firm_id, statuses=["paid", "cancelled"]) == []
    # due on 3 April to 9 April, both days included: R2 (3 April 10:00) and R3 (9 April 12:00)
    assert ids(due_from=date(2026, 4, 3), due_to=date(2026, 4, 9)) == sorted([r["R2"], r["R3"]])
    assert ids(due_from=date(2026, 4, 4), due_to=date(2026, 4, 9)) == [r["R3"]]
    assert ids(due_to=date(2026, 1, 5)) == sorted([r["R5"], r["R7"]])  # 20 Dec and 5 Jan 00:00
    with pytest.raises(InvalidPeriod, match="due_to"):
        list_receivables(session, due_from=date(2026, 4, 9), due_to=date(2026, 4, 3))


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 8])
def test_walking_the_pages_gives_every_receivable_once(session, limit: int) -> None:
    book = march_book(session)
    _, other_line = open_buyer(session)
    capture(session, other_line, at=datetime(2026, 3, 3), principal=1_000)
    seen, cursor, pages = [], None, 0
    while True:
        page = list_receivables(session, firm_id=book.firm_id, limit=limit,
                                after_id=None if cursor is None else decode_cursor(cursor))
        pages += 1
        assert 1 <= len(page.rows) <= limit
        seen += [row.receivable_id for row in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == sorted(book.receivables.values())  # 7 of them, in order, no repeat, no gap
    assert pages == -(-7 // limit)
    assert [row.receivable_id for row in all_receivables(session, page_size=limit, firm_id=book.firm_id)] == seen


def test_a_receivable_booked_between_pages_shows_on_a_later_page(session) -> None:
    book = march_book(session)
    first = list_receivables(session, firm_id=book.firm_id, limit=4)
    _, late = capture(session, book.line_id, at=datetime(2026, 4, 19), principal=1_000, reference="SHIP-LATE")
    second = list_receivables(session, firm_id=book.firm_id, limit=4, after_id=decode_cursor(first.next_cursor))
    assert [row.receivable_id for row in first.rows + second.rows] == sorted([*book.receivables.values(), late])


@pytest.mark.parametrize("cursor", ["", "abc", "!!!!", "cmVjZWl2YWJsZTox=", "cmVjZWl2YWJsZTp4",
                                    "cmVjZWl2YWJsZTowMQ", "cmVjZWl2YWJsZTow", "x" * 61, "cmVjZWl2YWJsZTrZqA"])
def test_a_cursor_the_service_did_not_give_is_refused_by_name(cursor: str) -> None:
    with pytest.raises(InvalidCursor, match="`cursor`"):
        decode_cursor(cursor)


def test_a_cursor_carries_the_last_id() -> None:
    assert decode_cursor(encode_cursor(1)) == 1
    assert decode_cursor(encode_cursor(2**63 - 1)) == 2**63 - 1
    assert encode_cursor(1) == "cmVjZWl2YWJsZTox"  # base64url of "receivable:1", unpadded


@pytest.mark.parametrize("limit", [0, 1001, -1, True])
def test_a_page_size_out_of_range_is_refused(session, limit: object) -> None:
    with pytest.raises(ValueError, match="`limit`"):
        list_receivables(session, limit=limit)


# ---------------------------------------------------------------------------------------------
# the CSV


def test_the_csv_reads_back_with_exact_amounts(session) -> None:
    book = march_book(session)
    text = receivables_csv(list_receivables(session, firm_id=book.firm_id).rows)
    assert text.startswith("receivable_id,firm_id,line_id,hold_id,parent_id,kind,")
    assert "\r\n" in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_HEADER
    assert [int(row["receivable_id"]) for row in rows] == sorted(book.receivables.values())
    two = next(row for row in rows if int(row["receivable_id"]) == book.receivables["R2"])
    assert {name: two[name] for name in ("principal", "refunded", "fee", "late_fee", "paid_principal", "paid_fee",
                                         "principal_owed", "fee_owed", "late_fee_owed", "owed", "currency")} == {
        "principal": "1000.00", "refunded": "10.00", "fee": "25.00", "late_fee": "20.00", "paid_principal": "200.00",
        "paid_fee": "25.00", "principal_owed": "790.00", "fee_owed": "0.00", "late_fee_owed": "20.00",
        "owed": "810.00", "currency": "EUR"}
    assert (two["issued_at"], two["due_at"], two["status"], two["shipment_reference"], two["parent_id"]) == (
        "2026-02-02T10:00:00", "2026-04-03T10:00:00", "overdue", "SHIP-R2", "")
    six = next(row for row in rows if int(row["receivable_id"]) == book.receivables["R6"])
    assert (six["merchant_fee"], six["fee"], six["owed"]) == ("1.50", "0.00", "108.00")


def test_references_a_spreadsheet_would_run_are_defused(session) -> None:
    _, line_id = open_buyer(session)
    capture(session, line_id, at=datetime(2026, 3, 3), principal=1_000, reference='=HYPERLINK("x"),"q"')
    text = receivables_csv(list_receivables(session, line_id=line_id).rows)
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert row["shipment_reference"] == '\'=HYPERLINK("x"),"q"'
    assert row["order_reference"] == 'PO-=HYPERLINK("x"),"q"'


def test_an_empty_export_is_its_header() -> None:
    assert receivables_csv([]) == ",".join(CSV_HEADER) + "\r\n"
