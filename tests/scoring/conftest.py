"""A small simulated marketplace in a store, two exported PD models, and a batch scored with the first.

The store is built once per module on SQLite and once on PostgreSQL, so every scoring test
runs on both. Tests that write more rows (another date, another model version, a re-run)
only add to what the read-only tests filter out by date and version.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from credit.features.asof import monthly
from credit.features.history import History
from credit.features.panel import build_panel
from credit.ingest import find_history_files, ingest_files
from credit.models import REGISTERED_MODEL
from credit.models.pd_model import LightGBMPD
from credit.models.reasons import feature_reason_codes
from credit.models.registry import write_serving_files
from credit.models.serving import ServingModel
from credit.scoring.batch import ScoringRun, score_all
from credit.simulate import SimulationConfig, simulate
from credit.store.engine import make_engine
from migrations import upgrade
from tests.stores import empty_all_tables

AS_OF = date(2024, 12, 1)
EARLIER = date(2024, 6, 1)
LABEL = "default_12m"


@pytest.fixture(scope="session")
def marketplace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 firms over 2023-2024 (seed 11) as history files."""
    folder = tmp_path_factory.mktemp("scoring_history")
    simulate(SimulationConfig(firms=200, years=2, seed=11, start=date(2023, 1, 1)), folder)
    return folder


def _explained(columns: list[str]) -> list[str]:
    # the feature set grows while reason rules catch up; a model may only use features with a code
    explained = []
    for column in columns:
        try:
            feature_reason_codes([column])
        except ValueError:
            continue
        explained.append(column)
    return explained


def _train(panel: pd.DataFrame, features: list[str], calibration: str, seed: int) -> LightGBMPD:
    labelled = panel[panel[LABEL].notna()]
    day = labelled["as_of"].dt.date
    train, valid = labelled[day < date(2023, 10, 1)], labelled[(day >= date(2023, 10, 1)) & (day < date(2023, 11, 1))]
    calibrate = labelled[day >= date(2023, 11, 1)]
    return LightGBMPD(params={"learning_rate": 0.1, "num_threads": 1, "min_child_samples": 10},
                      num_boost_round=60, early_stopping_rounds=60, calibration=calibration, random_state=seed).fit(
        train[features], train[LABEL], X_valid=valid[features], y_valid=valid[LABEL],
        X_calibrate=calibrate[features], y_calibrate=calibrate[LABEL])


@pytest.fixture(scope="session")
def serving_folders(marketplace: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Version "1" (sigmoid calibration) and version "2" (isotonic, half the features) of credit_pd, as serving files."""
    panel = build_panel(History.from_parquet(marketplace), monthly(date(2023, 3, 1), date(2024, 1, 1))).frame
    features = _explained([c for c in panel.columns if c not in ("firm_id", "as_of", LABEL)])
    categories = {c: panel[c].cat.categories.tolist() for c in features if isinstance(panel[c].dtype, pd.CategoricalDtype)}
    assert "region" in categories and len(features) > 100
    root = tmp_path_factory.mktemp("serving")
    folders = {}
    for version, calibration, used in (("1", "sigmoid", features), ("2", "isotonic", features[::2] + ["region"])):
        model = _train(panel, list(dict.fromkeys(used)), calibration, seed=int(version))
        folders[version] = write_serving_files(
            model, root / version, categories={c: v for c, v in categories.items() if c in model.feature_names_in_},
            version={"name": REGISTERED_MODEL, "version": version, "alias": "champion", "run_id": f"run{version}"})
    return folders


@dataclass
class ScoredStore:
    engine: Engine
    run: ScoringRun
    model: ServingModel
    panel: pd.DataFrame  # the panel at AS_OF built from the store, what the batch scored


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def scored_store(request: pytest.FixtureRequest, marketplace: Path, serving_folders: dict[str, Path],
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScoredStore]:
    """The marketplace ingested into a store, scored as of AS_OF with version 1."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('scoring_store') / 'store.db'}")
        upgrade(engine)
    else:
        engine = make_engine(request.getfixturevalue("postgres_url"))
    files, _ = find_history_files([marketplace])
    assert all(result.error is None and result.quarantined == 0 for result in ingest_files(engine, files))
    run = score_all(engine, serving_folders["1"], AS_OF)
    panel = build_panel(History.from_store(engine), [AS_OF]).frame
    yield ScoredStore(engine, run, ServingModel.load(serving_folders["1"]), panel)
    if request.param == "postgres":
        empty_all_tables(engine)
    engine.dispose()
