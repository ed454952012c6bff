"""Stateful property test of the book: captures, refunds, repayments, bounces, credit refunds, servicing days.

Hypothesis drives the servicing library on two lines of one store (SQLite and PostgreSQL) at a
fixed clock that only moves forward, a servicing day at a time. Each operation runs in a
savepoint, as a request's unit of work would, and must succeed or be refused with the code the
test expects. After every step the book is read back and summed in plain SQL
(:mod:`tests.servicing.invariants`): what receivables were paid comes from the allocation
journal, exposure from the ledger's transfers, received money from the repayments; the
library's cached columns are only compared with those sums. Invariants:

- the open principal of a line's live receivables equals its ``posted_minor`` and the sum of
  its transfers (and :func:`credit.ledger.reconcile` finds nothing);
- no receivable part is allocated more than it carries, nor less than nothing, and the cached
  ``paid_*`` equal the journal;
- every minor unit received (and not returned) is allocated to a receivable, in the credit
  balance, or refunded to the buyer;
- a credit balance is never negative; a returned repayment has net zero allocations;
- each receivable's status is the one its amounts and due date give (the clock only moves on
  a servicing day, which refreshes them all).

The rules check their own outcome too: a repayment is allocated oldest due first (or to the
receivables it names), the parts of each in the policy's order (the default, late fee first,
or principal first: drawn per example), exactly as worked out in the test; a capture is paid
at once from the credit balance; a refund of paid goods gives the money back as credit; a
bounce takes the repayment's credit with it and re-opens its principal, freezing a line it
takes over its limit; a repayment that cures a line servicing froze unfreezes it.

Not covered yet: installments (``credit/servicing/installments.py`` is not on main) and the
daily job (``credit/servicing/run.py`` is not on main): the ``servicing_day`` rule moves the
clock to the end of a day and only refreshes every status. Set ``RUN_DAY`` to True once
``run_day`` lands: the rule then runs the job for that day (judged at the same moment), and
late fees, freezes, defaults and charge-offs join the sequences.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from credit import clock, ledger
from credit.ledger import LedgerError
from credit.ledger.lines import open_line
from credit.policy.loading import DEFAULT_POLICY, parse_policy
from credit.servicing import receivables, repayments, status
from tests.ledger.factories import make_firm
from tests.servicing import invariants

_TEXT = DEFAULT_POLICY.read_text(encoding="utf-8")
assert "fee_payer: merchant" in _TEXT and "allocation_order: [late_fee, fee, principal]" in _TEXT
ORDERS = (("late_fee", "fee", "principal"), ("principal", "fee", "late_fee"))
POLICIES = {order: parse_policy(_TEXT.replace("fee_payer: merchant", "fee_payer: buyer").replace(
    "allocation_order: [late_fee, fee, principal]", f"allocation_order: [{', '.join(order)}]"),
    source=f"buyer pays the terms fee; allocation order {order}") for order in ORDERS}
"""The default policy with the terms fee owed by the buyer (so repayments pay fees as well as
principal), with its allocation order and with principal first."""
FEE_PER_MILLE = {30: 15, 60: 25, 90: 35}  # the policy's 1.5 % / 2.5 % / 3.5 %, by hand

RUN_DAY = False
"""Whether a servicing day runs the daily job (credit.servicing.run.run_day) or only refreshes statuses."""

START = datetime(2027, 3, 1, 9, 0)
LIMITS = (3_000, 1_000)
amounts = st.integers(min_value=1, max_value=600)
whole = st.none()  # all there is: the line's headroom to authorize, a hold's rest to capture or refund


@dataclass
class HoldModel:
    line_id: int
    amount: int
    terms_days: int
    expires_at: datetime
    captured: int = 0
    released: int = 0
    refunded: int = 0
    status: str = "pending"


@dataclass
class RepaymentModel:
    line_id: int
    amount: int
    status: str = "received"


@dataclass
class LineTotals:
    """What the successful operations moved on a line, counted by the test."""

    captured: int = 0
    refunded: int = 0
    received: int = 0
    credit_refunded: int = 0
    receivable_ids: list[int] = field(default_factory=list)


class ServicingMachine(RuleBasedStateMachine):
    engine: Engine  # set by the test before running

    def __init__(self) -> None:
        super().__init__()
        self.connection = self.engine.connect()
        self.outer = self.connection.begin()
        self.session = Session(bind=self.connection, join_transaction_mode="create_savepoint")
        self.now = START
        self.lines: dict[int, LineTotals] = {}
        for limit in LIMITS:
            line_id = open_line(self.session, firm_id=make_firm(self.session), limit_minor=limit, currency="EUR",
                                now=self.now)
            self.lines[line_id] = LineTotals()
        self.holds: dict[int, HoldModel] = {}
        self.repayments: dict[int, RepaymentModel] = {}
        self.references = 0
        self.order, self.policy = ORDERS[0], POLICIES[ORDERS[0]]

    @initialize(order=st.sampled_from(ORDERS))
    def choose_the_allocation_order(self, order):
        self.order, self.policy = order, POLICIES[order]

    def teardown(self) -> None:
        self.session.close()
        self.outer.rollback()
        self.connection.close()

    def _reference(self, prefix: str) -> str:
        self.references += 1
        return f"{prefix}-{self.references}"

    def _call(self, expected_code: str | None, operation):  # noqa: ANN001, ANN202
        """Run the operation in a savepoint (a request's unit of work): it succeeds, or refuses with the expected code."""
        try:
            with self.session.begin_nested():
                result = operation()
        except LedgerError as refused:
            assert refused.code == expected_code, f"refused {refused.code!r}, expected {expected_code!r}: {refused}"
            return None
        assert expected_code is None, f"accepted, expected refusal {expected_code!r}"
        return result

    @staticmethod
    def _pick(data, preferred, every, label):  # noqa: ANN001, ANN205
        """Mostly one of ``preferred`` (where the operation has something to do), now and then any of ``every``."""
        pool = data.draw(st.sampled_from([preferred, preferred, preferred, every]) if preferred else st.just(every),
                         label=f"{label} pool")
        return data.draw(st.sampled_from(sorted(pool)), label=label)

    def _posted(self, line_id: int) -> int:
        return invariants.posted_from_transfers(self.session).get(line_id, 0)

    # -- rules ---------------------------------------------------------------------------

    @rule(data=st.data(), amount=whole | amounts, terms=st.sampled_from([None, 30, 60, 90]),
          hold_days=st.sampled_from([7, 30, 45]))
    def authorize(self, data, amount, terms, hold_days):
        line_id = data.draw(st.sampled_from(sorted(self.lines)), label="line")
        line = invariants.line_row(self.session, line_id)
        # whole: all the headroom, so that a returned repayment then takes the line over its limit
        amount = amount or max(line.limit_minor - line.posted_minor - line.pending_minor, 1)
        if line.status == "closed":
            expected = "line_closed"
        elif line.status == "frozen":
            expected = "line_frozen"
        elif amount > line.limit_minor - line.posted_minor - line.pending_minor:
            expected = "limit_exceeded"
        else:
            expected = None
        made = self._call(expected, lambda: ledger.authorize(
            self.session, line_id, amount, order_reference=self._reference("PO"), terms_days=terms, now=self.now,
            hold_for=timedelta(days=hold_days)))
        if made is not None:
            self.holds[made.hold_id] = HoldModel(line_id, amount, terms or 30, self.now + timedelta(days=hold_days))

    @rule(data=st.data(), amount=amounts, terms=st.sampled_from([30, 60, 90]))
    def ship_an_order(self, data, amount, terms):
        """The common checkout: an order authorized and shipped whole at once."""
        self.authorize(data, amount, terms, 30)
        hold_id = max(self.holds, default=None)
        if hold_id is not None and self.holds[hold_id].captured == 0:
            self._capture(hold_id, amount)

    @precondition(lambda self: self.holds)
    @rule(data=st.data(), amount=whole | amounts)
    def capture(self, data, amount):
        hold_id = self._pick(data, [h for h, hold in self.holds.items() if hold.status == "pending"], self.holds, "hold")
        self._capture(hold_id, amount)

    def _capture(self, hold_id: int, amount: int | None) -> None:
        hold = self.holds[hold_id]
        remaining = hold.amount - hold.captured - hold.released
        amount = amount or max(remaining, 1)
        if hold.status == "expired" or (hold.status == "pending" and self.now >= hold.expires_at):
            expected = "hold_expired"
        elif hold.status != "pending":
            expected = "hold_not_pending"
        elif amount > remaining:
            expected = "capture_exceeds_hold"
        else:
            expected = None
        before = invariants.receivables(self.session)
        credit = invariants.credit_of_line(self.session, hold.line_id)
        booked = self._call(expected, lambda: receivables.book_capture(
            self.session, hold_id=hold_id, amount_minor=amount, shipment_reference=self._reference("SHIP"),
            authorized_by=None, policy=self.policy, now=self.now))
        if booked is None:
            return
        hold.captured += amount
        hold.status = "closed" if hold.captured == hold.amount else "pending"
        totals = self.lines[hold.line_id]
        totals.captured += amount
        totals.receivable_ids.append(booked[1])

        after = invariants.receivables(self.session)
        new = after[booked[1]]
        fee = (amount * FEE_PER_MILLE[hold.terms_days] + 500) // 1000  # half up
        assert (new.line_id, new.hold_id, new.principal, new.fee) == (hold.line_id, hold_id, amount, fee)
        assert new.due_at == self.now + timedelta(days=hold.terms_days)
        # the credit balance pays what the line owes at once, oldest due first
        before[new.receivable_id] = replace(new, paid=dict.fromkeys(invariants.PARTS, 0))
        moves, left = invariants.waterfall(before, hold.line_id, credit, order=self.order)
        paid_now = {(rid, part): after[rid].paid[part] - before[rid].paid[part]
                    for rid in after for part in invariants.PARTS if after[rid].paid[part] != before[rid].paid[part]}
        assert paid_now == moves
        assert invariants.credit_of_line(self.session, hold.line_id) == left

    @precondition(lambda self: self.holds)
    @rule(data=st.data(), amount=whole | amounts)
    def refund(self, data, amount):
        hold_id = self._pick(data, [h for h, hold in self.holds.items() if hold.captured > hold.refunded], self.holds,
                             "hold")
        hold = self.holds[hold_id]
        mine = [r for r in invariants.receivables(self.session).values() if r.hold_id == hold_id]
        refundable = sum(r.carries["principal"] for r in mine if r.live)  # charged off: out of reach
        amount = amount or max(refundable, 1)
        if not mine:
            expected = "refund_exceeds_captured"
        elif amount > refundable:
            expected = "refund_exceeds_receivables"
        else:
            expected = None
        # By hand: newest capture first, the refund clears what is still owed on the principal,
        # then gives what the buyer already paid for these goods back as credit.
        given_back, left = 0, amount
        for r in sorted((r for r in mine if r.live), key=lambda r: -r.receivable_id):
            take = min(left, r.carries["principal"])
            given_back += max(0, take - r.owed("principal"))
            left -= take
        credit, posted = invariants.credit_of_line(self.session, hold.line_id), self._posted(hold.line_id)
        done = self._call(expected, lambda: receivables.book_refund(
            self.session, hold_id=hold_id, amount_minor=amount, reference=self._reference("CN"), authorized_by=None,
            now=self.now))
        if done is None:
            return
        hold.refunded += amount
        self.lines[hold.line_id].refunded += amount
        assert invariants.credit_of_line(self.session, hold.line_id) == credit + given_back
        assert self._posted(hold.line_id) == posted - (amount - given_back)

    @precondition(lambda self: any(totals.receivable_ids for totals in self.lines.values()))
    @rule(data=st.data())
    def repay_oldest_due_first(self, data):
        line_id = data.draw(st.sampled_from(sorted(self.lines)), label="line")
        self._repay(line_id, self._repayment_amount(data, line_id), None)

    @precondition(lambda self: any(totals.receivable_ids for totals in self.lines.values()))
    @rule(data=st.data())
    def repay_named_receivables(self, data):
        line_id = data.draw(st.sampled_from(sorted(self.lines)), label="line")
        amount = self._repayment_amount(data, line_id)
        every = sorted(rid for totals in self.lines.values() for rid in totals.receivable_ids)
        # mostly the line's own receivables; now and then another line's, which is refused
        own = sorted(self.lines[line_id].receivable_ids) or every
        pool = data.draw(st.sampled_from([own, own, own, every]), label="pool")
        named = data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True), label="named")
        self._repay(line_id, amount, named)

    def _repayment_amount(self, data, line_id: int) -> int:  # noqa: ANN001
        """Up to a little more than the line owes: partial payments, payments in full and overpayments."""
        owed = sum(r.total_owed for r in invariants.receivables(self.session).values() if r.line_id == line_id)
        return data.draw(st.integers(min_value=1, max_value=owed + 100), label="amount")

    def _repay(self, line_id: int, amount: int, named: list[int] | None) -> None:
        others = set(named or ()) - set(self.lines[line_id].receivable_ids)
        before = invariants.receivables(self.session)
        line = invariants.line_row(self.session, line_id)
        frozen_by_servicing = (line.status, line.frozen_by) == ("frozen", "servicing")
        moves, left = invariants.waterfall(before, line_id, amount, None if named is None else set(named),
                                           order=self.order)
        receipt = self._call("receivable_not_on_line" if others else None, lambda: repayments.receive(
            self.session, line_id=line_id, amount_minor=amount, reference=self._reference("PAY"),
            received_by="payments-system", policy=self.policy, now=self.now, receivable_ids=named))
        if receipt is None:
            return
        self.repayments[receipt.repayment_id] = RepaymentModel(line_id, amount)
        self.lines[line_id].received += amount
        booked = invariants.repayments(self.session)[receipt.repayment_id]
        assert booked.to_receivables == moves, f"not allocated oldest due first, parts in the order {self.order}"
        assert booked.amount - booked.applied == left
        # a line servicing froze is unfrozen once cured: under freeze_days past due and within its limit
        line = invariants.line_row(self.session, line_id)
        freeze_days = self.policy.document.servicing.dunning.freeze_days
        cured = (invariants.days_past_due(invariants.receivables(self.session), line_id, self.now) < freeze_days
                 and line.posted_minor + line.pending_minor <= line.limit_minor)
        if frozen_by_servicing:
            assert (line.status == "active") == cured == receipt.unfrozen, (line, cured)

    @precondition(lambda self: self.repayments)
    @rule(data=st.data())
    def bounce(self, data):
        repayment_id = self._pick(data, [r for r, model in self.repayments.items() if model.status == "received"],
                                  self.repayments, "repayment")
        model = self.repayments[repayment_id]
        booked = invariants.repayments(self.session)[repayment_id]
        if model.status == "returned":
            expected = "repayment_returned"
        elif booked.credit_refunded:
            expected = "repayment_refunded"
        else:
            expected = None
        book = invariants.receivables(self.session)
        reopened = sum(amount for (rid, part), amount in booked.to_receivables.items()
                       if part == "principal" and book[rid].live)
        credit, posted = invariants.credit_of_line(self.session, model.line_id), self._posted(model.line_id)
        done = self._call(expected, lambda: repayments.return_repayment(
            self.session, repayment_id, reason="insufficient_funds", policy=self.policy, now=self.now))
        if done is None:
            return
        model.status = "returned"
        self.lines[model.line_id].received -= model.amount
        # its unapplied money leaves the credit balance; what it paid on principal is exposure again
        assert invariants.credit_of_line(self.session, model.line_id) == credit - (model.amount - booked.allocated)
        assert self._posted(model.line_id) == posted + reopened
        line = invariants.line_row(self.session, model.line_id)
        if line.posted_minor + line.pending_minor > line.limit_minor:
            assert (line.status, line.frozen_by) == ("frozen", "servicing")

    @precondition(lambda self: self.repayments)
    @rule(data=st.data())
    def refund_credit_balance(self, data):
        line_id = data.draw(st.sampled_from(sorted(self.lines)), label="line")
        credit = invariants.credit_of_line(self.session, line_id)
        amount = data.draw(st.integers(min_value=1, max_value=credit + 1), label="amount")  # credit + 1: refused
        left = self._call("exceeds_credit_balance" if amount > credit else None, lambda: repayments.refund_credit(
            self.session, line_id=line_id, amount_minor=amount, reference=self._reference("OUT"), now=self.now))
        if left is not None:
            self.lines[line_id].credit_refunded += amount
            assert left == credit - amount == invariants.credit_of_line(self.session, line_id)

    @rule(days=st.sampled_from([1, 7, 31]))
    def servicing_day(self, days):
        """Close the days up to ``days`` from today: the clock moves to the end of the last one (midnight)."""
        as_of = self.now.date() + timedelta(days=days - 1)
        self.now = datetime.combine(as_of + timedelta(days=1), time())
        self._close_the_day(as_of)

    def _close_the_day(self, as_of: date) -> None:
        if RUN_DAY:  # the daily job judges the book at the end of as_of, which is self.now
            from credit.servicing.run import run_day

            with clock.frozen(self.now):
                run_day(self.session, as_of, self.policy)
            for hold_id, hold in self.holds.items():  # a line that defaults has its pending holds voided
                stored = invariants.hold_row(self.session, hold_id)
                hold.released, hold.status = stored.released_minor, stored.status
            return
        every = self.session.execute(select(invariants.RECEIVABLES.c.receivable_id)).scalars().all()
        status.refresh(self.session, every, self.now)

    @rule()
    def sweep_expired_holds(self):
        due = sorted(h for h, hold in self.holds.items() if hold.status == "pending" and hold.expires_at <= self.now)
        assert ledger.expire_holds(self.session, now=self.now) == due
        for hold_id in due:
            hold = self.holds[hold_id]
            hold.released, hold.status = hold.amount - hold.captured, "expired"

    # -- invariants, checked after every step ---------------------------------------------

    @invariant()
    def open_principal_of_live_receivables_is_the_lines_posted_exposure(self):
        invariants.assert_exposure(self.session, list(self.lines))

    @invariant()
    def each_hold_carries_its_captures_and_refunds_as_receivables(self):
        book = invariants.receivables(self.session)
        transfers = invariants.hold_transfers(self.session)
        for hold_id, hold in self.holds.items():
            mine = [r for r in book.values() if r.hold_id == hold_id]
            assert sum(r.principal for r in mine) == transfers[hold_id]["post"] == hold.captured, hold_id
            assert sum(r.refunded for r in mine) == transfers[hold_id]["refund"] == hold.refunded, hold_id
        for line_id, totals in self.lines.items():
            assert sum(r.principal for r in book.values() if r.line_id == line_id) == totals.captured

    @invariant()
    def no_part_is_allocated_more_than_it_carries(self):
        invariants.assert_allocations(self.session)

    @invariant()
    def every_minor_unit_received_is_allocated_in_credit_or_refunded(self):
        for line_id, totals in self.lines.items():
            money = invariants.assert_money_received(self.session, line_id)
            assert (money.received, money.refunded) == (totals.received, totals.credit_refunded), money

    @invariant()
    def credit_is_never_negative_and_a_returned_repayment_keeps_nothing(self):
        invariants.assert_credit_and_returns(self.session)

    @invariant()
    def each_receivable_has_the_status_its_amounts_and_due_date_give(self):
        for r in invariants.receivables(self.session).values():
            expected = invariants.expected_status(r, self.now)
            assert expected is None or r.status == expected, (r, expected)


def test_the_book_keeps_its_invariants_through_random_servicing(store):
    ServicingMachine.engine = store
    run_state_machine_as_test(ServicingMachine, settings=settings(
        max_examples=60, stateful_step_count=40, deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    ))
