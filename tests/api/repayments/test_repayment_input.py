"""A repayment's input is checked before anything is booked: a bad receivable id is a 422, never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from credit.servicing.repayments import credit_balance
from tests.api.checkout.factories import make_buyer_with_line
from tests.api.conftest import auth


@pytest.mark.parametrize("receivable_id", [2**63, 0, -5], ids=["beyond-bigint", "zero", "negative"])
def test_a_receivable_id_no_receivable_can_have_is_refused_as_invalid_input(client, app, keys, receivable_id):
    # Was: 2**63 reached the database and came back as a 500 (SQLite: "Python int too large").
    _, line = make_buyer_with_line(app.state.engine, limit_minor=100_000)
    response = client.post(f"/v1/credit-lines/{line}/repayments",
                           json={"amount": "10.00", "reference": "PAY-1", "receivable_ids": [receivable_id]},
                           headers=auth(keys["admin"]) | {"Idempotency-Key": "pay-1"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_failed"
    assert response.json()["error"]["details"][0]["loc"] == ["body", "receivable_ids", 0]
    with Session(app.state.engine) as session:
        assert credit_balance(session, line) == 0
