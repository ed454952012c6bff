"""Shared simulated marketplaces: each configuration is simulated once per test session."""

from __future__ import annotations

import pytest

from credit.simulate import SimulationConfig, simulate
from tests.simulate.runs import SHOCK, SimulatedRun, make_config


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


@pytest.fixture(scope="session")
def unshocked_run(simulated) -> SimulatedRun:
    """The shocked run's economy without the shock (the economy has its own random stream)."""
    return simulated(make_config(1500, seed=5))
