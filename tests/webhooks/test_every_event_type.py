"""Every event type of the catalogue, produced by real actions on one store, delivered to one receiver.

One scenario on a private copy of the scored marketplace (tests/api/marketplace.py), the clock
frozen at the start and moved by hand. An endpoint subscribed to every type is registered at a
:class:`~tests.webhooks.receiver.Receiver` first (its own Standard Webhooks check, not the
project's signer); a second one is disabled by PATCH. Then, through the API where the product
acts through the API, and else through the jobs the CLI runs:

- three applications: one approved at once (line 1), one referred and reviewed (line 2), one
  more approved at once (line 3);
- line 1 frozen, unfrozen and its limit raised by finance; on it a hold approved, captured in
  part, refunded in part and voided, an order declined, a hold left to expire (``expire_holds``),
  and the receivable paid before its due date by a repayment;
- line 3 drawn to 95 % of its limit (utilisation above the 0.9 threshold): a monitoring run
  lists the firm and raises its early warning, which finance acknowledges, assigns and notes on
  the console's work list (the library calls its forms make);
- the financing job makes loan offers; one is accepted over the API (a loan approved);
- line 2's receivable is never paid: the servicing job's days announce it due soon (-3), overdue
  (1), dunning steps up to the default and charge-off at 90 days, which close the line.

The dispatcher then runs until nothing is pending. Every delivery verifies, every type arrives,
each event once, and per object in the order GET /v1/events lists them.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from credit import clock
from credit.events.catalogue import EVENT_TYPES
from credit.features.asof import monthly
from credit.features.history import History
from credit.features.panel import build_panel, write_panel
from credit.financing.run import run_day as financing_day
from credit.financing.tables import LoanOffer
from credit.ledger import expire_holds
from credit.monitoring import work_list
from credit.monitoring.run import MonitoredModel, monitor
from credit.monitoring.tables import MonitoringRunRecord
from credit.policy import default_policy
from credit.servicing.run import run_day as servicing_day
from credit.webhooks.dispatch import Dispatcher
from tests.api.conftest import auth
from tests.api.credit_lines.buyers import buyers, clean
from tests.api.marketplace import AS_OF, START, ScoredMarketplace, months_after
from tests.api.marketplace import market_app, market_client, market_keys, marketplace  # noqa: F401  (fixtures)
from tests.webhooks.receiver import Receiver

POLICY = default_policy()


class _Api:
    """Posts with a fresh Idempotency-Key each time, failing the test on an unexpected status."""

    def __init__(self, client: TestClient, keys: dict[str, str]):
        self.client, self.keys, self.n = client, keys, 0

    def post(self, role: str, path: str, body: dict | None = None, *, expect: int = 200) -> dict:
        self.n += 1
        answer = self.client.post(path, json=body, headers=auth(self.keys[role]) | {"Idempotency-Key": f"k{self.n}"})
        assert answer.status_code == expect, (path, answer.text)
        return answer.json()

    def get(self, role: str, path: str, **params) -> dict:  # noqa: ANN003
        answer = self.client.get(path, params=params, headers=auth(self.keys[role]))
        assert answer.status_code == 200, (path, answer.text)
        return answer.json()


def _monitoring_inputs(marketplace: ScoredMarketplace, folder: Path) -> tuple[Path, MonitoredModel]:
    """The marketplace's panel over its model's training window up to the month scored, and its model."""
    training = (months_after(START, 2), months_after(START, 9))  # train before START + 9 (tests/api/marketplace.py)
    write_panel(build_panel(History.from_parquet(marketplace.history), monthly(training[0], AS_OF)), folder)
    return folder, MonitoredModel.from_serving(marketplace.serving, training)


def _drain(dispatcher: Dispatcher, passes: int = 200) -> None:
    for _ in range(passes):
        result = dispatcher.run_once()
        if not (result.queued or result.sent):
            return
    raise AssertionError("the dispatcher kept finding work")


def test_every_event_type_reaches_a_verifying_receiver_once_and_in_order_per_object(
        market_client, market_app, market_keys, marketplace, tmp_path):  # noqa: ANN001
    engine = market_app.state.engine
    api = _Api(market_client, market_keys)
    panel, model = _monitoring_inputs(marketplace, tmp_path / "panel")
    receiver = Receiver()
    try:
        # tomorrow 10:00, so a receivable is due at 10:00 and the job for a day judges it whole days before
        with clock.frozen(datetime.combine(clock.now().date() + timedelta(days=1), time(10))) as now:
            start = now.now()
            # 1. the endpoints: one for every type (empty list), one disabled at once
            endpoint = api.post("admin", "/v1/webhook-endpoints", {"url": receiver.url}, expect=201)
            receiver.secrets.append(endpoint["secret"])
            other = api.post("admin", "/v1/webhook-endpoints", {"url": receiver.url + "/other"}, expect=201)
            patched = market_client.patch(f"/v1/webhook-endpoints/{other['id']}", json={"status": "disabled"},
                                          headers=auth(market_keys["admin"]))
            assert (patched.status_code, patched.json()["status"]) == (200, "disabled"), patched.text

            # 2. applications: referred then reviewed (line 2); approved at once (lines 1 and 3)
            candidates = sorted((b for b in buyers(engine) if clean(b)), key=lambda b: -b.gmv_365d)
            referred = api.post("checkout", "/v1/credit-lines/applications",
                                {"buyer_id": candidates[0].firm_id}, expect=201)
            assert referred["status"] == "referred", referred
            line2 = api.post("finance", f"/v1/credit-lines/applications/{referred['decision_id']}/review",
                             {"action": "change_limit", "limit": "5000.00", "reason": "start small"})["line_id"]
            approved = []
            for buyer in candidates[1:]:
                if buyer.grade in ("F", "G") or buyer.gmv_365d < 1_200_000:
                    continue
                applied = api.post("checkout", "/v1/credit-lines/applications",
                                   {"buyer_id": buyer.firm_id, "requested_limit": "2000.00"}, expect=201)
                if applied["status"] == "approved":
                    approved.append((buyer.firm_id, applied["line_id"]))
                if len(approved) == 2:
                    break
            assert len(approved) == 2, approved
            (buyer1, line1), (buyer3, line3) = approved
            buyer2 = candidates[0].firm_id

            # 3. finance on line 1: freeze, unfreeze, a new limit (3,000.00, cap 1,500.00)
            api.post("finance", f"/v1/credit-lines/{line1}/freeze", {"reason": "payment promise missed"})
            api.post("finance", f"/v1/credit-lines/{line1}/unfreeze", {"reason": "paid"})
            api.post("finance", f"/v1/credit-lines/{line1}/limit", {"limit": "3000.00", "reason": "good payer"})

            # 4. checkout on line 1: approve, capture 600.00 of 1,000.00, refund 100.00, void the rest
            hold = api.post("checkout", "/v1/checkout/authorizations",
                            {"buyer_id": buyer1, "order_reference": "PO-1", "amount": "1000.00"}, expect=201)["hold_id"]
            base = f"/v1/checkout/authorizations/{hold}"
            api.post("checkout", f"{base}/captures", {"amount": "600.00", "shipment_reference": "S-1"})
            api.post("checkout", f"{base}/refunds", {"amount": "100.00", "reference": "CN-1"})
            api.post("checkout", f"{base}/void")
            declined = api.post("checkout", "/v1/checkout/authorizations",
                                {"buyer_id": buyer1, "order_reference": "PO-2", "amount": "5000.00"})
            assert declined["status"] == "declined", declined
            api.post("checkout", "/v1/checkout/authorizations",  # left to expire
                     {"buyer_id": buyer1, "order_reference": "PO-3", "amount": "200.00"}, expect=201)
            # line 2: 2,500.00 shipped and never paid
            hold2 = api.post("checkout", "/v1/checkout/authorizations",
                             {"buyer_id": buyer2, "order_reference": "PO-4", "amount": "2500.00"},
                             expect=201)["hold_id"]
            api.post("checkout", f"/v1/checkout/authorizations/{hold2}/captures",
                     {"amount": "2500.00", "shipment_reference": "S-4"})
            # line 3 drawn to 1,900.00 of 2,000.00: utilisation 0.95
            for reference, amount in (("PO-5", "1000.00"), ("PO-6", "900.00")):
                api.post("checkout", "/v1/checkout/authorizations",
                         {"buyer_id": buyer3, "order_reference": reference, "amount": amount}, expect=201)

            # 5. monitoring lists buyer 3 (the book has exposure on it): early warning raised
            run = monitor(engine, panel, model)
            assert buyer3 in {w.firm_id for w in run.warnings}, run.warnings
            # finance works it on the console's work list: acknowledged, assigned, noted
            with Session(engine) as session, session.begin():
                run_id = session.scalar(select(func.max(MonitoringRunRecord.run_id)))
                at = clock.now()
                work_list.acknowledge(session, run_id, buyer3, actor="key:1", actor_name="anna", now=at)
                work_list.assign(session, run_id, buyer3, "ben", actor="key:1", actor_name="anna", now=at)
                work_list.add_note(session, run_id, buyer3, "Called: pays Friday.", actor="key:1",
                                   actor_name="anna", now=at)

            # 6. the financing job makes loan offers; one is accepted over the API
            with Session(engine) as session, session.begin():
                financing_day(session, start.date(), POLICY)
            with Session(engine) as session:
                offer = session.scalars(select(LoanOffer).order_by(LoanOffer.offer_id)).first()
            assert offer is not None, "the financing job made no loan offer on the marketplace"
            api.post("checkout", f"/v1/loan-offers/{offer.offer_id}/acceptances",
                     {"amount": f"{offer.amount_minor // 100}.00"}, expect=201)

            # 7. days: holds expire, receivables come due, line 1's is paid, line 2's is dunned to default
            due_day = (start + timedelta(days=30)).date()

            def day(offset: int) -> None:
                """The servicing job for due_day + offset, the clock at the next day 02:00."""
                at = due_day + timedelta(days=offset)
                now.set(datetime.combine(at + timedelta(days=1), time(2)))
                with Session(engine) as session, session.begin():
                    expire_holds(session, now.now())
                    servicing_day(session, at, POLICY)

            for offset in (-3, -2):
                day(offset)
            api.post("payments", f"/v1/credit-lines/{line1}/repayments", {"amount": "600.00", "reference": "PAY-1"},
                     expect=201)
            for offset in (0, 1, 7, 30, 90, 91):
                day(offset)

            dispatcher = Dispatcher(engine)
            _drain(dispatcher)
        listed, cursor = [], None
        while True:
            page = api.get("analyst", "/v1/events", **({"cursor": cursor} if cursor else {}), limit=100)
            if not page["items"]:
                break
            listed += page["items"]
            cursor = page["next_cursor"]
    finally:
        receiver.close()

    assert receiver.rejected == []  # every delivery verified by the receiver's own code
    received = [item.event for item in receiver.unique()]
    assert len(received) == len(receiver.received)  # each webhook-id once
    delivered = {e["type"] for e in received}
    assert delivered == set(EVENT_TYPES), f"never delivered: {sorted(set(EVENT_TYPES) - delivered)}"
    assert sorted(e["id"] for e in received) == sorted(e["id"] for e in listed)  # every event listed, none lost
    assert {e["id"]: e for e in received} == {e["id"]: e for e in listed}  # each body is the event as listed

    def by_object(events: list[dict]) -> dict[tuple[str, str], list[str]]:
        grouped: dict[tuple[str, str], list[str]] = {}
        for event in events:
            grouped.setdefault((event["data"]["object"], event["data"]["id"]), []).append(event["id"])
        return grouped

    assert by_object(received) == by_object(listed)  # per object, in the order GET /v1/events lists them

    def story(object_type: str, object_id: object) -> list[str]:
        return [e["type"] for e in received if (e["data"]["object"], e["data"]["id"]) == (object_type, str(object_id))]

    # across objects the dispatcher promises no order: the stories below read the listed order
    def of_type(kind: str) -> list[dict]:
        return [e["data"] for e in listed if e["type"] == kind]

    assert story("credit_line", line1) == ["credit_line.opened", "credit_line.frozen", "credit_line.unfrozen",
                                           "credit_line.changed"]
    assert story("credit_line", line2) == ["credit_line.opened", "credit_line.frozen", "credit_line.closed"]
    assert story("credit_line", line3) == ["credit_line.opened"]
    assert story("authorization", hold) == ["authorization.approved", "authorization.captured",
                                            "authorization.refunded", "authorization.voided"]
    assert story("authorization", hold2) == ["authorization.approved", "authorization.captured"]
    assert sorted(d["order_reference"] for d in of_type("authorization.expired")) == ["PO-3", "PO-5", "PO-6"]
    assert [(d["line_id"], d["order_reference"], d["decline_code"]) for d in of_type("authorization.declined")] == [
        (line1, "PO-2", "per_order_cap_exceeded")]  # 5,000.00 > the cap 1,500.00
    # line 1 owes 600.00 - 100.00 refunded = 500.00: reminded at -3, paid; line 2 owes 2,500.00 and never pays
    assert [(e["type"], e["data"]["line_id"], e["data"]["owed"]["total"]) for e in listed
            if e["data"]["object"] == "receivable"] == [
        ("receivable.due_soon", line2, "2500.00"), ("receivable.due_soon", line1, "500.00"),
        ("receivable.paid", line1, "0.00"), ("receivable.overdue", line2, "2500.00")]
    # the days run (-3, -2, 0, 1, 7, 30, 90, 91): no day 15, so no reminder:15; late fee 25.00 + 1 % of 2,500.00
    assert [(d["line_id"], d["step_key"], d["amount"]) for d in of_type("dunning.step_taken")] == [
        (line2, "reminder:-3", None), (line1, "reminder:-3", None), (line2, "reminder:0", None),
        (line2, "reminder:7", None), (line2, "late_fee:7", "50.00"), (line2, "reminder:30", None),
        (line2, "freeze:30", None), (line2, "default:90", "2500.00"), (line2, "charge_off:90", "2500.00")]
    warned = {d["id"]: d for d in of_type("early_warning.raised")}
    assert "utilisation_high" in warned[str(buyer3)]["reasons"], warned
    worked = [(kind, d["id"]) for kind in ("early_warning.acknowledged", "early_warning.assigned",
                                           "early_warning.noted") for d in of_type(kind)]
    assert worked == [(kind, f"{run_id}:{buyer3}") for kind in ("early_warning.acknowledged",
                                                                 "early_warning.assigned", "early_warning.noted")]
    assert "Called" not in str(of_type("early_warning.noted"))  # a note's text stays in the console
    assert offer.offer_id in {d["offer_id"] for d in of_type("loan_offer.made")}
    assert [(d["kind"], d["offer_id"], d["status"]) for d in of_type("financing.changed")] == [
        ("loan", offer.offer_id, "approved"), ("loan", offer.offer_id, "paid_out")]
    assert [(d["id"], d["status"]) for d in of_type("webhook_endpoint.disabled")] == [(str(other["id"]), "disabled")]
