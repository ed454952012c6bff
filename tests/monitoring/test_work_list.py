"""The work on an early warning (credit.monitoring.work_list), on SQLite and PostgreSQL: each action a row and an event."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from credit.monitoring import work_list
from credit.monitoring.tables import EarlyWarningRecord, MonitoringRunRecord
from tests.events.recorded import written

AT = datetime(2027, 4, 2, 9, 30)


@pytest.fixture
def run_id(session) -> int:  # noqa: ANN001
    run = MonitoringRunRecord(created_at=datetime(2027, 4, 2, 6), as_of=date(2027, 4, 1), model_name="credit_pd",
                              model_version="3", training_from=date(2025, 1, 1), training_to=date(2026, 1, 1),
                              firms=2, source="test", settings={})
    session.add(run)
    session.flush()
    session.add(EarlyWarningRecord(run_id=run.run_id, firm_id=17, reasons=["arrears_approaching"], details={}))
    session.flush()
    return run.run_id


def test_acknowledge_assign_and_note_each_write_a_row_and_an_event(session, run_id) -> None:  # noqa: ANN001
    work_list.acknowledge(session, run_id, 17, actor="key:7", actor_name="anna", now=AT)
    work_list.assign(session, run_id, 17, "ben", actor="key:7", actor_name="anna", now=AT)
    note = work_list.add_note(session, run_id, 17, " Pays Friday. ", actor="key:8", actor_name="ben", now=AT)
    work = work_list.work_on(session, run_id)[17]
    assert (work.acknowledgement.actor, work.assignee, [n.note for n in work.notes]) == ("key:7", "ben", ["Pays Friday."])
    events = written(session, "early_warning.acknowledged", "early_warning.assigned", "early_warning.noted")
    assert [(e.type, e.object_id, e.firm_id) for e in events] == [
        ("early_warning.acknowledged", f"{run_id}:17", 17), ("early_warning.assigned", f"{run_id}:17", 17),
        ("early_warning.noted", f"{run_id}:17", 17)]
    assert events[2].data == {"run_id": run_id, "as_of": "2027-04-01", "reasons": ["arrears_approaching"],
                              "acknowledged_at": "2027-04-02T09:30:00Z", "acknowledged_by": "key:7",
                              "assignee": "ben", "notes": 1, "actor": "key:8", "note_id": note.action_id}


def test_what_changes_nothing_or_names_no_warning_is_refused_and_writes_nothing(session, run_id) -> None:  # noqa: ANN001
    work_list.acknowledge(session, run_id, 17, actor="key:7", actor_name="anna", now=AT)
    with pytest.raises(work_list.NothingToChange, match="acknowledged already, by anna on 2027-04-02 at 09:30 UTC"):
        work_list.acknowledge(session, run_id, 17, actor="key:8", actor_name="ben", now=AT)
    with pytest.raises(work_list.WarningNotFound, match=f"Firm 18 is not on the early-warning list of monitoring run {run_id}"):
        work_list.assign(session, run_id, 18, "ben", actor="key:7", actor_name="anna", now=AT)
    with pytest.raises(work_list.InvalidWork, match="A note needs some text"):
        work_list.add_note(session, run_id, 17, "  \n ", actor="key:7", actor_name="anna", now=AT)
    assert len(written(session, "early_warning.acknowledged", "early_warning.assigned", "early_warning.noted")) == 1


def test_the_log_refuses_update_and_delete(session, run_id) -> None:  # noqa: ANN001
    work_list.acknowledge(session, run_id, 17, actor="key:7", actor_name="anna", now=AT)
    for statement in ("UPDATE early_warning_actions SET actor = 'key:1'", "DELETE FROM early_warning_actions"):
        with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
            session.execute(text(statement))
