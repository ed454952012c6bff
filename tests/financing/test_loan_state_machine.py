"""Stateful property test of one transaction-flow loan: sales, prepayments and daily runs in any order (both stores).

Each example books the worked offer (:func:`tests.financing.loan_factories.seller_with_history`) and
accepts a drawn amount at 2027-03-16 10:00; then Hypothesis interleaves the borrower's sales
(paid during the current day), its prepayments through :func:`credit.financing.loans.repay`
(some above what is owed: refused) and daily runs of :func:`credit.financing.loans.run_day` after
a jump of 1 to 95 days, each run repeated at once and required to book nothing. Each operation
runs in a savepoint, as a request's unit of work would. Invariants, read back in plain SQL:

- the cached totals are the journal's sums, and outstanding = paid out - collected -
  recovered - written off, never negative; the fee charged is the flat fee, never negative,
  and the fee owed never negative;
- what the book says is at risk on the borrower (:func:`credit.financing.exposure.firm_exposure`)
  is the loan's outstanding principal while open, nothing once closed;
- a settled loan owes nothing, a written-off one has nothing outstanding; every sale withheld on
  is withheld once, at the rate (half up) or the rest owed;
- the model of the test (repaid so far, by hand) agrees with the book.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from credit import clock
from credit.financing import journal, loans
from credit.financing.errors import ExceedsOwed, FinancingClosed
from credit.financing.exposure import firm_exposure
from credit.financing.offers import run_offers
from credit.financing.tables import CACHED, CLOSED_STATUSES, Financing, FinancingEntry, LoanOffer
from credit.policy import default_policy
from tests.financing import loan_factories as factories
from tests.financing.loan_factories import AS_OF

POLICY = default_policy()
RATE = Decimal("0.12")  # grade C's withholding rate


class LoanMachine(RuleBasedStateMachine):
    engine: Engine
    statuses_seen: set[str] = set()

    def __init__(self) -> None:
        super().__init__()
        self.connection = self.engine.connect()
        self.outer = self.connection.begin()
        self.session = Session(bind=self.connection, join_transaction_mode="create_savepoint")
        self.day = AS_OF
        self.references = 0
        self.withheld: dict[int, int] = {}  # payment id -> withheld, by hand

    def teardown(self) -> None:
        self.session.close()
        self.outer.rollback()
        self.connection.close()

    @initialize(amount=st.integers(500_000, 1_250_000))
    def accept(self, amount: int) -> None:
        self.seller, self.buyer = factories.seller_with_history(self.session)
        with clock.frozen(datetime(2027, 3, 16, 0, 30)):
            run_offers(self.session, AS_OF, POLICY)
        offer = self.session.execute(select(LoanOffer).where(LoanOffer.firm_id == self.seller)).scalar_one()
        loan = loans.accept_offer(self.session, offer.offer_id, amount_minor=amount, policy=POLICY, actor="test",
                                  now=datetime(2027, 3, 16, 10))
        self.loan_id, self.amount = loan.financing_id, amount
        self.fee = int((Decimal(75_000) * amount / 1_250_000).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        self.day = loan.value_date
        self.sales: list[tuple[int, int]] = []  # (payment id, amount) paid since the value date

    def loan(self) -> Financing:
        return self.session.get(Financing, self.loan_id, populate_existing=True)

    @rule(amount=st.integers(1, 3_000_000), hour=st.integers(0, 23))
    def sale(self, amount: int, hour: int) -> None:
        with self.session.begin_nested():
            payment = factories.sale(self.session, self.seller, self.buyer, amount,
                                     datetime.combine(self.day, time(hour)))
        self.sales.append((payment, amount))

    @rule(share=st.sampled_from([Decimal("0.01"), Decimal("0.3"), Decimal(1), Decimal("1.01")]))
    def repay(self, share: Decimal) -> None:
        loan = self.loan()
        owed, closed = journal.amounts(loan).owed, loan.status in CLOSED_STATUSES
        amount = max(int(owed * share), 1)
        self.references += 1
        try:
            with self.session.begin_nested(), clock.frozen(datetime.combine(self.day, time(12))):
                loans.repay(self.session, self.loan_id, amount, reference=f"P-{self.references}", policy=POLICY,
                            actor="test", now=clock.now())
        except ExceedsOwed:
            assert amount > owed and not closed
        except FinancingClosed:
            assert closed
        else:
            assert amount <= owed and not closed
            assert (self.loan().status == "settled") == (amount == owed)

    @rule(days=st.sampled_from([1, 7, 30, 61, 95]))
    def run_day(self, days: int) -> None:
        before = journal.amounts(self.loan()).owed
        self.day += timedelta(days=days)
        with clock.frozen(datetime.combine(self.day, time(23, 30))):
            with self.session.begin_nested():
                report = loans.run_day(self.session, self.day, POLICY)
            with self.session.begin_nested():
                assert loans.run_day(self.session, self.day, POLICY) == {}
        after = journal.amounts(self.loan()).owed
        LoanMachine.statuses_seen.add(self.loan().status)
        assert before - after == report.get("withheld_minor", 0) + report.get("written_off_minor", 0)

    @invariant()
    def the_cached_totals_are_the_journal(self) -> None:
        loan = self.loan()
        sums = {(kind, part): int(total) for kind, part, total in self.session.execute(
            select(FinancingEntry.kind, FinancingEntry.part, func.sum(FinancingEntry.amount_minor))
            .where(FinancingEntry.financing_id == self.loan_id).group_by(FinancingEntry.kind, FinancingEntry.part))}
        assert set(sums) <= set(CACHED)
        for pair, column in CACHED.items():
            assert getattr(loan, column) == sums.get(pair, 0), (pair, column)
        a = journal.amounts(loan)
        assert a.outstanding == a.paid_out - a.collected - a.recovered - a.written_off >= 0
        assert a.paid_out == self.amount and a.fee_charged == self.fee >= 0 and a.fee_owed >= 0 and a.owed >= 0

    @invariant()
    def exposure_is_the_outstanding_principal_while_open(self) -> None:
        loan = self.loan()
        at_risk = firm_exposure(self.session, self.seller).loan
        assert at_risk == (0 if loan.status in CLOSED_STATUSES else journal.amounts(loan).outstanding)
        if loan.status == "settled":
            assert journal.amounts(loan).owed == 0
        if loan.status == "written_off":
            assert journal.amounts(loan).outstanding == 0 and journal.amounts(loan).fee_owed == 0

    @invariant()
    def each_sale_is_withheld_once_at_the_rate_or_the_rest_owed(self) -> None:
        rows = self.session.execute(
            select(FinancingEntry.source, func.sum(FinancingEntry.amount_minor))
            .where(FinancingEntry.financing_id == self.loan_id, FinancingEntry.source.like("payment:%"))
            .group_by(FinancingEntry.source)).all()
        withheld = {}
        for source, total in rows:  # principal and ':fee' parts of one sale
            payment = int(source.split(":")[1])
            withheld[payment] = withheld.get(payment, 0) + int(total)
        amounts = dict(self.sales)
        for payment, total in withheld.items():
            at_rate = int((RATE * amounts[payment]).quantize(Decimal(1), rounding=ROUND_HALF_UP))
            assert 0 < total <= at_rate, (payment, total, at_rate)
        short = [p for p, total in withheld.items()
                 if total < int((RATE * amounts[p]).quantize(Decimal(1), rounding=ROUND_HALF_UP))]
        assert len(short) <= 1  # only the sale that repaid the rest withheld less than the rate
        if short:
            assert self.loan().status == "settled"


def test_a_loan_keeps_its_invariants_through_random_sales_prepayments_and_days(store):
    LoanMachine.engine = store
    LoanMachine.statuses_seen = set()
    run_state_machine_as_test(LoanMachine, settings=settings(
        max_examples=30, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow],
        derandomize=True))
    # derandomize: the same examples on every run, so the assertion below holds on every run or on none (drawn
    # at random, some runs missed a status: --hypothesis-seed=6 fails it on both stores).
    # the runs reached every step of the minimum check, and repayment in full
    assert {"paid_out", "overdue", "written_off", "settled"} <= LoanMachine.statuses_seen
