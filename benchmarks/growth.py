"""Growth: wall time, CPU time and peak memory of each stage at 12,500 / 50,000 / 200,000 firms.

    .venv/bin/python benchmarks/growth.py [--firms 12500 50000] [--stages simulate features train] \
        [--memory-limit 3GB] [--partitions N] [--postgres URL] [--table]

Stages, each in a fresh process so its peak memory is its own, on the history of
``benchmarks/histories.py`` (N firms x 3 years, seed 7):

- simulate: the simulator writing the history (replaces benchmarks/out/sim<N>);
- buckets: the history written in firm buckets (credit/features/buckets.py), one per
  partition of the feature build;
- features: the monthly panel 2024-01-01 .. 2025-01-01 built on a local Dask cluster of 2
  single-threaded workers, each with ``--memory-limit``, each task reading its own bucket
  (``--partitions``, default 4 per 50,000 firms, at least 4);
  written to benchmarks/out/panel<N> (the panel benchmarks/dask_training.py reads);
- train: LightGBM's Dask estimator trains the PD model on that panel from model.toml
  (benchmarks/dask_training.py's Dask run, on the same kind of cluster: the workers read the
  panel file in row ranges, the driver never holds it), then every eligible firm at
  2025-01-01 is scored on Dask with it (score), each task reading its own rows;
- ingest_sqlite, ingest_postgresql: the history loaded by `credit ingest`'s code
  (benchmarks/simulate_ingest.py's `ingest_folder`) into a fresh store: a new SQLite file
  (benchmarks/out/growth-ingest<N>.db, deleted afterwards) or a new PostgreSQL database on
  the server of ``--postgres``, created and dropped by the stage. CPU seconds are the
  process's plus, on PostgreSQL, its backend's (a local server, read from /proc); peak memory
  is the process's own (the server's is not in it); importing Great Expectations and building
  the suites (a few seconds, once per process) is not in either.

Every cell is saved in benchmarks/out/growth/<N>-<stage>.json; ``--table`` prints the table
of all saved cells, each with the load average (1 minute) when its stage started: on this
2-core machine a cell measured beside other work has a longer wall time than an idle
machine gives (its CPU seconds change less). Peak memory of a Dask stage is the driver's
peak RSS plus each worker's (/proc VmHWM); the score cells' peaks include the
training before it in the same processes (RSS peaks only grow), the scheduler-sampled
worker peaks printed beside them do not.
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
CELLS = OUT / "growth"
AS_OF = (date(2024, 1, 1), date(2025, 1, 1))
WORKERS = 2
COLUMNS = ("simulate", "ingest sqlite", "ingest postgresql", "buckets", "features", "train", "score")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_mb() -> float:
    """This process's own peak RSS (VmHWM: ``ru_maxrss`` would include the parent's peak before the exec)."""
    from benchmarks.dask_training import own_peak_rss_kb

    return own_peak_rss_kb() / 1024


def stage_simulate(firms: int, **_: object) -> dict:
    from credit.simulate import SimulationConfig, simulate

    started, cpu = time.perf_counter(), _cpu()
    summary = simulate(SimulationConfig(firms=firms, years=3, seed=7, start=date(2023, 1, 1)), OUT / f"sim{firms}")
    return {"simulate": {"seconds": time.perf_counter() - started, "cpu_seconds": _cpu() - cpu,
                         "peak_mb": _peak_mb(), "note": f"{summary.rows['orders']:,} orders"}}


def stage_buckets(firms: int, partitions: int, **_: object) -> dict:
    from benchmarks.histories import simulated
    from credit.features.bucket_layout import bucket_folder
    from credit.features.buckets import write_buckets

    folder = simulated(firms)
    started, cpu = time.perf_counter(), _cpu()
    write_buckets(folder, partitions)
    return {"buckets": {"seconds": time.perf_counter() - started, "cpu_seconds": _cpu() - cpu, "peak_mb": _peak_mb(),
                        "note": f"{partitions} buckets, {_size_mb(bucket_folder(folder, partitions)):,.0f} MB"}}


def stage_features(firms: int, memory_limit: str, partitions: int, **_: object) -> dict:
    from distributed import Client, LocalCluster

    from benchmarks.dask_training import sample_worker_memory, worker_peak_rss_mb
    from benchmarks.histories import simulated
    from credit.features.asof import monthly
    from credit.features.bucket_layout import is_bucketed
    from credit.features.distributed import build_panel_dask
    from credit.features.history import History
    from credit.features.panel import write_panel

    folder = simulated(firms)
    if not is_bucketed(folder, partitions):
        sys.exit(f"{folder}: no current buckets of {partitions}; run the buckets stage first")
    cells = {}
    cluster = LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True, dashboard_address=None,
                           memory_limit=memory_limit)
    client = Client(cluster)
    peaks: dict[str, float] = {}
    stop, sampler = sample_worker_memory(client, peaks)
    worker_cpu = client.run(_cpu)
    started, cpu = time.perf_counter(), _cpu()
    panel = build_panel_dask(History.from_parquet(folder), monthly(*AS_OF), partitions=partitions, client=client)
    seconds, driver_cpu = time.perf_counter() - started, _cpu() - cpu
    workers_cpu = [after - worker_cpu[a] for a, after in client.run(_cpu).items()]
    stop.set()
    sampler.join()
    worker_rss = worker_peak_rss_mb(client)
    client.close()
    cluster.close()
    write_panel(panel, OUT / f"panel{firms}")
    cells["features"] = {
        "seconds": seconds, "cpu_seconds": driver_cpu + sum(workers_cpu), "driver_peak_mb": _peak_mb(),
        "worker_peak_rss_mb": worker_rss, "worker_peak_memory_mb": [peaks[a] / 2**20 for a in sorted(peaks)],
        "peak_mb": _peak_mb() + sum(worker_rss), "memory_limit": memory_limit,
        "note": f"{len(panel.frame):,} rows x {len(panel.feature_columns)} features, {partitions} partitions"}
    return cells


def stage_train(firms: int, memory_limit: str, **_: object) -> dict:
    from benchmarks.dask_training import run

    out = OUT / f"growth-train{firms}"
    out.mkdir(parents=True, exist_ok=True)
    result = run("dask", OUT / f"panel{firms}", WORKERS, out, memory_limit=memory_limit, score_with_single=False)
    return {
        "train": {"seconds": result["train_seconds"],
                  "cpu_seconds": result["train_cpu_seconds"] + sum(result["train_worker_cpu_seconds"]),
                  "driver_peak_mb": result["train_peak_rss_mb"], "worker_peak_rss_mb": result["train_worker_peak_rss_mb"],
                  "worker_peak_memory_mb": result["train_worker_peak_memory_mb"],
                  "peak_mb": result["train_peak_rss_mb"] + sum(result["train_worker_peak_rss_mb"]),
                  "memory_limit": memory_limit,
                  "note": f"{result['rows']:,} rows, {result['rounds']} rounds"},
        "score": {"seconds": result["score_seconds"],
                  "cpu_seconds": result["score_cpu_seconds"] + sum(result["score_worker_cpu_seconds"]),
                  "driver_peak_mb": result["peak_rss_mb"], "worker_peak_rss_mb": result["worker_peak_rss_mb"],
                  "worker_peak_memory_mb": result["worker_peak_memory_mb"],
                  "peak_mb": result["peak_rss_mb"] + sum(result["worker_peak_rss_mb"]), "memory_limit": memory_limit,
                  "note": f"{result['scoring_rows']:,} firms"},
    }


def stage_ingest_sqlite(firms: int, **_: object) -> dict:
    from benchmarks.histories import simulated
    from benchmarks.simulate_ingest import ingest_folder

    folder = simulated(firms)
    store = OUT / f"growth-ingest{firms}.db"
    _remove_sqlite(store)
    try:
        result = ingest_folder(folder, f"sqlite:///{store}")
        size = store.stat().st_size / 2**20
    finally:
        _remove_sqlite(store)
    return {"ingest sqlite": _ingest_cell(result, f"{size:,.0f} MB store")}


def stage_ingest_postgresql(firms: int, postgres: str, **_: object) -> dict:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    from benchmarks.histories import simulated
    from benchmarks.simulate_ingest import ingest_folder

    folder = simulated(firms)
    name = f"growth_ingest_{firms}"
    admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        result = ingest_folder(folder, make_url(postgres).set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()
    return {"ingest postgresql": _ingest_cell(result, f"server {result['server_cpu_seconds']:,.1f} CPU-s")}


def _ingest_cell(result: dict, detail: str) -> dict:
    rows = sum(t["rows"] for t in result["tables"].values())
    quarantined = sum(t["quarantined"] for t in result["tables"].values())
    cpu = result["cpu_seconds"] + (result["server_cpu_seconds"] or 0)
    return {"seconds": result["seconds"], "cpu_seconds": cpu, "peak_mb": result["peak_rss_mb"],
            "rows": rows, "process_cpu_seconds": result["cpu_seconds"],
            "server_cpu_seconds": result["server_cpu_seconds"], "tables": result["tables"],
            "note": f"{rows:,} rows ({quarantined:,} quarantined), {rows / result['seconds']:,.0f} rows/s, "
                    f"{rows / cpu:,.0f} rows per CPU-s; {detail}"}


def _remove_sqlite(store: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)


STAGES = {"simulate": stage_simulate, "ingest_sqlite": stage_ingest_sqlite,
          "ingest_postgresql": stage_ingest_postgresql, "buckets": stage_buckets, "features": stage_features,
          "train": stage_train}


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def child(stage: str, firms: int, memory_limit: str, partitions: int, postgres: str) -> dict:
    """One stage in a fresh process; its cells are saved and returned."""
    code = (f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); import benchmarks.growth as g\n"
            f"if __name__ == '__main__':\n"
            f"    print('RESULT ' + json.dumps(g.STAGES[{stage!r}]({firms}, memory_limit={memory_limit!r}, "
            f"partitions={partitions}, postgres={postgres!r})))")
    load = os.getloadavg()
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, cwd=ROOT)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    if result.returncode or not lines:
        sys.exit(f"{stage} at {firms:,} firms failed:\n{result.stderr[-4000:]}")
    cells = json.loads(lines[-1][len("RESULT "):])
    CELLS.mkdir(parents=True, exist_ok=True)
    for name, cell in cells.items():
        cell["load_before"], cell["load_after"] = load, os.getloadavg()
        (CELLS / f"{firms}-{name}.json").write_text(json.dumps(cell))
        print(f"{firms:,} firms, {name}: {_cell(cell)}; {cell['note']}"
              + (f"; driver {cell['driver_peak_mb']:,.0f} MB, workers RSS "
                 f"{', '.join(f'{v:,.0f}' for v in cell['worker_peak_rss_mb'])} MB, scheduler-sampled "
                 f"{', '.join(f'{v:,.0f}' for v in cell['worker_peak_memory_mb'])} MB, limit "
                 f"{cell['memory_limit']} per worker" if "worker_peak_rss_mb" in cell else "")
              + f"; load {cell['load_before'][0]:.1f} -> {cell['load_after'][0]:.1f}", flush=True)
    return cells


def _cell(cell: dict) -> str:
    return (f"{cell['seconds']:,.1f} s ({cell['cpu_seconds']:,.1f} CPU-s), {cell['peak_mb']:,.0f} MB, "
            f"load {cell['load_before'][0]:.1f}")


def table() -> None:
    """One row per stage, one column per size (a row's cells are comparable: same stage, other sizes)."""
    sizes = sorted({int(p.name.split("-")[0]) for p in CELLS.glob("*.json")})
    cells = {(name, firms): _cell(json.loads(path.read_text())) if (path := CELLS / f"{firms}-{name}.json").is_file()
             else "not measured" for name in COLUMNS for firms in sizes}
    widths = [max(len(f"{firms:,} firms"), *(len(cells[name, firms]) for name in COLUMNS)) for firms in sizes]
    print((f"{'stage':<17} | " + " | ".join(f"{f'{firms:,} firms':<{w}}" for firms, w in zip(sizes, widths))).rstrip())
    for name in COLUMNS:
        print((f"{name:<17} | " + " | ".join(f"{cells[name, firms]:<{w}}" for firms, w in zip(sizes, widths))).rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, nargs="+", default=[12_500, 50_000])
    parser.add_argument("--stages", nargs="+", choices=list(STAGES), default=list(STAGES))
    parser.add_argument("--memory-limit", default="3GB", help="Dask memory limit of each of the 2 workers")
    parser.add_argument("--partitions", type=int, default=0,
                        help="firm partitions (and buckets) of the feature build; default 4 per 50,000 firms, at least 4")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL server (any database on it) where ingest_postgresql creates and drops "
                             "its database")
    parser.add_argument("--table", action="store_true", help="only print the table of the saved cells")
    args = parser.parse_args()
    if not args.table:
        for firms in args.firms:
            partitions = args.partitions or max(4, -(-firms // 12_500))
            for stage in args.stages:
                child(stage, firms, args.memory_limit, partitions, args.postgres)
    print("wall s (CPU-s of all processes), peak MB (a Dask stage: driver + workers' peak RSS)")
    table()


if __name__ == "__main__":
    main()
