"""Stateful property test of receivables financing: payouts, payments, credit notes, lost disputes, recoveries, days.

Hypothesis drives two financed invoices (one with recourse, one without) on one store (SQLite and
PostgreSQL) at a fixed clock that only moves forward. Each operation runs in a savepoint, as a
request's unit of work would, and succeeds or is refused with the code the test expects. The
debtor's payments, credit notes and disputes go into the ingested tables; a day run
(:func:`credit.financing.factoring.run_day`) books them and takes the steps due, then runs again
and must book nothing. After every step the journal is summed in plain SQL and:

- each cached total of ``financings`` equals its journal sum, and
  outstanding = paid out - collected - recovered - written off >= 0 (= the journal's sums);
- fees are never negative: the flat fee is charged exactly once a financing is paid out, and
  no fee part is below 0 or above it;
- every payment or recovery booked is booked whole and once (its collection, recovery and release
  rows add up to it), so what is released is exactly what was received beyond the principal and
  fee it repaid, never more;
- dilution never exceeds the face; each status agrees with the amounts (settled and written off
  owe nothing, recourse owes something, defaulted owes nothing and carries a loss);
- every decision the runs recorded replays to the same result.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from credit import clock
from credit.audit import replay
from credit.audit.tables import DecisionRecord
from credit.financing import factoring, lifecycle
from credit.financing.errors import FinancingError
from credit.financing.tables import CACHED, Financing, FinancingEntry
from tests.decisions.policies import POLICY
from tests.financing.factoring_book import Financed, book_receivable, credit_note, dispute, pay

START = datetime(2027, 4, 1, 9, 0)
FACE, ADVANCE, FEE = 1_000, 900, 12
amounts = st.integers(min_value=1, max_value=600)
BOOKING_COUNTS = ("collections", "dilutions", "decisions", "clawbacks", "clawbacks_repaid", "defaults",
                  "write_offs", "closed")


class FactoringMachine(RuleBasedStateMachine):
    engine: Engine  # set by the test before running

    def __init__(self) -> None:
        super().__init__()
        self.connection = self.engine.connect()
        self.outer = self.connection.begin()
        self.session = Session(bind=self.connection, join_transaction_mode="create_savepoint")
        self.now = START
        self.books: list[Financed] = [
            book_receivable(self.session, invoice_minor=FACE, face_minor=FACE, advance_minor=ADVANCE, fee_minor=FEE,
                            recourse=recourse, issued_at=START - timedelta(days=10), due_at=datetime(2027, 4, 30),
                            booked_at=START - timedelta(hours=1))
            for recourse in (True, False)]
        self.received: dict[str, int] = {}  # source -> amount, of every payment and recovery made
        self.references = 0
        self.replayed: set[str] = set()

    def teardown(self) -> None:
        self.session.close()
        self.outer.rollback()
        self.connection.close()

    def _tick(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now

    def _financing(self, book: Financed) -> Financing:
        return self.session.execute(select(Financing).where(Financing.financing_id == book.financing_id)
                                    .execution_options(populate_existing=True)).scalar_one()

    def _call(self, expected_code: str | None, operation):  # noqa: ANN001, ANN202
        try:
            with self.session.begin_nested():
                result = operation()
        except FinancingError as refused:
            assert refused.code == expected_code, f"refused {refused.code!r}, expected {expected_code!r}: {refused}"
            return None
        assert expected_code is None, f"accepted, expected refusal {expected_code!r}"
        return result

    # -- rules ---------------------------------------------------------------------------

    @initialize(paid=st.lists(st.sampled_from([True, True, True, False]), min_size=2, max_size=2))
    def pay_out_at_the_start(self, paid):
        """Mostly paid out at once, so that sequences reach collections, defaults and write-offs."""
        for which, pay_now in enumerate(paid):
            if pay_now:
                self.pay_out(which)

    @rule(which=st.sampled_from([0, 1]))
    def pay_out(self, which):
        book = self.books[which]
        status = self._financing(book).status
        expected = None if status == "approved" else "already_paid_out"
        self.references += 1
        self._call(expected, lambda: factoring.pay_out(
            self.session, book.financing_id, reference=f"PAY-{self.references}", value_date=self.now.date(),
            actor="payments", now=self._tick()))

    @rule(which=st.sampled_from([0, 1]), amount=st.integers(min_value=1, max_value=400))
    def debtor_pays(self, which, amount):
        pay(self.session, self.books[which], amount, self._tick())

    @rule(which=st.sampled_from([0, 1]), amount=st.integers(min_value=1, max_value=300))
    def credit_note_issued(self, which, amount):
        credit_note(self.session, self.books[which], amount, self._tick())

    @rule(which=st.sampled_from([0, 1]), amount=st.integers(min_value=0, max_value=300),
          resolution=st.sampled_from(["buyer_favour", "buyer_favour", "supplier_favour", "settled", None]))
    def dispute_resolved(self, which, amount, resolution):
        opened = self._tick()
        dispute(self.session, self.books[which], amount, opened_at=opened,
                resolved_at=self._tick() if resolution else None, resolution=resolution)

    @rule(which=st.sampled_from([0, 1]), amount=amounts)
    def supplier_recovers(self, which, amount):
        book = self.books[which]
        financing = self._financing(book)
        owed = (financing.paid_out_minor - financing.collected_minor - financing.recovered_minor
                - financing.written_off_minor + financing.fee_charged_minor - financing.fee_collected_minor
                - financing.fee_recovered_minor - financing.fee_written_off_minor)
        if financing.status in ("settled", "written_off"):
            expected = "financing_closed"
        elif financing.status == "approved":
            expected = "financing_not_paid_out"
        elif owed == 0:
            return  # a defaulted financing owes the supplier's side nothing
        else:
            expected, amount = None, min(amount, owed)
        self.references += 1
        source = f"api:REC-{self.references}"
        now = self._tick()
        if self._call(expected, lambda: lifecycle.receive(
                self.session, book.financing_id, amount, kind="recovery", source=source, booked_on=now.date(),
                actor="supplier-desk", now=now, policy=POLICY)) is not None:
            self.received[source] = amount

    @rule(jump=st.sampled_from([0, 1, 7, 31, 61, 121]))
    def a_day_runs(self, jump):
        day = self.now.date() + timedelta(days=jump)
        self.now = max(self.now, datetime.combine(day, datetime.min.time()).replace(hour=22))
        with clock.frozen(self.now):
            with self.session.begin_nested():
                factoring.run_day(self.session, day, POLICY)
            written = self._rows()
            with self.session.begin_nested():
                again = factoring.run_day(self.session, day, POLICY)
        assert {key: again[key] for key in BOOKING_COUNTS} == dict.fromkeys(BOOKING_COUNTS, 0), again
        assert self._rows() == written
        for payment_id, amount in self.session.execute(text(
                "SELECT payment_id, amount_minor FROM payments WHERE invoice_id IN (:a, :b)"),
                {"a": self.books[0].invoice_id, "b": self.books[1].invoice_id}):
            self.received[f"payment:{payment_id}"] = amount

    def _rows(self) -> tuple[int, int]:
        entries = self.session.execute(select(func.count()).select_from(FinancingEntry)).scalar_one()
        decisions = self.session.execute(select(func.count()).select_from(DecisionRecord)).scalar_one()
        return entries, decisions

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def cached_totals_are_the_journals_sums_and_outstanding_is_never_negative(self):
        e = FinancingEntry
        for book in self.books:
            f = self._financing(book)
            sums = dict(((kind, part), int(total)) for kind, part, total in self.session.execute(
                select(e.kind, e.part, func.sum(e.amount_minor)).where(e.financing_id == book.financing_id)
                .group_by(e.kind, e.part)))
            for key, column in CACHED.items():
                assert getattr(f, column) == sums.get(key, 0), (column, f.status)
            outstanding = (sums.get(("payout", "principal"), 0) - sums.get(("collection", "principal"), 0)
                           - sums.get(("recovery", "principal"), 0) - sums.get(("write_off", "principal"), 0))
            assert outstanding == f.paid_out_minor - f.collected_minor - f.recovered_minor - f.written_off_minor
            assert outstanding >= 0

    @invariant()
    def fees_are_never_negative_and_charged_once_at_payout(self):
        for book in self.books:
            f = self._financing(book)
            assert f.fee_charged_minor == (FEE if f.paid_out_minor else 0)
            parts = (f.fee_collected_minor, f.fee_recovered_minor, f.fee_written_off_minor)
            assert all(part >= 0 for part in parts) and sum(parts) <= f.fee_charged_minor

    @invariant()
    def every_payment_and_recovery_booked_is_booked_whole_so_nothing_is_released_beyond_it(self):
        e = FinancingEntry
        for book in self.books:
            f = self._financing(book)
            money: dict[str, int] = {}
            for kind, source, amount in self.session.execute(select(e.kind, e.source, e.amount_minor).where(
                    e.financing_id == book.financing_id, e.kind.in_(("collection", "recovery", "release")))):
                base = ":".join(source.split(":")[:2])
                money[base] = money.get(base, 0) + amount
            for source, amount in money.items():
                assert amount == self.received[source], (source, amount, self.received[source])
            received = sum(money.values())
            repaid = f.collected_minor + f.fee_collected_minor + f.recovered_minor + f.fee_recovered_minor
            assert f.released_minor == received - repaid >= 0

    @invariant()
    def dilution_stays_within_the_face_and_each_status_agrees_with_the_amounts(self):
        for book in self.books:
            f = self._financing(book)
            owed = (f.paid_out_minor - f.collected_minor - f.recovered_minor - f.written_off_minor
                    + f.fee_charged_minor - f.fee_collected_minor - f.fee_recovered_minor - f.fee_written_off_minor)
            assert 0 <= f.diluted_minor <= FACE
            if f.status == "approved":
                assert f.paid_out_minor == 0
            elif f.status in ("settled", "written_off"):
                assert owed == 0, f.status
            elif f.status == "recourse":
                assert owed > 0
            elif f.status == "defaulted":
                assert owed == 0 and f.written_off_minor + f.fee_written_off_minor > 0
                assert not f.recourse

    @invariant()
    def every_decision_replays(self):
        ids = set(self.session.execute(select(DecisionRecord.decision_id).where(
            DecisionRecord.kind == "receivable_financing_step")).scalars()) - self.replayed
        for decision_id in ids:
            assert replay(self.session, decision_id).same
        self.replayed |= ids


def test_receivables_financing_keeps_its_invariants_through_random_days(store):
    FactoringMachine.engine = store
    run_state_machine_as_test(FactoringMachine, settings=settings(
        max_examples=40, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]))
