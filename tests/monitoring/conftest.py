"""The scoring tests' small marketplace (200 firms, 2023-2024, stores on SQLite and PostgreSQL), its panel, its model.

The store and the two exported models come from tests/scoring/conftest.py; model version "1"
was fitted on the as-of dates 2023-03-01 to 2023-10-01 (train before October, valid October),
which it does not record anywhere (no MLflow run), so tests give that window.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from credit.features.asof import monthly
from credit.features.history import History
from credit.features.panel import build_panel, write_panel
from credit.monitoring.config import load_monitoring_config
from credit.monitoring.run import MonitoredModel
from tests.scoring.conftest import marketplace, scored_store, serving_folders  # noqa: F401  (fixtures)

TRAINING = (date(2023, 3, 1), date(2023, 10, 1))
LATEST = date(2024, 12, 1)


@pytest.fixture(scope="session")
def small_panel(marketplace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """The marketplace's monthly panel 2023-03 to 2024-12, as `credit features build` writes it."""
    folder = tmp_path_factory.mktemp("monitoring_panel")
    write_panel(build_panel(History.from_parquet(marketplace), monthly(TRAINING[0], LATEST)), folder)
    return folder


@pytest.fixture(scope="session")
def small_model(serving_folders: dict[str, Path]) -> MonitoredModel:  # noqa: F811
    return MonitoredModel.from_serving(serving_folders["1"], TRAINING)


@pytest.fixture(scope="session")
def small_book_config(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """Thresholds with PSI segments of at least 10 rows, so the 200-firm book has industry segments."""
    path = tmp_path_factory.mktemp("monitoring_config") / "small.toml"
    path.write_text("[psi]\nmin_rows = 10\n")
    return load_monitoring_config(path)
