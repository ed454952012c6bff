"""The sandbox as an integrator meets it: a test key from the CLI, each documented buyer's answer, the clock moved
past a hold's expiry, and the live store untouched throughout (on SQLite and PostgreSQL).

The process clock stands at 2028-02-27 22:00 UTC (a leap February, late in the day) so every
instant below is worked out by hand from the policy: holds last 14 days, the in-arrears buyer's
receivable fell due 10 days before the seed, the servicing day is judged at the next midnight.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select, text

from api.app import create_app
from api.kit.auth import create_api_key
from credit import clock
from credit.ledger.journal import HOLDS
from credit.sandbox.buyers import TEST_BUYERS
from credit.settings import Settings
from credit.store.engine import make_engine
from credit.webhooks.dispatch import Dispatcher
from tests.api.checkout.factories import make_buyer_with_line
from tests.cli.invoke import credit
from tests.stores import empty_all_tables
from tests.webhooks.receiver import Receiver

T = datetime(2028, 2, 27, 22, 0)
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def urls(request, tmp_path) -> Iterator[tuple[str, str]]:  # noqa: ANN001
    """(live store, sandbox store): SQLite files side by side, or two PostgreSQL databases."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'api.db'}", f"sqlite:///{tmp_path / 'api-sandbox.db'}"
        return
    from tests.conftest import POSTGRES_ADMIN_URL

    live = request.getfixturevalue("postgres_url")
    sandbox = live + "_sandbox"  # the default the settings derive on PostgreSQL
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = sandbox.rsplit("/", 1)[1]
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield live, sandbox
    finally:
        engine = make_engine(live)
        empty_all_tables(engine)
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def frozen() -> Iterator[clock.FixedClock]:
    with clock.frozen(T) as fixed:
        yield fixed


@pytest.fixture
def served(urls, frozen) -> Iterator[tuple[TestClient, str]]:  # noqa: ANN001
    live, sandbox = urls
    settings = Settings(database_url=live)
    assert settings.resolved_sandbox_database_url() == sandbox  # the default beside the live store
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, sandbox


def test_key(sandbox_url: str, role: str) -> str:
    outcome = credit("sandbox", "key", "--role", role, "--sandbox-database-url", sandbox_url)
    assert outcome.exit_code == 0, outcome.output
    [key] = re.findall(r"mck_test_[A-Za-z0-9_-]{43}", outcome.output)
    return key


test_key.__test__ = False  # type: ignore[attr-defined]


def bearer(key: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **headers}


def once(key: str) -> dict[str, str]:
    return bearer(key, **{"Idempotency-Key": str(uuid.uuid4())})


def authorize(client: TestClient, key: str, buyer_id: int, amount: str, reference: str):  # noqa: ANN201
    return client.post("/v1/checkout/authorizations", headers=once(key),
                       json={"buyer_id": buyer_id, "order_reference": reference, "amount": amount})


