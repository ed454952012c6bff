"""Credit lines and authorizations announce each change in the unit of work that makes it, once, with its numbers.

A buyer's line of 1,500.00 with a per-order cap of 500.00, at a fixed clock (2026-03-02 09:00):
holds, captures, a refund, a void and an expiry, each event's amounts worked out by hand.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from credit import ledger
from tests.events.recorded import one, types, written
from tests.ledger.factories import T0, make_firm

AT = "2026-03-02T09:00:00.000000Z"


def _line(session: Session, **terms: object) -> tuple[int, int]:
    firm_id = make_firm(session)
    terms = {"limit_minor": 150_000, "per_order_cap_minor": 50_000} | terms
    return firm_id, ledger.open_line(session, firm_id=firm_id, currency="EUR", now=T0, **terms)


def test_opening_a_line_announces_it_with_its_terms(session):
    firm_id, line_id = _line(session)
    event = one(session, "credit_line.opened")
    assert (event.object_type, event.object_id, event.firm_id, event.occurred_at) == (
        "credit_line", str(line_id), firm_id, T0)
    assert event.data == {"line_id": line_id, "status": "active", "frozen_by": None, "currency": "EUR",
                          "limit": "1500.00", "per_order_cap": "500.00", "posted": "0.00", "pending": "0.00",
                          "available": "1500.00"}


def test_a_new_limit_with_its_cap_is_one_change_and_a_cap_alone_another(session):
    _, line_id = _line(session)
    ledger.change_limit(session, line_id, 200_000, per_order_cap_minor=None, now=T0 + timedelta(hours=1))
    ledger.change_per_order_cap(session, line_id, 30_000, now=T0 + timedelta(hours=2))
    first, second = written(session, "credit_line.changed")
    assert (first.data["limit"], first.data["per_order_cap"], first.data["available"]) == ("2000.00", None, "2000.00")
    assert first.occurred_at == T0 + timedelta(hours=1)
    assert (second.data["limit"], second.data["per_order_cap"]) == ("2000.00", "300.00")


def test_a_limit_the_ledger_refuses_announces_nothing(session):
    _, line_id = _line(session)
    ledger.authorize(session, line_id, 40_000, order_reference="PO-1", now=T0)
    with pytest.raises(ledger.LimitBelowExposure):
        ledger.change_limit(session, line_id, 39_999, now=T0)
    assert "credit_line.changed" not in types(session)


def test_freezing_and_unfreezing_announce_the_transitions_only(session):
    firm_id, line_id = _line(session)
    ledger.freeze(session, line_id, now=T0)
    ledger.freeze(session, line_id, now=T0)                        # frozen already: no second event
    ledger.freeze(session, line_id, by="servicing", now=T0)         # a finance freeze stays: nothing changes
    assert ledger.unfreeze(session, line_id, by="servicing", now=T0) is False  # only finance lifts its freeze
    frozen = one(session, "credit_line.frozen")
    assert (frozen.firm_id, frozen.data["status"], frozen.data["frozen_by"]) == (firm_id, "frozen", "finance")
    assert "credit_line.unfrozen" not in types(session)

    assert ledger.unfreeze(session, line_id, now=T0) is True
    assert ledger.unfreeze(session, line_id, now=T0) is True       # active already: nothing to announce
    unfrozen = one(session, "credit_line.unfrozen")
    assert (unfrozen.data["status"], unfrozen.data["frozen_by"]) == ("active", None)


def test_a_returned_payment_that_takes_the_line_over_its_limit_announces_the_freeze(session):
    # limit 1,000.00: 800.00 captured, 500.00 repaid (posted 300.00), 600.00 held; the 500.00 comes back:
    # posted 800.00 + pending 600.00 = 1,400.00 > 1,000.00, available -400.00
    firm_id, line_id = _line(session, limit_minor=100_000, per_order_cap_minor=None)
    first = ledger.authorize(session, line_id, 80_000, order_reference="PO-1", now=T0)
    ledger.capture(session, first.hold_id, 80_000, now=T0)
    ledger.repay(session, line_id, 50_000, now=T0)
    ledger.authorize(session, line_id, 60_000, order_reference="PO-2", now=T0)
    ledger.reopen(session, line_id, 50_000, reference="returned", now=T0)
    frozen = one(session, "credit_line.frozen")
    assert frozen.data | {"line_id": None} == {
        "line_id": None, "status": "frozen", "frozen_by": "servicing", "currency": "EUR", "limit": "1000.00",
        "per_order_cap": None, "posted": "800.00", "pending": "600.00", "available": "-400.00"}
    ledger.reopen(session, line_id, 10_000, reference="returned too", now=T0)  # frozen already
    assert len(written(session, "credit_line.frozen")) == 1


def test_closing_an_empty_line_announces_it_once(session):
    _, line_id = _line(session)
    ledger.close_line(session, line_id, now=T0)
    ledger.close_line(session, line_id, now=T0)
    assert one(session, "credit_line.closed").data["status"] == "closed"


def test_an_authorization_announces_approval_capture_refund_and_void_with_the_hold_after_each(session):
    firm_id, line_id = _line(session)
    hold = ledger.authorize(session, line_id, 45_000, order_reference="PO-7", terms_days=60, now=T0)
    ledger.capture(session, hold.hold_id, 30_000, reference="SHIP-1", now=T0 + timedelta(days=1))
    ledger.refund(session, hold.hold_id, 5_000, reference="CN-1", now=T0 + timedelta(days=2))
    ledger.void(session, hold.hold_id, now=T0 + timedelta(days=3))
    assert types(session) == ["credit_line.opened", "authorization.approved", "authorization.captured",
                              "authorization.refunded", "authorization.voided"]
    approved, captured, refunded, voided = written(session, "authorization.approved", "authorization.captured",
                                                   "authorization.refunded", "authorization.voided")
    assert {(e.object_type, e.object_id, e.firm_id) for e in (approved, captured, refunded, voided)} == {
        ("authorization", str(hold.hold_id), firm_id)}
    expires = "2026-04-01T09:00:00.000000Z"  # 30 days after 2026-03-02 09:00
    hold_at = {"hold_id": hold.hold_id, "line_id": line_id, "order_reference": "PO-7", "currency": "EUR",
               "amount": "450.00", "expires_at": expires}
    assert approved.data == hold_at | {"status": "pending", "captured": "0.00", "released": "0.00",
                                       "refunded": "0.00", "remaining": "450.00", "terms_days": 60}
    assert captured.data == hold_at | {"status": "pending", "captured": "300.00", "released": "0.00",
                                       "refunded": "0.00", "remaining": "150.00",
                                       "capture": {"amount": "300.00", "reference": "SHIP-1"}}
    assert refunded.data == hold_at | {"status": "pending", "captured": "300.00", "released": "0.00",
                                       "refunded": "50.00", "remaining": "150.00",
                                       "refund": {"amount": "50.00", "reference": "CN-1"}}
    assert voided.data == hold_at | {"status": "closed", "captured": "300.00", "released": "150.00",
                                     "refunded": "50.00", "remaining": "0.00", "void": {"reference": None}}
    assert [e.occurred_at for e in (approved, captured, refunded, voided)] == [
        T0, T0 + timedelta(days=1), T0 + timedelta(days=2), T0 + timedelta(days=3)]


def test_holds_that_lapse_are_announced_expired_once(session):
    firm_id, line_id = _line(session)
    lapsing = ledger.authorize(session, line_id, 20_000, order_reference="PO-1", now=T0, hold_for=timedelta(days=1))
    ledger.capture(session, lapsing.hold_id, 5_000, now=T0)
    ledger.authorize(session, line_id, 10_000, order_reference="PO-2", now=T0)  # 30 days: still pending
    assert ledger.expire_holds(session, now=T0 + timedelta(days=2)) == [lapsing.hold_id]
    assert ledger.expire_holds(session, now=T0 + timedelta(days=2)) == []
    expired = one(session, "authorization.expired")
    assert (expired.object_id, expired.firm_id, expired.occurred_at) == (
        str(lapsing.hold_id), firm_id, T0 + timedelta(days=2))
    assert (expired.data["status"], expired.data["captured"], expired.data["released"],
            expired.data["remaining"]) == ("expired", "50.00", "150.00", "0.00")


def test_a_decline_at_the_ledger_and_a_rolled_back_change_announce_nothing(session):
    _, line_id = _line(session)
    before = types(session)
    with pytest.raises(ledger.PerOrderCapExceeded):
        ledger.authorize(session, line_id, 50_001, order_reference="PO-big", now=T0)
    savepoint = session.begin_nested()
    hold = ledger.authorize(session, line_id, 10_000, order_reference="PO-1", now=T0)
    ledger.capture(session, hold.hold_id, 10_000, now=T0)
    ledger.freeze(session, line_id, now=T0)
    assert types(session)[len(before):] == ["authorization.approved", "authorization.captured", "credit_line.frozen"]
    savepoint.rollback()
    assert types(session) == before == ["credit_line.opened"]
