"""The applications list pages by cursor, oldest first, with or without a status filter."""

from __future__ import annotations

from credit.paging import encode_cursor, encode_key_cursor
from tests.api.conftest import auth
from tests.api.credit_lines.buyers import buyers, clean


def _page(client, key, query):  # noqa: ANN001, ANN202
    response = client.get(f"/v1/credit-lines/applications?{query}", headers=auth(key))
    assert response.status_code == 200, response.text
    return response.json()


def test_applications_page_oldest_first_and_a_cursor_outlives_a_review(market_client, market_app, market_keys):
    client, checkout, finance = market_client, market_keys["checkout"], market_keys["finance"]
    applied = []
    for buyer in sorted((b for b in buyers(market_app.state.engine) if clean(b)), key=lambda b: -b.gmv_365d)[:5]:
        response = client.post("/v1/credit-lines/applications", json={"buyer_id": buyer.firm_id},
                               headers=auth(checkout) | {"Idempotency-Key": f"apply-{buyer.firm_id}"})
        assert response.status_code == 201, response.text
        applied.append(response.json())
    oldest_first = [a["decision_id"] for a in sorted(applied, key=lambda a: (a["created_at"], a["decision_id"]))]

    pages, cursor = [], None
    while True:
        page = _page(client, finance, "limit=2" + (f"&cursor={cursor}" if cursor else ""))
        pages.append([item["decision_id"] for item in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert cursor == encode_key_cursor("application", pages[-1][-1])
    assert pages == [oldest_first[0:2], oldest_first[2:4], oldest_first[4:]]

    referred = [a["decision_id"] for a in sorted(applied, key=lambda a: (a["created_at"], a["decision_id"]))
                if a["status"] == "referred"]
    assert referred, "the largest buyers should include one the policy refers"
    first = _page(client, finance, "status=referred&limit=1")
    assert [item["decision_id"] for item in first["items"]] == referred[:1]
    # the cursor's application leaves the queue; the next page still starts after it
    reviewed = client.post(f"/v1/credit-lines/applications/{referred[0]}/review",
                           json={"action": "decline", "reason": "not now"},
                           headers=auth(finance) | {"Idempotency-Key": "review"})
    assert reviewed.status_code == 200, reviewed.text
    rest = _page(client, finance, f"status=referred&limit=10&cursor={first['next_cursor']}") \
        if first["next_cursor"] else {"items": [], "next_cursor": None}
    assert ([item["decision_id"] for item in rest["items"]], rest["next_cursor"]) == (referred[1:], None)


def test_a_foreign_or_unknown_cursor_is_422_naming_it(market_client, market_keys):
    finance = auth(market_keys["finance"])
    for cursor in (encode_cursor("hold", 3), encode_key_cursor("application", "0" * 36), "nope"):
        response = market_client.get(f"/v1/credit-lines/applications?cursor={cursor}", headers=finance)
        assert response.status_code == 422, cursor
        assert response.json()["error"]["details"][0]["loc"] == ["query", "cursor"]
