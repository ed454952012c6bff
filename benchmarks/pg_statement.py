"""CPU and wall per prepared statement on PostgreSQL: psycopg's cursor against libpq's one call (credit/store/libpq_lane.py).

Runs one small statement (``SELECT`` of a bigint, a text and a timestamp it is given, the shape
of the checkout's statements) N times through :class:`credit.store.prepared.PreparedStatement` inside
one transaction, with the lane as it is and with it turned off (every statement on a new
cursor, as before the lane), alternated three times, and prints the client's process CPU and
the wall time per statement of each run. The server's time is in the wall, not in the CPU.

    PYTHONPATH=. .venv/bin/python benchmarks/pg_statement.py [N] [--postgres URL]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import BigInteger, DateTime, String, bindparam, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from credit.store import libpq_lane  # noqa: E402
from credit.store.engine import make_engine  # noqa: E402
from credit.store.prepared import PreparedStatement  # noqa: E402

STATEMENT = PreparedStatement(select(bindparam("n", type_=BigInteger).label("n"),
                                     bindparam("s", type_=String).label("s"),
                                     bindparam("at", type_=DateTime).label("at")))
AT = datetime(2026, 12, 7, 14, 22, 5, 123456)  # any timestamp: what matters is sending and reading one


def per_statement(engine, n: int) -> tuple[float, float]:  # noqa: ANN001
    """Microseconds of process CPU and of wall per statement, over ``n`` runs after 100 of warm-up."""
    with engine.begin() as connection:
        for i in range(100):  # psycopg prepares the statement on its 6th run
            STATEMENT.first(connection, {"n": i, "s": "warm", "at": AT})
        cpu, wall = time.process_time(), time.perf_counter()
        for i in range(n):
            STATEMENT.first(connection, {"n": i, "s": "abc", "at": AT})
        return (time.process_time() - cpu) / n * 1e6, (time.perf_counter() - wall) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=5000, help="statements per run")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="the PostgreSQL server (default: %(default)s)")
    args = parser.parse_args()
    engine = make_engine(args.postgres)
    lane = libpq_lane.run
    for _ in range(3):
        for name, run in (("psycopg cursor", lambda *_: None), ("libpq lane", lane)):
            libpq_lane.run = run
            cpu, wall = per_statement(engine, args.n)
            print(f"{name:15} {args.n:,} statements: client CPU {cpu:5.1f} us, wall {wall:6.1f} us per statement")
    libpq_lane.run = lane
    engine.dispose()


if __name__ == "__main__":
    main()
