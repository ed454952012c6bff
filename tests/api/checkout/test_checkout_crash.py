"""Kill the server mid-load, start it again, let clients retry: nothing lost, nothing booked twice.

uvicorn runs as a subprocess on an SQLite file. Client threads authorize orders, capture half
of each approved one and void every third, each request with a fixed Idempotency-Key. The
server is SIGKILLed twice while requests are in flight and restarted; clients retry every
request with the same key and body until they get an answer that is not a 5xx (a refused or
cut connection counts as no answer). Then the journal reconciles, each order holds at most
once and decides exactly once, and the balances are the sum of the answers the clients got.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.kit.auth import create_api_key
from api.kit.money import from_minor
from credit.audit import DecisionRecord
from credit.ledger import balances, reconcile
from credit.ledger.tables import Hold, LedgerTransfer
from credit.store.engine import make_engine
from migrations import upgrade
from tests.api.checkout.factories import make_buyer_with_line
from tests.api.checkout.server import ServerProcess
from tests.api.conftest import auth

CLIENTS = 8
ORDERS_PER_CLIENT = 40
KILL_AT = (0.25, 0.6)  # shares of all requests answered when the server is killed


class Clients:
    """Counts answers and 5xx across client threads; retries until an answer that is not a 5xx."""

    def __init__(self, url: str, key: str) -> None:
        self.url, self.key = url, key
        self.answered = 0
        self.server_errors = 0
        self.transport_errors = 0
        self.replays = 0
        self.lock = threading.Lock()

    def post(self, http: httpx.Client, path: str, body: dict | None, idempotency_key: str, *,
             impatient: bool = False) -> httpx.Response:
        deadline = time.monotonic() + 120
        # An impatient first attempt gives up before the answer arrives, as a client whose
        # connection drops after the server committed: its retry must get the replay.
        timeout = httpx.Timeout(30, read=0.0002) if impatient else httpx.USE_CLIENT_DEFAULT
        while time.monotonic() < deadline:
            try:
                response = http.post(path, json=body, headers=auth(self.key) | {"Idempotency-Key": idempotency_key},
                                     timeout=timeout)
            except httpx.TransportError:
                with self.lock:
                    self.transport_errors += 1
                timeout = httpx.USE_CLIENT_DEFAULT
                time.sleep(0.05)
                continue
            if response.status_code >= 500:
                with self.lock:
                    self.server_errors += 1
                time.sleep(0.05)
                continue
            if response.status_code == 409 and response.json()["error"]["code"] == "idempotency_request_in_progress":
                time.sleep(0.1)  # the killed attempt's claim: taken over once its lease ends
                continue
            with self.lock:
                self.answered += 1
                self.replays += response.headers.get("Idempotent-Replayed") == "true"
            return response
        raise AssertionError(f"no answer to POST {path} ({idempotency_key}) within 120 s")


def test_killing_the_server_mid_load_loses_and_doubles_nothing(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(database_url)
    upgrade(engine)
    buyers = [make_buyer_with_line(engine, limit_minor=limit) for limit in (3_000_000, 10_000_000)]
    with Session(engine) as session, session.begin():
        _, key = create_api_key(session, "checkout-frontend", "checkout")

    server = ServerProcess(database_url, lease_seconds=1).start()
    clients = Clients(server.url, key)
    outcomes: dict[str, dict] = {}

    def run_client(c: int) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for n in range(ORDERS_PER_CLIENT):
                i = c * ORDERS_PER_CLIENT + n
                buyer, _ = buyers[i % len(buyers)]
                amount = 10_000 + 137 * i
                reference = f"PO-{i}"
                authorized = clients.post(http, "/v1/checkout/authorizations", {
                    "buyer_id": buyer, "order_reference": reference, "amount": str(from_minor(amount))}, f"auth-{i}",
                    impatient=i % 5 == 0)
                outcome = {"buyer": buyer, "amount": amount, "status": authorized.json()["status"],
                           "captured": 0, "released": 0}
                assert authorized.status_code in (200, 201), authorized.text
                if authorized.status_code == 201:
                    hold = authorized.json()["hold_id"]
                    captured = clients.post(http, f"/v1/checkout/authorizations/{hold}/captures", {
                        "amount": str(from_minor(amount // 2)), "shipment_reference": f"SHIP-{i}"}, f"capture-{i}",
                        impatient=i % 5 == 1)
                    assert captured.status_code == 200, captured.text
                    outcome["captured"] = amount // 2
                    if i % 3 == 0:
                        voided = clients.post(http, f"/v1/checkout/authorizations/{hold}/void", None, f"void-{i}")
                        assert voided.status_code == 200, voided.text
                        outcome["released"] = amount - amount // 2
                outcomes[reference] = outcome

    try:
        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            running = [pool.submit(run_client, c) for c in range(CLIENTS)]
            expected_requests = CLIENTS * ORDERS_PER_CLIENT * 2
            for share in KILL_AT:
                while clients.answered < share * expected_requests and not all(f.done() for f in running):
                    time.sleep(0.002)
                server.kill()
                time.sleep(0.3)
                server.start()
            for future in running:
                future.result()
    finally:
        server.stop()

    assert clients.server_errors == 0
    assert clients.transport_errors > 0, "the kills cut no request: the test did not test a crash"
    assert clients.replays > 0, "no retry was answered by a replay: the test did not lose an answer"
    print(f"answered {clients.answered}, replayed {clients.replays}, cut or refused {clients.transport_errors}")
    statuses = Counter(o["status"] for o in outcomes.values())
    assert len(outcomes) == CLIENTS * ORDERS_PER_CLIENT and statuses["approved"] > 0 and statuses["declined"] > 0
    with Session(engine) as session:
        assert reconcile(session).differences == ()
        holds = dict(session.execute(select(Hold.order_reference, func.count()).group_by(Hold.order_reference)).all())
        for reference, outcome in outcomes.items():
            assert holds.get(reference, 0) == (1 if outcome["status"] == "approved" else 0), reference
        posts = session.execute(select(LedgerTransfer.hold_id, func.count()).where(LedgerTransfer.kind == "post")
                                .group_by(LedgerTransfer.hold_id)).all()
        assert all(n == 1 for _, n in posts)
        decided = Counter(record.request["order_reference"] for record in
                          session.scalars(select(DecisionRecord).where(DecisionRecord.kind == "checkout")))
        assert decided == Counter({reference: 1 for reference in outcomes})

        expected = defaultdict(lambda: [0, 0])  # buyer -> [posted, pending]
        for outcome in outcomes.values():
            if outcome["status"] == "approved":
                expected[outcome["buyer"]][0] += outcome["captured"]
                expected[outcome["buyer"]][1] += outcome["amount"] - outcome["captured"] - outcome["released"]
        for buyer, line in buyers:
            after = balances(session, line)
            assert [after.posted_minor, after.pending_minor] == expected[buyer]
            assert after.available_minor >= 0
    engine.dispose()
