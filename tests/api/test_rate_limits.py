"""Per-key rate limits: a burst over the limit is 429 with Retry-After, another key goes on, time refills.

Time is credit.clock's, frozen and moved by the tests: nothing sleeps.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select

from api.kit.tables import ROLES, ApiKey
from credit import clock
from credit.settings import DEFAULT_RATE_LIMITS, RateLimit, Settings
from tests.api.conftest import auth, build_app, make_key

AT = datetime(2027, 3, 1, 12, 0, 0)
QUEUE = "/v1/credit-lines/applications"


@pytest.fixture
def limited(tmp_path):
    """finance keys at 2 requests a second, bursts of 3; checkout keys at 1 a second, bursts of 1."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'api.db'}",
                        api_rate_limits={"finance": RateLimit(per_second=2, burst=3),
                                         "checkout": RateLimit(per_second=1, burst=1)})
    app = build_app(settings)
    with clock.frozen(AT) as frozen, TestClient(app, raise_server_exceptions=False) as client:
        yield app, client, frozen


def key_id(app, name: str) -> int:  # noqa: ANN001
    with app.state.sessionmaker() as session:
        return session.scalar(select(ApiKey.key_id).where(ApiKey.name == name))


def test_a_burst_over_the_limit_is_429_with_retry_after_and_another_key_goes_on(limited):
    app, client, frozen = limited
    first, second = auth(make_key(app, "finance", "first")), auth(make_key(app, "finance", "second"))
    assert [client.get(QUEUE, headers=first).status_code for _ in range(3)] == [200, 200, 200]
    refused = client.get(QUEUE, headers=first)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"  # 1 token at 2 a second: 0.5 s, in whole seconds
    assert refused.json()["error"] == {
        "code": "rate_limited",
        "message": "This API key is over its rate limit of 2 requests a second (bursts of 3); retry after 1 s.",
        "details": {"per_second": 2.0, "burst": 3, "retry_after": 1}}
    assert client.get(QUEUE, headers=second).status_code == 200  # a bucket per key

    frozen.advance(timedelta(seconds=0.4))  # 0.8 of a token
    assert client.get(QUEUE, headers=first).status_code == 429
    frozen.advance(timedelta(seconds=0.1))  # 1.0 token
    assert client.get(QUEUE, headers=first).status_code == 200
    assert client.get(QUEUE, headers=first).status_code == 429

    frozen.advance(timedelta(minutes=5))  # refilled to the burst, no more
    assert [client.get(QUEUE, headers=first).status_code for _ in range(4)] == [200, 200, 200, 429]


def test_a_clock_set_back_refills_nothing(limited):
    app, client, frozen = limited
    key = auth(make_key(app, "checkout", "shop"))
    assert client.post("/v1/checkout/prechecks", json={"buyer_id": 1, "amount": "1.00"}, headers=key).status_code \
        != 429
    frozen.advance(timedelta(seconds=-30))
    assert client.get(f"{QUEUE}/00000000-0000-0000-0000-000000000000", headers=key).status_code == 429
    frozen.advance(timedelta(seconds=31))
    assert client.get(f"{QUEUE}/00000000-0000-0000-0000-000000000000", headers=key).status_code == 404


def test_a_key_of_its_own_overrides_its_role(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'api.db'}")
    app = build_app(settings)
    with clock.frozen(AT) as frozen, TestClient(app, raise_server_exceptions=False) as client:
        slow, other = make_key(app, "finance", "slow"), make_key(app, "finance", "other")
        settings.api_rate_limits_by_key[key_id(app, "slow")] = RateLimit(per_second=0.25, burst=1)
        assert client.get(QUEUE, headers=auth(slow)).status_code == 200
        refused = client.get(QUEUE, headers=auth(slow))
        assert (refused.status_code, refused.headers["retry-after"]) == (429, "4")  # 1 token at 0.25 a second
        assert [client.get(QUEUE, headers=auth(other)).status_code for _ in range(20)] == [200] * 20  # role default
        frozen.advance(timedelta(seconds=4))
        assert client.get(QUEUE, headers=auth(slow)).status_code == 200


