"""Shared simulated marketplaces: each configuration is simulated once per test session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from credit.simulate import IndustryShock, SimulationConfig, SimulationSummary, simulate
from credit.store.tables import HISTORY_TABLES

START = date(2023, 1, 1)
SHOCK = IndustryShock(industry="construction", start=date(2024, 3, 1), months=9, depth=1.0)


@dataclass
class SimulatedRun:
    """A finished simulation and its files read back."""

    config: SimulationConfig
    summary: SimulationSummary
    out_dir: Path

    @property
    def end(self) -> pd.Timestamp:
        return pd.Timestamp(datetime(self.config.start.year + self.config.years, self.config.start.month,
                                     self.config.start.day))

    def table(self, name: str) -> pd.DataFrame:
        return pq.read_table(self.out_dir / f"{name}.parquet").to_pandas()

    def truth(self, name: str) -> pd.DataFrame:
        return pq.read_table(self.out_dir / "truth" / f"{name}.parquet").to_pandas()

    def first_events(self) -> pd.Series:
        """Time of every firm's first credit event (write-offs follow a default)."""
        events = self.table("credit_events")
        return events[events.kind != "write_off"].groupby("firm_id").occurred_at.min()


def make_config(firms: int = 400, *, seed: int = 11, years: int = 3, **overrides) -> SimulationConfig:
    return SimulationConfig(firms=firms, years=years, seed=seed, start=START, **overrides)


@pytest.fixture(scope="session")
def simulated(tmp_path_factory):
    """``simulated(config)`` -> SimulatedRun, cached per configuration."""
    cache: dict[SimulationConfig, SimulatedRun] = {}

    def run(config: SimulationConfig) -> SimulatedRun:
        if config not in cache:
            out_dir = tmp_path_factory.mktemp(f"sim_{config.firms}_{config.seed}")
            cache[config] = SimulatedRun(config, simulate(config, out_dir), out_dir)
        return cache[config]

    return run


@pytest.fixture(scope="session")
def small_run(simulated) -> SimulatedRun:
    return simulated(make_config(400))


@pytest.fixture(scope="session")
def large_run(simulated) -> SimulatedRun:
    return simulated(make_config(1600))


@pytest.fixture(scope="session")
def shocked_run(simulated) -> SimulatedRun:
    return simulated(make_config(1500, seed=5, shocks=(SHOCK,)))


HISTORY_FILES = [f"{name}.parquet" for name in HISTORY_TABLES]
