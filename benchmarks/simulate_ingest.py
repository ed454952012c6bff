"""Simulator and ingest throughput on a large marketplace (default: 50,000 firms x 3 years).

Each phase runs in a child process so that its peak memory is its own. Prints a table and
writes it, with the machine it ran on, to benchmarks/out/simulate_ingest.json.

    .venv/bin/python benchmarks/simulate_ingest.py [--firms 50000] [--years 3]
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


def _ingest(folder: Path, database_url: str) -> dict:
    from credit.ingest import find_history_files, ingest_files
    from credit.store.engine import make_engine
    from migrations import upgrade

    engine = make_engine(database_url)
    upgrade(engine)
    files, _ = find_history_files([folder])
    tables = {}
    started = time.perf_counter()
    for table, path in files:
        table_started = time.perf_counter()
        [result] = ingest_files(engine, [(table, path)])
        tables[table] = {"rows": result.rows_read, "loaded": result.loaded, "quarantined": result.quarantined,
                         "seconds": time.perf_counter() - table_started}
    return {"seconds": time.perf_counter() - started, "tables": tables}


def _child(phase: str, args: argparse.Namespace) -> dict:
    """Run one phase in a fresh interpreter; return its result and peak RSS."""
    command = [sys.executable, __file__, "--phase", phase, "--firms", str(args.firms), "--years", str(args.years),
               "--workdir", str(args.workdir), "--database-url", args.database_url]
    completed = subprocess.run(command, check=True, capture_output=True, text=True)
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=50_000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=OUT / "history")
    parser.add_argument("--database-url", default="")
    parser.add_argument("--phase", choices=["simulate", "ingest"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.database_url = args.database_url or f"sqlite:///{OUT / 'bench.db'}"

    if args.phase == "simulate":
        print(json.dumps(_simulate(args.firms, args.years, args.workdir)))
        return
    if args.phase == "ingest":
        print(json.dumps(_ingest(args.workdir, args.database_url)))
        return

    OUT.mkdir(parents=True, exist_ok=True)
    if args.database_url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            Path(args.database_url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    print(f"{args.firms:,} firms x {args.years} years on {os.cpu_count()} cores, Python {platform.python_version()}")
    simulated = _child("simulate", args)
    rows = sum(simulated["rows"].values())
    print(f"simulate: {simulated['seconds']:.1f} s, {simulated['rows']['orders']:,} orders, {rows:,} rows in all, "
          f"{rows / simulated['seconds']:,.0f} rows/s, peak RSS {simulated['peak_rss_mb']:,.0f} MB, "
          f"annual default rate {simulated['annual_default_rate']:.1%}")
    ingested = _child("ingest", args)
    print(f"ingest into {args.database_url.split('://')[0]}: {ingested['seconds']:.1f} s, "
          f"peak RSS (max of both phases) {ingested['peak_rss_mb']:,.0f} MB")
    print(f"{'table':<14}{'rows':>12}{'quarantined':>13}{'seconds':>9}{'rows/s':>10}")
    for table, t in ingested["tables"].items():
        print(f"{table:<14}{t['rows']:>12,}{t['quarantined']:>13,}{t['seconds']:>9.1f}{t['rows'] / t['seconds']:>10,.0f}")
    total = sum(t["rows"] for t in ingested["tables"].values())
    print(f"{'all':<14}{total:>12,}{'':>13}{ingested['seconds']:>9.1f}{total / ingested['seconds']:>10,.0f}")
    (OUT / "simulate_ingest.json").write_text(json.dumps({
        "firms": args.firms, "years": args.years, "cores": os.cpu_count(), "simulate": simulated,
        "ingest": ingested, "database": args.database_url.split("://")[0],
    }, indent=2))


if __name__ == "__main__":
    main()
