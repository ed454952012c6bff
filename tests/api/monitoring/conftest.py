"""The API on the shared scored marketplace, before and after a monitoring run.

``market_client`` (tests/api/marketplace.py) has no monitoring run; ``monitored`` runs one on
its store with the champion (fitted on the as-of dates START+2 to START+9 months, which its
serving files do not record) and thresholds that assess industries of 10 or more firms.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from credit.features.asof import monthly
from credit.features.history import History
from credit.features.panel import build_panel, write_panel
from credit.monitoring.config import load_monitoring_config
from credit.monitoring.results import MonitoringRun
from credit.monitoring.run import MonitoredModel, monitor
from tests.api.marketplace import (  # noqa: F401  (fixtures)
    AS_OF, START, ScoredMarketplace, market_app, market_client, market_keys, marketplace, months_after,
)

TRAINING = (months_after(START, 2), months_after(START, 9))


@pytest.fixture(scope="session")
def market_panel(marketplace: ScoredMarketplace, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    folder = tmp_path_factory.mktemp("market_panel")
    write_panel(build_panel(History.from_parquet(marketplace.history), monthly(TRAINING[0], AS_OF)), folder)
    return folder


@pytest.fixture
def monitored(market_app, market_client, market_panel: Path, marketplace: ScoredMarketplace,  # noqa: F811
              tmp_path: Path) -> MonitoringRun:
    """One monitoring run in the app's store (the client is started, so the store is open)."""
    config = tmp_path / "monitoring.toml"
    config.write_text("[psi]\nmin_rows = 10\n")
    model = MonitoredModel.from_serving(marketplace.serving, TRAINING)
    return monitor(market_app.state.engine, market_panel, model, config=load_monitoring_config(config))


