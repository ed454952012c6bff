"""The audit trail on SQLite and PostgreSQL: record, read back, replay; tampering is reported.

Each test works in one session and rolls back, so the shared PostgreSQL database keeps no rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import delete, event, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from credit.audit import (
    DecisionMismatch,
    DecisionRecord,
    PolicyVersionConflict,
    StoredPolicy,
    get_decision,
    load_stored_policy,
    record_decision,
    replay,
    store_policy,
)
from credit.decisions import (
    CheckoutRequest,
    CreditLineApplication,
    CreditLineChange,
    CreditLineReview,
    OrderFinancingRequest,
    ReceivableRequest,
    change_credit_line,
    decide_checkout,
    decide_credit_line,
    quote_order_financing,
    quote_receivable,
    review_credit_line,
)
from credit.financing.factoring_steps import ReceivableStepCase, decide_receivable_step
from credit.store.engine import make_engine
from tests.stores import copy_of
from tests.decisions.policies import POLICY, edited_policy


@pytest.fixture
def session(store) -> Iterator[Session]:
    with Session(store) as session:
        yield session
        session.rollback()


def application(**features) -> CreditLineApplication:
    # 0.1 + 0.2 is not 0.3 in binary: the stored JSON must give back exactly this float
    row = {"tenure_days": 400, "debtor_days_past_due": 0, "verified": True, "buyer_gmv_365d": 6_000_000.0,
           "buyer_return_rate_365d": 0.1 + 0.2, "industry": "machinery", "buyer_gmv_growth_3m": float("nan")}
    return CreditLineApplication(firm_id=7, features=row | features, pd=0.003, model_reason_codes=("R02", "R13"),
                                 requested_limit_minor=None)


def record_application(session: Session, inputs: CreditLineApplication | None = None, policy=POLICY,
                       **kwargs) -> DecisionRecord:
    inputs = inputs or application()
    return record_decision(session, kind="credit_line_application", inputs=inputs,
                           decision=decide_credit_line(inputs, policy), policy=policy, actor="api-key:shop",
                           request={"firm_id": 7, "requested_limit": None}, model_name="pd-lightgbm",
                           model_version="3", **kwargs)


def test_a_recorded_application_reads_back_with_everything_it_used(session):
    record = record_application(session)
    session.expunge_all()
    stored = get_decision(session, record.decision_id)
    assert (stored.kind, stored.firm_id, stored.outcome, stored.grade) == ("credit_line_application", 7, "approve", "B")
    assert (stored.amount_minor, stored.amounts) == (1_000_000, {"limit_minor": 1_000_000,
                                                                 "per_order_cap_minor": 500_000})
    assert stored.inputs["features"]["buyer_return_rate_365d"] == 0.1 + 0.2
    assert stored.inputs["features"]["buyer_gmv_growth_3m"] is None  # NaN is stored as missing
    assert stored.inputs["pd"] == "0.003"
    assert (stored.model_name, stored.model_version) == ("pd-lightgbm", "3")
    assert (stored.policy_version, stored.policy_hash) == (POLICY.version, POLICY.content_hash)
    assert stored.rules_fired == [{"code": "limit_by_capacity", "detail": stored.rules_fired[0]["detail"]}]
    assert stored.reason_codes == ["limit_by_capacity", "R02", "R13"]
    assert stored.actor == "api-key:shop" and stored.request == {"firm_id": 7, "requested_limit": None}


def _every_kind() -> list[tuple[str, object, object]]:
    application_inputs = application(buyer_gmv_365d=6_000_000.0)
    referred = decide_credit_line(CreditLineApplication(7, application_inputs.features, pd=Decimal("0.05")), POLICY)
    review = CreditLineReview(7, "change_limit", referred, reason="Guarantee", limit_minor=600_000)
    change = CreditLineChange(7, "freeze", limit_minor=600_000, grade="F", pd=Decimal("0.05"), reason="Fraud alert")
    checkout = CheckoutRequest(7, amount_minor=300_000, line_status="active", available_minor=200_000,
                               per_order_cap_minor=500_000, days_past_due=0, pd=Decimal("0.01"))
    order = OrderFinancingRequest(11, 1, 2, 1_000_000, 60, True, Decimal("0.004"), Decimal("0.015"),
                                  {"supplier_sale_count_365d": 30, "supplier_return_rate_365d": 0.05})
    receivable = ReceivableRequest(5, 2, 1, 500_000, date(2026, 10, 1), date(2026, 12, 1), date(2026, 11, 1),
                                   False, False, Decimal("0.03"), 0.04, 0)
    return [
        ("credit_line_application", application_inputs, decide_credit_line),
        ("credit_line_review", review, review_credit_line),
        ("line_change", change, change_credit_line),
        ("checkout", checkout, decide_checkout),
        ("order_financing", order, quote_order_financing),
        ("receivable_financing", receivable, quote_receivable),
        ("receivable_financing_step", ReceivableStepCase(
            9, 2, 1, date(2027, 5, 1), "paid_out", True, -5, 900_000, 12_000, 850_000, diluted_now_minor=150_000),
         decide_receivable_step),
    ]


@pytest.mark.parametrize("kind, inputs, decide", _every_kind(), ids=[k for k, _, _ in _every_kind()])
def test_every_kind_of_decision_replays_to_the_same_result(session, kind, inputs, decide):
    record = record_decision(session, kind=kind, inputs=inputs, decision=decide(inputs, POLICY), policy=POLICY,
                             actor="finance:ana")
    session.expunge_all()
    result = replay(session, record.decision_id)
    assert result.same, result.differences
    assert result.recomputed == result.stored
    assert result.differences == ()


def test_a_review_points_to_the_application_it_decides(session):
    inputs = application()
    referred_inputs = CreditLineApplication(7, inputs.features, pd=Decimal("0.05"))
    application_record = record_application(session, referred_inputs)
    review = CreditLineReview(7, "approve", decide_credit_line(referred_inputs, POLICY), reason="Known customer")
    review_record = record_decision(session, kind="credit_line_review", inputs=review,
                                    decision=review_credit_line(review, POLICY), policy=POLICY, actor="finance:ana",
                                    parent_decision_id=application_record.decision_id)
    assert get_decision(session, review_record.decision_id).parent_decision_id == application_record.decision_id


def _without_append_only_triggers(session: Session) -> None:
    """What someone with DDL rights could do: the test then plays that someone."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE decisions DISABLE TRIGGER decisions_append_only"))
    else:
        session.execute(text("DROP TRIGGER decisions_no_update"))


