"""The sandbox's clock: read how far ahead it runs, and move it forward running the work that falls due.

The sandbox's now is the installed clock's now plus the offset its store keeps
(:class:`~credit.sandbox.tables.SandboxClock`), so every process serving the sandbox agrees
and the sandbox's time ticks with real time between moves. :func:`move_to` moves it forward
only, and runs what a production deployment's schedule would have run meanwhile, in the
caller's unit of work:

1. for each day whose end the move crosses and the daily jobs have not run for: the holds
   expired by that day's end (:func:`credit.ledger.expire_holds`), the servicing job
   (:func:`credit.servicing.run.run_day`: reminders, late fees, freeze, default, charge-off,
   statuses such as ``overdue``) and the financing book's job
   (:func:`credit.financing.run.run_day`), each on a clock standing at that day's end, so
   what they write and the events they emit carry that moment;
2. then the holds expired by the new now.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, func, select, update
from sqlalchemy.orm import Session

from credit import clock, ledger
from credit.events.tables import Event
from credit.financing.run import run_day as run_financing_day
from credit.policy import Policy
from credit.sandbox.tables import SandboxClock
from credit.servicing.run import end_of_day
from credit.servicing.run import run_day as run_servicing_day

MAX_MOVE = timedelta(days=400)
"""The furthest one move goes: a year of daily jobs and some; move again for more."""
SANDBOX_ACTOR = "sandbox-clock"
"""Who the daily jobs a move runs name in their decisions."""
_CLOCK = SandboxClock.__table__
_EVENTS = Event.__table__


class SandboxClockError(ValueError):
    """A move the sandbox's clock refuses; ``code`` says why."""

    def __init__(self, message: str, code: str, **details: object) -> None:
        super().__init__(message)
        self.message, self.code, self.details = message, code, details


@dataclass(frozen=True)
class ClockState:
    """The sandbox's clock as stored, and its now."""

    now: datetime
    offset: timedelta
    serviced_through: date
    seeded_at: datetime
    moved_at: datetime | None


@dataclass(frozen=True)
class Move:
    """What one move did."""

    before: datetime
    after: datetime
    days_run: tuple[date, ...]
    holds_expired: tuple[int, ...]
    servicing_steps: dict[str, int] = field(default_factory=dict)
    financing_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    events_emitted: int = 0


def offset(connection: Connection | Session) -> timedelta:
    """How far the sandbox's now runs ahead of the installed clock (zero before it is seeded)."""
    stored = connection.execute(select(_CLOCK.c.offset_us).where(_CLOCK.c.clock_id == 1)).scalar()
    return timedelta(microseconds=stored or 0)


def state(session: Session) -> ClockState:
    """The sandbox's clock now.

    Raises
    ------
    SandboxClockError
        ``sandbox_not_seeded``: the store has no clock (run ``credit sandbox reset``).
    """
    row = session.execute(select(_CLOCK).where(_CLOCK.c.clock_id == 1)).first()
    if row is None:
        raise SandboxClockError("The sandbox has not been seeded: run `credit sandbox reset`.", "sandbox_not_seeded")
    shift = timedelta(microseconds=row.offset_us)
    return ClockState(clock.current().now() + shift, shift, row.serviced_through, row.seeded_at, row.moved_at)


def move_to(session: Session, to: datetime | timedelta, policy: Policy) -> Move:
    """Put the sandbox's now at ``to`` (naive UTC, or that far ahead of its now) and run the work due by then.

    Flushed, not committed.

    On SQLite begin the unit of work with ``BEGIN IMMEDIATE``; on PostgreSQL the clock's row is
    locked, so two moves run one after the other and the second starts from the first's now.

    Raises
    ------
    SandboxClockError
        ``clock_backwards`` (``to`` before the sandbox's now), ``clock_move_too_far`` (more
        than :data:`MAX_MOVE` ahead), ``sandbox_not_seeded``.
    """
    row = session.execute(select(_CLOCK).where(_CLOCK.c.clock_id == 1).with_for_update()).first()
    if row is None:
        raise SandboxClockError("The sandbox has not been seeded: run `credit sandbox reset`.", "sandbox_not_seeded")
    real = clock.current().now()
    before = real + timedelta(microseconds=row.offset_us)
    if isinstance(to, timedelta):
        to = before + to
    if to < before:
        raise SandboxClockError(f"The sandbox's clock only moves forward: it is {before.isoformat()}Z, later than "
                                f"{to.isoformat()}Z.", "clock_backwards", now=before)
    if to - before > MAX_MOVE:
        raise SandboxClockError(f"One move goes at most {MAX_MOVE.days} days ahead; {to.isoformat()}Z is "
                                f"{(to - before) / timedelta(days=1):.1f} days after the sandbox's now. Move in steps.",
                                "clock_move_too_far", now=before)
    last_event = session.execute(select(func.max(_EVENTS.c.seq))).scalar() or 0
    expired: list[int] = []
    steps: Counter[str] = Counter()
    financing: dict[str, Counter[str]] = {}
    days = []
    day = row.serviced_through + timedelta(days=1)
    while end_of_day(day) <= to:
        moment = end_of_day(day)
        with clock.running_on(clock.FixedClock(moment)):
            expired += ledger.expire_holds(session, moment)
            steps.update(run_servicing_day(session, day, policy, actor=SANDBOX_ACTOR).steps)
            for product, counts in run_financing_day(session, day, policy, actor=SANDBOX_ACTOR).counts.items():
                financing.setdefault(product, Counter()).update(counts)
        days.append(day)
        day += timedelta(days=1)
    with clock.running_on(clock.FixedClock(to)):
        expired += ledger.expire_holds(session, to)
    session.execute(update(_CLOCK).where(_CLOCK.c.clock_id == 1).values(
        offset_us=max(row.offset_us, _microseconds(to - real)), moved_at=to,
        serviced_through=days[-1] if days else row.serviced_through))
    emitted = session.execute(select(func.count()).select_from(_EVENTS).where(_EVENTS.c.seq > last_event)).scalar_one()
    return Move(before, to, tuple(days), tuple(expired), {step: n for step, n in steps.items() if n},
                {product: {name: n for name, n in counts.items() if n}
                 for product, counts in financing.items() if any(counts.values())}, emitted)


def _microseconds(span: timedelta) -> int:
    return span // timedelta(microseconds=1)
