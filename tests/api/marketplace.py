"""A small simulated marketplace, ingested into a SQLite store and scored by a tiny exported PD model.

Built once per test session (:func:`scored_marketplace`) and copied per test
(:func:`fresh_store_copy`), so each test starts from the same scored store in milliseconds.
The build follows tests/scoring/conftest.py: simulate, ingest, build the panel, train a
LightGBM PD model, write its serving files, run the batch scoring as of ``AS_OF``.

The routes decide "now" on the one clock (days past due, tenure, hold expiry), so the
simulated history is placed to end now: 24 months from the first of the month 23 months ago,
read as of the session's clock (``CREDIT_NOW`` moves it), scored as of the first of this
month. Which firms are overdue therefore depends on the day the tests run; tests pick their
firms by what the store says, not by id.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from credit import clock
from credit.features.asof import monthly
from credit.features.history import History
from credit.features.panel import build_panel
from credit.ingest import find_history_files, ingest_files
from credit.models import REGISTERED_MODEL
from credit.models.pd_model import LightGBMPD
from credit.models.reasons import feature_reason_codes
from credit.models.registry import write_serving_files
from credit.scoring.batch import ScoringRun, score_all
from credit.simulate import SimulationConfig, simulate
from credit.store.engine import make_engine
from migrations import upgrade



def months_after(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


BUILT_AT = clock.now()
"""When the history was read: it holds nothing after this instant."""
_TODAY = BUILT_AT.date()
AS_OF = months_after(_TODAY, 0)
START = months_after(_TODAY, -23)
LABEL = "default_12m"


@dataclass(frozen=True)
class ScoredMarketplace:
    history: Path  # the simulated history files
    store: Path  # a SQLite store with the history and a score snapshot as of AS_OF; copy it, never write it
    serving: Path  # the champion's serving files (credit_pd version "1")
    run: ScoringRun


_built: dict[str, ScoredMarketplace] = {}


def _explained(columns: list[str]) -> list[str]:
    explained = []
    for column in columns:
        try:
            feature_reason_codes([column])
        except ValueError:
            continue
        explained.append(column)
    return explained


def scored_marketplace(root: Path) -> ScoredMarketplace:
    """Build (once per process) 200 simulated firms over 2023-2024, a model, and a scored SQLite store under ``root``."""
    if "built" in _built:
        return _built["built"]
    history = root / "history"
    simulate(SimulationConfig(firms=200, years=2, seed=11, start=START, ends_at=BUILT_AT), history)
    panel = build_panel(History.from_parquet(history), monthly(months_after(START, 2), months_after(START, 12))).frame
    features = _explained([c for c in panel.columns if c not in ("firm_id", "as_of", LABEL)])
    categories = {c: panel[c].cat.categories.tolist() for c in features
                  if isinstance(panel[c].dtype, pd.CategoricalDtype)}
    labelled = panel[panel[LABEL].notna()]
    day = labelled["as_of"].dt.date
    train = labelled[day < months_after(START, 9)]
    valid = labelled[(day >= months_after(START, 9)) & (day < months_after(START, 10))]
    calibrate = labelled[day >= months_after(START, 10)]
    model = LightGBMPD(params={"learning_rate": 0.1, "num_threads": 1, "min_child_samples": 10},
                       num_boost_round=60, early_stopping_rounds=60, calibration="sigmoid", random_state=1).fit(
        train[features], train[LABEL], X_valid=valid[features], y_valid=valid[LABEL],
        X_calibrate=calibrate[features], y_calibrate=calibrate[LABEL])
    serving = write_serving_files(model, root / "serving", categories=categories,
                                  version={"name": REGISTERED_MODEL, "version": "1", "alias": "champion", "run_id": "run1"})
    store = root / "store.db"
    engine = make_engine(f"sqlite:///{store}")
    upgrade(engine)
    files, _ = find_history_files([history])
    assert all(result.error is None and result.quarantined == 0 for result in ingest_files(engine, files))
    run = score_all(engine, serving, AS_OF)
    engine.dispose()
    _built["built"] = ScoredMarketplace(history, store, serving, run)
    return _built["built"]


def fresh_store_copy(marketplace: ScoredMarketplace, folder: Path) -> str:
    """A private copy of the scored store; returns its database URL."""
    target = folder / "store.db"
    shutil.copyfile(marketplace.store, target)
    return f"sqlite:///{target}"


# Fixtures: import them into a test package's conftest.py.

import pytest  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from api.app import create_app  # noqa: E402
from credit.settings import Settings  # noqa: E402
from tests.api.conftest import ROLES, make_key  # noqa: E402


@pytest.fixture(scope="session")
def marketplace(tmp_path_factory: pytest.TempPathFactory) -> ScoredMarketplace:
    return scored_marketplace(tmp_path_factory.mktemp("marketplace"))


@pytest.fixture
def market_app(marketplace: ScoredMarketplace, tmp_path: Path):  # noqa: ANN201
    """The API on a private copy of the scored marketplace, serving its champion."""
    return create_app(Settings(database_url=fresh_store_copy(marketplace, tmp_path),
                               serving_folder=str(marketplace.serving)))


@pytest.fixture
def market_client(market_app):  # noqa: ANN001, ANN201
    with TestClient(market_app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def market_keys(market_client, market_app) -> dict[str, str]:  # noqa: ANN001
    return {role: make_key(market_app, role) for role in ROLES}
