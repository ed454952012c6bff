"""A seeded marketplace simulator with known ground truth.

Firms carry a latent, drifting creditworthiness (:mod:`credit.simulate.latent`); they trade
through a persistent buyer-supplier network (:mod:`credit.simulate.market`); invoices,
payments, returns, disputes and credit events follow from their latent state
(:mod:`credit.simulate.settlement`); everything is written month by month
(:mod:`credit.simulate.writer`) with every firm's true 12-month PD in ``truth/``.

Examples
--------
>>> from datetime import date
>>> from credit.simulate import IndustryShock, SimulationConfig, simulate
>>> config = SimulationConfig(firms=500, years=3, seed=7, start=date(2023, 1, 1),
...     shocks=(IndustryShock(industry="construction", start=date(2024, 6, 1), months=9),))
>>> summary = simulate(config, out_dir)  # doctest: +SKIP
"""

from credit.simulate.config import IndustryShock, SimulationConfig
from credit.simulate.latent import EventLag, LatentParameters
from credit.simulate.run import SimulationSummary, simulate
from credit.simulate.writer import TRUTH_SCHEMAS

__all__ = [
    "EventLag", "IndustryShock", "LatentParameters", "SimulationConfig", "SimulationSummary",
    "TRUTH_SCHEMAS", "simulate",
]