def test_tampering_with_a_stored_input_is_reported_by_replay(session):
    record = record_application(session)
    tampered = dict(record.inputs, features=dict(record.inputs["features"], tenure_days=30))
    _without_append_only_triggers(session)
    session.execute(update(DecisionRecord).where(DecisionRecord.decision_id == record.decision_id)
                    .values(inputs=tampered))
    session.expunge_all()
    result = replay(session, record.decision_id)
    assert not result.same
    assert result.recomputed["outcome"] == "decline"
    changed = {d.field: (d.stored, d.recomputed) for d in result.differences}
    assert changed["outcome"] == ("approve", "decline")
    assert changed["limit_minor"] == (1_000_000, 0)
    assert changed["reason_codes"][1][0] == "too_new"


def test_tampering_with_a_stored_outcome_is_reported_by_replay(session):
    record = record_application(session)
    _without_append_only_triggers(session)
    session.execute(update(DecisionRecord).where(DecisionRecord.decision_id == record.decision_id)
                    .values(outcome="decline"))
    session.expunge_all()
    result = replay(session, record.decision_id)
    assert not result.same
    assert [(d.field, d.stored, d.recomputed) for d in result.differences] == [("outcome", "decline", "approve")]


def test_stored_inputs_the_function_cannot_read_are_reported_not_raised(session):
    record = record_application(session)
    _without_append_only_triggers(session)
    session.execute(update(DecisionRecord).where(DecisionRecord.decision_id == record.decision_id)
                    .values(inputs=dict(record.inputs, pd="1.5")))
    session.expunge_all()
    result = replay(session, record.decision_id)
    assert not result.same and result.recomputed is None
    assert result.differences[-1].field == "inputs"


def test_the_database_refuses_to_update_a_decision(session):
    record = record_application(session)
    with pytest.raises(DBAPIError, match="append-only"):
        with session.begin_nested():
            session.execute(update(DecisionRecord).where(DecisionRecord.decision_id == record.decision_id)
                            .values(outcome="decline"))


