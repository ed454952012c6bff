"""Simulator and ingest throughput on a large marketplace (default: 50,000 firms x 3 years).

Each phase runs in a child process so that its peak memory is its own. Prints a table and
writes it, with the machine it ran on, to benchmarks/out/simulate_ingest.json.

With ``--delta``, the last day of the history (every row whose event time falls on it) is
held out of the full load and then loaded as an incremental delivery into the loaded store,
and delivered a second time (every row then already stored, unchanged).

    .venv/bin/python benchmarks/simulate_ingest.py [--firms 50000] [--years 3]
        [--history benchmarks/out/sim50k] [--delta]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def _simulate(firms: int, years: int, folder: Path) -> dict:
    from credit.simulate import SimulationConfig, simulate

    started = time.perf_counter()
    summary = simulate(SimulationConfig(firms=firms, years=years, seed=7, start=date(2023, 1, 1)), folder)
    return {"seconds": time.perf_counter() - started, "rows": summary.rows,
            "annual_default_rate": summary.annual_default_rate}


EVENT_TIME = {"firms": "registered_at", "orders": "created_at", "invoices": "issued_at", "payments": "paid_at",
              "returns": "returned_at", "disputes": "opened_at", "credit_events": "occurred_at"}
"""The column that dates each table's rows, for splitting off the last day as a delta."""


