"""A buyer's holds, listed a page at a time by status; a credit line read on its own."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from api.kit.auth import create_api_key
from credit import clock, ledger
from credit.paging import encode_cursor
from tests.api.checkout.factories import make_buyer_with_line, make_firm
from tests.api.conftest import auth



def _authorize(client, key, buyer, reference, amount):  # noqa: ANN001, ANN202
    response = client.post("/v1/checkout/authorizations", headers=auth(key) | {"Idempotency-Key": reference},
                           json={"buyer_id": buyer, "order_reference": reference, "amount": amount})
    assert response.status_code == 201, response.text
    return response.json()["hold_id"]


def _list(client, key, query):  # noqa: ANN001, ANN202
    return client.get(f"/v1/checkout/authorizations?{query}", headers=auth(key))


def test_a_buyers_holds_page_in_order_and_filter_by_status(client, app, keys):
    buyer, line = make_buyer_with_line(app.state.engine, limit_minor=1_000_000)  # 10,000.00
    other_buyer, _ = make_buyer_with_line(app.state.engine, limit_minor=1_000_000)
    shop = keys["checkout"]
    holds = [_authorize(client, shop, buyer, f"PO-{n}", f"{n}00.00") for n in range(1, 6)]  # 100.00 ... 500.00
    _authorize(client, shop, other_buyer, "PO-other", "50.00")
    voided = client.post(f"/v1/checkout/authorizations/{holds[1]}/void", headers=auth(shop) | {"Idempotency-Key": "v"})
    assert voided.status_code == 200

    first = _list(client, shop, f"buyer_id={buyer}&limit=2")
    assert first.status_code == 200, first.text
    page = first.json()
    assert [item["hold_id"] for item in page["items"]] == holds[:2]
    assert page["next_cursor"] == encode_cursor("hold", holds[1])
    # held now: 100 + 300 + 400 + 500 = 1,300.00 (200.00 voided); every item carries the line's balances now
    assert page["items"][0]["balances"] == {"limit": "10000.00", "posted": "0.00", "pending": "1300.00",
                                            "available": "8700.00"}
    assert (page["items"][1]["status"], page["items"][1]["released"]) == ("closed", "200.00")
    second = _list(client, shop, f"buyer_id={buyer}&limit=2&cursor={page['next_cursor']}").json()
    assert [item["hold_id"] for item in second["items"]] == holds[2:4]
    last = _list(client, shop, f"buyer_id={buyer}&limit=2&cursor={second['next_cursor']}").json()
    assert ([item["hold_id"] for item in last["items"]], last["next_cursor"]) == ([holds[4]], None)
    assert last["items"][0]["line_id"] == line and last["items"][0]["amount"] == "500.00"

    pending = _list(client, shop, f"buyer_id={buyer}&status=pending").json()
    assert [item["hold_id"] for item in pending["items"]] == [holds[0], *holds[2:]]
    closed = _list(client, keys["finance"], f"buyer_id={buyer}&status=closed&status=expired").json()
    assert [item["hold_id"] for item in closed["items"]] == [holds[1]]

    with clock.frozen(clock.now() + timedelta(days=31)), Session(app.state.engine) as session, session.begin():
        assert sorted(ledger.expire_holds(session)) == sorted([holds[0], *holds[2:], holds[-1] + 1])
    expired = _list(client, keys["analyst"], f"buyer_id={buyer}&status=expired").json()
    assert [item["hold_id"] for item in expired["items"]] == [holds[0], *holds[2:]]


def test_a_checkout_key_lists_only_the_holds_it_authorized(client, app, keys):
    buyer, _ = make_buyer_with_line(app.state.engine, limit_minor=1_000_000)
    with app.state.sessionmaker() as session:
        _, other_shop = create_api_key(session, "other-storefront", "checkout")
        session.commit()
    mine = _authorize(client, keys["checkout"], buyer, "PO-mine", "10.00")
    theirs = _authorize(client, other_shop, buyer, "PO-theirs", "20.00")
    assert [i["hold_id"] for i in _list(client, keys["checkout"], f"buyer_id={buyer}").json()["items"]] == [mine]
    assert [i["hold_id"] for i in _list(client, other_shop, f"buyer_id={buyer}").json()["items"]] == [theirs]
    assert [i["hold_id"] for i in _list(client, keys["admin"], f"buyer_id={buyer}").json()["items"]] == [mine, theirs]
    assert _list(client, keys["payments"], f"buyer_id={buyer}").status_code == 403


def test_a_buyer_without_a_line_has_no_holds_and_an_unknown_one_is_404(client, app, keys):
    with Session(app.state.engine) as session:
        buyer = make_firm(session)
        session.commit()
    assert _list(client, keys["checkout"], f"buyer_id={buyer}").json() == {"items": [], "next_cursor": None}
    unknown = _list(client, keys["checkout"], "buyer_id=987654")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "unknown_firm")


def test_a_cursor_of_another_list_or_a_bad_filter_is_422_naming_it(client, app, keys):
    buyer, _ = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    foreign = _list(client, keys["checkout"], f"buyer_id={buyer}&cursor={encode_cursor('financing', 3)}")
    assert foreign.status_code == 422
    assert foreign.json()["error"]["details"][0]["loc"] == ["query", "cursor"]
    assert _list(client, keys["checkout"], f"buyer_id={buyer}&status=open").status_code == 422
    assert _list(client, keys["checkout"], f"buyer_id={buyer}&limit=0").status_code == 422
    assert _list(client, keys["checkout"], "").json()["error"]["details"][0]["loc"] == ["query", "buyer_id"]


def test_a_line_is_read_by_every_role_with_its_balances(client, app, keys):
    buyer, line = make_buyer_with_line(app.state.engine, limit_minor=500_000, per_order_cap_minor=200_000)
    _authorize(client, keys["checkout"], buyer, "PO-1", "1200.50")
    with Session(app.state.engine) as session, session.begin():
        ledger.freeze(session, line, by="finance")
    expected = {"line_id": line, "firm_id": buyer, "currency": "EUR", "status": "frozen", "frozen_by": "finance",
                "limit": "5000.00", "posted": "0.00", "pending": "1200.50", "available": "3799.50",
                "per_order_cap": "2000.00"}
    for role, key in keys.items():
        response = client.get(f"/v1/credit-lines/{line}", headers=auth(key))
        assert (response.status_code, response.json()) == (200, expected), role
    missing = client.get("/v1/credit-lines/999999", headers=auth(keys["finance"]))
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "line_not_found")
