"""A firm the book has exposure on is announced when it enters the early-warning list: once per entry.

On the small marketplace (no credit lines until the test opens one): a firm not listed by a first
run gets a 10,000.00 line with 9,500.00 held (utilisation 0.95, above the 0.9 threshold), then
frozen (so that the arrears rule, which reads active lines only, stays out of it). A run
lists it and announces it; a run again does not; once the hold is voided it leaves the list, and
a new hold brings it back: announced again. Listed firms without exposure are never announced.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy.orm import Session

from credit.ledger import freeze, open_line, unfreeze
from credit.ledger.checkout import authorize, void
from credit.monitoring.run import monitor
from tests.events.recorded import written
from tests.monitoring.conftest import LATEST

AT = datetime(2024, 12, 1)


def _raised(engine) -> list:  # noqa: ANN001
    with Session(engine) as session:
        return written(session, "early_warning.raised")


def test_a_firm_with_exposure_is_announced_each_time_it_enters_the_list(scored_store, small_panel, small_model):  # noqa: ANN001
    engine = scored_store.engine
    first = monitor(engine, small_panel, small_model)
    assert first.warnings and _raised(engine) == []  # firms listed, but the book has exposure on none
    scored = pd.read_parquet(small_panel / "panel.parquet").query("as_of == @LATEST")["firm_id"]
    firm = next(int(f) for f in scored if int(f) not in {w.firm_id for w in first.warnings})
    with Session(engine) as session, session.begin():
        line = open_line(session, firm_id=firm, limit_minor=1_000_000, currency="EUR", now=AT)
        hold = authorize(session, line, 950_000, order_reference="ew-1", now=AT).hold_id
        freeze(session, line, now=AT)

    entered = monitor(engine, small_panel, small_model)
    [raised] = _raised(engine)
    warning = next(w for w in entered.warnings if w.firm_id == firm)
    assert warning.reasons == ("utilisation_high",)
    assert (raised.object_type, raised.object_id, raised.firm_id) == ("firm", str(firm), firm)
    assert raised.data == {
        "run_id": entered.run_id, "as_of": LATEST.isoformat(), "reasons": ["utilisation_high"],
        "details": {"utilisation_high": {"limit_minor": 1_000_000, "posted_minor": 0, "pending_minor": 950_000,
                                         "utilisation": 0.95}},
        # a drawable line counts at its limit
        "currency": "EUR", "exposure": {"as_debtor": "10000.00", "as_supplier": "0.00"}}

    monitor(engine, small_panel, small_model)  # still listed: not announced again
    assert len(_raised(engine)) == 1

    with Session(engine) as session, session.begin():
        void(session, hold, now=AT)
    left = monitor(engine, small_panel, small_model)
    assert firm not in {w.firm_id for w in left.warnings} and len(_raised(engine)) == 1
    with Session(engine) as session, session.begin():
        unfreeze(session, line, now=AT)
        authorize(session, line, 960_000, order_reference="ew-2", now=AT)
        freeze(session, line, now=AT)
    back = monitor(engine, small_panel, small_model)
    assert [(e.object_id, e.data["run_id"]) for e in _raised(engine)] == [
        (str(firm), entered.run_id), (str(firm), back.run_id)]
    assert _raised(engine)[1].data["details"]["utilisation_high"]["utilisation"] == 0.96