def test_the_database_refuses_to_delete_a_decision_or_a_policy(session):
    record = record_application(session)
    with pytest.raises(DBAPIError, match="append-only"):
        with session.begin_nested():
            session.execute(delete(DecisionRecord).where(DecisionRecord.decision_id == record.decision_id))
    with pytest.raises(DBAPIError, match="append-only"):
        with session.begin_nested():
            session.execute(delete(StoredPolicy))


def test_recording_and_replaying_only_ever_insert_and_read(session, store):
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):  # noqa: ANN001, ANN002
        statements.append(statement.lstrip().split(None, 1)[0].upper())

    event.listen(store, "before_cursor_execute", seen)
    try:
        record = record_application(session)
        record_application(session)
        session.expunge_all()
        replay(session, record.decision_id)
        get_decision(session, record.decision_id)
    finally:
        event.remove(store, "before_cursor_execute", seen)
    assert "INSERT" in statements
    assert set(statements) <= {"SELECT", "INSERT", "SAVEPOINT", "RELEASE", "BEGIN"}


def test_a_decision_replays_under_its_own_policy_after_the_policy_changes(session):
    older = edited_policy(('version: "2026-12-06.3"', 'version: "2026-11-20.1"'), ("capacity_months: \"2\"",
                                                                                    "capacity_months: \"1\""))
    record = record_application(session, policy=older)
    assert record.amount_minor == 500_000  # one month of purchases under the older policy
    record_application(session)  # the current policy is stored beside it
    session.expunge_all()
    assert load_stored_policy(session, "2026-11-20.1").content_hash == older.content_hash
    result = replay(session, record.decision_id)
    assert result.same and result.recomputed["limit_minor"] == 500_000


def test_a_changed_policy_under_an_old_version_is_refused(session):
    store_policy(session, POLICY)
    changed = edited_policy(("min_limit_minor: 100_000", "min_limit_minor: 200_000"))
    with pytest.raises(PolicyVersionConflict, match="new version"):
        store_policy(session, changed)


def test_a_policy_is_stored_once_however_many_decisions_use_it(session):
    record_application(session)
    record_application(session)
    assert session.query(StoredPolicy).count() == 1


def test_a_decision_its_inputs_do_not_produce_is_refused(session):
    inputs = application()
    other = decide_credit_line(application(tenure_days=30), POLICY)
    with pytest.raises(DecisionMismatch):
        record_decision(session, kind="credit_line_application", inputs=inputs, decision=other, policy=POLICY,
                        actor="x")


def test_inputs_of_another_kind_are_refused(session):
    inputs = application()
    with pytest.raises(ValueError, match="CheckoutRequest"):
        record_decision(session, kind="checkout", inputs=inputs, decision=decide_credit_line(inputs, POLICY),
                        policy=POLICY, actor="x")


def test_a_request_that_is_not_json_is_refused(session):
    with pytest.raises(ValueError, match="JSON"):
        record_decision(
            session, kind="credit_line_application", inputs=application(),
            decision=decide_credit_line(application(), POLICY), policy=POLICY, actor="x",
            request={"amount": float("nan")})


def test_replaying_an_unknown_decision_is_a_lookup_error(session):
    with pytest.raises(LookupError):
        replay(session, "00000000-0000-0000-0000-000000000000")


def test_a_policy_stored_in_a_rolled_back_transaction_is_stored_again(session):
    record_application(session)
    session.rollback()  # the policy's row went with it
    record_application(session)
    assert session.query(StoredPolicy).count() == 1


def test_the_stored_policy_is_looked_up_once_per_transaction(tmp_path, migrated_sqlite):
    # SQLite's trace callback sees every statement, those run on the driver's cursor too
    engine = make_engine(copy_of(migrated_sqlite, tmp_path / "trail.db"))
    statements: list[str] = []
    try:
        with Session(engine) as session:
            session.connection().connection.driver_connection.set_trace_callback(statements.append)
            for _ in range(3):
                record_application(session)
            session.commit()
            record_application(session)  # a new transaction: looked up again
            session.rollback()
    finally:
        engine.dispose()
    # Worked out: one look-up in each of the two transactions (three decisions without the rule: four)
    assert sum(s.lstrip().startswith("SELECT policies.content_hash") for s in statements) == 2
