"""A small simulated marketplace, its panel, quick model settings and an MLflow store, per test module."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import mlflow
import pytest

from credit.features.asof import monthly
from credit.features.history import History
from credit.features.panel import build_panel, write_panel
from credit.models.registry import tracking
from credit.settings import Settings
from credit.simulate import SimulationConfig, simulate

QUICK = """
[lightgbm]
learning_rate = 0.1
num_threads = 1
[training]
num_boost_round = 150
early_stopping_rounds = 20
scorecard = false
[windows]
test_months = 3
calibrate_months = 3
valid_months = 2
min_train_months = 3
[promotion]
max_calibration_z = 100.0
min_hosmer_lemeshow_p = 0.0
"""


@pytest.fixture(scope="session")
def marketplace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """700 firms over 2023-2025 (seed 5), the monthly panel 2023-07 to 2025-12, and two model configurations."""
    root = tmp_path_factory.mktemp("jobs")
    history = root / "history"
    simulate(SimulationConfig(firms=700, years=3, seed=5, start=date(2023, 1, 1)), history)
    write_panel(build_panel(History.from_parquet(history), monthly(date(2023, 7, 1), date(2025, 12, 1))),
                root / "panel")
    (root / "quick.toml").write_text(QUICK)
    (root / "stump.toml").write_text(QUICK.replace("learning_rate = 0.1", "learning_rate = 0.1\nnum_leaves = 2")
                                     .replace("num_boost_round = 150", "num_boost_round = 1"))
    return {"root": root, "history": history, "panel": root / "panel", "truth": history / "truth"}


@pytest.fixture(scope="module")
def store(marketplace: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh tracking store and artifact folder for the module; MLflow's globals restored after."""
    root = tmp_path_factory.mktemp("store")
    tracking(Settings(tracking_uri=f"sqlite:///{root / 'mlflow.db'}", artifact_location=(root / "mlruns").as_uri()))
    yield root
    mlflow.set_tracking_uri(None)
