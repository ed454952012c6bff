"""GET /v1/monitoring/book on the hand-written book of tests/monitoring/servicing_book.py, on SQLite and PostgreSQL.

Numbers are the ones worked out in tests/monitoring/test_book.py, shown as decimal strings.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from credit import clock
from credit.settings import Settings
from tests.api.conftest import ROLES, auth, build_app, make_key
from tests.monitoring.servicing_book import make_book

NOW = datetime(2026, 4, 20, 12, 0)


@pytest.fixture
def book_app(store_settings: Settings) -> Iterator[tuple[TestClient, FastAPI, dict[str, str]]]:
    app = build_app(store_settings)
    with clock.frozen(NOW), TestClient(app, raise_server_exceptions=False) as client:
        with app.state.sessionmaker() as session:
            make_book(session)
            session.commit()
        yield client, app, {role: make_key(app, role) for role in ROLES}


def test_the_checkout_key_is_refused_and_analyst_finance_admin_read_the_book(book_app) -> None:  # noqa: ANN001
    client, _, keys = book_app
    refused = client.get("/v1/monitoring/book", headers=auth(keys["checkout"]))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert client.get("/v1/monitoring/book").status_code == 401
    for role in ("analyst", "finance", "admin"):
        assert client.get("/v1/monitoring/book", headers=auth(keys[role])).status_code == 200, role


def test_the_book_in_march_with_money_as_decimal_strings(book_app) -> None:  # noqa: ANN001
    client, _, keys = book_app
    body = client.get("/v1/monitoring/book?from=2026-03-01&to=2026-03-31", headers=auth(keys["analyst"])).json()
    assert body["month_ends"] == ["2026-01-31", "2026-02-27", "2026-03-31"]
    january = body["roll_rates"][0]
    assert (january["from_day"], january["to_day"]) == ("2026-01-31", "2026-02-27")
    current = january["rows"][0]
    assert (current["bucket"], current["lines"], current["open"]) == ("current", 4, "1000.00")
    assert [(c["to"], c["lines"], c["line_share"], c["open"], c["amount_share"]) for c in current["cells"]] == [
        ("current", 1, 0.25, "100.00", 0.1), ("1-30", 1, 0.25, "200.00", 0.2), ("31-60", 0, 0.0, "0.00", 0.0),
        ("61-90", 0, 0.0, "0.00", 0.0), ("90+", 0, 0.0, "0.00", 0.0), ("settled", 2, 0.5, "700.00", 0.7)]
    assert january["rows"][4]["cells"][0]["line_share"] is None  # nobody was 90+ at Jan-31
    vintage = body["vintages"][0]
    assert (vintage["vintage"], vintage["captures"], vintage["principal"]) == ("2026-01-01", 4, "4100.00")
    march = vintage["points"][2]
    assert (march["months_on_book"], march["as_of"], march["charged_off"], march["past_due"]) == (
        2, "2026-03-31", "1950.00", "700.00")
    assert (march["charged_off_share"], march["past_due_share"]) == (pytest.approx(1950 / 4100),
                                                                     pytest.approx(700 / 4100))
    assert body["interval"] == "Clopper-Pearson, 95%"
    assert [(g["grade"], g["lines"], g["defaults"], g["status"]) for g in body["grades"]] == [
        ("B", 2, 0, "ok"), ("D", 1, 1, "watch"), ("F", 1, 1, "ok"), ("ungraded", 1, 0, None)]
    assert body["grades"][3]["predicted_pd"] is None
    assert body["collections"] == {
        "start": "2026-03-01", "end": "2026-03-31", "received": "1180.00", "received_count": 5,
        "returned": "100.00", "returned_count": 1,
        "allocated": {"late_fee": "15.00", "fee": "15.00", "principal": "950.00", "credit_refund": "0.00"},
        "credit_balance": "100.00", "late_fees_assessed": "15.00", "late_fees_paid": "15.00",
        "charged_off": "1950.00", "recovered": "200.00", "realised_loss": "1750.00"}


def test_the_period_defaults_to_the_month_to_date_and_a_net_recovery_is_negative(book_app) -> None:  # noqa: ANN001
    client, _, keys = book_app
    april = client.get("/v1/monitoring/book", headers=auth(keys["finance"])).json()["collections"]
    assert (april["start"], april["end"]) == ("2026-04-01", "2026-04-20")  # the clock stands at 2026-04-20
    assert (april["received"], april["recovered"], april["realised_loss"]) == ("520.00", "500.00", "-500.00")
    only_to = client.get("/v1/monitoring/book?to=2026-03-05", headers=auth(keys["finance"])).json()["collections"]
    assert (only_to["start"], only_to["end"], only_to["received"]) == ("2026-03-01", "2026-03-05", "265.00")


@pytest.mark.parametrize(("query", "where"), [
    ("from=2026-03-02&to=2026-03-01", "query.from: must not be after `to` (2026-03-01); got 2026-03-02"),
    ("from=2026-05-01", "query.from: must not be after `to` (2026-04-20); got 2026-05-01"),
    ("to=9999-12-31", "query.to: Value error, must be a day from 1970-01-01 to 2999-12-31"),
    ("from=March", "query.from: Value error, must be a day as YYYY-MM-DD"),
])
def test_a_bad_period_is_a_422_naming_the_parameter(book_app, query: str, where: str) -> None:  # noqa: ANN001
    client, _, keys = book_app
    response = client.get(f"/v1/monitoring/book?{query}", headers=auth(keys["admin"]))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_failed" and error["message"].startswith(where), error


def test_the_openapi_document_describes_the_route_as_it_answers(book_app) -> None:  # noqa: ANN001
    client, _, _ = book_app
    operation = client.get("/v1/openapi.json").json()["paths"]["/v1/monitoring/book"]["get"]
    # the app documents 500 on every operation; no 404: the book is read live, empty before servicing runs
    assert set(operation["responses"]) == {"200", "401", "403", "422", "429", "500"}  # 429: the kit's rate limit
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/BookOut")
    assert [p["name"] for p in operation["parameters"] if p["name"] != "X-Request-Id"] == ["from", "to"]
    schemas = client.get("/v1/openapi.json").json()["components"]["schemas"]
    assert schemas["CollectionsOut"]["properties"]["received"]["type"] == "string"