def test_the_walkthrough_of_a_test_key_each_buyer_and_a_clock_move_that_expires_a_hold(served) -> None:  # noqa: ANN001
    client, sandbox_url = served
    checkout, finance = test_key(sandbox_url, "checkout"), test_key(sandbox_url, "finance")
    assert checkout.startswith("mck_test_") and len(checkout) == 52

    listed = client.get("/v1/sandbox/buyers", headers=bearer(checkout)).json()["items"]
    assert [(b["buyer_id"], b["outcome"]) for b in listed] == [(b.firm_id, b.outcome) for b in TEST_BUYERS]

    # Applications: 1001 approved at capacity 2 x 600,000.00 / 12; 1002 referred at the expected-loss cap
    # 1,000.00 / (0.06 x 0.45) = 3,703.70... rounded down to 37,000.00 by the 100.00 unit; 1003 declined.
    answers = {b: client.post("/v1/credit-lines/applications", headers=once(checkout), json={"buyer_id": b})
               for b in (1001, 1002, 1003, 2002)}
    assert {b: r.status_code for b, r in answers.items()} == {1001: 201, 1002: 201, 1003: 201, 2002: 201}
    approved, referred, declined, unverified = (answers[b].json() for b in (1001, 1002, 1003, 2002))
    assert (approved["status"], approved["limit"], approved["per_order_cap"]) == ("approved", "100000.00", "50000.00")
    assert approved["line_id"] is not None
    assert (referred["status"], referred["limit"], referred["grade"]) == ("referred", "37000.00", "F")
    assert [a["code"] for a in referred["next_actions"]] == ["await_finance_review"]
    assert (declined["status"], [r["code"] for r in declined["reason_codes"]]) == ("declined", ["grade_too_risky"])
    assert (unverified["status"], [r["code"] for r in unverified["reason_codes"]]) == ("declined", ["unverified"])
    queue = client.get("/v1/credit-lines/applications?status=referred", headers=bearer(finance)).json()["items"]
    assert [a["buyer_id"] for a in queue] == [1002]

    # Checkout: 2,000.00 is above the 1,000.00 caps and within 2001's 25,000.00 cap.
    hold = authorize(client, checkout, 2001, "2000.00", "walk-2001")
    assert hold.status_code == 201, hold.text
    hold_id = hold.json()["hold_id"]
    assert hold.json()["expires_at"] == "2028-03-12T22:00:00Z"  # T + 14 days
    declines = {b: authorize(client, checkout, b, "2000.00", f"walk-{b}") for b in range(2002, 2009)}
    assert {b: (r.status_code, r.json()["decline_code"]) for b, r in declines.items()} == {
        2002: (200, "no_line"), 2003: (200, "line_frozen"), 2004: (200, "line_closed"), 2005: (200, "in_arrears"),
        2006: (200, "too_high_risk"), 2007: (200, "per_order_cap_exceeded"), 2008: (200, "limit_exceeded")}
    at_cap = authorize(client, checkout, 2007, "1000.00", "walk-2007-small")  # at the per-order cap
    whole_limit = authorize(client, checkout, 2008, "1000.00", "walk-2008-small")  # the whole limit
    assert (at_cap.status_code, whole_limit.status_code) == (201, 201)

    # The integrator's receiver, registered with a test key: only the sandbox's events reach it.
    receiver = Receiver()
    endpoint = client.post("/v1/webhook-endpoints", headers=once(test_key(sandbox_url, "admin")),
                           json={"url": receiver.url, "event_types": ["authorization.expired"]})
    assert endpoint.status_code == 201, endpoint.text
    receiver.secrets.append(endpoint.json()["secret"])

    # The clock, 13 days on: day ends 2028-02-27 ... 2028-03-10 (13 of them, 29 February included) are
    # serviced; the in-arrears receivable (due 2028-02-17 22:00) reaches 15 days past due on day 03-03.
    moved = client.post("/v1/sandbox/clock", headers=once(checkout), json={"advance_seconds": 13 * 86_400})
    assert moved.status_code == 200, moved.text
    first = moved.json()
    assert (first["before"], first["now"]) == ("2028-02-27T22:00:00Z", "2028-03-11T22:00:00Z")
    assert first["days_run"] == ["2028-02-27", "2028-02-28", "2028-02-29"] + [f"2028-03-{d:02d}" for d in range(1, 11)]
    assert (first["holds_expired"], first["servicing_steps"]) == ([], {"reminder": 1})
    assert client.get(f"/v1/checkout/authorizations/{hold_id}", headers=bearer(checkout)).json()["status"] == "pending"

    # ... and to one second past the hold's expiry: day 03-11 runs, then the hold expires at the new now.
    moved = client.post("/v1/sandbox/clock", headers=once(checkout), json={"to": "2028-03-12T23:00:01+01:00"})
    assert moved.status_code == 200, moved.text
    second = moved.json()
    assert (second["now"], second["days_run"]) == ("2028-03-12T22:00:01Z", ["2028-03-11"])
    assert second["holds_expired"] == [hold_id, at_cap.json()["hold_id"], whole_limit.json()["hold_id"]]
    expired = client.get(f"/v1/checkout/authorizations/{hold_id}", headers=bearer(checkout)).json()
    assert (expired["status"], expired["released"], expired["remaining"]) == ("expired", "2000.00", "0.00")
    assert expired["balances"] == {"limit": "50000.00", "posted": "0.00", "pending": "0.00", "available": "50000.00"}
    with make_engine(sandbox_url).connect() as connection:  # the sandbox's store holds the change
        row = connection.execute(select(HOLDS.c.status, HOLDS.c.updated_at).where(HOLDS.c.hold_id == hold_id)).one()
    assert (row.status, row.updated_at) == ("expired", datetime(2028, 3, 12, 22, 0, 1))
    # Each expiry wrote its event, in the sandbox's time; the dispatcher of the sandbox's store delivers them,
    # signed with the endpoint's secret (the receiver checks the signature with its own code).
    assert second["events_emitted"] >= 3
    polled = client.get("/v1/events", params={"type": "authorization.expired"}, headers=bearer(checkout)).json()
    expected_ids = [str(h) for h in second["holds_expired"]]
    assert [(e["data"]["id"], e["timestamp"]) for e in polled["items"]] == [
        (h, "2028-03-12T22:00:01Z") for h in expected_ids]
    dispatcher = Dispatcher(make_engine(sandbox_url))
    try:
        assert dispatcher.run_once().delivered == 3
    finally:
        dispatcher.close()
        receiver.close()
    assert receiver.rejected == []
    assert [(r.event["type"], r.event["data"]["id"], r.webhook_id) for r in receiver.unique()] == [
        ("authorization.expired", h, e["id"]) for h, e in zip(expected_ids, polled["items"], strict=True)]

    clock_now = client.get("/v1/sandbox/clock", headers=bearer(finance)).json()
    assert (clock_now["now"], clock_now["offset_seconds"]) == ("2028-03-12T22:00:01Z", 14 * 86_400 + 1)
    # Requests of a test key run at the sandbox's time, in the pool threads on PostgreSQL too.
    again = authorize(client, checkout, 2001, "2000.00", "walk-2001-again").json()
    assert again["expires_at"] == "2028-03-26T22:00:01Z"
    # 24 days past due now: still in arrears (its line freezes at 30).
    precheck = client.post("/v1/checkout/prechecks", headers=bearer(checkout), json={"buyer_id": 2005, "amount": "1.00"})
    assert precheck.json()["decline_code"] == "in_arrears"


