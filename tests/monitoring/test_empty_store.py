"""A store with no monitoring run and no history: reads say so, a run is refused with a clear error.

A module of its own: on PostgreSQL the ``store`` fixture shares the session's database with
the scored marketplace of test_run.py, which that module empties only when it ends.
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from credit.monitoring.results import latest_run, warnings_of_firm
from credit.monitoring.run import MonitoringError, monitor


def test_no_run_yet_reads_as_none(store):  # noqa: ANN001
    with Session(store) as session:
        assert latest_run(session) is None
        assert warnings_of_firm(session, 1) == ()


def test_a_store_without_the_history_is_refused_for_the_early_warnings(store, small_panel, small_model):  # noqa: ANN001
    with pytest.raises(MonitoringError, match="holds no transactions: the early-warning rules read the transactions"):
        monitor(store, small_panel, small_model)
