"""SQLite: an upgrade checks every foreign key when it ran a revision, and reads nothing when
the store is already at the latest schema (the check reads every row of every table)."""

from __future__ import annotations

from sqlalchemy import event

from credit.store.engine import make_engine
from migrations import upgrade


def _statements_of_upgrade(engine, *args) -> list[str]:  # noqa: ANN001
    seen: list[str] = []

    def traced(dbapi_connection, _record):  # noqa: ANN001, ANN202
        dbapi_connection.set_trace_callback(seen.append)

    event.listen(engine, "connect", traced)
    engine.dispose()  # a new connection, traced from its first statement
    upgrade(engine, *args)
    event.remove(engine, "connect", traced)
    return seen


def test_the_foreign_key_check_runs_only_when_a_revision_was_applied(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")

    first = _statements_of_upgrade(engine)
    again = _statements_of_upgrade(engine)

    assert "PRAGMA foreign_key_check" in first
    assert "PRAGMA foreign_key_check" not in again
    engine.dispose()
