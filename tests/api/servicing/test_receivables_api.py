"""The book over HTTP: receivables page by page, one receivable, a buyer's statement, the CSV export, who may read them.

The book is tests/servicing/march.py's March scenario, written straight into the store; the
clock stands at its NOW (20 April 2026, 12:00). Amounts worked out by hand there, in cents.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.kit.tables import ROLES
from credit import clock
from credit.settings import Settings
from tests.api.conftest import auth, build_app, make_key
from tests.servicing.march import NOW, MarchBook, march_book


@pytest.fixture
def served(store_settings: Settings) -> Iterator[tuple[TestClient, FastAPI]]:
    app = build_app(store_settings)
    with clock.frozen(NOW), TestClient(app, raise_server_exceptions=False) as client:
        yield client, app


@pytest.fixture
def march(served) -> MarchBook:  # noqa: ANN001
    _, app = served
    with app.state.sessionmaker() as session:
        book = march_book(session)
        session.commit()
    return book


@pytest.fixture
def keys(served) -> dict[str, str]:  # noqa: ANN001
    _, app = served
    return {role: make_key(app, role) for role in ROLES}


def get(served, keys, path: str, role: str = "finance", **params):  # noqa: ANN001, ANN201
    client, _ = served
    return client.get(path, params=params, headers=auth(keys[role]))


def test_the_march_statement(served, keys, march) -> None:
    response = get(served, keys, f"/v1/firms/{march.firm_id}/statement", **{"from": "2026-03-01", "to": "2026-03-31"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert {name: body[name] for name in ("opening_balance", "new_receivables", "fees", "payments", "adjustments",
                                          "closing_balance", "credit_balance")} == {
        "opening_balance": "1706.25", "new_receivables": "609.00", "fees": "8.00", "payments": "346.00",
        "adjustments": "50.00", "closing_balance": "1927.25", "credit_balance": "140.00"}
    assert body["ageing"] == [
        {"bucket": "current", "receivables": 2, "owed": "1359.00"},
        {"bucket": "1-30", "receivables": 1, "owed": "108.00"},
        {"bucket": "31-60", "receivables": 1, "owed": "100.00"},
        {"bucket": "61-90", "receivables": 1, "owed": "45.75"},
        {"bucket": "90+", "receivables": 1, "owed": "314.50"}]
    assert (body["period_from"], body["period_to"], body["closing_at"], body["line_id"], body["currency"]) == (
        "2026-03-01", "2026-03-31", "2026-04-01T00:00:00Z", march.line_id, "EUR")


def test_a_period_running_past_now_closes_now(served, keys, march) -> None:
    period = {"from": "2026-04-01", "to": "2026-04-30"}
    body = get(served, keys, f"/v1/firms/{march.firm_id}/statement", **period).json()
    assert (body["closing_at"], body["opening_balance"], body["closing_balance"], body["credit_balance"]) == (
        "2026-04-20T12:00:00Z", "1927.25", "2090.25", "140.00")


BAD_DATES = [
    ({"from": "2026-03-31", "to": "2026-03-01"}, "to"),
    ({"from": "2026-13-01", "to": "2026-03-31"}, "from"),
    ({"from": "2026-03-01", "to": "31/03/2026"}, "to"),
    ({"from": "2026-03-01"}, "to"),
    ({"from": "2026-05-01", "to": "2026-05-31"}, "from"),  # starts after now
    ({"from": "2026-03-01", "to": "9999-12-31"}, "to"),
    ({"from": "0001-01-01", "to": "2026-03-31"}, "from"),
]


def test_bad_statement_dates_are_refused_by_name(served, keys, march) -> None:
    for params, named in BAD_DATES:
        response = get(served, keys, f"/v1/firms/{march.firm_id}/statement", **params)
        assert response.status_code == 422, (params, response.text)
        error = response.json()["error"]
        assert error["code"] == "validation_failed"
        assert ["query", named] in [detail["loc"] for detail in error["details"]], params


def test_a_statement_of_no_firm_is_404(served, keys, march) -> None:
    response = get(served, keys, "/v1/firms/987654321/statement", **{"from": "2026-03-01", "to": "2026-03-31"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_firm"


def test_walking_the_pages_of_a_firm(served, keys, march) -> None:
    seen, cursor = [], None
    for _ in range(10):
        params = {"firm_id": march.firm_id, "limit": 3} | ({"cursor": cursor} if cursor else {})
        body = get(served, keys, "/v1/receivables", **params).json()
        seen += [item["receivable_id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(march.receivables.values())  # 7 in 3 pages, no repeat, no gap


def test_a_receivable_as_listed_and_alone(served, keys, march) -> None:
    two = march.receivables["R2"]
    listed = get(served, keys, "/v1/receivables", firm_id=march.firm_id, status="overdue", due_from="2026-04-03",
                 due_to="2026-04-03").json()
    assert [item["receivable_id"] for item in listed["items"]] == [two]
    alone = get(served, keys, f"/v1/receivables/{two}").json()
    assert alone == listed["items"][0]
    assert (alone["principal"], alone["refunded"], alone["paid_principal"], alone["late_fee"], alone["owed"]) == (
        "1000.00", "10.00", "200.00", "20.00", {"principal": "790.00", "fee": "0.00", "late_fee": "20.00",
                                                 "total": "810.00"})
    assert (alone["shipment_reference"], alone["order_reference"], alone["due_at"], alone["status"]) == (
        "SHIP-R2", "PO-SHIP-R2", "2026-04-03T10:00:00Z", "overdue")
    several = get(served, keys, "/v1/receivables", firm_id=march.firm_id, status=["open", "paid"]).json()
    assert [item["receivable_id"] for item in several["items"]] == [march.receivables["R4"]]


def test_an_unknown_receivable_is_404(served, keys, march) -> None:
    response = get(served, keys, "/v1/receivables/987654321")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "receivable_not_found")


BAD_LIST_PARAMETERS = [
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"cursor": "cmVjZWl2YWJsZTow"}, "cursor"),  # "receivable:0"
    ({"due_from": "2026-04-09", "due_to": "2026-04-03"}, "due_to"),
    ({"due_from": "2026-02-30"}, "due_from"),
    ({"limit": 0}, "limit"),
    ({"limit": 1001}, "limit"),
    ({"status": "late"}, "status"),
    ({"firm_id": 0}, "firm_id"),
]


def test_bad_list_parameters_are_refused_by_name(served, keys, march) -> None:
    for params, named in BAD_LIST_PARAMETERS:
        for path in ("/v1/receivables", "/v1/receivables.csv"):
            if path.endswith(".csv") and ("cursor" in params or "limit" in params):
                continue  # the export has no pages
            response = get(served, keys, path, **params)
            assert response.status_code == 422, (path, params, response.text)
            error = response.json()["error"]
            assert error["code"] == "validation_failed"
            assert named in [detail["loc"][1] for detail in error["details"]], params
            assert named in error["message"], params


def test_the_csv_export(served, keys, march) -> None:
    response = get(served, keys, "/v1/receivables.csv", firm_id=march.firm_id)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="receivables-2026-04-20.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [int(row["receivable_id"]) for row in rows] == sorted(march.receivables.values())
    owed = {int(row["receivable_id"]): row["owed"] for row in rows}
    r = march.receivables
    assert owed == {r["R1"]: "100.00", r["R2"]: "810.00", r["R3"]: "509.00", r["R4"]: "203.00", r["R5"]: "314.50",
                    r["R6"]: "108.00", r["R7"]: "45.75"}
    assert get(served, keys, "/v1/receivables.csv", status="open").text.count("\r\n") == 2  # the header and R4


ALLOWED = {
    "list": {"finance", "analyst", "admin", "payments"}, "one": {"finance", "analyst", "admin", "payments"},
    "statement": {"finance", "analyst", "admin", "payments"}, "csv": {"finance", "admin"},
}


@pytest.mark.parametrize("role", ["checkout", "finance", "analyst", "admin", "payments"])
def test_each_role_reads_exactly_its_operations(served, keys, march, role) -> None:
    requests = {"list": ("/v1/receivables", {}), "one": (f"/v1/receivables/{march.receivables['R1']}", {}),
                "statement": (f"/v1/firms/{march.firm_id}/statement", {"from": "2026-03-01", "to": "2026-03-31"}),
                "csv": ("/v1/receivables.csv", {})}
    for operation, (path, params) in requests.items():
        response = get(served, keys, path, role=role, **params)
        if role in ALLOWED[operation]:
            assert response.status_code == 200, (operation, response.text)
        else:
            assert (response.status_code, response.json()["error"]["code"]) == (403, "forbidden"), operation


def test_the_checkout_key_is_refused_everywhere(served, keys, march) -> None:
    assert "checkout" in ROLES
    for path in ("/v1/receivables", "/v1/receivables.csv", f"/v1/receivables/{march.receivables['R1']}",
                 f"/v1/firms/{march.firm_id}/statement"):
        response = get(served, keys, path, role="checkout", **{"from": "2026-03-01", "to": "2026-03-31"})
        assert response.status_code == 403, path


def test_no_key_is_401(served, march) -> None:
    client, _ = served
    assert client.get("/v1/receivables").status_code == 401


def test_the_openapi_document_says_what_the_routes_do(served) -> None:
    client, _ = served
    paths = client.get("/v1/openapi.json").json()["paths"]
    listed = paths["/v1/receivables"]["get"]
    assert listed["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/ReceivablePageOut")
    assert {"401", "403", "422"} <= set(listed["responses"])
    assert {p["name"] for p in listed["parameters"]} - {"X-Request-Id"} == {"firm_id", "line_id", "status", "due_from", "due_to",
                                                          "cursor", "limit"}
    exported = paths["/v1/receivables.csv"]["get"]
    assert set(exported["responses"]["200"]["content"]) == {"text/csv"}
    statement = paths["/v1/firms/{firm_id}/statement"]["get"]
    assert {p["name"] for p in statement["parameters"]} - {"X-Request-Id"} == {"firm_id", "from", "to"}
    assert statement["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/StatementOut")
    assert {"404", "422"} <= set(paths["/v1/receivables/{receivable_id}"]["get"]["responses"])