def test_a_refused_request_claims_no_idempotency_key(limited):
    app, client, frozen = limited
    key = auth(make_key(app, "checkout", "shop"))
    booking = {"reference": "r-1", "amount": "12.50"}
    assert client.get(f"{QUEUE}/00000000-0000-0000-0000-000000000000", headers=key).status_code == 404
    refused = client.post("/v1/test/bookings", json=booking, headers=key | {"Idempotency-Key": "k-1"})
    assert refused.status_code == 429
    frozen.advance(timedelta(seconds=1))
    booked = client.post("/v1/test/bookings", json=booking, headers=key | {"Idempotency-Key": "k-1"})
    assert (booked.status_code, booked.json()["amount"]) == (201, "12.50")


def test_a_request_without_a_valid_key_is_401_not_counted(limited):
    app, client, _ = limited
    key = auth(make_key(app, "checkout", "shop"))
    wrong = auth("mck_" + "x" * 43)
    assert {client.get(QUEUE, headers=wrong).status_code for _ in range(10)} == {401}
    assert client.get(f"{QUEUE}/00000000-0000-0000-0000-000000000000", headers=key).status_code == 404


def test_limits_come_from_the_environment_as_json(monkeypatch):
    monkeypatch.setenv("CREDIT_API_RATE_LIMITS", '{"analyst": {"per_second": 7.5, "burst": 30}}')
    monkeypatch.setenv("CREDIT_API_RATE_LIMITS_BY_KEY", '{"12": {"per_second": 1, "burst": 2}}')
    settings = Settings()
    assert settings.rate_limit_of_role("analyst") == RateLimit(per_second=7.5, burst=30)
    assert settings.rate_limit_of_role("admin") == DEFAULT_RATE_LIMITS["admin"]
    assert settings.api_rate_limits_by_key == {12: RateLimit(per_second=1, burst=2)}


def test_a_limit_for_an_unknown_role_or_out_of_bounds_is_refused():
    with pytest.raises(ValidationError, match="`api_rate_limits` may name the roles"):
        Settings(api_rate_limits={"cashier": {"per_second": 1, "burst": 1}})
    with pytest.raises(ValidationError):
        Settings(api_rate_limits={"admin": {"per_second": 0, "burst": 1}})


def test_every_role_has_a_default_and_checkout_allows_the_benchmark_rate_on_one_key():
    assert tuple(DEFAULT_RATE_LIMITS) == ROLES
    checkout = DEFAULT_RATE_LIMITS["checkout"]
    assert checkout.per_second >= 2 * 1000 and checkout.burst >= checkout.per_second  # benchmarks/checkout.py: 1,000/s


def test_every_operation_that_takes_a_key_documents_429_with_retry_after(client):
    paths = client.get("/v1/openapi.json").json()["paths"]
    keyed = [(path, method, operation) for path, item in paths.items() for method, operation in item.items()
             if operation.get("security") and not path.startswith("/v1/test/")]  # conftest's test-only routes
    assert len(keyed) > 50
    for path, method, operation in keyed:
        assert operation["responses"]["429"]["headers"]["Retry-After"]["schema"] == \
            {"type": "integer", "minimum": 1}, (method, path)
    assert "429" not in paths["/v1/health"]["get"]["responses"]


def test_the_limits_reach_worker_processes_as_they_were_set(monkeypatch):
    from api.app import worker_environment

    settings = Settings(database_url="sqlite:///x.db", api_rate_limits={"admin": RateLimit(per_second=3, burst=4)},
                        api_rate_limits_by_key={7: RateLimit(per_second=0.5, burst=1)})
    environment = worker_environment(settings)
    assert environment["CREDIT_API_RATE_LIMITS"] == '{"admin": {"per_second": 3.0, "burst": 4}}'
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert Settings() == settings
