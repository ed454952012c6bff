"""The daily servicing job: apply the dunning steps due on one day to the whole book, then age it.

:func:`run_day` judges the book at the **end of the servicing day**: ``as_of`` + 1 day at
00:00 UTC (:func:`end_of_day`), so a receivable due on day D is 0 days past due on D and
7 days past due on D + 7, whatever the hour it fell due. What it writes is stamped with the
clock's now (when it was booked), except the statuses it refreshes, which are as of that
end of day.

For that moment, in the caller's unit of work (flushed, never committed), line by line under
the line's row lock (the lock a repayment takes, :func:`credit.servicing.allocation.lock_line`;
held to the end of the unit of work), it

1. takes the steps of :func:`credit.servicing.dunning.decide_dunning` for every live
   receivable (open, partially paid or overdue, something owed): reminders and the late fee;
2. then for the line, when it is not closed and has live receivables or servicing froze it
   (its days past due: :func:`credit.servicing.status.line_days_past_due`): freeze,
   unfreeze, default (its live receivables become ``defaulted``, its pending holds are
   voided) and charge-off (each live receivable's open principal moves to
   ``charged_off_minor``, status ``charged_off``, the sum leaves the line's exposure as a
   ``charge_off`` transfer, then the line closes);
3. records each subject's decision in the audit trail and one ``servicing_actions`` row per
   step (unique per subject, step key and day) carrying its ``decision_id``;
4. refreshes the statuses of every receivable still open, partially paid, overdue or
   defaulted (:func:`credit.servicing.status.refresh`), so ``overdue`` appears with time
   alone;
5. writes the day's ageing snapshot (:mod:`credit.servicing.ageing`).

Each step taken writes ``dunning.step_taken`` (its object is the ``servicing_actions`` row:
:func:`dunning_step_event_data`); the first reminder before the due date (a negative offset of
``servicing.dunning.reminder_days``: the policy's reminder window) also writes
``receivable.due_soon``. Both come with the step's row, which is unique per subject, step and
day, so a day run again writes neither twice. The line's own steps announce the line's change
too (``credit_line.frozen`` ... from :mod:`credit.ledger`), and the refresh the receivables'
arrivals at overdue or paid (:func:`credit.servicing.status.refresh`).

Running it again for the same day changes nothing over an unchanged book; running it for a
later day takes no one-off step (a reminder offset, the late fee, default, charge-off) a
subject took on another day. Run it daily, in date order: it reads the book as it stands.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session

from credit import clock, ledger
from credit.audit import record_decision
from credit.events import outbox
from credit.ledger.journal import HOLDS, LINES
from credit.money import MARKETPLACE_CURRENCY, from_minor
from credit.policy import Policy
from credit.servicing.ageing import write_ageing
from credit.servicing.allocation import lock_line
from credit.servicing.amounts import OWED_COLUMNS, PRINCIPAL_OWED, RECEIVABLES, Owed
from credit.servicing.dunning import DunningCase, DunningStep, decide_dunning
from credit.servicing.status import line_days_past_due, receivable_event_data, refresh
from credit.servicing.tables import ServicingAction
from credit.standing import days_past_due

ACTIONS = ServicingAction.__table__
LIVE_STATUSES: tuple[str, ...] = ("open", "partially_paid", "overdue", "defaulted", "rescheduled")
"""Receivables still serviced: something may be owed and nothing was written off. A rescheduled one
owes only what a payment returned after its split had paid: in the line's standing and charge-off,
never dunned itself (its installments are)."""
_DUNNED = ("open", "partially_paid", "overdue")
"""Live receivables that get reminders and late fees; a defaulted one is in collections."""
_r = RECEIVABLES.c


@dataclass(frozen=True)
class DayReport:
    """What one servicing day did.

    Attributes
    ----------
    as_of : date
        The servicing day.
    judged_at : datetime
        The moment the book was judged at: the end of ``as_of`` (UTC).
    receivables_checked, lines_checked : int
        Subjects the dunning rules were applied to.
    steps : dict of str to int
        Steps taken in this run, by step (``reminder``, ``late_fee``, ...).
    amounts_minor : dict of str to int
        Minor units booked in this run, by step (``late_fee``, ``default``, ``charge_off``).
    decisions : int
        Decisions recorded in the audit trail.
    lines_aged : int
        Lines in the day's ageing snapshot.
    ageing_written : int
        Ageing rows inserted or changed (0 when the snapshot was already current).
    """

    as_of: date
    judged_at: datetime
    receivables_checked: int
    lines_checked: int
    steps: dict[str, int] = field(default_factory=dict)
    amounts_minor: dict[str, int] = field(default_factory=dict)
    decisions: int = 0
    lines_aged: int = 0
    ageing_written: int = 0


def dunning_step_event_data(action_id: int, case: DunningCase, step: DunningStep, decision_id: str, line_id: int,
                            receivable_id: int | None, as_of: date) -> dict[str, object]:
    """A dunning step taken, as its event carries it: what was done to which receivable or line, why, for which day."""
    return {"action_id": action_id, "subject": case.subject, "line_id": line_id, "receivable_id": receivable_id,
            "step": step.step, "step_key": step.step_key, "reason_code": step.reason_code,
            "days_past_due": case.days_past_due, "currency": MARKETPLACE_CURRENCY,
            "amount": None if step.amount_minor is None else from_minor(step.amount_minor),
            "decision_id": decision_id, "as_of": as_of}


def end_of_day(as_of: date) -> datetime:
    """The moment a servicing day is judged at: the next day at 00:00 UTC (naive)."""
    return datetime.combine(as_of + timedelta(days=1), time())


def run_day(session: Session, as_of: date, policy: Policy, *, actor: str = "servicing") -> DayReport:
    """Apply the policy's dunning steps due at the end of ``as_of`` to the whole book (see the module).

    Parameters
    ----------
    session
        The unit of work; flushed, not committed. On SQLite, bind it with
        ``sqlite_begin="IMMEDIATE"`` when the service may write meanwhile.
    as_of
        The servicing day.
    policy
        The policy whose ``servicing.dunning`` section sets the steps; stored with the decisions.
    actor
        Who runs the job, kept on each decision.

    Returns
    -------
    DayReport

    Raises
    ------
    TypeError
        ``as_of`` is not a date (a datetime is refused: the day is what is serviced).
    credit.ledger.LineNotEmpty
        A charged-off line still has posted exposure: its receivables no longer add up to it.
    RuntimeError
        A line's open principal changed between the job's read and its charge-off (a writer
        that did not take the line's lock): roll back and run the day again.
    """
    if not isinstance(as_of, date) or isinstance(as_of, datetime):
        raise TypeError(f"`as_of` must be a date; got {as_of!r}.")
    day = _Day(session, as_of, policy, actor)
    for line_id in day.line_ids():
        day.service(line_id)
    refresh(session, session.execute(select(_r.receivable_id).where(_r.status.in_(LIVE_STATUSES))).scalars(),
            day.judged_at)
    aged, written = write_ageing(session, as_of, day.judged_at)
    return DayReport(as_of, day.judged_at, day.receivables_checked, day.lines_checked, dict(day.steps),
                     dict(day.amounts), day.decisions, aged, written)


@dataclass(frozen=True)
class _Line:
    line_id: int
    firm_id: int
    status: str
    frozen_by: str | None
    within_limit: bool


class _Day:
    """One servicing day's reads and writes; which steps are due is :func:`decide_dunning`'s alone."""

    def __init__(self, session: Session, as_of: date, policy: Policy, actor: str) -> None:
        self.session, self.as_of, self.policy, self.actor = session, as_of, policy, actor
        self.judged_at, self.booked_at = end_of_day(as_of), clock.now()
        self.steps: Counter[str] = Counter()
        self.amounts: Counter[str] = Counter()
        self.decisions = self.receivables_checked = self.lines_checked = 0
        self.taken: dict[str, list[str]] = defaultdict(list)
        self.today: dict[str, list[str]] = defaultdict(list)
        open_lines = select(LINES.c.line_id).where(LINES.c.status != "closed")
        for subject, step_key, on in session.execute(
                select(ACTIONS.c.subject, ACTIONS.c.step_key, ACTIONS.c.as_of)
                .where(ACTIONS.c.line_id.in_(open_lines)).order_by(ACTIONS.c.action_id)):
            (self.today if on == as_of else self.taken)[subject].append(step_key)

    def line_ids(self) -> list[int]:
        """Lines not closed with live receivables issued by the end of the day, or frozen by servicing."""
        live = select(_r.line_id).where(_r.status.in_(LIVE_STATUSES), _r.issued_at < self.judged_at)
        return list(self.session.execute(
            select(LINES.c.line_id).where(LINES.c.status != "closed",
                                          or_(LINES.c.line_id.in_(live), LINES.c.frozen_by == "servicing"))
            .order_by(LINES.c.line_id)).scalars())

    def service(self, line_id: int) -> None:
        """The line's receivables' steps, then the line's, under the line's lock (the one a repayment takes)."""
        # Its pending holds first (a default voids them): every writer locks a hold before its line,
        # so a capture that holds one and waits for the line is waited for, not deadlocked.
        self.session.execute(select(HOLDS.c.hold_id).where(HOLDS.c.line_id == line_id, HOLDS.c.status == "pending")
                             .order_by(HOLDS.c.hold_id).with_for_update(key_share=True))
        lock_line(self.session, line_id)
        line = self._line(line_id)
        if line.status == "closed":  # closed since line_ids() read it
            return
        for owed in self._live_receivables(line_id):
            if owed.status in _DUNNED:
                self.receivables_checked += 1
                self._service_receivable(owed, line)
        receivables = self._live_receivables(line_id)  # again: the late fees just charged are owed too
        if receivables or line.frozen_by == "servicing":
            self.lines_checked += 1
            self._service_line(line, receivables)

    def _line(self, line_id: int) -> _Line:
        row = self.session.execute(
            select(LINES.c.line_id, LINES.c.firm_id, LINES.c.status, LINES.c.frozen_by,
                   (LINES.c.posted_minor + LINES.c.pending_minor <= LINES.c.limit_minor).label("within_limit"))
            .where(LINES.c.line_id == line_id)).one()
        return _Line(row.line_id, row.firm_id, row.status, row.frozen_by, bool(row.within_limit))

    def _live_receivables(self, line_id: int) -> list[Owed]:
        """The line's receivables issued by the end of the day, not written off, with something owed."""
        rows = self.session.execute(select(*OWED_COLUMNS).where(
            _r.line_id == line_id, _r.status.in_(LIVE_STATUSES), _r.issued_at < self.judged_at)
            .order_by(_r.receivable_id)).all()
        return [owed for owed in map(Owed.of, rows) if owed.total > 0]

    def _service_receivable(self, owed: Owed, line: _Line) -> None:
        case = self._case(f"receivable:{owed.receivable_id}", owed.firm_id,
                          days_past_due(owed.due_at, self.judged_at), [owed], line)
        decision_id, steps = self._decide(case)
        for step in steps:
            if step.step == "late_fee":
                self.session.execute(update(RECEIVABLES).where(_r.receivable_id == owed.receivable_id)
                                     .values(late_fee_minor=_r.late_fee_minor + step.amount_minor,
                                             updated_at=self.booked_at))
            self._act(case, step, decision_id, owed.line_id, owed.receivable_id)
            if step.step == "reminder" and self._enters_reminder_window(case, step):
                outbox.emit(self.session, "receivable.due_soon", object_id=owed.receivable_id, firm_id=owed.firm_id,
                     data=receivable_event_data(owed, self.judged_at), occurred_at=self.booked_at)

    @staticmethod
    def _enters_reminder_window(case: DunningCase, step: DunningStep) -> bool:
        """The first reminder before the due date the receivable gets: it is now due soon (once per receivable)."""
        def before_due(key: str) -> bool:
            kind, _, offset = key.partition(":")
            return kind == "reminder" and offset.lstrip("-").isdigit() and int(offset) < 0

        return before_due(step.step_key) and not any(
            before_due(key) for key in (*case.steps_taken, *case.steps_today))

    def _service_line(self, line: _Line, receivables: list[Owed]) -> None:
        dpd = line_days_past_due(self.session, line.line_id, self.judged_at)
        case = self._case(f"line:{line.line_id}", line.firm_id, dpd, receivables, line)
        decision_id, steps = self._decide(case)
        ids = [o.receivable_id for o in receivables]
        for step in steps:
            if step.step == "freeze":
                ledger.freeze(self.session, line.line_id, by="servicing", now=self.booked_at)
            elif step.step == "unfreeze":
                ledger.unfreeze(self.session, line.line_id, by="servicing", now=self.booked_at)
            elif step.step == "default":
                self.session.execute(update(RECEIVABLES).where(_r.receivable_id.in_(ids), _r.status.in_(_DUNNED))
                                     .values(status="defaulted", updated_at=self.booked_at))
                self._void_pending_holds(line.line_id)
            elif step.step == "charge_off":
                self._charge_off(line.line_id, ids, step.amount_minor)
            self._act(case, step, decision_id, line.line_id, None)

    def _case(self, subject: str, firm_id: int, dpd: int, receivables: list[Owed], line: _Line) -> DunningCase:
        return DunningCase(
            subject=subject, firm_id=firm_id, days_past_due=dpd,
            principal_owed_minor=sum(o.principal for o in receivables), owed_minor=sum(o.total for o in receivables),
            line_status=line.status, frozen_by=line.frozen_by, within_limit=line.within_limit,
            steps_taken=tuple(self.taken[subject]), steps_today=tuple(self.today[subject]))

    def _decide(self, case: DunningCase) -> tuple[str | None, tuple[DunningStep, ...]]:
        decision = decide_dunning(case, self.policy)
        if not decision.steps:
            return None, ()
        record = record_decision(self.session, kind="dunning", inputs=case, decision=decision, policy=self.policy,
                                 actor=self.actor, request={"as_of": self.as_of.isoformat(), "subject": case.subject},
                                 now=self.booked_at)
        self.decisions += 1
        return record.decision_id, decision.steps

    def _charge_off(self, line_id: int, receivable_ids: list[int], decided_minor: int) -> None:
        written = self.session.execute(
            update(RECEIVABLES).where(_r.receivable_id.in_(receivable_ids), _r.status.in_(LIVE_STATUSES))
            .values(charged_off_minor=_r.charged_off_minor + PRINCIPAL_OWED, status="charged_off",
                    updated_at=self.booked_at)
            .returning(PRINCIPAL_OWED.label("principal"))).all()
        amount = sum(int(row.principal) for row in written)
        if amount != decided_minor:  # the line is locked: only a writer that skipped its lock gets here
            raise RuntimeError(f"line {line_id}: the decision charges off {decided_minor} but its receivables owe "
                               f"{amount} principal now; roll back and run the day again.")
        if amount:
            ledger.charge_off(self.session, line_id, amount, reference=f"charge-off {self.as_of.isoformat()}",
                              now=self.booked_at)
        self._void_pending_holds(line_id)
        ledger.close_line(self.session, line_id, now=self.booked_at)

    def _void_pending_holds(self, line_id: int) -> None:
        pending = self.session.execute(select(HOLDS.c.hold_id).where(
            HOLDS.c.line_id == line_id, HOLDS.c.status == "pending").order_by(HOLDS.c.hold_id)).scalars().all()
        for hold_id in pending:
            ledger.void(self.session, hold_id, reference="servicing: line defaulted", now=self.booked_at)

    def _act(self, case: DunningCase, step: DunningStep, decision_id: str, line_id: int,
             receivable_id: int | None) -> None:
        action_id = self.session.execute(insert(ACTIONS).values(
            line_id=line_id, receivable_id=receivable_id, subject=case.subject, step=step.step, step_key=step.step_key,
            reason_code=step.reason_code, days_past_due=case.days_past_due, amount_minor=step.amount_minor,
            decision_id=decision_id, as_of=self.as_of, created_at=self.booked_at)
            .returning(ACTIONS.c.action_id)).scalar_one()
        outbox.emit(self.session, "dunning.step_taken", object_id=action_id, firm_id=case.firm_id, occurred_at=self.booked_at,
             data=dunning_step_event_data(action_id, case, step, decision_id, line_id, receivable_id, self.as_of))
        self.steps[step.step] += 1
        if step.amount_minor is not None:
            self.amounts[step.step] += step.amount_minor
