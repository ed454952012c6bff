"""CPU per checkout authorization in process: the app called as ASGI, no HTTP, no client on the same cores.

Builds the store of ``benchmarks/checkout.py`` (a fresh SQLite file, or with ``--postgres`` a new
database on that server; 1,000 buyers), runs the
app's lifespan, warms up with 300 authorizations, then sends ``N`` more in five batches and
prints the process CPU (user + system) per authorization of each batch and their minimum.
``--together K`` sends K at a time (``asyncio.gather``), as a loaded server has several to
answer at once, which then share a transaction (api/checkout/group_commit.py).
It also prints the CPU spent inside the batches (``GroupCommit._run``: one transaction from
its first statement to its COMMIT, unless one of its authorizations fails and each runs
alone) per authorization, and how many authorizations a batch held: runs at several
``--together`` split that CPU into a cost per batch and a cost per authorization. On
SQLite a batch holds the store's one write lock.
On a shared machine the minimum over batches, and runs of two trees alternated, compare
better than an HTTP run whose server gets a fraction of a core. ``--profile FILE`` writes a
cProfile of the measured batches (cProfile times wall clock: read shares, not microseconds).

    PYTHONPATH=. .venv/bin/python benchmarks/checkout_cpu.py [N] [--together K] [--profile FILE]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import batch_meter  # noqa: E402  (beside this script)
from checkout import ROOT, build_store, create_database, drop_database  # noqa: E402  (the HTTP benchmark's store)

sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=3000, help="authorizations measured (five batches)")
    parser.add_argument("--profile", type=Path, default=None, help="write a cProfile of the measured batches here")
    parser.add_argument("--together", type=int, default=1, metavar="K",
                        help="send K authorizations at once, as a loaded server reads them (default 1: one at a time)")
    parser.add_argument("--postgres", metavar="URL", default=None,
                        help="a new database on this PostgreSQL server (dropped after) instead of a SQLite file")
    args = parser.parse_args()
    if args.postgres:
        url = create_database(args.postgres)
        try:
            measure(args, url)
        finally:
            drop_database(args.postgres, url)
    else:
        measure(args, f"sqlite:///{Path(tempfile.mkdtemp(prefix='checkout_cpu_')) / 'store.db'}")


class _Batches:
    """CPU (of the thread running each) and authorizations inside the checkout's batches, summed while ``on``."""

    def __init__(self) -> None:
        self.on = False
        self.cpu = 0.0
        self.batches = 0
        self.authorizations = 0
        self._lock = threading.Lock()  # on PostgreSQL batches run on several threads

    def record(self, _wall: float, cpu: float, authorizations: int) -> None:
        if self.on:
            with self._lock:
                self.cpu += cpu
                self.batches += 1
                self.authorizations += authorizations


def measure(args: argparse.Namespace, url: str) -> None:
    """Build the store at ``url``, then run and print the measured batches."""
    key = build_store(url, 1000)
    os.environ["CREDIT_DATABASE_URL"] = url
    os.environ["CREDIT_API_RATE_LIMITS"] = json.dumps({"checkout": {"per_second": 1_000_000, "burst": 1_000_000}})
    from api.app import create_app

    batches = _Batches()
    batch_meter.time_batches(batches.record)

    app = create_app()
    auth = f"Bearer {key}".encode()

    async def call(scope: dict, body: bytes) -> tuple[int, bytes]:
        sent, out = False, []

        async def receive() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # the client never hangs up
            return {}

        async def send(message: dict) -> None:
            out.append(message)

        await app(scope, receive, send)
        return out[0]["status"], b"".join(m.get("body", b"") for m in out if m["type"] == "http.response.body")

    def authorization(i: int, tag: str) -> tuple[dict, bytes]:
        body = json.dumps({"buyer_id": 2 + i % 1000, "order_reference": f"{tag}-{i}",
                           "amount": f"{100 + i % 400}.{i % 100:02d}"}).encode()
        headers = [(b"host", b"127.0.0.1"), (b"authorization", auth), (b"idempotency-key", f"{tag}-{i}".encode()),
                   (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
                "path": "/v1/checkout/authorizations", "raw_path": b"/v1/checkout/authorizations",
                "query_string": b"", "root_path": "", "headers": headers, "client": ("127.0.0.1", 1),
                "server": ("127.0.0.1", 80)}, body

    async def run() -> None:
        messages: asyncio.Queue = asyncio.Queue()
        await messages.put({"type": "lifespan.startup"})
        started = asyncio.Event()

        async def lifespan_send(message: dict) -> None:
            if message["type"] == "lifespan.startup.complete":
                started.set()

        lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                                           messages.get, lifespan_send))
        await started.wait()
        for i in range(300):
            status, answer = await call(*authorization(i, "warm"))
            assert status == 201, (status, answer)
        profiler = cProfile.Profile() if args.profile else None
        per_batch = []
        batches.on = True
        for batch in range(5):
            cpu = time.process_time()
            if profiler:
                profiler.enable()
            for first in range(0, args.n // 5, args.together):
                sent = range(first, min(first + args.together, args.n // 5))
                for status, answer in await asyncio.gather(
                        *(call(*authorization(batch * 1_000_000 + i, "order")) for i in sent)):
                    assert status == 201, (status, answer)
            if profiler:
                profiler.disable()
            per_batch.append((time.process_time() - cpu) / (args.n // 5) * 1e6)
        batches.on = False
        print("in-process CPU us/authorization per batch:", " ".join(f"{v:.0f}" for v in per_batch),
              f"min {min(per_batch):.0f}; load average {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
        print(f"of it inside the group-commit batches (api/checkout/group_commit.py): "
              f"{batches.cpu / batches.authorizations * 1e6:.0f} us/authorization, "
              f"{batches.authorizations / batches.batches:.1f} authorizations a batch")
        if profiler:
            profiler.dump_stats(args.profile)
        await messages.put({"type": "lifespan.shutdown"})
        await lifespan

    import uvloop

    uvloop.run(run())


if __name__ == "__main__":
    main()
