"""App factory for ``benchmarks/checkout.py --batch-meter``: how long each worker's checkout batches run.

On SQLite a batch (:mod:`api.checkout.group_commit`) holds the store's one write lock from its
``BEGIN`` to its ``COMMIT``, so with several worker processes the time in batches, summed over
the workers, is the time the lock is held: close to the measured span, and the workers queue
for it. :func:`create_app` is :func:`api.app.create_app` with ``GroupCommit._run`` (the batch)
and the wait for the writer's turn timed. Each worker keeps its running totals in
``$CREDIT_BATCH_METER_DIR/<pid>``, one line rewritten after every batch (:data:`FIELDS`), which
the benchmark reads before and after its measured run. :func:`time_batches`, the timing of the
batches alone, also serves ``benchmarks/checkout_cpu.py`` in process.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

FIELDS = ("batches", "authorizations", "wall_seconds", "cpu_seconds", "turn_wait_seconds")
"""The totals each worker's line holds, in this order, separated by spaces."""

_RECORD = 120  # bytes: every line is padded to this, so a rewrite always covers the previous one


def time_batches(record: Callable[[float, float, int], None]) -> None:
    """Time every checkout batch from now on: ``record(wall_seconds, cpu_seconds, authorizations)`` after each.

    Wraps ``GroupCommit._run`` (:mod:`api.checkout.group_commit`); the CPU is the thread's that
    ran the batch (on a database server, a thread of the pool).
    """
    from api.checkout import group_commit

    run = group_commit.GroupCommit._run

    def timed_run(self: Any, batch: list, engine: Any) -> Any:  # noqa: ANN401
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return run(self, batch, engine)
        finally:
            record(time.perf_counter() - wall, time.thread_time() - cpu, len(batch))

    group_commit.GroupCommit._run = timed_run


def create_app() -> Any:
    from api.app import create_app as create_service  # here: the benchmark's client reads totals, and needs no app
    from api.checkout import group_commit

    folder = Path(os.environ["CREDIT_BATCH_METER_DIR"])
    totals = dict.fromkeys(FIELDS, 0.0)
    descriptor = os.open(folder / str(os.getpid()), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    writer_turn = group_commit._writer_turn

    def record(wall: float, cpu: float, authorizations: int) -> None:
        totals["wall_seconds"] += wall
        totals["cpu_seconds"] += cpu
        totals["batches"] += 1
        totals["authorizations"] += authorizations
        line = " ".join(f"{totals[name]:.6f}" for name in FIELDS)
        os.pwrite(descriptor, line.ljust(_RECORD - 1).encode() + b"\n", 0)

    async def timed_turn(engine: Any) -> Any:  # noqa: ANN401
        started = time.perf_counter()
        try:
            return await writer_turn(engine)
        finally:
            totals["turn_wait_seconds"] += time.perf_counter() - started

    time_batches(record)
    group_commit._writer_turn = timed_turn
    return create_service()


def read_totals(folder: Path) -> dict[str, dict[str, float]]:
    """Each worker's totals so far, by process id (workers that ran no batch yet have none)."""
    found = {}
    for path in folder.iterdir():
        values = path.read_text().split()
        if len(values) == len(FIELDS):
            found[path.name] = dict(zip(FIELDS, map(float, values)))
    return found
