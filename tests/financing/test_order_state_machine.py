"""Stateful property test of order financing: payouts, shipments, payments, collections, recoveries, days.

Hypothesis drives the order-financing library on one supplier and one buyer of a store (SQLite
and PostgreSQL) at a fixed clock that only moves forward, a financing day at a time. Each
operation runs in a savepoint, as a request's unit of work would, and must succeed or be
refused with the code the test expects. Orders are booked (an approved advance at a yearly
12 %), paid out, shipped and invoiced or cancelled; an invoice is now and then financed as a
receivable first (the double financing the job must not repeat); the buyer pays invoices (the
ingested history), money is collected through the API and recovered from the supplier; a day
runs the daily job (:func:`credit.financing.orders.run_day`) for the last day of a jump of 1,
7, 31 or 91 days, then runs it again, which must book nothing and record no decision.

After every step the book is read back and summed in plain SQL. Invariants, per financing:

- its cached totals equal the sums of its journal, and outstanding = paid out - collected -
  recovered - written off, between 0 and the advance;
- fees are never negative: every fee row is > 0, the fee owed is >= 0;
- every minor unit it received is money the test handed it (API collections, recoveries) or
  a buyer's payment of its own invoice, paid on or after the value date, each payment booked
  on one financing at most and once;
- a settled or written-off financing owes nothing; a cancelled one was never paid out; an
  invoiced one has its invoice; one under recourse or written off has its audited decision;
- the supplier's order-financing exposure is the advances approved plus the principal
  outstanding of the open ones.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from credit import clock
from credit.audit.tables import DecisionRecord
from credit.financing import journal, lifecycle
from credit.financing.errors import FinancingError
from credit.financing.exposure import firm_exposure
from credit.financing.orders import COUNTS, run_day
from credit.financing.tables import CACHED, CLOSED_STATUSES, OPEN_STATUSES, Financing, FinancingEntry
from credit.policy import default_policy
from credit.store.tables import Payment
from tests.financing import factories

POLICY = default_policy()
START = datetime(2027, 3, 1, 9, 0)
amounts = st.integers(min_value=1, max_value=3_000)
payments = st.integers(min_value=1, max_value=7_000)  # up to a whole invoice: some settle, some overpay


@dataclass
class OrderModel:
    amount: int
    financing_id: int
    invoice_id: int | None = None
    cancelled: bool = False


@dataclass
class Totals:
    """Money the test handed the library per financing (API collections and recoveries it accepted)."""

    received: dict[int, int] = field(default_factory=lambda: defaultdict(int))


class OrderFinancingMachine(RuleBasedStateMachine):
    engine: Engine  # set by the test before running

    def __init__(self) -> None:
        super().__init__()
        self.connection = self.engine.connect()
        self.outer = self.connection.begin()
        self.session = Session(bind=self.connection, join_transaction_mode="create_savepoint")
        self.now = START
        self.ticks = 0
        with clock.frozen(self.now):
            self.buyer, self.supplier = factories.make_parties(self.session)
        self.orders: dict[int, OrderModel] = {}
        self.totals = Totals()
        self.references = 0

    def teardown(self) -> None:
        self.session.close()
        self.outer.rollback()
        self.connection.close()

    def _tick(self) -> datetime:
        """A moment of the current day after the last one (events of one day keep their order)."""
        self.ticks += 1
        return self.now + timedelta(seconds=self.ticks)

    def _reference(self, prefix: str) -> str:
        self.references += 1
        return f"{prefix}-{self.references}"

    def _call(self, expected_code: str | None, operation):  # noqa: ANN001, ANN202
        """Run the operation in a savepoint at the clock: it succeeds, or refuses with the expected code."""
        try:
            with clock.frozen(self._tick()), self.session.begin_nested():
                result = operation()
        except FinancingError as refused:
            assert refused.code == expected_code, f"refused {refused.code!r}, expected {expected_code!r}: {refused}"
            return None
        assert expected_code is None, f"accepted, expected refusal {expected_code!r}"
        return result

    def _financing(self, financing_id: int) -> Financing:
        return self.session.execute(select(Financing).where(Financing.financing_id == financing_id)
                                    .execution_options(populate_existing=True)).scalar_one()

    def _pick_financing(self, data, wanted) -> int:  # noqa: ANN001
        """Mostly a financing in one of the ``wanted`` statuses, now and then any."""
        ids = sorted(m.financing_id for m in self.orders.values())
        preferred = sorted(self.session.execute(select(Financing.financing_id).where(
            Financing.kind == "order", Financing.status.in_(wanted))).scalars())
        pool = data.draw(st.sampled_from([preferred, preferred, preferred, ids]) if preferred else st.just(ids),
                         label="pool")
        return data.draw(st.sampled_from(pool), label="financing")

    # -- rules ---------------------------------------------------------------------------

    @rule(advance=st.integers(min_value=100, max_value=5_000), margin=st.integers(min_value=0, max_value=2_000),
          tenor=st.sampled_from([10, 30, 60]), paid_out=st.sampled_from([True, True, True, False]))
    def book(self, advance, margin, tenor, paid_out):
        """An approved advance on a new order, mostly paid out at once (the pay_out rule pays the others)."""
        at = self._tick()
        order_id = factories.make_order(self.session, self.buyer, self.supplier, advance + margin, at=at)
        financing_id = factories.book_order_financing(self.session, order_id, advance, annual_rate="0.12",
                                                      tenor_days=tenor, booked_on=at.date(), now=at)
        self.orders[order_id] = OrderModel(advance + margin, financing_id)
        if paid_out:
            self._call(None, lambda: journal.pay_out(self.session, financing_id, reference=self._reference("PAY"),
                                                     value_date=self.now.date(), actor="payments", now=clock.now()))

    @precondition(lambda self: self.orders)
    @rule(data=st.data())
    def pay_out(self, data):
        financing_id = self._pick_financing(data, ("approved",))
        f = self._financing(financing_id)
        expected = None if f.status == "approved" else "already_paid_out" if f.paid_out_minor else \
            "financing_not_payable"
        self._call(expected, lambda: journal.pay_out(self.session, financing_id, reference=self._reference("PAY"),
                                                     value_date=self.now.date(), actor="payments",
                                                     now=clock.now()))
        if expected is None:
            assert self._financing(financing_id).status == "paid_out"

    @precondition(lambda self: any(m.invoice_id is None and not m.cancelled for m in self.orders.values()))
    @rule(data=st.data(), due_in=st.sampled_from([0, 20, 45]), paid=st.sampled_from([0, 1, 2]))
    def ship_and_invoice(self, data, due_in, paid):
        """The order ships and is invoiced; the buyer pays nothing yet, part of it or all of it the same day."""
        order_id = data.draw(st.sampled_from(sorted(o for o, m in self.orders.items()
                                                    if m.invoice_id is None and not m.cancelled)), label="order")
        model = self.orders[order_id]
        model.invoice_id = factories.ship_and_invoice(self.session, order_id, model.amount, at=self._tick(),
                                                      due_in_days=due_in)
        if paid:
            factories.pay_invoice(self.session, model.invoice_id, model.amount // (3 - paid), at=self._tick())

    @precondition(lambda self: any(m.invoice_id is None and not m.cancelled for m in self.orders.values()))
    @rule(data=st.data())
    def cancel_the_order(self, data):
        order_id = data.draw(st.sampled_from(sorted(o for o, m in self.orders.items()
                                                    if m.invoice_id is None and not m.cancelled)), label="order")
        factories.cancel_order(self.session, order_id, at=self._tick())
        self.orders[order_id].cancelled = True

    @precondition(lambda self: any(m.invoice_id is not None for m in self.orders.values()))
    @rule(data=st.data())
    def finance_the_invoice_as_a_receivable(self, data):
        """Double financing: the invoice is financed as a receivable before the order advance takes it."""
        free = [m.invoice_id for m in self.orders.values() if m.invoice_id is not None and self.session.scalar(
            select(func.count()).select_from(Financing).where(Financing.invoice_id == m.invoice_id)) == 0]
        if free:
            invoice_id = data.draw(st.sampled_from(sorted(free)), label="invoice")
            factories.book_receivable_financing(self.session, invoice_id, 100, now=self._tick())

    @precondition(lambda self: any(m.invoice_id is not None for m in self.orders.values()))
    @rule(data=st.data(), amount=payments)
    def buyer_pays_an_invoice(self, data, amount):
        invoice_id = data.draw(st.sampled_from(sorted(m.invoice_id for m in self.orders.values()
                                                      if m.invoice_id is not None)), label="invoice")
        factories.pay_invoice(self.session, invoice_id, amount, at=self._tick())

    def _receive(self, data, amount, kind):  # noqa: ANN001
        financing_id = self._pick_financing(data, ("paid_out", "invoiced", "recourse"))
        f = self._financing(financing_id)
        expected = "financing_closed" if f.status in CLOSED_STATUSES else \
            "financing_not_paid_out" if not f.paid_out_minor else None
        booked = self._call(expected, lambda: lifecycle.receive(
            self.session, financing_id, amount, kind=kind, source=f"api:{self._reference(kind)}",
            booked_on=self.now.date(), actor="test", now=clock.now(), policy=POLICY))
        if booked is not None:
            self.totals.received[financing_id] += amount
            assert sum(e.amount_minor for e in booked if e.kind != "fee") == amount

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), amount=amounts)
    def collect_through_the_api(self, data, amount):
        self._receive(data, amount, "collection")

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), amount=amounts)
    def the_supplier_repays(self, data, amount):
        self._receive(data, amount, "recovery")

    @rule(days=st.sampled_from([1, 7, 31, 91]))
    def a_day_runs(self, days):
        as_of = self.now.date() + timedelta(days=days)
        with clock.frozen(datetime.combine(as_of, time(23, 0))):
            with self.session.begin_nested():
                run_day(self.session, as_of, POLICY)
            before = self._snapshot()
            with self.session.begin_nested():
                again = run_day(self.session, as_of, POLICY)
        assert {k: v for k, v in again.items() if k != "financings"} == {k: 0 for k in COUNTS if k != "financings"}
        assert self._snapshot() == before
        self.now, self.ticks = datetime.combine(as_of, time(9, 0)), 0
        for status in sorted(set(self.session.execute(select(Financing.status)).scalars())):
            event(f"a financing {status}")  # what the examples reach: --hypothesis-show-statistics

    def _snapshot(self) -> tuple:
        return (self.session.scalar(select(func.count()).select_from(FinancingEntry)),
                self.session.scalar(select(func.count()).select_from(DecisionRecord)),
                tuple(self.session.execute(select(Financing.financing_id, Financing.status, Financing.invoice_id)
                                           .order_by(Financing.financing_id)).all()))

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def the_book_adds_up(self):
        sums: dict[int, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
        for financing_id, kind, part, amount in self.session.execute(
                select(FinancingEntry.financing_id, FinancingEntry.kind, FinancingEntry.part,
                       func.sum(FinancingEntry.amount_minor))
                .group_by(FinancingEntry.financing_id, FinancingEntry.kind, FinancingEntry.part)):
            sums[financing_id][(kind, part)] = int(amount)
        assert self.session.scalar(select(func.count()).select_from(FinancingEntry).where(
            FinancingEntry.kind == "fee", FinancingEntry.amount_minor <= 0)) == 0
        payments = {f"payment:{p.payment_id}": p for p in self.session.execute(select(Payment)).scalars()}
        paid_sources = defaultdict(list)
        for financing_id, source in self.session.execute(select(FinancingEntry.financing_id, FinancingEntry.source)
                                                         .where(FinancingEntry.source.like("payment:%"))):
            paid_sources[source.split(":fee")[0].split(":release")[0]].append(financing_id)
        decided = self._steps_decided()
        exposure = 0
        for f in self.session.execute(select(Financing).where(Financing.kind == "order")
                                      .execution_options(populate_existing=True)).scalars():
            journal_sums = sums[f.financing_id]
            for (kind, part), column in CACHED.items():
                assert getattr(f, column) == journal_sums.get((kind, part), 0), (f.financing_id, column)
            a = journal.amounts(f)
            assert a.outstanding == a.paid_out - a.collected - a.recovered - a.written_off
            assert 0 <= a.outstanding <= f.advance_minor and a.paid_out in (0, f.advance_minor)
            assert a.fee_charged >= 0 and a.fee_owed >= 0
            received = sum(v for (kind, _), v in journal_sums.items() if kind in ("collection", "recovery", "release"))
            mine = {s for s, ids in paid_sources.items() if f.financing_id in ids}
            for source in mine:
                payment = payments[source]
                assert payment.invoice_id == f.invoice_id
                assert payment.paid_at >= datetime.combine(f.value_date, time())
            assert received == self.totals.received[f.financing_id] + sum(payments[s].amount_minor for s in mine)
            if f.status in ("settled", "written_off"):
                assert a.owed == 0 and f.closed_at is not None
            if f.status == "cancelled":
                assert a.paid_out == 0
            if f.status == "invoiced":
                assert f.invoice_id is not None
            if f.status in ("recourse", "written_off"):
                assert (f.financing_id, "recourse") in decided
            if f.status == "written_off":
                assert (f.financing_id, "write_off") in decided
            if f.status in OPEN_STATUSES:
                exposure += f.advance_minor if f.status == "approved" else a.outstanding
        for source, ids in paid_sources.items():
            assert len(set(ids)) == 1, (source, ids)  # a payment repays one financing
        assert firm_exposure(self.session, self.supplier).order_as_supplier == exposure

    def _steps_decided(self) -> set[tuple[int, str]]:
        """(financing, step) of every order_financing_step decision recorded."""
        return {(inputs["financing_id"], step["step"]) for inputs, result in self.session.execute(
            select(DecisionRecord.inputs, DecisionRecord.result).where(DecisionRecord.kind == "order_financing_step"))
            for step in result["steps"]}

def test_order_financing_keeps_its_invariants_through_random_days(store):
    OrderFinancingMachine.engine = store
    run_state_machine_as_test(OrderFinancingMachine, settings=settings(
        max_examples=40, stateful_step_count=35, deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    ))