def _split_last_day(history: Path, base: Path, delta: Path) -> dict:
    """Write the history without its last day to ``base`` and that day to ``delta``."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    orders = pq.read_table(history / "orders.parquet", columns=["created_at"]).column(0)
    last_day = pc.floor_temporal(pc.max(orders), unit="day")
    base.mkdir(parents=True, exist_ok=True)
    delta.mkdir(parents=True, exist_ok=True)
    rows = {}
    for table, column in EVENT_TIME.items():
        frame = pq.read_table(history / f"{table}.parquet")
        late = pc.greater_equal(frame.column(column), last_day.cast(frame.schema.field(column).type))
        pq.write_table(frame.filter(pc.invert(late)), base / f"{table}.parquet")
        rows[table] = pc.sum(late.cast("int64")).as_py() or 0
        (delta / f"{table}.parquet").unlink(missing_ok=True)
        if rows[table]:  # a file without rows is refused as unusable
            pq.write_table(frame.filter(late), delta / f"{table}.parquet")
    return {"last_day": str(last_day.as_py().date()), "delta_rows": rows}


def ingest_folder(folder: Path, database_url: str) -> dict:
    """Load the history in ``folder`` into the store at ``database_url`` (migrated first) in one
    `ingest_files` call, as `credit ingest` does: seconds, process and server CPU seconds,
    this process's peak RSS, load average, and per table what happened. Importing Great
    Expectations and building a suite happen inside the load, when a file first needs them
    (a bulk load's first file; never for small clean files)."""
    from credit.ingest import find_history_files, ingest_files
    from credit.store.engine import make_engine
    from migrations import upgrade

    engine = make_engine(database_url)
    upgrade(engine)
    files, _ = find_history_files([folder])
    load_before = os.getloadavg()
    cpu_before = time.process_time()
    started = time.perf_counter()
    results = ingest_files(engine, files)
    seconds = time.perf_counter() - started
    server_cpu = _server_cpu_seconds(engine)
    tables = {r.table: {"rows": r.rows_read, "loaded": r.loaded, "unchanged": r.unchanged,
                        "quarantined": r.quarantined, "seconds": r.seconds, "error": r.error} for r in results}
    return {"seconds": seconds, "cpu_seconds": time.process_time() - cpu_before, "tables": tables,
            "load_average_before": load_before, "load_average_after": os.getloadavg(),
            "peak_rss_mb": _own_peak_rss_mb(), "server_cpu_seconds": server_cpu}


def _server_cpu_seconds(engine) -> float | None:  # noqa: ANN001
    """CPU seconds used so far by the PostgreSQL backends connected to this database (a local
    server: read from /proc). The ingest reuses one pooled connection, so this is its backend's
    work (and the few statements of the migrations before it)."""
    if engine.dialect.name != "postgresql":
        return None
    from sqlalchemy import text

    with engine.connect() as connection:
        pids = connection.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")).scalars()
        total = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def _own_peak_rss_mb() -> float:
    """This process's peak RSS since its exec (VmHWM); ru_maxrss keeps the forking parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(phase: str, args: argparse.Namespace, folder: Path) -> dict:
    """Run one phase in a fresh interpreter; return its result (with its own peak RSS)."""
    command = [sys.executable, __file__, "--phase", phase, "--firms", str(args.firms), "--years", str(args.years),
               "--workdir", str(folder), "--database-url", args.database_url]
    completed = subprocess.run(command, check=True, capture_output=True, text=True)
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    result.setdefault("peak_rss_mb", resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    return result


def _print_ingest(title: str, ingested: dict, database_url: str) -> None:
    load = ", ".join(f"{x:.2f}" for x in ingested["load_average_before"])
    load_after = ", ".join(f"{x:.2f}" for x in ingested["load_average_after"])
    print(f"{title} into {database_url.split('://')[0]}: {ingested['seconds']:.1f} s "
          f"({ingested['cpu_seconds']:.1f} CPU-s in the process"
          + (f", {ingested['server_cpu_seconds']:.1f} CPU-s in the server" if ingested.get("server_cpu_seconds") else "")
          + f"), peak RSS {ingested['peak_rss_mb']:,.0f} MB, "
          f"load average {load} before, {load_after} after")
    print(f"{'table':<14}{'rows':>12}{'loaded':>12}{'unchanged':>11}{'quarantined':>13}{'seconds':>9}{'rows/s':>11}")
    for table, t in ingested["tables"].items():
        if t["error"]:
            print(f"{table:<14} unusable: {t['error']}")
            continue
        print(f"{table:<14}{t['rows']:>12,}{t['loaded']:>12,}{t['unchanged']:>11,}{t['quarantined']:>13,}"
              f"{t['seconds']:>9.2f}{t['rows'] / max(t['seconds'], 1e-9):>11,.0f}")
    total = sum(t["rows"] for t in ingested["tables"].values())
    print(f"{'all':<14}{total:>12,}{'':>36}{ingested['seconds']:>9.2f}{total / ingested['seconds']:>11,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=50_000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=OUT / "history")
    parser.add_argument("--history", type=Path, help="an already simulated history (a folder with manifest.json) "
                                                      "to ingest instead of simulating one")
    parser.add_argument("--delta", action="store_true",
                        help="hold the last day out of the full load, then load it as an incremental delta")
    parser.add_argument("--database-url", default="", help="an empty store (default: a fresh benchmarks/out/bench.db)")
    parser.add_argument("--phase", choices=["simulate", "ingest"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.database_url = args.database_url or f"sqlite:///{OUT / 'bench.db'}"

    if args.phase == "simulate":
        print(json.dumps(_simulate(args.firms, args.years, args.workdir)))
        return
    if args.phase == "ingest":
        print(json.dumps(ingest_folder(args.workdir, args.database_url)))
        return

    OUT.mkdir(parents=True, exist_ok=True)
    if args.database_url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(args.database_url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    print(f"{os.cpu_count()} cores, Python {platform.python_version()}, load average "
          f"{', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    report: dict = {"cores": os.cpu_count(), "database": args.database_url.split("://")[0]}
    if args.history:
        if not (args.history / "manifest.json").exists():
            parser.error(f"--history {args.history} has no manifest.json: not a simulated history")
        folder = args.history
        config = json.loads((folder / "manifest.json").read_text()).get("config", {})
        print(f"history: {folder} ({config.get('firms', '?'):,} firms x {config.get('years', '?')} years)")
    else:
        folder = args.workdir
        print(f"{args.firms:,} firms x {args.years} years")
        simulated = report["simulate"] = _child("simulate", args, folder)
        rows = sum(simulated["rows"].values())
        print(f"simulate: {simulated['seconds']:.1f} s, {simulated['rows']['orders']:,} orders, {rows:,} rows in all, "
              f"{rows / simulated['seconds']:,.0f} rows/s, peak RSS {simulated['peak_rss_mb']:,.0f} MB, "
              f"annual default rate {simulated['annual_default_rate']:.1%}")
    if args.delta:
        base, delta = OUT / f"{folder.name}-base", OUT / f"{folder.name}-delta"
        split = report["split"] = _split_last_day(folder, base, delta)
        print(f"delta: the last day {split['last_day']} held out of the full load: {split['delta_rows']}")
        folder = base
    ingested = report["ingest"] = _child("ingest", args, folder)
    _print_ingest("full load", ingested, args.database_url)
    if args.delta:
        for name, title in (("delta", "delta (one day, new rows)"), ("delta_again", "the same delta again")):
            report[name] = _child("ingest", args, delta)
            _print_ingest(title, report[name], args.database_url)
    (OUT / "simulate_ingest.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
