"""Stateful property test of the book: captures, refunds, repayments, bounces, credit refunds, servicing days.

Hypothesis drives the servicing library on two lines of one store (SQLite and PostgreSQL) at a
fixed clock that only moves forward, a servicing day at a time. Each operation runs in a
savepoint, as a request's unit of work would, and must succeed or be refused with the code the
test expects. After every step the book is read back and summed in plain SQL
(:mod:`tests.servicing.invariants`): what receivables were paid comes from the allocation
journal, exposure from the ledger's transfers, received money from the repayments; the
library's cached columns are only compared with those sums. Invariants:

- the open principal of a line's receivables not written off equals its ``posted_minor`` and
  the sum of its transfers (and :func:`credit.ledger.reconcile` finds nothing);
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

A servicing day runs the daily job (:func:`credit.servicing.run.run_day`) for the last day of a
jump of 1, 7, 31 or 91 days, at a fixed clock at that day's end, so late fees, freezes, defaults,
charge-offs and recoveries join the sequences; installment plans are split and settled early.
Each example also draws who pays the terms fee: the buyer, or the merchant (then a receivable
owes principal only, and can be split at once).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from dateutil.relativedelta import relativedelta
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
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from credit import clock, ledger
from credit.ledger import LedgerError
from credit.ledger.lines import open_line
from credit.policy.loading import DEFAULT_POLICY, parse_policy
from credit.servicing import installments, receivables, repayments
from credit.servicing.run import run_day
from tests.ledger.factories import make_firm
from tests.servicing import invariants

_CHANGES = {  # the default policy at the scale of these books (amounts of a few hundred minor units)
    "late_fee: {at_days: 7, flat_minor: 2_500,": "late_fee: {at_days: 7, flat_minor: 25,",
    "min_amount_minor: 50_000": "min_amount_minor: 100",
}
_TEXT = DEFAULT_POLICY.read_text(encoding="utf-8")
for _old, _new in _CHANGES.items():
    assert _old in _TEXT, _old
    _TEXT = _TEXT.replace(_old, _new)
ORDERS = (("late_fee", "fee", "principal"), ("principal", "fee", "late_fee"))
FEE_PAYERS = ("buyer", "merchant")
POLICIES = {(order, payer): parse_policy(_TEXT.replace(
    "allocation_order: [late_fee, fee, principal]", f"allocation_order: [{', '.join(order)}]").replace(
    "fee_payer: merchant", f"fee_payer: {payer}"), source=f"test policy: {order}, the {payer} pays the terms fee")
    for order in ORDERS for payer in FEE_PAYERS}
"""The test policy with its allocation order or principal first, the terms fee owed by the buyer
(repayments pay fees as well as principal) or paid by the merchant (a receivable owes principal
only: it can be split into installments at once)."""
FEE_PER_MILLE = {30: 15, 60: 25, 90: 35}  # the policy's 1.5 % / 2.5 % / 3.5 %, by hand
GRADE = "A"  # the buyers' grade: plans of up to 12 installments


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
        self.plans: list[int] = []  # receivables split into installments
        self.order, self.fee_payer, self.policy = ORDERS[0], "buyer", POLICIES[(ORDERS[0], "buyer")]

    @initialize(order=st.sampled_from(ORDERS), fee_payer=st.sampled_from(FEE_PAYERS))
    def choose_the_policy(self, order, fee_payer):
        self.order, self.fee_payer, self.policy = order, fee_payer, POLICIES[(order, fee_payer)]

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
        assert (new.line_id, new.hold_id, new.principal, new.fee, new.merchant_fee) == (
            (hold.line_id, hold_id, amount, fee, 0) if self.fee_payer == "buyer" else (hold.line_id, hold_id, amount, 0, fee))
        assert new.due_at == self.now + timedelta(days=hold.terms_days)
        self._assert_credit_paid_the_new(before, after, hold.line_id, credit)

    def _assert_credit_paid_the_new(self, before: dict, after: dict, line_id: int, credit: int) -> dict:
        """The credit balance paid what the line owes at once, oldest due first, new receivables included."""
        zero = dict.fromkeys(invariants.PARTS, 0)
        owed_then = {rid: replace(r, paid=before[rid].paid if rid in before else zero) for rid, r in after.items()}
        moves, left = invariants.waterfall(owed_then, line_id, credit, order=self.order)
        paid_now = {(rid, part): r.paid[part] - owed_then[rid].paid[part]
                    for rid, r in after.items() for part in invariants.PARTS if r.paid[part] != owed_then[rid].paid[part]}
        assert paid_now == moves
        assert invariants.credit_of_line(self.session, line_id) == left
        return moves

    @precondition(lambda self: self.holds)
    @rule(data=st.data(), amount=whole | amounts)
    def refund(self, data, amount):
        hold_id = self._pick(data, [h for h, hold in self.holds.items() if hold.captured > hold.refunded], self.holds,
                             "hold")
        hold = self.holds[hold_id]
        mine = [r for r in invariants.receivables(self.session).values() if r.hold_id == hold_id]
        reachable = [r for r in mine if r.live and r.status != "rescheduled"]  # not charged off, not split
        refundable = sum(r.carries["principal"] for r in reachable)
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
        for r in sorted(reachable, key=lambda r: -r.receivable_id):
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
        book = invariants.receivables(self.session)
        cured = (invariants.days_past_due(book, line_id, self.now) < freeze_days
                 and line.posted_minor + line.pending_minor <= line.limit_minor
                 and not any(r.line_id == line_id and r.status == "defaulted" for r in book.values()))
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
        if line.status != "closed" and line.posted_minor + line.pending_minor > line.limit_minor:
            assert (line.status, line.frozen_by) == ("frozen", "servicing")

    @precondition(lambda self: any(totals.receivable_ids for totals in self.lines.values()))
    @rule(data=st.data(), count=st.integers(min_value=2, max_value=4))
    def split_into_installments(self, data, count):
        book = invariants.receivables(self.session)
        every = sorted(rid for totals in self.lines.values() for rid in totals.receivable_ids)
        splittable = [rid for rid in every  # what can be split, by the module's rules
                      if book[rid].parent_id is None and book[rid].status in ("open", "partially_paid")
                      and self.now < book[rid].due_at and book[rid].total_owed == book[rid].owed("principal") >= 100]
        receivable_id = self._pick(data, splittable, every, "receivable")
        r = book[receivable_id]
        line = invariants.line_row(self.session, r.line_id)
        principal = r.owed("principal")
        if r.parent_id is not None:
            expected = "receivable_not_reschedulable"  # an installment is not split again
        elif r.status == "rescheduled":
            expected = "installment_plan_exists"
        elif (invariants.expected_status(r, self.now) not in ("open", "partially_paid") or self.now >= r.due_at
              or r.owed("fee") or r.owed("late_fee") or line.status != "active"):
            expected = "receivable_not_reschedulable"
        elif principal < max(self.policy.document.servicing.installments.min_amount_minor, count):
            expected = "installments_not_allowed"
        else:
            expected = None
        credit, posted = invariants.credit_of_line(self.session, r.line_id), self._posted(r.line_id)
        ids = self._call(expected, lambda: installments.accept(self.session, receivable_id, count, self.policy, GRADE,
                                                               self.now))
        if ids is None:
            return
        self.lines[r.line_id].receivable_ids += ids
        self.plans.append(receivable_id)
        after = invariants.receivables(self.session)
        # by hand: principal and a 1 % a month fee for the months after the first, each split evenly,
        # the remainder on the last; due one, two, ... calendar months after acceptance
        fee = (principal * (count - 1) + 50) // 100
        shares = [principal // count] * (count - 1) + [principal - principal // count * (count - 1)]
        fees = [fee // count] * (count - 1) + [fee - fee // count * (count - 1)]
        plan = [after[rid] for rid in ids]
        assert [(i.parent_id, i.hold_id, i.principal, i.fee, i.due_at) for i in plan] == [
            (receivable_id, r.hold_id, shares[k], fees[k], self.now + relativedelta(months=k + 1)) for k in range(count)]
        assert (after[receivable_id].status, after[receivable_id].rescheduled) == ("rescheduled", principal)
        # exposure moved to the installments, not off the line (but for what credit paid on them)
        moves = self._assert_credit_paid_the_new(book, after, r.line_id, credit)
        assert self._posted(r.line_id) == posted - sum(v for (_, part), v in moves.items() if part == "principal")

    @precondition(lambda self: self.plans)
    @rule(data=st.data())
    def settle_plan_early(self, data):
        parent_id = data.draw(st.sampled_from(self.plans), label="plan")
        plan = [r for r in invariants.receivables(self.session).values() if r.parent_id == parent_id]
        line_id = plan[0].line_id
        if any(r.status in ("defaulted", "charged_off", "recovered") for r in plan) or not sum(
                r.total_owed for r in plan):
            expected = "plan_not_settleable"
        else:
            expected = None
        # by hand (refund_unused_fee): an installment not yet due gives up its fee, the part paid
        # back to credit; the payment is everything else the plan owes
        unused = [r for r in plan if r.due_at > self.now]
        due = sum(r.total_owed for r in plan) - sum(r.owed("fee") for r in unused)
        returned = sum(r.paid["fee"] for r in unused)
        credit = invariants.credit_of_line(self.session, line_id)
        settled = self._call(expected, lambda: installments.settle_early(
            self.session, parent_id, policy=self.policy, now=self.now, reference=self._reference("PAY"),
            received_by="payments-system"))
        if settled is None:
            return
        assert settled.terms.amount_due_minor == due
        if settled.receipt is not None:
            self.repayments[settled.receipt.repayment_id] = RepaymentModel(line_id, due)
            self.lines[line_id].received += due
        after = invariants.receivables(self.session)
        assert all(after[r.receivable_id].total_owed == 0 for r in plan)
        assert all(after[r.receivable_id].fee == 0 for r in unused)
        assert invariants.credit_of_line(self.session, line_id) == credit + returned

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

    @rule(days=st.sampled_from([1, 7, 31, 91]))
    def servicing_day(self, days):
        """Close the days up to ``days`` from today: the clock moves to the end of the last one (midnight)."""
        as_of = self.now.date() + timedelta(days=days - 1)
        self.now = datetime.combine(as_of + timedelta(days=1), time())
        self._close_the_day(as_of)

    def _close_the_day(self, as_of: date) -> None:
        # the daily job for the last day only: days it missed are days the job did not run
        with clock.frozen(self.now):
            run_day(self.session, as_of, self.policy)  # judged at the end of as_of: self.now
        for hold_id, hold in self.holds.items():  # a line that defaults has its pending holds voided
            stored = invariants.hold_row(self.session, hold_id)
            hold.released, hold.status = stored.released_minor, stored.status

    @rule()
    def sweep_expired_holds(self):
        due = sorted(h for h, hold in self.holds.items() if hold.status == "pending" and hold.expires_at <= self.now)
        assert ledger.expire_holds(self.session, now=self.now) == due
        for hold_id in due:
            hold = self.holds[hold_id]
            hold.released, hold.status = hold.amount - hold.captured, "expired"

    # -- invariants, checked after every step on the book read once -----------------------

    @invariant()
    def the_book_keeps_every_invariant(self):
        book = invariants.read_book(self.session)
        self.open_principal_of_live_receivables_is_the_lines_posted_exposure(book)
        self.each_hold_carries_its_captures_and_refunds_as_receivables(book)
        invariants.assert_allocations(self.session, book)  # no part is allocated more than it carries
        self.every_minor_unit_received_is_allocated_in_credit_or_refunded(book)
        invariants.assert_credit_and_returns(self.session, book)  # never negative; a returned repayment keeps nothing
        self.each_receivable_has_the_status_its_amounts_and_due_date_give(book)

    def open_principal_of_live_receivables_is_the_lines_posted_exposure(self, book):
        invariants.assert_exposure(self.session, list(self.lines), book)

    def each_hold_carries_its_captures_and_refunds_as_receivables(self, book):
        transfers = invariants.hold_transfers(self.session)
        receivables = book.receivables.values()
        for hold_id, hold in self.holds.items():
            mine = [r for r in receivables if r.hold_id == hold_id]  # its captures and their installments
            assert sum(r.principal for r in mine if r.parent_id is None) == transfers[hold_id]["post"] == hold.captured
            assert sum(r.refunded for r in mine) == transfers[hold_id]["refund"] == hold.refunded, hold_id
        for line_id, totals in self.lines.items():
            captures = [r for r in receivables if r.line_id == line_id and r.parent_id is None]
            assert sum(r.principal for r in captures) == totals.captured
            # a plan's installments carry the principal their receivable moved to them
            for parent in captures:
                plan = [r for r in receivables if r.parent_id == parent.receivable_id]
                assert sum(r.principal for r in plan) == parent.rescheduled, parent

    def every_minor_unit_received_is_allocated_in_credit_or_refunded(self, book):
        for line_id, totals in self.lines.items():
            money = invariants.assert_money_received(self.session, line_id, book)
            assert (money.received, money.refunded) == (totals.received, totals.credit_refunded), money

    def each_receivable_has_the_status_its_amounts_and_due_date_give(self, book):
        for r in book.receivables.values():
            expected = invariants.expected_status(r, self.now)
            assert expected is None or r.status == expected, (r, expected)


def test_the_book_keeps_its_invariants_through_random_servicing(store):
    ServicingMachine.engine = store
    run_state_machine_as_test(ServicingMachine, settings=settings(
        max_examples=80, stateful_step_count=40, deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    ))
