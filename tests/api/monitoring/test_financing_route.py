"""GET /v1/monitoring/financing on the hand-written book of tests/monitoring/financing_book_data.py, SQLite and PostgreSQL.

Numbers are the ones worked out in tests/monitoring/test_financing_book.py, shown as decimal strings.
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
from tests.monitoring.financing_book_data import B1, S1, S3, FinancingBookIds, make_financing_book

NOW = datetime(2026, 5, 2, 18, 0)
ROUTE = "/v1/monitoring/financing"


@pytest.fixture
def financing_app(store_settings: Settings) -> Iterator[tuple[TestClient, FastAPI, dict[str, str], FinancingBookIds]]:
    app = build_app(store_settings)
    with clock.frozen(NOW), TestClient(app, raise_server_exceptions=False) as client:
        with app.state.sessionmaker() as session:
            ids = make_financing_book(session)
            session.commit()
        yield client, app, {role: make_key(app, role) for role in ROLES}, ids


def test_the_checkout_key_is_refused_and_analyst_finance_admin_read_the_book(financing_app) -> None:  # noqa: ANN001
    client, _, keys, _ = financing_app
    refused = client.get(ROUTE, headers=auth(keys["checkout"]))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert client.get(ROUTE).status_code == 401
    for role in ("analyst", "finance", "admin"):
        assert client.get(ROUTE, headers=auth(keys[role])).status_code == 200, role


def test_the_book_today_by_product_with_money_as_decimal_strings(financing_app) -> None:  # noqa: ANN001
    client, _, keys, ids = financing_app
    body = client.get(ROUTE, headers=auth(keys["finance"])).json()  # the clock stands at 2026-05-02
    assert (body["as_of"], body["statuses_read_at"]) == ("2026-05-02", "2026-05-02T18:00:00Z")
    order, receivable, loan = body["products"]
    assert order == {
        "kind": "order", "outstanding_count": 2, "outstanding": "10000.00", "paid_out_count": 2,
        "paid_out": "19000.00", "collected": "10000.00", "recovered": "3000.00", "written_off": "0.00",
        "written_back": "0.00", "realised_loss": "0.00", "diluted": "0.00", "financed_face": "24000.00",
        "dilution_share": None, "fees_earned": "185.96", "fees_received": "15.00", "released": "0.00",
        "overdue_count": 1, "overdue": "6000.00", "recourse_count": 1, "recourse": "6000.00",
        "defaulted_count": 0, "defaulted": "0.00"}
    assert (receivable["collected"], receivable["written_off"], receivable["written_back"],
            receivable["realised_loss"]) == ("9100.00", "4020.00", "300.00", "3720.00")
    assert (receivable["diluted"], receivable["financed_face"], receivable["dilution_share"]) == (
        "500.00", "15000.00", pytest.approx(1 / 30))
    assert (receivable["fees_earned"], receivable["fees_received"], receivable["released"]) == (
        "64.37", "44.37", "655.63")
    assert (loan["outstanding"], loan["overdue_count"], loan["overdue"]) == ("8900.00", 1, "8900.00")
    assert [(w["rule"]["code"], w["financing_id"], w["kind"], w["firm_id"], w["buyer_id"], w["at_risk"])
            for w in body["warnings"]] == [
        ("invoice_overdue", ids.o1, "order", S1, B1, "6000.00"),
        ("order_past_due", ids.o1, "order", S1, B1, "6000.00"),
        ("loan_behind", ids.l1, "loan", S3, None, "8900.00")]
    assert body["warnings"][2]["details"] == {
        "basis": "period_end", "elapsed_days": 62, "periods_completed": 2, "required_minor": 206_667,
        "period_minimum_minor": 200_000, "repaid_minor": 110_000, "shortfall_minor": 96_667}
    assert body["warnings"][1]["rule"]["text"] == "The order advance is past the day it was to be repaid."


def test_a_past_day_and_its_warnings(financing_app) -> None:  # noqa: ANN001
    client, _, keys, ids = financing_app
    body = client.get(f"{ROUTE}?as_of=2026-03-08", headers=auth(keys["analyst"])).json()
    assert body["as_of"] == "2026-03-08"
    # Mar-08: R1's dispute opened that morning; the loan's first withholding is Mar-10, so 7 days in it has
    # repaid nothing of the straight line's ceil(100,000 x 7 / 30) = 23,334
    assert [(w["rule"]["code"], w["financing_id"]) for w in body["warnings"]] == [
        ("invoice_disputed", ids.r1), ("loan_behind", ids.l1)]
    assert body["warnings"][0]["at_risk"] == "8800.00"
    assert (body["warnings"][1]["details"]["basis"], body["warnings"][1]["details"]["shortfall_minor"]) == (
        "straight_line", 23_334)
    order = body["products"][0]
    # O1 1,600,000 + O4 300,000 paid out, O2 400,000 booked Mar-05; O3 cancelled Mar-06
    assert (order["outstanding_count"], order["outstanding"], order["fees_earned"]) == (3, "23000.00", "0.00")


@pytest.mark.parametrize(("query", "where"), [
    ("as_of=9999-12-31", "query.as_of: Value error, must be a day from 1970-01-01 to 2999-12-31"),
    ("as_of=May", "query.as_of: Value error, must be a day as YYYY-MM-DD"),
])
def test_a_bad_day_is_a_422_naming_the_parameter(financing_app, query: str, where: str) -> None:  # noqa: ANN001
    client, _, keys, _ = financing_app
    response = client.get(f"{ROUTE}?{query}", headers=auth(keys["admin"]))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_failed" and error["message"].startswith(where), error


def test_the_openapi_document_describes_the_route_as_it_answers(financing_app) -> None:  # noqa: ANN001
    client, _, _, _ = financing_app
    document = client.get("/v1/openapi.json").json()
    operation = document["paths"][ROUTE]["get"]
    assert set(operation["responses"]) == {"200", "401", "403", "422", "429", "500"}  # 429: the kit's rate limit
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/FinancingBookOut")
    assert [p["name"] for p in operation["parameters"] if p["name"] != "X-Request-Id"] == ["as_of"]
    assert document["components"]["schemas"]["FinancingProductOut"]["properties"]["outstanding"]["type"] == "string"
