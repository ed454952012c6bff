"""The finance team's work on early warnings: acknowledge one, assign it to a person, add a note.

A warning is a firm on one monitoring run's list (``run_id``, ``firm_id``,
:mod:`credit.monitoring.tables`). Each thing done to it is one row of ``early_warning_actions``,
append-only, with who did it and when: the rows are the audit log, and where a warning stands
(acknowledged, by whom, assigned to whom, its notes) is read from them (:func:`work_on`). Each
change writes its event (``early_warning.acknowledged``, ``.assigned``, ``.noted``) in the same
unit of work; nothing is committed here.

Who may act and who may be assigned (the console's users) is the service's to check: the library
knows no API keys. A freeze or a limit change from the work list is the credit-line service's
audited line change, not a row here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from credit.events import outbox
from credit.monitoring.results import EarlyWarning
from credit.monitoring.tables import NOTE_MAX_LENGTH, EarlyWarningAction, EarlyWarningRecord, MonitoringRunRecord

ASSIGNEE_MAX_LENGTH = 100


class WorkListError(Exception):
    """A refused action on an early warning; ``status_code`` says which kind (404, 409, 422)."""

    status_code = 409

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class WarningNotFound(WorkListError):
    """No such firm on that run's list."""

    status_code = 404


class NothingToChange(WorkListError):
    """The warning is already as asked (acknowledged, assigned to that person): nothing is written."""

    status_code = 409


class InvalidWork(WorkListError):
    """What was typed cannot be kept (an empty or too long note, an empty assignee)."""

    status_code = 422


@dataclass(frozen=True)
class Action:
    """One row of a warning's log."""

    action_id: int
    action: str
    assignee: str | None
    note: str | None
    actor: str
    actor_name: str
    created_at: datetime


@dataclass(frozen=True)
class WarningWork:
    """Where a warning stands, read from its log (oldest first)."""

    actions: tuple[Action, ...] = ()

    @property
    def acknowledgement(self) -> Action | None:
        return next((a for a in self.actions if a.action == "acknowledge"), None)

    @property
    def assignment(self) -> Action | None:
        return next((a for a in reversed(self.actions) if a.action == "assign"), None)

    @property
    def assignee(self) -> str | None:
        return None if self.assignment is None else self.assignment.assignee

    @property
    def notes(self) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if a.action == "note")


_ACTIONS = EarlyWarningAction.__table__
_WARNINGS = EarlyWarningRecord.__table__
_RUNS = MonitoringRunRecord.__table__


def work_on(session: Session, run_id: int, firm_ids: list[int] | None = None) -> dict[int, WarningWork]:
    """The work done on the run's warnings (all of them, or those of ``firm_ids``).

    Returns
    -------
    dict
        Firm id -> :class:`WarningWork`, for the warnings with at least one action.
    """
    query = select(_ACTIONS).where(_ACTIONS.c.run_id == run_id).order_by(_ACTIONS.c.action_id)
    if firm_ids is not None:
        query = query.where(_ACTIONS.c.firm_id.in_(firm_ids))
    logs: dict[int, list[Action]] = {}
    for row in session.execute(query):
        logs.setdefault(row.firm_id, []).append(Action(row.action_id, row.action, row.assignee, row.note, row.actor,
                                                       row.actor_name, row.created_at))
    return {firm_id: WarningWork(tuple(actions)) for firm_id, actions in logs.items()}


def listed_warning(session: Session, run_id: int, firm_id: int, *, lock: bool = False) -> tuple[EarlyWarning, date]:
    """The firm's warning on run ``run_id`` and the month monitored.

    ``lock`` takes the warning's row (PostgreSQL ``FOR UPDATE``; SQLite: the caller's write lock)
    so two people acting on one warning at once act one after the other.

    Raises
    ------
    WarningNotFound
        The run did not list the firm, or there is no such run.
    """
    query = (select(_WARNINGS.c.firm_id, _WARNINGS.c.reasons, _WARNINGS.c.details, _RUNS.c.as_of)
             .join(_RUNS, _RUNS.c.run_id == _WARNINGS.c.run_id)
             .where(_WARNINGS.c.run_id == run_id, _WARNINGS.c.firm_id == firm_id))
    if lock:
        query = query.with_for_update(of=_WARNINGS)
    row = session.execute(query).first()
    if row is None:
        raise WarningNotFound(f"Firm {firm_id} is not on the early-warning list of monitoring run {run_id}.")
    return EarlyWarning(int(row.firm_id), tuple(row.reasons), dict(row.details)), row.as_of


