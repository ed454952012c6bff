"""The financing book over HTTP: a payout, collections and recoveries worked out by hand, the reads, and refusals.

The clock stands at NOW (10 March 2026, 12:00). A receivables financing of a 10,000.00 invoice
advances 8,800.00 (test_receivables.py works the quote out); an order financing of a 10,000.00
PO advances 8,500.00 at a yearly rate of 0.082696 (test_orders.py: PD 0.005991 x 0.45 + 0.08).
Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.kit.tables import ApiKey
from credit import clock
from tests.api.conftest import auth
from tests.api.financing.factories import make_invoice, make_order, make_scored_firm

NOW = datetime(2026, 3, 10, 12, 0)
_RECORD = {"supplier_sale_count_365d": 20.0, "supplier_cancellation_rate_365d": 0.02,
           "supplier_return_rate_365d": 0.01, "supplier_dispute_rate_365d": 0.0}


class Book:
    """The app, its keys, and the financings each test books through the quote and request routes."""

    def __init__(self, client, app, keys) -> None:  # noqa: ANN001
        self.client, self.app, self.keys = client, app, keys
        engine = app.state.engine
        self.supplier = make_scored_firm(engine, 0.003, roles="supplier", **_RECORD)  # grade B
        self.debtor = make_scored_firm(engine, 0.003, roles="buyer", buyer_return_rate_365d=0.01)  # grade B
        self._keys = iter(range(1, 1000))

    def headers(self, role: str) -> dict[str, str]:
        return auth(self.keys[role]) | {"Idempotency-Key": f"k-{next(self._keys)}"}

    def receivable(self) -> int:
        invoice = make_invoice(self.app.state.engine, self.supplier, self.debtor, 1_000_000)  # due in 20 days
        booked = self.client.post("/v1/financing/receivables/requests", json={"invoice_id": invoice},
                                  headers=self.headers("checkout"))
        assert booked.status_code == 201 and booked.json()["advance"] == "8800.00", booked.text
        return booked.json()["financing_id"]

    def order(self) -> int:
        order = make_order(self.app.state.engine, self.debtor, self.supplier, 1_200_000)
        body = {"order_id": order, "supplier_id": self.supplier, "buyer_id": self.debtor, "amount": "10000.00",
                "tenor_days": 60}
        booked = self.client.post("/v1/financing/orders/requests", json=body, headers=self.headers("checkout"))
        assert booked.status_code == 201 and booked.json()["advance"] == "8500.00", booked.text
        return booked.json()["financing_id"]

    def post(self, financing_id: int, step: str, body: dict | None = None, role: str = "payments"):  # noqa: ANN201
        return self.client.post(f"/v1/financings/{financing_id}/{step}", json=body, headers=self.headers(role))

    def get(self, path: str, role: str = "finance", **params):  # noqa: ANN003, ANN201
        return self.client.get(path, params=params, headers=auth(self.keys[role]))


@pytest.fixture
def settings(store_settings):  # noqa: ANN001, ANN201 - every test here on SQLite and on PostgreSQL
    return store_settings


@pytest.fixture
def at_now() -> clock.FixedClock:
    with clock.frozen(NOW) as fixed:
        yield fixed


@pytest.fixture
def book(at_now, financing_client, financing_app, financing_keys) -> Book:  # noqa: ANN001
    return Book(financing_client, financing_app, financing_keys)


def _entries(body: dict) -> list[tuple[str, str, str, str, str]]:
    return [(e["kind"], e["part"], e["amount"], e["source"], e["booked_on"]) for e in body["entries"]]


def test_a_receivable_advance_is_paid_out_then_collected_and_recovered_in_part(book, at_now) -> None:
    financing = book.receivable()
    approved = book.get(f"/v1/financings/{financing}").json()
    assert (approved["kind"], approved["status"], approved["advance"], approved["reserve"]) == (
        "receivable", "approved", "8800.00", "1200.00")
    assert (approved["paid_out"], approved["outstanding"], approved["exposure"], approved["entries"]) == (
        "0.00", "0.00", "8800.00", [])  # booked: exposure at the full advance

    paid = book.post(financing, "payouts", {"reference": "PO-1", "value_date": "2026-03-10"})
    assert paid.status_code == 201, paid.text
    body = paid.json()
    assert (body["status"], body["payout_reference"], body["value_date"]) == ("paid_out", "PO-1", "2026-03-10")
    assert (body["paid_out"], body["outstanding"], body["exposure"]) == ("8800.00", "8800.00", "8800.00")
    # a receivable's flat fee (44.37, quoted) is charged with the payout
    assert _entries(body) == [("payout", "principal", "8800.00", "payout:PO-1", "2026-03-10"),
                              ("fee", "fee", "44.37", "fee:flat", "2026-03-10")]
    assert (body["fee_charged"], body["fee_owed"]) == ("44.37", "44.37")

    at_now.advance(timedelta(days=5))  # 15 March
    collected = book.post(financing, "collections", {"amount": "5000.00", "reference": "PAY-1"})
    assert collected.status_code == 201, collected.text
    # principal first: 8,800.00 - 5,000.00 = 3,800.00 outstanding
    assert (collected.json()["collected"], collected.json()["outstanding"]) == ("5000.00", "3800.00")
    recovered = book.post(financing, "recoveries", {"amount": "1000.00", "reference": "REC-1"}, role="finance")
    assert recovered.status_code == 201, recovered.text
    now = book.get(f"/v1/financings/{financing}").json()
    # 3,800.00 - 1,000.00 from the supplier = 2,800.00, the exposure now
    assert (now["status"], now["collected"], now["recovered"], now["outstanding"], now["exposure"]) == (
        "paid_out", "5000.00", "1000.00", "2800.00", "2800.00")
    assert _entries(now)[2:] == [("collection", "principal", "5000.00", "api:PAY-1", "2026-03-15"),
                                 ("recovery", "principal", "1000.00", "api:REC-1", "2026-03-15")]
    with Session(book.app.state.engine) as session:  # the audit actor is the key's id
        ids = dict(session.execute(select(ApiKey.name, ApiKey.key_id)).all())
    payments, finance = f"key:{ids['test-payments']}", f"key:{ids['test-finance']}"
    assert [e["actor"] for e in now["entries"]] == [payments, payments, payments, finance]


def test_an_order_advance_is_settled_with_its_fee_accrued_by_day_and_the_rest_released(book, at_now) -> None:
    financing = book.order()
    assert book.post(financing, "payouts", {"reference": "PO-7", "value_date": "2026-03-10"},
                     role="finance").status_code == 201
    at_now.advance(timedelta(days=30))  # 9 April: 8,500.00 out for 30 days
    settled = book.post(financing, "collections", {"amount": "9000.00", "reference": "PAY-7"})
    assert settled.status_code == 201, settled.text
    body = settled.json()
    # fee = 0.082696 x 850,000 x 30 / 365 = 5,777.39 minor -> 57.77 (above the minimum 0.005 x 8,500.00 = 42.50);
    # 9,000.00 = 8,500.00 principal + 57.77 fee + 442.23 released to the supplier
    assert body["annual_rate"] == "0.082696"
    assert (body["status"], body["outstanding"], body["fee_charged"], body["fee_collected"], body["fee_owed"]) == (
        "settled", "0.00", "57.77", "57.77", "0.00")
    assert (body["released"], body["exposure"]) == ("442.23", "0.00")
    assert [(kind, part, amount) for kind, part, amount, _, _ in _entries(body)] == [
        ("payout", "principal", "8500.00"), ("fee", "fee", "57.77"), ("collection", "principal", "8500.00"),
        ("collection", "fee", "57.77"), ("release", "surplus", "442.23")]
    closed = book.post(financing, "collections", {"amount": "1.00", "reference": "PAY-8"})
    assert (closed.status_code, closed.json()["error"]["code"]) == (409, "financing_closed")


def test_what_the_book_refuses(book) -> None:
    paid, approved = book.receivable(), book.receivable()
    assert book.post(paid, "payouts", {"reference": "PO-1", "value_date": "2026-03-10"}).status_code == 201

    for reference in ("PO-2", "PO-1"):  # a second payout, under another reference or the same one
        twice = book.post(paid, "payouts", {"reference": reference, "value_date": "2026-03-10"})
        assert twice.status_code == 409, twice.text
        assert twice.json()["error"]["code"] == "already_paid_out"
        assert twice.json()["error"]["details"] == {"financing_id": paid, "reference": "PO-1"}
    reused = book.post(approved, "payouts", {"reference": "PO-1", "value_date": "2026-03-10"})
    assert (reused.status_code, reused.json()["error"]["code"]) == (409, "duplicate_reference")
    assert reused.json()["error"]["details"] == {"kind": "payout", "reference": "PO-1", "financing_id": paid}

    unpaid = book.post(approved, "collections", {"amount": "100.00", "reference": "PAY-1"})
    assert (unpaid.status_code, unpaid.json()["error"]["code"]) == (409, "financing_not_paid_out")
    assert book.post(paid, "collections", {"amount": "100.00", "reference": "PAY-1"}).status_code == 201  # freed
    again = book.post(paid, "recoveries", {"amount": "100.00", "reference": "PAY-1"})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "duplicate_reference")
    assert again.json()["error"]["details"]["financing_id"] == paid

    for step, body in (("payouts", {"reference": "PO-9", "value_date": "2026-03-10"}),
                       ("collections", {"amount": "1.00", "reference": "PAY-9"}), ("cancellations", None)):
        missing = book.post(999_999, step, body, role="admin")
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, "financing_not_found"), step
    assert book.get("/v1/financings/999999").status_code == 404

    for step, body in (("payouts", {"reference": "PO-9", "value_date": "2026-03-11"}),  # after today
                       ("payouts", {"reference": "PO-9", "value_date": "2026-03-09"}),  # before the booking
                       ("payouts", {"reference": "PO-9"}), ("collections", {"amount": "-5.00", "reference": "P"}),
                       ("collections", {"amount": 12.5, "reference": "P"}),
                       ("collections", {"amount": "1.00", "reference": "P", "extra": 1})):
        bad = book.post(approved, step, body)
        assert (bad.status_code, bad.json()["error"]["code"]) == (422, "validation_failed"), (body, bad.text)
    over = book.post(paid, "collections", {"amount": "8800.00", "reference": "PAY-2"})
    # 8,700.00 principal + the 44.37 flat fee owed: the rest, 55.63, is released to the supplier
    assert over.status_code == 201 and over.json()["released"] == "55.63"

    assert book.post(paid, "collections", {"amount": "1.00", "reference": "P"}, role="checkout").status_code == 403
    assert book.post(approved, "cancellations", role="payments").status_code == 403
    assert book.get(f"/v1/financings/{paid}", role="checkout").status_code == 403


def test_an_approved_financing_is_cancelled_once_and_then_cannot_be_paid_out(book) -> None:
    paid, approved = book.receivable(), book.receivable()
    assert book.post(paid, "payouts", {"reference": "PO-1", "value_date": "2026-03-10"}).status_code == 201
    cancelled = book.post(approved, "cancellations", role="finance")
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["exposure"]) == ("cancelled", "0.00")
    assert cancelled.json()["closed_at"] == "2026-03-10T12:00:00Z"
    again = book.post(approved, "cancellations", role="finance")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "financing_closed")
    payout = book.post(approved, "payouts", {"reference": "PO-2", "value_date": "2026-03-10"})
    assert (payout.status_code, payout.json()["error"]["code"]) == (409, "financing_not_payable")
    too_late = book.post(paid, "cancellations", role="admin")
    assert (too_late.status_code, too_late.json()["error"]["code"]) == (409, "already_paid_out")


def test_the_list_filters_and_pages_and_the_csv_has_a_line_per_financing(book) -> None:
    first, second, third = book.receivable(), book.order(), book.receivable()
    supplier, other_supplier = book.supplier, make_scored_firm(book.app.state.engine, 0.003, roles="supplier",
                                                                **_RECORD)
    book.supplier = other_supplier
    fourth = book.receivable()
    assert book.post(first, "payouts", {"reference": "PO-1", "value_date": "2026-03-10"}).status_code == 201
    assert book.post(third, "cancellations", role="finance").status_code == 200

    def ids(**params) -> list[int]:  # noqa: ANN003
        response = book.get("/v1/financings", **params)
        assert response.status_code == 200, response.text
        return [item["financing_id"] for item in response.json()["items"]]

    assert ids() == [first, second, third, fourth]
    assert ids(kind="receivable") == [first, third, fourth]
    assert ids(kind=["order", "loan"]) == [second]
    assert ids(status="approved") == [second, fourth]
    assert ids(status=["paid_out", "cancelled"]) == [first, third]
    assert ids(supplier_id=other_supplier) == [fourth]
    assert ids(buyer_id=book.debtor, kind="receivable", status="approved") == [fourth]

    seen, cursor = [], None
    for _ in range(3):
        page = book.get("/v1/financings", role="analyst", limit=2, **({"cursor": cursor} if cursor else {})).json()
        seen.append([item["financing_id"] for item in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [[first, second], [third, fourth]]
    first_item = book.get("/v1/financings", limit=1).json()["items"][0]
    assert (first_item["status"], first_item["outstanding"], first_item["exposure"]) == ("paid_out", "8800.00",
                                                                                          "8800.00")
    assert "entries" not in first_item
    for params in ({"cursor": "not-ours"}, {"limit": 0}, {"kind": "lease"}, {"status": "repaid"}):
        bad = book.get("/v1/financings", **params)
        assert (bad.status_code, bad.json()["error"]["code"]) == (422, "validation_failed"), params

    exported = book.get("/v1/financings.csv", kind="receivable")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert exported.headers["content-disposition"] == 'attachment; filename="financings-2026-03-10.csv"'
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [int(row["financing_id"]) for row in rows] == [first, third, fourth]
    line = rows[0]
    assert (line["kind"], line["status"], line["supplier_id"], line["buyer_id"], line["value_date"]) == (
        "receivable", "paid_out", str(supplier), str(book.debtor),
        "2026-03-10")
    assert (line["face"], line["advance"], line["reserve"], line["paid_out"], line["outstanding"],
            line["exposure"], line["payout_reference"]) == ("10000.00", "8800.00", "1200.00", "8800.00",
                                                            "8800.00", "8800.00", "PO-1")
    assert (rows[1]["status"], rows[1]["exposure"], rows[2]["exposure"]) == ("cancelled", "0.00", "8800.00")
    assert book.get("/v1/financings.csv", role="analyst").status_code == 403


def test_a_suppliers_statement_adds_up_by_hand(book, at_now) -> None:
    receivable, order = book.receivable(), book.order()
    book.post(receivable, "payouts", {"reference": "PO-1", "value_date": "2026-03-10"})
    book.post(order, "payouts", {"reference": "PO-2", "value_date": "2026-03-10"})
    at_now.advance(timedelta(days=5))  # 15 March
    book.post(receivable, "collections", {"amount": "5000.00", "reference": "PAY-1"})
    book.post(receivable, "recoveries", {"amount": "1000.00", "reference": "REC-1"})
    at_now.advance(timedelta(days=25))  # 9 April: the order is repaid after 30 days (fee 57.77, as above)
    book.post(order, "collections", {"amount": "9000.00", "reference": "PAY-2"})

    march = book.get(f"/v1/firms/{book.supplier}/financing-statement", **{"from": "2026-03-01", "to": "2026-03-31"})
    assert march.status_code == 200, march.text
    s = march.json()
    # 8,800.00 + 8,500.00 paid out; 5,000.00 collected, 1,000.00 recovered: 17,300.00 - 6,000.00 = 11,300.00
    assert (s["opening_outstanding"], s["paid_out"], s["collected"], s["recovered"], s["closing_outstanding"]) == (
        "0.00", "17300.00", "5000.00", "1000.00", "11300.00")
    # the receivable's flat fee, 44.37, is charged with its payout; principal is repaid first
    assert (s["fees_charged"], s["fees_paid"], s["released"]) == ("44.37", "0.00", "0.00")
    assert [(line["financing_id"], line["closing_outstanding"]) for line in s["financings"]] == [
        (receivable, "2800.00"), (order, "8500.00")]

    april = book.get(f"/v1/firms/{book.supplier}/financing-statement", **{"from": "2026-03-11", "to": "2026-04-09"})
    a = april.json()
    # opening: both payouts of 10 March (17,300.00); then 5,000.00 + 8,500.00 collected, 1,000.00 recovered
    assert (a["opening_outstanding"], a["paid_out"], a["collected"], a["recovered"], a["closing_outstanding"]) == (
        "17300.00", "0.00", "13500.00", "1000.00", "2800.00")
    assert (a["fees_charged"], a["fees_paid"], a["released"]) == ("57.77", "57.77", "442.23")
    order_line = next(line for line in a["financings"] if line["financing_id"] == order)
    assert (order_line["kind"], order_line["status"], order_line["opening_outstanding"],
            order_line["closing_outstanding"]) == ("order", "settled", "8500.00", "0.00")

    for params, name in (({"from": "2026-04-02", "to": "2026-04-01"}, "to"),
                         ({"from": "2026-04-10", "to": "2026-04-30"}, "from"), ({"from": "2026-04-01"}, "to")):
        bad = book.get(f"/v1/firms/{book.supplier}/financing-statement", **params)
        assert (bad.status_code, bad.json()["error"]["code"]) == (422, "validation_failed"), params
        assert bad.json()["error"]["details"][0]["loc"] == ["query", name]
    unknown = book.get("/v1/firms/999999/financing-statement", **{"from": "2026-03-01", "to": "2026-03-31"})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "unknown_firm")


def test_the_firm_credit_view_shows_every_products_exposure_and_the_caps(book) -> None:
    receivable, order = book.receivable(), book.order()
    book.post(receivable, "payouts", {"reference": "PO-1", "value_date": "2026-03-10"})
    book.post(receivable, "collections", {"amount": "6000.00", "reference": "PAY-1"})
    # the receivable: 8,800.00 - 6,000.00 = 2,800.00 outstanding; the order approved: its whole 8,500.00
    debtor = book.get(f"/v1/firms/{book.debtor}/credit", role="checkout")
    assert debtor.status_code == 200, debtor.text
    assert debtor.json()["exposure"] == {
        "line": "0.00", "order_as_buyer": "8500.00", "receivable_as_debtor": "2800.00", "order_as_supplier": "0.00",
        "receivable_as_supplier": "0.00", "loan": "0.00", "as_debtor": "11300.00", "as_supplier": "0.00",
        "total": "11300.00"}
    # grade B: per debtor 1,200,000.00, per supplier 2,000,000.00
    assert debtor.json()["concentration"] == {
        "grade": "B", "per_debtor": {"cap": "1200000.00", "exposure": "11300.00", "headroom": "1188700.00"},
        "per_supplier": {"cap": "2000000.00", "exposure": "0.00", "headroom": "2000000.00"}}
    supplier = book.get(f"/v1/firms/{book.supplier}/credit").json()
    assert (supplier["exposure"]["order_as_supplier"], supplier["exposure"]["receivable_as_supplier"],
            supplier["exposure"]["as_supplier"], supplier["exposure"]["as_debtor"]) == (
        "8500.00", "2800.00", "11300.00", "0.00")
    assert supplier["concentration"]["per_supplier"]["headroom"] == "1988700.00"
