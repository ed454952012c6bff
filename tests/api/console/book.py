"""A credit book on the scored marketplace, built once per test session through the real API.

:func:`credit_book` copies the scored marketplace (tests/api/marketplace.py), scores it at six
more month-ends so firms have a score history, issues a key per role, applies for a credit
line for every scored firm but one with the checkout key (some are approved at once, some referred,
most declined: whatever the policy says), places checkout orders on the approved lines so
their utilisation varies, freezes one line with the finance key, and stores one monitoring run of the champion
(PSI, calibration, early warnings) over a panel of the whole history. Tests copy the finished
store (:func:`book_copy`) and find their firms and applications by what the store says.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.kit.money import from_minor, to_minor
from credit.origination.tables import CreditLineApplicationRecord as Application
from credit.features.asof import monthly
from credit.features.history import History
from credit.features.panel import build_panel, write_panel
from credit.monitoring.run import MonitoredModel, monitor
from credit.scoring.batch import score_all
from credit.scoring.tables import ScoreSnapshot
from credit.settings import Settings
from credit.store.engine import make_engine
from tests.api.conftest import ROLES, auth, make_key
from tests.api.credit_lines.buyers import buyers, clean
from tests.api.marketplace import AS_OF, START, ScoredMarketplace, months_after

HISTORY_MONTHS = 6
UTILISATION_TARGETS = (0, 10, 35, 60, 80, 95)
"""Percent of the limit each approved line is used to, in turn."""


@dataclass(frozen=True)
class CreditBook:
    store: Path  # copy it (book_copy), never write it
    serving: Path
    keys: dict[str, str]  # role -> plaintext of a key named "console-<role>"
    referred: tuple[str, ...]  # decision ids of the referred applications, oldest first
    unapplied_firm: int  # a clean buyer whose application would be referred (above the review amount); not applied for
    approved_firms: tuple[int, ...]
    frozen_firm: int
    score_dates: tuple[date, ...]


_built: dict[str, CreditBook] = {}


def _amount(minor: int) -> str:
    return str(from_minor(minor))


def credit_book(marketplace: ScoredMarketplace, root: Path) -> CreditBook:
    """Build the book once per process under ``root``."""
    if "book" in _built:
        return _built["book"]
    store = root / "book.db"
    shutil.copyfile(marketplace.store, store)
    engine = make_engine(f"sqlite:///{store}")
    # the clean buyer with the largest purchases (scored as of AS_OF only, so far): its limit is
    # above the review amount, so its application is referred; left for a test to apply for
    unapplied = max((buyer for buyer in buyers(engine) if clean(buyer)), key=lambda buyer: buyer.gmv_365d).firm_id
    dates = tuple(months_after(AS_OF, -months) for months in range(HISTORY_MONTHS, 0, -1))
    for as_of in dates:
        score_all(engine, marketplace.serving, as_of)
    with engine.connect() as connection:
        firms = sorted(set(connection.execute(select(ScoreSnapshot.firm_id).where(ScoreSnapshot.as_of == AS_OF))
                           .scalars()))
    engine.dispose()
    app = create_app(Settings(database_url=f"sqlite:///{store}", serving_folder=str(marketplace.serving)))
    with TestClient(app) as client:
        keys = {role: make_key(app, role, f"console-{role}") for role in ROLES}
        checkout, finance = auth(keys["checkout"]), auth(keys["finance"])
        approved = []
        for firm_id in (firm for firm in firms if firm != unapplied):
            response = client.post("/v1/credit-lines/applications", json={"buyer_id": firm_id},
                                   headers=checkout | {"Idempotency-Key": f"apply-{firm_id}"})
            assert response.status_code == 201, response.text
            if response.json()["status"] == "approved":
                approved.append(response.json())
        assert len(approved) >= 6, "the simulated marketplace should approve a few lines at once"
        for index, application in enumerate(approved):
            _use_line(client, checkout, application, UTILISATION_TARGETS[index % len(UTILISATION_TARGETS)])
        frozen = approved[1]
        response = client.post(f"/v1/credit-lines/{frozen['line_id']}/freeze", json={"reason": "watching arrears"},
                               headers=finance | {"Idempotency-Key": "freeze-1"})
        assert response.status_code == 200, response.text
        with app.state.sessionmaker() as session:
            referred = tuple(session.scalars(select(Application.decision_id).where(Application.status == "referred")
                                             .order_by(Application.created_at, Application.decision_id)))
    assert referred, "the simulated marketplace should refer some applications to the finance team"
    _monitor(store, marketplace.serving, root / "panel")
    _built["book"] = CreditBook(store, marketplace.serving, keys, referred, unapplied,
                                tuple(a["buyer_id"] for a in approved), frozen["buyer_id"], dates + (AS_OF,))
    return _built["book"]


def _use_line(client: TestClient, checkout: dict[str, str], application: dict, percent: int) -> None:
    """Authorize orders up to ``percent`` of the limit; capture half of the first one."""
    limit, cap = to_minor(application["limit"]), to_minor(application["per_order_cap"])
    target = limit * percent // 100
    placed = 0
    first_hold = None
    while placed < target:
        amount = min(cap, target - placed)
        reference = f"PO-{application['buyer_id']}-{placed}"
        response = client.post("/v1/checkout/authorizations",
                               json={"buyer_id": application["buyer_id"], "order_reference": reference,
                                     "amount": _amount(amount)},
                               headers=checkout | {"Idempotency-Key": f"auth-{reference}"})
        assert response.status_code == 201, response.text
        first_hold = first_hold or response.json()["hold_id"]
        placed += amount
    if first_hold is not None:
        response = client.post(f"/v1/checkout/authorizations/{first_hold}/captures",
                               json={"amount": _amount(min(cap, target) // 2 or 1),
                                     "shipment_reference": f"SHIP-{first_hold}"},
                               headers=checkout | {"Idempotency-Key": f"capture-{first_hold}"})
        assert response.status_code == 200, response.text


def _monitor(store: Path, serving: Path, folder: Path) -> None:
    """One monitoring run of the champion: the marketplace model was fitted on the as-of dates START+2 to START+8."""
    engine = make_engine(f"sqlite:///{store}")
    write_panel(build_panel(History.from_store(engine), monthly(months_after(START, 2), AS_OF)), folder)
    model = MonitoredModel.from_serving(serving, training_window=(months_after(START, 2), months_after(START, 8)))
    monitor(engine, folder, model, as_of=AS_OF)
    engine.dispose()


def book_copy(book: CreditBook, folder: Path) -> str:
    """A private copy of the book's store; returns its database URL."""
    target = folder / "book.db"
    shutil.copyfile(book.store, target)
    return f"sqlite:///{target}"
