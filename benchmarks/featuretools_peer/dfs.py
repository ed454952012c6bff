"""featuretools peer for the feature-engine benchmark: point-in-time buyer order features via DFS.

Runs only in the peer's own venv (pandas 2.3, see README.md):
    PY=$(benchmarks/featuretools_peer/setup.sh)
    $PY benchmarks/featuretools_peer/dfs.py --orders ORDERS.parquet --buyers 1000 \
        --as-of 2024-03-01 --as-of 2024-06-01 --windows 30,90,365 --out OUT.parquet

Semantics reproduced (our engine's): the feature at as-of date D (00:00 of D) for a window of w days
uses the orders with D - w days <= created_at < D.

How featuretools 1.31.0 maps onto that (featuretools/entityset/entityset.py, EntitySet._handle_time,
lines 1424-1434; docs: "include_cutoff_time (bool): Include data at cutoff times in feature
calculations. Defaults to True", calculate_feature_matrix.py:150):
  * default include_cutoff_time=True keeps  time_last - window <  t <= time_last, i.e. (D - w, D]:
    it includes orders AT the cutoff and excludes the window start;
  * include_cutoff_time=False keeps         time_last - window <= t <  time_last, i.e. [D - w, D):
    exactly ours, so the cutoff time stays D and no shift is needed. (With the default one would
    have to shift the cutoff to D - 1 us, which is equivalent only for microsecond timestamps.)
  * training_window="30 days" becomes pd.Timedelta(30, "d") (entityset/timedelta.py,
    Timedelta.get_unit_type): a fixed length, no calendar arithmetic.
_check_semantics() asserts all of this at start-up on a few hand-made orders at the boundaries.

Primitive results (feature_set_calculator.py, _calculate_agg_features: groupby().agg() at line
785, then a fillna with each primitive's default_value): Count and Sum give 0 for a buyer with no
order in the window; Mean/Min/Max/Std give NaN. Std's primitive function is np.std (population,
ddof=0, when called directly, as in its docstring), but DFS passes it to pandas' groupby.agg, and
pandas 2.3.3 maps np.std to SeriesGroupBy.std (pandas/core/common.py:609, _cython_table): the
SAMPLE std (ddof=1; NaN for one order), which is what we want, so no conversion. pandas warns
(FutureWarning) that a later version will call np.std itself; that would switch to ddof=0, which
_check_semantics catches.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import warnings
from pathlib import Path

import featuretools as ft
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

PRIMITIVES = ["count", "sum", "mean", "min", "max", "std"]
OUTPUT_NAME = {  # featuretools primitive name -> our column stem
    "count": "buyer_order_count",
    "sum": "buyer_gmv",
    "mean": "buyer_order_mean",
    "min": "buyer_order_min",
    "max": "buyer_order_max",
    "std": "buyer_order_std",
}
INT_COLUMNS = {"count", "sum", "min", "max"}
MAX_EXACT_FLOAT_INT = 2**53

# The pandas "provided callable ... is currently using SeriesGroupBy.xxx" warnings (see docstring).
warnings.filterwarnings("ignore", category=FutureWarning, module=r"featuretools\.")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--orders", type=Path, required=True, help="orders Parquet file")
    p.add_argument("--buyers", type=int, required=True, help="use the first N buyer ids (ascending)")
    p.add_argument("--as-of", dest="as_of", action="append", required=True, metavar="YYYY-MM-DD",
                   help="cutoff date (repeatable); features use orders strictly before 00:00 of it")
    p.add_argument("--windows", default="30,90,365", help="comma-separated window lengths in days")
    p.add_argument("--out", type=Path, required=True, help="output Parquet file")
    p.add_argument("--threads", type=int, default=1,
                   help="ignored: featuretools runs single-threaded here (n_jobs>1 needs dask)")
    args = p.parse_args(argv)
    args.windows = [int(w) for w in args.windows.split(",") if w.strip()]
    args.as_of = sorted({pd.Timestamp(d).normalize() for d in args.as_of})
    if args.buyers < 1 or not args.windows or min(args.windows) < 1:
        p.error("--buyers and every window must be positive")
    return args


def build_entityset(firm_ids: np.ndarray, orders: pd.DataFrame) -> ft.EntitySet:
    es = ft.EntitySet(id="marketplace")
    es.add_dataframe(dataframe_name="firms", dataframe=pd.DataFrame({"firm_id": firm_ids}),
                     index="firm_id")
    es.add_dataframe(dataframe_name="orders", dataframe=orders, index="order_id",
                     time_index="created_at")
    es.add_relationship("firms", "firm_id", "orders", "buyer_id")
    # training_window warns (per query) without last time indexes; for orders it equals created_at.
    es.add_last_time_indexes()
    return es


def run_dfs(es: ft.EntitySet, cutoff: pd.DataFrame, window_days: int) -> pd.DataFrame:
    """One DFS call for one training window; returns our column names, indexed (firm_id, time)."""
    fm, defs = ft.dfs(
        entityset=es,
        target_dataframe_name="firms",
        cutoff_time=cutoff,
        cutoff_time_in_index=True,
        agg_primitives=PRIMITIVES,
        trans_primitives=[],
        max_depth=1,
        training_window=f"{window_days} days",
        include_cutoff_time=False,  # [D - w, D), see module docstring
    )
    out = {}
    for f in defs:
        prim = f.primitive.name
        col = fm[f.get_name()]
        if prim in INT_COLUMNS:
            col = to_int(col, f.get_name())
            if prim in ("count", "sum"):  # featuretools already gives 0 for an empty window
                col = col.astype("int64")
        else:
            col = col.astype("float64")
        out[f"{OUTPUT_NAME[prim]}_{window_days}d"] = col
    order = [f"{OUTPUT_NAME[p]}_{window_days}d" for p in PRIMITIVES]
    if sorted(out) != sorted(order):
        raise RuntimeError(f"DFS features {sorted(out)} differ from the expected {order}")
    return pd.DataFrame(out, index=fm.index)[order]


def to_int(col: pd.Series, name: str) -> pd.Series:
    """featuretools returns sum/min/max as float64 (NaN-able); convert back to nullable int64,
    refusing any value that float64 could not have held exactly."""
    vals = col.astype("float64")
    ok = vals.isna() | ((vals == np.round(vals)) & (vals.abs() < MAX_EXACT_FLOAT_INT))
    if not ok.all():
        raise ValueError(f"{name}: {int((~ok).sum())} values are not exact integers")
    return vals.astype("Int64")


def _check_semantics() -> None:
    """Assert the cutoff/window/default/std behaviour the module docstring describes."""
    d, us, w = pd.Timestamp("2024-03-01"), pd.Timedelta(1, "us"), 30
    start = d - pd.Timedelta(days=w)
    times = [start - us, start, start + us, d - us, d, d - us]
    orders = pd.DataFrame({
        "order_id": np.arange(1, 7, dtype="int64"),
        "buyer_id": np.array([1, 1, 1, 1, 1, 2], dtype="int64"),
        "created_at": pd.Series(times).astype("datetime64[us]"),
        "amount_minor": np.array([1000, 10, 20, 30, 5000, 7], dtype="int64"),
    })
    es = build_entityset(np.array([1, 2, 3], dtype="int64"), orders)
    got = run_dfs(es, pd.DataFrame({"firm_id": [1, 2, 3], "time": [d] * 3}), w)
    got = got.droplevel("time")
    c = lambda s: f"{s}_{w}d"  # noqa: E731
    assert got[c("buyer_order_count")].tolist() == [3, 1, 0], got  # start in, cutoff out
    assert got[c("buyer_gmv")].tolist() == [60, 7, 0], got
    assert got[c("buyer_order_min")].tolist()[:2] == [10, 7], got
    assert got[c("buyer_order_max")].tolist()[:2] == [30, 7], got
    assert got[c("buyer_order_std")].iloc[0] == 10.0, got  # sample std of 10,20,30 (ddof=0: 8.16)
    assert got[c("buyer_order_std")].iloc[1:].isna().all(), got  # one order / none -> null
    assert got[c("buyer_order_mean")].iloc[2:].isna().all(), got


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t0 = time.perf_counter()
    _check_semantics()
    print(f"semantics check: ok ({time.perf_counter() - t0:.2f} s; featuretools {ft.__version__}, "
          f"pandas {pd.__version__}, pyarrow {pa.__version__})", flush=True)

    t0 = time.perf_counter()
    all_buyers = np.unique(pq.read_table(args.orders, columns=["buyer_id"])["buyer_id"].to_numpy())
    firm_ids = all_buyers[: args.buyers]
    if len(firm_ids) < args.buyers:
        print(f"warning: only {len(firm_ids)} buyers in {args.orders}", file=sys.stderr)
    # The first N ids in ascending order are exactly the ids <= the N-th one.
    table = pq.read_table(args.orders, columns=["order_id", "buyer_id", "created_at", "amount_minor"],
                          filters=[("buyer_id", "<=", int(firm_ids[-1]))])
    orders = table.to_pandas()
    orders["created_at"] = orders["created_at"].astype("datetime64[us]")
    print(f"load: {len(orders)} orders of {len(firm_ids)} buyers in {time.perf_counter() - t0:.2f} s",
          flush=True)

    t0 = time.perf_counter()
    es = build_entityset(firm_ids, orders)
    cutoff = pd.DataFrame({
        "firm_id": np.repeat(firm_ids, len(args.as_of)),
        "time": np.tile(np.array(args.as_of, dtype="datetime64[us]"), len(firm_ids)),
    })
    print(f"entityset: built in {time.perf_counter() - t0:.2f} s, cutoff times: {len(cutoff)} rows",
          flush=True)

    parts, dfs_seconds = [], 0.0
    for w in args.windows:
        t0 = time.perf_counter()
        parts.append(run_dfs(es, cutoff, w))
        dt = time.perf_counter() - t0
        dfs_seconds += dt
        print(f"dfs {w}d: {dt:.2f} s", flush=True)

    t0 = time.perf_counter()
    result = pd.concat(parts, axis=1).sort_index()
    result.index = result.index.set_names(["firm_id", "as_of"])
    result = result.reset_index()
    result["firm_id"] = result["firm_id"].astype("int64")
    result["as_of"] = result["as_of"].astype("datetime64[us]")
    if len(result) != len(cutoff):
        raise RuntimeError(f"expected {len(cutoff)} rows, DFS returned {len(result)}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pandas(result, preserve_index=False), args.out)
    print(f"write: {args.out} in {time.perf_counter() - t0:.2f} s", flush=True)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    print(f"peak RSS: {peak_mb:.0f} MB")
    print(f"featuretools: {len(firm_ids)} buyers x {len(args.as_of)} as-of dates x "
          f"{len(args.windows)} windows = {len(result)} rows in {dfs_seconds:.2f} s (DFS only), "
          f"orders loaded: {len(orders)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
