"""Stateful property test: random hold/capture/void/refund/repay/expire/limit sequences.

Hypothesis drives the ledger and a plain in-memory reference model side by side. Every
operation must succeed or be refused with the same code as the model says, and after every
step the cached balances must equal the model's, equal the recomputation from the
transfers, and leave available >= 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from credit.ledger import (
    Balances,
    LedgerError,
    authorize,
    balances,
    capture,
    change_limit,
    expire_holds,
    freeze,
    get_hold,
    reconcile,
    refund,
    repay,
    unfreeze,
    void,
)
from credit.ledger.lines import open_line
from tests.ledger.factories import make_firm

START = datetime(2026, 1, 5, 8, 0)
amounts = st.integers(min_value=1, max_value=700)  # against limits up to 1,000: declines are common
# Few distinct periods, so the clock often lands exactly on an expiry (the boundary that matters).
hold_hours = st.sampled_from([1, 2, 3, 24])
clock_hours = st.sampled_from([0, 1, 2, 24])


@dataclass
class LineModel:
    limit: int
    cap: int | None
    status: str = "active"
    posted: int = 0
    pending: int = 0


@dataclass
class HoldModel:
    line_id: int
    amount: int
    expires_at: datetime
    captured: int = 0
    released: int = 0
    refunded: int = 0
    status: str = "pending"


class LedgerMachine(RuleBasedStateMachine):
    engine: Engine  # set by the test before running

    def __init__(self) -> None:
        super().__init__()
        self.connection = self.engine.connect()
        self.outer = self.connection.begin()
        self.session = Session(bind=self.connection, join_transaction_mode="create_savepoint")
        self.now = START
        self.lines: dict[int, LineModel] = {}
        self.holds: dict[int, HoldModel] = {}

    def teardown(self) -> None:
        self.session.close()
        self.outer.rollback()
        self.connection.close()

    def _call(self, expected_code: str | None, operation):  # noqa: ANN001, ANN202
        """Run the operation; it must succeed when the model expects no refusal, else refuse with its code."""
        try:
            result = operation()
        except LedgerError as refused:
            assert refused.code == expected_code, f"ledger refused {refused.code!r}, model expected {expected_code!r}: {refused}"
            return None
        assert expected_code is None, f"ledger accepted, model expected refusal {expected_code!r}"
        return result

    # -- rules ---------------------------------------------------------------------------

    @rule(limit=st.integers(min_value=0, max_value=1_000), cap=st.none() | st.integers(min_value=1, max_value=600))
    def open_line(self, limit, cap):
        firm = make_firm(self.session, firm_id=len(self.lines) + 1)
        line_id = open_line(self.session, firm_id=firm, limit_minor=limit, currency="EUR",
                            per_order_cap_minor=cap, now=self.now)
        self.lines[line_id] = LineModel(limit=limit, cap=cap)

    @precondition(lambda self: self.lines)
    @rule(data=st.data(), amount=amounts, hours=hold_hours)
    def authorize(self, data, amount, hours):
        line_id = data.draw(st.sampled_from(sorted(self.lines)), label="line")
        line = self.lines[line_id]
        if line.status == "frozen":
            expected = "line_frozen"
        elif line.cap is not None and amount > line.cap:
            expected = "per_order_cap_exceeded"
        elif amount > line.limit - line.posted - line.pending:
            expected = "limit_exceeded"
        else:
            expected = None
        made = self._call(expected, lambda: authorize(
            self.session, line_id, amount, order_reference=f"PO-{len(self.holds)}", now=self.now,
            hold_for=timedelta(hours=hours)))
        if made is not None:
            line.pending += amount
            self.holds[made.hold_id] = HoldModel(line_id, amount, expires_at=self.now + timedelta(hours=hours))

    @precondition(lambda self: self.holds)
    @rule(data=st.data(), amount=amounts)
    def capture(self, data, amount):
        hold_id = data.draw(st.sampled_from(sorted(self.holds)), label="hold")
        hold = self.holds[hold_id]
        remaining = hold.amount - hold.captured - hold.released
        if hold.status == "expired" or (hold.status == "pending" and self.now >= hold.expires_at):
            expected = "hold_expired"
        elif hold.status != "pending":
            expected = "hold_not_pending"
        elif amount > remaining:
            expected = "capture_exceeds_hold"
        else:
            expected = None
        if self._call(expected, lambda: capture(self.session, hold_id, amount, now=self.now)) is not None:
            hold.captured += amount
            hold.status = "closed" if hold.captured == hold.amount else "pending"
            self.lines[hold.line_id].pending -= amount
            self.lines[hold.line_id].posted += amount

    @precondition(lambda self: self.holds)
    @rule(data=st.data())
    def void(self, data):
        hold_id = data.draw(st.sampled_from(sorted(self.holds)), label="hold")
        hold = self.holds[hold_id]
        expected = None if hold.status == "pending" else "hold_not_pending"
        if self._call(expected, lambda: void(self.session, hold_id, now=self.now)) is not None:
            hold.released = hold.amount - hold.captured
            hold.status = "closed"
            self.lines[hold.line_id].pending -= hold.released

    @precondition(lambda self: self.holds)
    @rule(data=st.data(), amount=amounts)
    def refund(self, data, amount):
        hold_id = data.draw(st.sampled_from(sorted(self.holds)), label="hold")
        hold, line = self.holds[hold_id], self.lines[self.holds[hold_id].line_id]
        if hold.refunded + amount > hold.captured:
            expected = "refund_exceeds_captured"
        elif amount > line.posted:
            expected = "exceeds_posted"
        else:
            expected = None
        if self._call(expected, lambda: refund(self.session, hold_id, amount, now=self.now)) is not None:
            hold.refunded += amount
            line.posted -= amount

    @precondition(lambda self: self.lines)
    @rule(data=st.data(), amount=amounts)
    def repay(self, data, amount):
        line_id = data.draw(st.sampled_from(sorted(self.lines)), label="line")
        line = self.lines[line_id]
        expected = "exceeds_posted" if amount > line.posted else None
        if self._call(expected, lambda: repay(self.session, line_id, amount, now=self.now)) is not None:
            line.posted -= amount

    @rule(hours=clock_hours)
    def expire(self, hours):
        self.now += timedelta(hours=hours)
        due = sorted(h for h, hold in self.holds.items() if hold.status == "pending" and hold.expires_at <= self.now)
        assert expire_holds(self.session, now=self.now) == due
        for hold_id in due:
            hold = self.holds[hold_id]
            hold.released = hold.amount - hold.captured
            hold.status = "expired"
            self.lines[hold.line_id].pending -= hold.released

    @precondition(lambda self: self.lines)
    @rule(data=st.data(), limit=st.integers(min_value=0, max_value=1_200))
    def change_limit(self, data, limit):
        line_id = data.draw(st.sampled_from(sorted(self.lines)), label="line")
        line = self.lines[line_id]
        expected = "limit_below_exposure" if limit < line.posted + line.pending else None
        if self._call(expected, lambda: change_limit(self.session, line_id, limit, now=self.now)) is not None:
            line.limit = limit

    @precondition(lambda self: self.lines)
    @rule(data=st.data())
    def freeze_or_unfreeze(self, data):
        line_id = data.draw(st.sampled_from(sorted(self.lines)), label="line")
        line = self.lines[line_id]
        if line.status == "active":
            freeze(self.session, line_id, now=self.now)
            line.status = "frozen"
        else:
            unfreeze(self.session, line_id, now=self.now)
            line.status = "active"

    # -- invariants, checked after every step ---------------------------------------------

    @invariant()
    def cached_balances_equal_the_model_and_available_is_never_negative(self):
        for line_id, line in self.lines.items():
            cached = balances(self.session, line_id)
            assert cached == Balances(line.limit, line.posted, line.pending)
            assert cached.available_minor >= 0

    @invariant()
    def balances_recompute_from_the_transfers(self):
        # the journal's sums equal the cached balances, which the invariant above holds equal to the model
        assert reconcile(self.session).differences == ()

    @invariant()
    def holds_equal_the_model(self):
        for hold_id, hold in self.holds.items():
            stored = get_hold(self.session, hold_id)
            assert (stored.captured_minor, stored.released_minor, stored.refunded_minor, stored.status) == (
                hold.captured, hold.released, hold.refunded, hold.status)


def test_ledger_matches_the_reference_model(store):
    LedgerMachine.engine = store
    run_state_machine_as_test(LedgerMachine, settings=settings(
        max_examples=50, stateful_step_count=30, deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    ))