def test_live_and_test_keys_see_only_their_own_store_and_the_live_clock_stays(served) -> None:  # noqa: ANN001
    client, sandbox_url = served
    app = client.app
    with app.state.sessionmaker() as session:
        _, live = create_api_key(session, "live-checkout", "checkout")
        session.commit()
    test = test_key(sandbox_url, "checkout")
    live_buyer, _line = make_buyer_with_line(app.state.engine, limit_minor=1_000_000)
    live_hold = authorize(client, live, live_buyer, "100.00", "live-order").json()
    assert live_hold["expires_at"] == "2028-03-12T22:00:00Z"
    sandbox_hold = authorize(client, test, 2001, "100.00", "sandbox-order").json()

    # A live key on the sandbox's routes: 403 sandbox_only; on a sandbox buyer: the live store knows none.
    refused = client.get("/v1/sandbox/clock", headers=bearer(live))
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "sandbox_only")
    precheck = client.post("/v1/checkout/prechecks", headers=bearer(live), json={"buyer_id": 2001, "amount": "1.00"})
    assert precheck.status_code == 404 or precheck.json()["approved"] is False
    # Hold ids count per store: the live key's hold 1 is its own order, the test key's hold 1 the seed's.
    assert client.get(f"/v1/checkout/authorizations/{sandbox_hold['hold_id']}",
                      headers=bearer(live)).status_code == 404
    seen = client.get(f"/v1/checkout/authorizations/{live_hold['hold_id']}", headers=bearer(test))
    assert seen.status_code == 404 or seen.json()["order_reference"] != "live-order"
    # A test key the sandbox does not know, and the live store never asked.
    unknown = client.get("/v1/sandbox/clock", headers=bearer("mck_test_" + "A" * 43))
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (401, "unauthenticated")
    assert "sandbox" in unknown.json()["error"]["message"]

    moved = client.post("/v1/sandbox/clock", headers=once(test), json={"advance_seconds": 30 * 86_400})
    assert moved.json()["holds_expired"] == [sandbox_hold["hold_id"]]
    assert clock.now() == T  # the process's clock did not move
    later = authorize(client, live, live_buyer, "100.00", "live-order-2").json()
    assert later["expires_at"] == "2028-03-12T22:00:00Z"  # a live request after the move: real time
    live_view = client.get(f"/v1/checkout/authorizations/{live_hold['hold_id']}", headers=bearer(live)).json()
    assert live_view["status"] == "pending"  # the sandbox's move expired nothing live


