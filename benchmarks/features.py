"""Feature-build benchmark: the full panel at 12 monthly as-of dates, and a featuretools comparison.

    .venv/bin/python benchmarks/features.py [--firms 50000] [--history FOLDER] [--peer-buyers N] [--no-peer]
                                            [--stages]

1. Simulates (once, then reused) the 50,000-firm, 3-year history: about 10.4 million orders,
   30 million rows in all.
2. Builds the whole panel (every declarative and domain feature, labels) for every firm at
   the 12 month starts 2025-02-01 .. 2026-01-01, so every order of the history is read, in a
   fresh process; prints wall time, build CPU time and the process's peak RSS (with
   ``--stages``, also wall, CPU and peak RSS after each step of the build).
3. Runs featuretools (Deep Feature Synthesis with cutoff times, its own pandas-2.3 venv, see
   benchmarks/featuretools_peer/) and our engine on the same orders (every buyer's by
   default, or the first N buyers') with the same primitives (count, sum, mean, min, max,
   std of order value over 30/90/365 days at the 12 dates), checks that every value
   agrees, and prints both times and the ratio.

Times are wall clock on this machine; nothing here is an estimate.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
AS_OF = ("2025-02-01", "2026-01-01")
PEER_WINDOWS = (30, 90, 365)


def build_in_child(history: Path, stages: bool = False) -> dict:
    """Run the full build in a fresh process so peak RSS is the build's own; with ``stages``, print its steps."""
    code = f"""
import json, logging, resource, sys, time
if {stages!r}:
    logging.basicConfig(stream=sys.stderr, format="%(message)s")
    logging.getLogger("credit.features.stages").setLevel(logging.DEBUG)
from datetime import date
from credit.features.asof import monthly
from credit.features.history import History
from credit.features.panel import build_panel, write_panel
from pathlib import Path
started = time.perf_counter()
panel = build_panel(History.from_parquet({str(history)!r}), monthly(date.fromisoformat({AS_OF[0]!r}), date.fromisoformat({AS_OF[1]!r})))
built = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu = usage.ru_utime + usage.ru_stime
write_panel(panel, Path({str(OUT / 'features')!r}))
print(json.dumps({{"seconds": built, "cpu_seconds": cpu, "with_write": time.perf_counter() - started,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rows": len(panel.frame), "features": len(panel.manifest["feature_columns"]),
                  "orders": panel.manifest["watermarks"]["orders"]["rows"],
                  "all_rows": sum(m["rows"] for m in panel.manifest["watermarks"].values())}}))
"""
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, check=True)
    if stages:
        print(result.stderr, end="")
    return json.loads(result.stdout.strip().splitlines()[-1])


def peer_orders(history: Path, buyers: int) -> tuple[Path, list[int]]:
    """The orders of the first ``buyers`` buyer ids, the subset both engines get."""
    import duckdb

    subset = OUT / "peer" / "orders.parquet"
    subset.parent.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect()
    ids = [row[0] for row in connection.sql(
        f"SELECT DISTINCT buyer_id FROM read_parquet('{history / 'orders.parquet'}') ORDER BY 1 LIMIT {buyers}").fetchall()]
    connection.execute(f"COPY (SELECT * FROM read_parquet('{history / 'orders.parquet'}') "
                       f"WHERE buyer_id IN (SELECT unnest({ids}))) TO '{subset}' (FORMAT parquet)")
    return subset, ids


def ours_on_subset(history: Path, orders: Path, buyer_ids: list[int], dates: list[date]):  # noqa: ANN201
    """Our engine on the peer's subset, with the peer's primitives: history in memory, features computed."""
    import numpy as np
    import pandas as pd

    from credit.features.asof import AsOfGrid
    from credit.features.definitions import Aggregate, Feature
    from credit.features.engine import compute_features
    from credit.features.history import History
    from credit.store.frames import HISTORY

    features = [Feature(name, "", "orders", "buyer", of, PEER_WINDOWS) for name, of in (
        ("buyer_order_count", Aggregate("count")), ("buyer_gmv", Aggregate("sum", "amount_minor")),
        ("buyer_order_mean", Aggregate("mean", "amount_minor")), ("buyer_order_min", Aggregate("min", "amount_minor")),
        ("buyer_order_max", Aggregate("max", "amount_minor")), ("buyer_order_std", Aggregate("std", "amount_minor")))]
    frame = pd.read_parquet(orders)
    firm_ids = np.unique(np.concatenate([frame.buyer_id.to_numpy(), frame.supplier_id.to_numpy()]))
    tables = {name: pd.DataFrame({c.name: pd.Series(dtype=c.pandas_dtype) for c in spec.columns})
              for name, spec in HISTORY.items()}
    tables["orders"] = frame
    firms = pd.read_parquet(history / "firms.parquet")
    tables["firms"] = firms[firms.firm_id.isin(firm_ids)]
    started = time.perf_counter()
    history = History.from_tables(tables, origin="peer subset")
    block = compute_features(history, AsOfGrid(dates, set(PEER_WINDOWS)), features, np.array(buyer_ids))
    seconds = time.perf_counter() - started
    return block.frame(), seconds


