"""``credit monitor --as-of`` and ``--config`` change the run it stores (test_monitor_run.py has the rest)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.orm import Session

from credit.monitoring.results import MonitoringRun, latest_run
from credit.store.engine import make_engine

# this module's `marketplace` is the API's scored one (200 firms, a champion's serving files), not the package's
from tests.api.marketplace import (  # noqa: F401
    AS_OF,
    ScoredMarketplace,
    fresh_store_copy,
    marketplace,
    months_after,
)
from tests.api.monitoring.conftest import TRAINING, market_panel  # noqa: F401
from tests.cli.invoke import Outcome, credit

pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")


def _monitor(marketplace: ScoredMarketplace, panel: Path, url: str,  # noqa: F811
             *arguments: str | Path) -> tuple[Outcome, MonitoringRun]:
    outcome = credit("monitor", "--panel", panel, "--serving", marketplace.serving, "--database-url", url,
                     "--training-from", TRAINING[0].isoformat(), "--training-to", TRAINING[1].isoformat(), *arguments)
    assert outcome.exit_code == 0, outcome.output
    engine = make_engine(url)
    with Session(engine) as session:
        run = latest_run(session)
    engine.dispose()
    return outcome, run


def test_as_of_monitors_that_month_instead_of_the_latest(marketplace: ScoredMarketplace,  # noqa: F811
                                                         market_panel: Path, tmp_path: Path) -> None:  # noqa: F811
    earlier = months_after(AS_OF, -2)
    outcome, run = _monitor(marketplace, market_panel, fresh_store_copy(marketplace, tmp_path),
                            "--as-of", earlier.isoformat())
    assert run.as_of == earlier
    assert f"month {earlier} ({run.firms:,} firms)" in outcome.text
    panel = pd.read_parquet(market_panel / "panel.parquet", columns=["as_of"])
    assert run.firms == int((panel["as_of"].dt.date == earlier).sum())


def test_config_sets_the_segments_of_the_run(marketplace: ScoredMarketplace,  # noqa: F811
                                             market_panel: Path, tmp_path: Path) -> None:  # noqa: F811
    config = tmp_path / "monitoring.toml"
    config.write_text('[psi]\nsegment_by = "region"\nmin_rows = 10\n')
    _, run = _monitor(marketplace, market_panel, fresh_store_copy(marketplace, tmp_path), "--config", config)
    segments = {row.segment for row in run.psi if row.variable == "score"}
    regions = pd.read_parquet(market_panel / "panel.parquet", columns=["region"])["region"].astype(str).unique()
    assert "all" in segments and len(segments) > 1
    assert segments - {"all"} <= {f"region={name}" for name in regions}
