"""Reading decisions over HTTP (who sees which), and `credit decisions show / replay` on the same store."""

from __future__ import annotations

import uuid

from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.kit.auth import create_api_key, rotate_api_key
from api.kit.tables import ApiKey
from credit.audit import DecisionRecord
from cli import app as cli
from tests.api.conftest import auth, make_key
from tests.api.credit_lines.buyers import buyers


def _key_id(app, name: str) -> int:  # noqa: ANN001
    with Session(app.state.engine) as session:
        return session.scalar(select(ApiKey.key_id).where(ApiKey.name == name))


def _apply_for_an_overdue_buyer(client, app, key) -> dict:  # noqa: ANN001
    buyer = next(b for b in buyers(app.state.engine) if b.overdue_invoices and b.verified)
    response = client.post("/v1/credit-lines/applications", json={"buyer_id": buyer.firm_id},
                           headers=auth(key) | {"Idempotency-Key": f"apply-{buyer.firm_id}"})
    assert response.status_code == 201, response.text
    return response.json()


def test_finance_analyst_and_admin_read_any_decision_a_checkout_key_only_its_own(market_client, market_app,
                                                                                 market_keys):
    decision_id = _apply_for_an_overdue_buyer(market_client, market_app, market_keys["checkout"])["decision_id"]
    for role in ("finance", "analyst", "admin", "checkout"):
        response = market_client.get(f"/v1/decisions/{decision_id}", headers=auth(market_keys[role]))
        assert response.status_code == 200, (role, response.text)
    body = response.json()
    checkout_id = _key_id(market_app, "test-checkout")
    assert (body["kind"], body["outcome"], body["actor"], body["model_version"]) == (
        "credit_line_application", "decline", f"key:{checkout_id}", "1")
    assert body["amounts"] == {"limit": "0.00", "per_order_cap": "0.00"}
    assert body["reason_codes"][0]["code"] == "overdue_now" and body["rules_fired"][0]["code"] == "overdue_now"
    assert body["inputs"]["features"]["debtor_days_past_due"] > 0

    other_storefront = make_key(market_app, "checkout", name="another-storefront")
    hidden = market_client.get(f"/v1/decisions/{decision_id}", headers=auth(other_storefront))
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "decision_not_found"
    # the view is the client's: not the key name's (another client's key of the same name sees nothing) ...
    with Session(market_app.state.engine) as session:
        _, same_name = create_api_key(session, "test-checkout", "checkout", client="another-marketplace")
        _, _, rotated = rotate_api_key(session, checkout_id)
        session.commit()
    assert market_client.get(f"/v1/decisions/{decision_id}", headers=auth(same_name)).status_code == 404
    # ... and every key of the client sees it: the rotated key too
    assert market_client.get(f"/v1/decisions/{decision_id}", headers=auth(rotated)).status_code == 200
    unknown = market_client.get(f"/v1/decisions/{uuid.uuid4()}", headers=auth(market_keys["finance"]))
    assert unknown.status_code == 404
    assert market_client.get("/v1/decisions/not-a-uuid", headers=auth(market_keys["finance"])).status_code == 422


def test_replay_prints_same_for_a_stored_decision_and_show_prints_its_reasons(market_client, market_app, market_keys):
    decision_id = _apply_for_an_overdue_buyer(market_client, market_app, market_keys["admin"])["decision_id"]
    url = str(market_app.state.engine.url)
    runner = CliRunner()
    replayed = runner.invoke(cli, ["decisions", "replay", decision_id, "--database-url", url])
    assert replayed.exit_code == 0, replayed.output
    assert replayed.output.startswith("same:") and "decline" in replayed.output
    shown = runner.invoke(cli, ["decisions", "show", decision_id, "--database-url", url], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "overdue_now: Invoices past due now" in shown.output and "credit_line_application" in shown.output


def test_replay_of_a_decision_whose_stored_result_was_altered_prints_the_difference_and_exits_1(
        market_client, market_app, market_keys):
    decision_id = _apply_for_an_overdue_buyer(market_client, market_app, market_keys["admin"])["decision_id"]
    engine = market_app.state.engine
    with Session(engine) as session, session.begin():  # a forged copy: the trail itself refuses UPDATE
        row = dict(session.execute(select(DecisionRecord.__table__).where(
            DecisionRecord.decision_id == decision_id)).mappings().one())
        forged = str(uuid.uuid4())
        row["decision_id"] = forged
        row["result"] = {**row["result"], "limit_minor": 5_000_000}
        session.execute(insert(DecisionRecord.__table__).values(**row))
    runner = CliRunner()
    replayed = runner.invoke(cli, ["decisions", "replay", forged, "--database-url", str(engine.url)],
                             env={"COLUMNS": "200"})
    assert replayed.exit_code == 1
    assert replayed.output.startswith("different:") and "limit_minor" in replayed.output and "5000000" in replayed.output
    missing = runner.invoke(cli, ["decisions", "replay", str(uuid.uuid4()), "--database-url", str(engine.url)])
    assert missing.exit_code == 2