def test_reset_empties_the_sandbox_and_seeds_it_again_keeping_its_keys(served) -> None:  # noqa: ANN001
    client, sandbox_url = served
    key = test_key(sandbox_url, "checkout")
    assert client.post("/v1/credit-lines/applications", headers=once(key), json={"buyer_id": 1001}).status_code == 201
    again = client.post("/v1/credit-lines/applications", headers=once(key), json={"buyer_id": 1001})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "line_exists")
    assert client.post("/v1/sandbox/clock", headers=once(key), json={"advance_seconds": 86_400}).status_code == 200

    outcome = credit("sandbox", "reset", "--sandbox-database-url", sandbox_url)
    assert outcome.exit_code == 0, outcome.output
    assert "kept 1 rows of api_keys" in outcome.text and "Seeded 11 test buyers" in outcome.text

    assert client.get("/v1/sandbox/clock", headers=bearer(key)).json()["offset_seconds"] == 0  # key kept, clock back
    reapplied = client.post("/v1/credit-lines/applications", headers=once(key), json={"buyer_id": 1001})
    assert (reapplied.status_code, reapplied.json()["status"]) == (201, "approved")
    held = authorize(client, key, 2001, "100.00", "after-reset").json()
    assert held["expires_at"] == "2028-03-12T22:00:00Z"


def test_the_clock_refuses_backwards_too_far_both_or_neither_and_live_keys(served) -> None:  # noqa: ANN001
    client, sandbox_url = served
    key = test_key(sandbox_url, "admin")
    cases = {
        "backwards": ({"to": "2028-02-27T21:59:59Z"}, 409, "clock_backwards"),
        "too far": ({"to": f"{(T + timedelta(days=400, seconds=1)).isoformat()}Z"}, 422, "clock_move_too_far"),
        "too many seconds": ({"advance_seconds": 400 * 86_400 + 1}, 422, "validation_failed"),
        "both": ({"to": "2028-03-01T00:00:00Z", "advance_seconds": 60}, 422, "validation_failed"),
        "neither": ({}, 422, "validation_failed"),
        "naive": ({"to": "2028-03-01T00:00:00"}, 422, "validation_failed"),
        "zero": ({"advance_seconds": 0}, 422, "validation_failed"),
    }
    for name, (body, status, code) in cases.items():
        answer = client.post("/v1/sandbox/clock", headers=once(key), json=body)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), name
    assert client.post("/v1/sandbox/clock", headers=bearer(key), json={"advance_seconds": 60}).json()["error"][
        "code"] == "idempotency_key_required"
    assert client.get("/v1/sandbox/clock", headers=bearer(key)).json()["offset_seconds"] == 0  # nothing moved


def test_the_sandbox_routes_are_in_the_openapi_document_under_their_tag(served) -> None:  # noqa: ANN001
    client, _ = served
    paths = client.get("/v1/openapi.json").json()["paths"]
    assert set(paths["/v1/sandbox/clock"]) == {"get", "post"}
    assert paths["/v1/sandbox/clock"]["post"]["tags"] == ["sandbox"]
    assert {"200", "401", "403", "409", "422"} <= set(paths["/v1/sandbox/clock"]["post"]["responses"])
    assert paths["/v1/sandbox/buyers"]["get"]["tags"] == ["sandbox"]


def test_docs_list_every_test_buyer_with_its_outcome() -> None:
    guide = (ROOT / "docs" / "sandbox.md").read_text()
    for buyer in TEST_BUYERS:
        assert re.search(rf"\|\s*{buyer.firm_id}\s*\|[^\n]*`{buyer.outcome}`", guide), buyer.firm_id
    assert "docs/sandbox.md" in (ROOT / "README.md").read_text()


def test_a_sandbox_that_cannot_be_opened_answers_503_to_test_keys_and_leaves_live_keys_be(tmp_path, frozen) -> None:  # noqa: ANN001
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the sandbox's folder should be")
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'api.db'}",
                              sandbox_database_url=f"sqlite:///{blocked / 'sandbox.db'}"))
    with TestClient(app, raise_server_exceptions=False) as client:
        with app.state.sessionmaker() as session:
            _, live = create_api_key(session, "live-admin", "admin")
            session.commit()
        refused = client.get("/v1/sandbox/clock", headers=bearer("mck_test_" + "A" * 43))
        assert (refused.status_code, refused.json()["error"]["code"]) == (503, "sandbox_unavailable")
        assert client.get("/v1/events", headers=bearer(live)).status_code == 200
