"""The book's own figures on the hand-written book of servicing_book.py, on SQLite and PostgreSQL.

Every expected number is worked out in the comments from the tables in that module's docstring.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from credit.monitoring.book import (
    SETTLED,
    TO_STATES,
    book_performance,
    collections,
    month_end_days,
    realised_by_grade,
    roll_rates,
    vintage_curves,
)
from credit.policy import default_policy
from credit.servicing.tables import BookAgeing
from tests.ledger.factories import make_line
from tests.monitoring.servicing_book import MONTH_ENDS, Book, make_book

JAN, FEB, MAR = MONTH_ENDS  # 2026-01-31, 2026-02-27 (no Feb-28 snapshot), 2026-03-31


@pytest.fixture
def book(session: Session) -> Book:
    return make_book(session)


# --------------------------------------------------------------------------- month ends


def test_each_month_is_read_on_its_last_snapshot_and_the_month_under_way_is_left_out(session, book) -> None:
    # snapshots: Jan-15, Jan-31, Feb-10, Feb-27, Mar-15, Mar-31, Apr-10; April has not ended by Apr-10
    assert month_end_days(session) == (date(2026, 1, 31), date(2026, 2, 27), date(2026, 3, 31))


def test_a_month_the_servicing_job_never_ran_in_breaks_the_chain_of_roll_rates(session) -> None:
    line = make_line(session)
    for day in (date(2026, 1, 31), date(2026, 3, 31)):
        session.execute(insert(BookAgeing).values(as_of=day, line_id=line, firm_id=_firm_of(session, line),
                                                  days_past_due=0, bucket="current", open_minor=100,
                                                  overdue_minor=0, charged_off_minor=0))
    assert month_end_days(session) == (date(2026, 1, 31), date(2026, 3, 31))
    assert roll_rates(session) == ()  # January to March is two months, not a one-month roll


def _firm_of(session: Session, line_id: int) -> int:
    from credit.ledger import get_line

    return get_line(session, line_id).firm_id


# --------------------------------------------------------------------------- roll rates


def test_roll_rates_from_january_to_february_by_lines_and_by_amount(session, book) -> None:
    january, march = roll_rates(session)
    assert (january.from_day, january.to_day) == (JAN, FEB)
    assert (march.from_day, march.to_day) == (FEB, MAR)
    # current at Jan-31 with something owed: L1 10,000, L2 20,000, L3 30,000, L4 40,000 (L6 owes nothing: out).
    # At Feb-27: L1 current, L2 1-30, L3 owes nothing (settled), L4 has no row (settled).
    current = january.row("current")
    assert (current.lines, current.open_minor) == (4, 100_000)
    assert {to: current.cell(to).lines for to in TO_STATES} == {
        "current": 1, "1-30": 1, "31-60": 0, "61-90": 0, "90+": 0, SETTLED: 2}
    assert january.rate("current", "1-30") == 0.25
    assert january.rate("current", "current") == 0.25
    assert january.rate("current", SETTLED) == 0.5
    assert current.cell("1-30").open_minor == 20_000 and current.cell("1-30").amount_share == 0.2
    assert current.cell("current").amount_share == 0.1
    assert current.cell(SETTLED).open_minor == 70_000 and current.cell(SETTLED).amount_share == 0.7
    # 1-30 at Jan-31: L5 alone, 31-60 at Feb-27
    assert january.rate("1-30", "31-60") == 1.0 and january.row("1-30").cell("31-60").amount_share == 1.0
    for bucket in ("31-60", "61-90", "90+"):
        row = january.row(bucket)
        assert (row.lines, row.open_minor) == (0, 0)
        assert all(cell.line_share is None and cell.amount_share is None for cell in row.cells)


def test_roll_rates_from_february_to_march(session, book) -> None:
    _, march = roll_rates(session)
    # current at Feb-27 owing: L1 10,000 and L6 5,000 (L3 owes nothing); at Mar-31 L1 is 1-30, L6 current
    current = march.row("current")
    assert (current.lines, current.open_minor) == (2, 15_000)
    assert march.rate("current", "1-30") == 0.5 and march.rate("current", "current") == 0.5
    assert current.cell("1-30").amount_share == pytest.approx(10_000 / 15_000)
    assert current.cell("current").amount_share == pytest.approx(5_000 / 15_000)
    assert march.rate("1-30", "31-60") == 1.0  # L2
    assert march.rate("31-60", "61-90") == 1.0  # L5
    assert march.rate("61-90", "90+") is None  # nobody was 61-90 at Feb-27


# --------------------------------------------------------------------------- vintages


def test_vintage_curves_charge_off_and_past_due_by_months_on_book(session, book) -> None:
    january, february = vintage_curves(session)
    # January: R1 100,000 + R2 200,000 + R3 (60,000 - 10,000 refunded) + R4 (60,000 all rescheduled: 0)
    # + its installments R4a 30,000 and R4b 30,000 = 410,000, from 4 captures (the installments are R4's)
    assert (january.vintage, january.captures, january.principal_minor) == (date(2026, 1, 1), 4, 410_000)
    assert [(p.months_on_book, p.as_of) for p in january.points] == [(0, JAN), (1, FEB), (2, MAR)]
    # end of Jan-31: nothing due yet. End of Feb-27 (Feb-28 00:00): R1 19, R2 24, R3 9 days past due: none over 30.
    for point in january.points[:2]:
        assert (point.charged_off_minor, point.past_due_minor) == (0, 0)
        assert point.charged_off_share == 0.0 and point.past_due_share == 0.0
    # end of Mar-31 (Apr-1 00:00): L5 charged off Mar-20, R2's 195,000 is charged off (gross of recoveries);
    # R1 paid in full by Mar-20; R3 41 days past due owing 50,000 - 10,000 (Mar-01) - 10,000 + 10,000
    # (Mar-05, returned Mar-10) = 40,000; R4a due Mar-01 is 31 days past due owing 30,000; R4b due Apr-01: 0 days.
    march = january.points[2]
    assert (march.charged_off_minor, march.past_due_minor) == (195_000, 70_000)
    assert march.charged_off_share == pytest.approx(195_000 / 410_000)
    assert march.past_due_share == pytest.approx(70_000 / 410_000)
    # February: R5 80,000 due Feb-24 (net 14), unpaid: 4 days past due at Feb-27, 36 at Mar-31
    assert (february.vintage, february.captures, february.principal_minor) == (date(2026, 2, 1), 1, 80_000)
    assert [(p.months_on_book, p.as_of, p.past_due_minor, p.past_due_share) for p in february.points] == [
        (0, FEB, 0, 0.0), (1, MAR, 80_000, 1.0)]


# --------------------------------------------------------------------------- realised against predicted by grade


def test_realised_against_predicted_default_by_grade_at_line_opening(session, book) -> None:
    grades = realised_by_grade(session, default_policy())
    assert [g.grade for g in grades] == ["B", "D", "F", "ungraded"]  # L4 (A) has no receivable
    b, d, f, ungraded = grades
    # B: L1 (0.004: the latest score by the opening; 0.09 came after it) and L2 (0.0045); neither defaulted.
    assert (b.lines, b.defaults, b.realised_rate) == (2, 0, 0.0)
    assert b.predicted_pd == pytest.approx((0.004 + 0.0045) / 2)
    # Clopper-Pearson with no default in n: [0, 1 - (alpha/2) ** (1/n)]
    assert (b.ci_low, b.ci_high) == (0.0, pytest.approx(1 - 0.025 ** 0.5))
    assert b.status == "ok"
    # D: L3 (0.015) has a default action. n = k = 1: [alpha/2, 1] = [0.025, 1]; 0.015 is below it (watch),
    # but inside the 99.9% interval [0.0005, 1] (not an alarm).
    assert (d.lines, d.defaults, d.realised_rate, d.predicted_pd) == (1, 1, 1.0, 0.015)
    assert (d.ci_low, d.ci_high) == (pytest.approx(0.025), 1.0)
    assert d.status == "watch"
    # F: L5 (0.05), its receivable charged off; 0.05 is inside [0.025, 1]
    assert (f.lines, f.defaults, f.realised_rate, f.predicted_pd, f.status) == (1, 1, 1.0, 0.05, "ok")
    # L6 was scored only after its line opened: no prediction, no status
    assert (ungraded.lines, ungraded.defaults, ungraded.predicted_pd, ungraded.status) == (1, 0, None, None)
    assert (ungraded.ci_low, ungraded.ci_high) == (0.0, pytest.approx(0.975))


# --------------------------------------------------------------------------- collections


def test_collections_of_march(session, book) -> None:
    march = collections(session, date(2026, 3, 1), date(2026, 3, 31))
    # received in March: P7 5,000 (Mar-02), P3 11,500, P4 10,000, P2 71,500, P6 20,000
    assert (march.received_minor, march.received_count) == (118_000, 5)
    assert (march.returned_minor, march.returned_count) == (10_000, 1)  # P4, Mar-10
    # principal: P3 10,000 + P4 10,000 - 10,000 (its reversal) + P7 5,000 + P2 60,000 + P6 20,000 = 95,000
    assert march.allocated_minor == {"late_fee": 1_500, "fee": 1_500, "principal": 95_000, "credit_refund": 0}
    # standing at the end of March: P1 40,000 + P2 71,500 + P3 11,500 + P6 20,000 + P7 5,000 = 148,000
    # (P4 was returned), of which applied by then 40,000 + 61,500 + 11,500 + 20,000 + 5,000 = 138,000
    assert march.credit_balance_minor == 10_000
    assert march.late_fees_assessed_minor == 1_500  # R4a on Mar-08 (R3's was Feb-26)
    assert march.late_fees_paid_minor == 1_500
    assert march.charged_off_minor == 195_000
    # P6's 20,000 came after L5's charge-off on Mar-20; P7's 5,000 on Mar-02 before it is no recovery
    assert march.recovered_minor == 20_000
    assert march.realised_loss_minor == 175_000


def test_collections_of_april_net_a_recovery_against_no_charge_off(session, book) -> None:
    april = collections(session, date(2026, 4, 1), date(2026, 4, 30))
    assert (april.received_minor, april.received_count, april.returned_minor) == (52_000, 1, 0)
    assert april.allocated_minor == {"late_fee": 2_000, "fee": 0, "principal": 50_000, "credit_refund": 5_000}
    # P2's 10,000 of credit less the 5,000 refunded on Apr-02
    assert april.credit_balance_minor == 5_000
    assert (april.late_fees_assessed_minor, april.late_fees_paid_minor) == (0, 2_000)
    assert (april.charged_off_minor, april.recovered_minor, april.realised_loss_minor) == (0, 50_000, -50_000)


def test_one_day_counts_whole_and_the_credit_balance_is_read_at_its_end(session, book) -> None:
    day = collections(session, date(2026, 3, 5), date(2026, 3, 5))
    assert (day.received_minor, day.returned_minor) == (10_000, 0)
    assert day.allocated_minor["principal"] == 10_000
    # end of Mar-05: P1 40,000 + P3 11,500 + P4 10,000 + P7 5,000 received, all applied
    assert day.credit_balance_minor == 0


def test_a_period_that_ends_before_it_starts_is_refused(session) -> None:
    with pytest.raises(ValueError, match=r"start \(2026-03-02\) must not be after its end \(2026-03-01\)"):
        collections(session, date(2026, 3, 2), date(2026, 3, 1))


# --------------------------------------------------------------------------- everything at once


def test_an_empty_book_has_no_figures_and_zero_collections(session) -> None:
    performance = book_performance(session, default_policy(), start=date(2026, 3, 1), end=date(2026, 3, 31))
    assert (performance.month_ends, performance.roll_rates, performance.vintages, performance.grades) == ((), (), (), ())
    figures = performance.collections
    assert (figures.received_minor, figures.credit_balance_minor, figures.realised_loss_minor) == (0, 0, 0)
    assert set(figures.allocated_minor.values()) == {0}


def test_the_book_performance_gathers_the_figures_and_money_stays_integer(session, book) -> None:
    performance = book_performance(session, default_policy(), start=date(2026, 3, 1), end=date(2026, 3, 31))
    assert performance.month_ends == MONTH_ENDS
    assert len(performance.roll_rates) == 2 and len(performance.vintages) == 2 and len(performance.grades) == 4
    assert performance.interval == "Clopper-Pearson, 95%"
    figures = performance.collections
    money = [figures.received_minor, figures.returned_minor, figures.credit_balance_minor, figures.charged_off_minor,
             figures.recovered_minor, figures.late_fees_assessed_minor, *figures.allocated_minor.values()]
    money += [cell.open_minor for matrix in performance.roll_rates for row in matrix.rows for cell in row.cells]
    money += [p.past_due_minor for v in performance.vintages for p in v.points]
    assert all(type(value) is int for value in money)
