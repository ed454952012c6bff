"""The simulated histories the benchmarks share: N firms x 3 years from 2023-01-01 (seed 7).

One folder per size, ``benchmarks/out/sim<N>``, simulated on first use and reused after, so
the feature, training and growth benchmarks read the same history.
"""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"


def simulated(firms: int) -> Path:
    """The folder of the ``firms``-firm history, simulated now if no run of that size left one."""
    from credit.simulate import SimulationConfig, simulate

    folder = OUT / f"sim{firms}"
    manifest = folder / "manifest.json"
    if manifest.is_file() and json.loads(manifest.read_text()).get("config", {}).get("firms") == firms:
        print(f"history: reusing {folder}")
        return folder
    started = time.perf_counter()
    simulate(SimulationConfig(firms=firms, years=3, seed=7, start=date(2023, 1, 1)), folder)
    print(f"history: simulated {firms:,} firms x 3 years in {time.perf_counter() - started:.1f} s -> {folder}")
    return folder