def acknowledge(session: Session, run_id: int, firm_id: int, *, actor: str, actor_name: str, now: datetime) -> Action:
    """Record that a person has seen the warning and taken it in hand.

    Raises
    ------
    WarningNotFound
        No such warning.
    NothingToChange
        It was acknowledged already (by whom and when is in the message).
    """
    warning, as_of = listed_warning(session, run_id, firm_id, lock=True)
    work = work_on(session, run_id, [firm_id]).get(firm_id, WarningWork())
    done = work.acknowledgement
    if done is not None:
        raise NothingToChange(f"This warning was acknowledged already, by {done.actor_name} on "
                              f"{done.created_at:%Y-%m-%d at %H:%M} UTC. Nothing was saved.")
    return _act(session, warning, as_of, run_id, work, "acknowledge", actor=actor, actor_name=actor_name, now=now)


def assign(session: Session, run_id: int, firm_id: int, assignee: str, *, actor: str, actor_name: str,
           now: datetime) -> Action:
    """Put a person (a console user, by the client of their API key) in charge of the warning.

    Raises
    ------
    WarningNotFound
        No such warning.
    InvalidWork
        No assignee given, or a name longer than any client's.
    NothingToChange
        It is assigned to that person already.
    """
    assignee = (assignee or "").strip()
    if not assignee or len(assignee) > ASSIGNEE_MAX_LENGTH:
        raise InvalidWork("Choose the person to assign this warning to.")
    warning, as_of = listed_warning(session, run_id, firm_id, lock=True)
    work = work_on(session, run_id, [firm_id]).get(firm_id, WarningWork())
    if work.assignee == assignee:
        raise NothingToChange(f"This warning is assigned to {assignee} already. Nothing was saved.")
    return _act(session, warning, as_of, run_id, work, "assign", assignee=assignee, actor=actor,
                actor_name=actor_name, now=now, extra={"previous_assignee": work.assignee})


def add_note(session: Session, run_id: int, firm_id: int, note: str, *, actor: str, actor_name: str,
             now: datetime) -> Action:
    """Add a note to the warning (kept as typed, surrounding blanks removed).

    Raises
    ------
    WarningNotFound
        No such warning.
    InvalidWork
        An empty note, or one longer than :data:`~credit.monitoring.tables.NOTE_MAX_LENGTH` characters.
    """
    text = (note or "").strip()
    if not text:
        raise InvalidWork("A note needs some text: write what you found or what happens next.")
    if len(text) > NOTE_MAX_LENGTH:
        raise InvalidWork(f"A note has at most {NOTE_MAX_LENGTH:,} characters; this one has {len(text):,}.")
    warning, as_of = listed_warning(session, run_id, firm_id, lock=True)
    work = work_on(session, run_id, [firm_id]).get(firm_id, WarningWork())
    return _act(session, warning, as_of, run_id, work, "note", note=text, actor=actor, actor_name=actor_name,
                now=now, note_event=True)


def _act(session: Session, warning: EarlyWarning, as_of: date, run_id: int, work: WarningWork, action: str, *,
         actor: str, actor_name: str, now: datetime, assignee: str | None = None, note: str | None = None,
         extra: dict[str, Any] | None = None, note_event: bool = False) -> Action:
    row = EarlyWarningAction(run_id=run_id, firm_id=warning.firm_id, action=action, assignee=assignee, note=note,
                             actor=actor, actor_name=actor_name, created_at=now)
    session.add(row)
    session.flush()
    done = Action(row.action_id, action, assignee, note, actor, actor_name, now)
    after = WarningWork((*work.actions, done))
    data = warning_event_data(warning, run_id, as_of, after, actor) | (extra or {})
    if note_event:
        data["note_id"] = row.action_id
    outbox.emit(session, {"acknowledge": "early_warning.acknowledged", "assign": "early_warning.assigned",
                          "note": "early_warning.noted"}[action],
                object_id=warning_id(run_id, warning.firm_id), firm_id=warning.firm_id, data=data, occurred_at=now)
    return done


def warning_id(run_id: int, firm_id: int) -> str:
    """The id of a warning in events: ``<run_id>:<firm_id>``."""
    return f"{run_id}:{firm_id}"


def warning_event_data(warning: EarlyWarning, run_id: int, as_of: date, work: WarningWork,
                       actor: str) -> dict[str, Any]:
    """A warning after a change, as its events carry it (see ``early_warning`` in credit/events/catalogue.py)."""
    acknowledged = work.acknowledgement
    return {"run_id": run_id, "as_of": as_of, "reasons": list(warning.reasons),
            "acknowledged_at": None if acknowledged is None else acknowledged.created_at,
            "acknowledged_by": None if acknowledged is None else acknowledged.actor,
            "assignee": work.assignee, "notes": len(work.notes), "actor": actor}
