"""A small store for the early-warning work list: five firms on one monitoring run's list, known exposure on each.

Exposure at risk (line posted + held, plus every financing at risk), worked out by hand:

========  ==================  =============================================  =================  ============
firm      industry            book                                           at risk (EUR)      reasons
========  ==================  =============================================  =================  ============
101       machinery           line 50,000.00: 12,000.00 held, 8,000.00 of    12,000.00          2
                              it captured (posted 8,000.00, held 4,000.00)
102       construction        no line; a loan approved, 30,000.00 not yet    30,000.00          1
                              paid out (an approved advance counts in full)
103       automotive          line 20,000.00: 5,000.00 held; a loan of       5,000.00 +         1
                              10,000.00 paid out, 2,500.00 collected         7,500.00 =
                                                                             12,500.00
104       food_processing     line 40,000.00, nothing drawn                  0.00               1
105       textiles            nothing                                        0.00               3
========  ==================  =============================================  =================  ============

So with exposure only: 102, 103, 101 (103 before 101 although its line holds less: its loan counts).
Every firm listed: then 105 (three reasons) before 104 (one). Keys: ``anna`` (finance), ``ben``
(admin), ``carl`` (analyst), ``dora`` (checkout); 101 has a score, so its line can be changed.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from credit import clock
from credit.financing import journal
from credit.financing.journal import Entry
from credit.financing.tables import Financing
from credit.ledger import open_line
from credit.ledger.checkout import authorize, capture
from credit.models import REGISTERED_MODEL
from credit.monitoring.tables import EarlyWarningRecord, MonitoringRunRecord
from credit.scoring.tables import ScoreSnapshot
from credit.settings import Settings
from credit.store.tables import Firm
from tests.api.conftest import make_key

FIRMS = {101: ("Alder Machines", "machinery"), 102: ("Birch Build", "construction"),
         103: ("Cedar Motors", "automotive"), 104: ("Dune Foods", "food_processing"),
         105: ("Elm Textiles", "textiles")}
REASONS = {101: ["arrears_approaching", "utilisation_high"], 102: ["new_overdue"], 103: ["arrears_approaching"],
           104: ["grade_drop"], 105: ["grade_drop", "new_overdue", "dbt_rising"]}
WITH_EXPOSURE = [102, 103, 101]
EVERY_FIRM = [102, 103, 101, 105, 104]
AT_RISK = {102: "30,000.00", 103: "12,500.00", 101: "12,000.00", 105: "0.00", 104: "0.00"}


@dataclass(frozen=True)
class WarnedBook:
    store: Path  # copy it (app_on_copy), never write it
    keys: dict[str, str]  # person -> plaintext key
    run_id: int
    lines: dict[int, int]  # firm -> line id


def _loan(firm_id: int, advance_minor: int, now: datetime) -> Financing:
    return Financing(decision_id=str(uuid.uuid4()), kind="loan", supplier_id=firm_id, face_minor=advance_minor,
                     advance_minor=advance_minor, fee_minor=0, withholding_rate="0.1", minimum_minor=100_000,
                     period_days=30, tenor_days=90, status="approved", actor="test", created_at=now, updated_at=now)


def _app(store: Path) -> FastAPI:
    return create_app(Settings(database_url=f"sqlite:///{store}", serving_folder=str(store.parent / "no-serving")))


def app_on_copy(book: WarnedBook, folder: Path) -> FastAPI:
    """An app (not started) on a private copy of the book's store."""
    copy = folder / "warned-copy.db"
    shutil.copyfile(book.store, copy)
    return _app(copy)


def warned_book(folder: Path) -> WarnedBook:
    """Build the store of the module's docstring under ``folder``."""
    store = folder / "warned.db"
    app = _app(store)
    now = clock.now()
    with TestClient(app):  # the lifespan migrates the store
        keys = {name: make_key(app, role, name) for name, role in
                (("anna", "finance"), ("ben", "admin"), ("carl", "analyst"), ("dora", "checkout"))}
        with app.state.sessionmaker() as session, session.begin():
            for firm_id, (name, industry) in FIRMS.items():
                session.add(Firm(firm_id=firm_id, name=name, roles="buyer", industry=industry, region="north",
                                 size_band="small", registered_at=now - timedelta(days=900), verified=True,
                                 deposit_minor=0))
            session.flush()
            session.add(ScoreSnapshot(firm_id=101, as_of=now.date(), model_name=REGISTERED_MODEL, model_version="1",
                                      pd=0.02, features={}, reason_codes=[], reason_catalogue_version=1,
                                      scored_at=now))
            lines = {101: open_line(session, firm_id=101, limit_minor=5_000_000, currency="EUR", now=now),
                     103: open_line(session, firm_id=103, limit_minor=2_000_000, currency="EUR", now=now),
                     104: open_line(session, firm_id=104, limit_minor=4_000_000, currency="EUR", now=now)}
            hold = authorize(session, lines[101], 1_200_000, order_reference="PO-101", now=now).hold_id
            capture(session, hold, 800_000, reference="SHIP-101", now=now)
            authorize(session, lines[103], 500_000, order_reference="PO-103", now=now)
            approved, paid = _loan(102, 3_000_000, now), _loan(103, 1_000_000, now)
            session.add_all([approved, paid])
            session.flush()
            journal.pay_out(session, paid.financing_id, reference="PAY-103", value_date=now.date(), actor="test",
                            now=now)
            journal.post(session, paid, [Entry("collection", "principal", 250_000, "api:COLLECT-103")],
                         booked_on=now.date(), actor="test", now=now)
            run = MonitoringRunRecord(created_at=now - timedelta(hours=1), as_of=now.date().replace(day=1),
                                      model_name=REGISTERED_MODEL, model_version="1",
                                      training_from=now.date() - timedelta(days=700),
                                      training_to=now.date() - timedelta(days=400), calibration_vintage=None,
                                      firms=5, source="test", settings={})
            session.add(run)
            session.flush()
            for firm_id, reasons in REASONS.items():
                session.add(EarlyWarningRecord(run_id=run.run_id, firm_id=firm_id, reasons=reasons, details={}))
            run_id = run.run_id
    app.state.engine.dispose()
    return WarnedBook(store, keys, run_id, lines)