def run_peer(orders: Path, buyers: int, dates: list[date]) -> tuple[Path, float, str]:
    python = subprocess.run(["bash", str(ROOT / "benchmarks" / "featuretools_peer" / "setup.sh")],
                            capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    out = OUT / "peer" / "featuretools.parquet"
    command = [python, "-W", "ignore", str(ROOT / "benchmarks" / "featuretools_peer" / "dfs.py"), "--orders", str(orders),
               "--buyers", str(buyers), "--windows", ",".join(map(str, PEER_WINDOWS)), "--out", str(out)]
    for d in dates:
        command += ["--as-of", d.isoformat()]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    last = result.stdout.strip().splitlines()[-1]
    seconds = float(last.split(" rows in ")[1].split(" s")[0])
    return out, seconds, last


def compare(ours, peer_path: Path) -> tuple[int, int]:  # noqa: ANN001
    import numpy as np
    import pandas as pd

    peer = pd.read_parquet(peer_path)
    peer["as_of"] = peer["as_of"].astype("datetime64[us]")
    merged = ours.merge(peer, on=["firm_id", "as_of"], suffixes=("", "_ft"), validate="one_to_one")
    assert len(merged) == len(peer) == len(ours), (len(merged), len(peer), len(ours))
    values = mismatches = 0
    for column in [c for c in peer.columns if c not in ("firm_id", "as_of")]:
        a, b = merged[column].to_numpy(dtype=float), merged[f"{column}_ft"].to_numpy(dtype=float)
        same = (np.isnan(a) & np.isnan(b)) | np.isclose(a, b, rtol=1e-9, atol=0)
        values += len(a)
        mismatches += int((~same).sum())
    return values, mismatches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=50_000)
    parser.add_argument("--history", type=Path, default=None,
                        help="an existing simulated history folder to read (default: benchmarks/out/sim<N>, "
                             "simulated on the first run)")
    parser.add_argument("--peer-buyers", type=int, default=0, help="first N buyers for the comparison; 0: all")
    parser.add_argument("--no-peer", action="store_true", help="build our panel only, skip the featuretools comparison")
    parser.add_argument("--stages", action="store_true",
                        help="print wall time, CPU time (all threads) and peak RSS after each step of the build")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from credit.features.asof import monthly

    dates = monthly(date.fromisoformat(AS_OF[0]), date.fromisoformat(AS_OF[1]))
    if args.history is not None:
        history = args.history
        print(f"history: reusing {history}")
    else:
        from benchmarks.histories import simulated

        history = simulated(args.firms)

    build = build_in_child(history, args.stages)
    print(f"ours, full panel: {build['rows']:,} rows (firm x as-of) x {build['features']} features at "
          f"{len(dates)} as-of dates from {build['orders']:,} orders ({build['all_rows']:,} history rows): "
          f"{build['seconds']:.1f} s ({build['with_write']:.1f} s with the Parquet write), "
          f"peak RSS {build['peak_mb']:,.0f} MB; build CPU time {build['cpu_seconds']:.1f} s (all threads)")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.no_peer:
        return

    orders, buyer_ids = peer_orders(history, args.peer_buyers or args.firms)
    ours, our_seconds = ours_on_subset(history, orders, buyer_ids, dates)
    peer_path, peer_seconds, peer_line = run_peer(orders, len(buyer_ids), dates)
    values, mismatches = compare(ours, peer_path)
    print(peer_line)
    print(f"ours on the same orders: {len(ours):,} rows x {len(PEER_WINDOWS) * 6} features in {our_seconds:.2f} s "
          f"(history from memory, then the engine)")
    print(f"agreement: {values - mismatches:,} of {values:,} values equal (rtol 1e-9)")
    print(f"speed-up: {peer_seconds / our_seconds:.1f}x (featuretools DFS time / ours)")
    print(f"this process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
