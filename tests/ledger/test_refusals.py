"""Declines and refusals: the right machine code, a message naming the amounts, nothing written."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from credit.ledger import (
    Balances,
    LedgerError,
    authorize,
    balances,
    capture,
    change_limit,
    close_line,
    freeze,
    get_hold,
    open_line,
    refund,
    repay,
    unfreeze,
    void,
)
from credit.ledger.tables import LedgerTransfer
from tests.ledger.factories import T0, make_firm, make_line


def _refused(code, call, *args, **kwargs) -> LedgerError:
    with pytest.raises(LedgerError) as refused:
        call(*args, **kwargs)
    assert refused.value.code == code, refused.value.message
    return refused.value


def _transfers(session) -> int:
    return session.execute(select(func.count()).select_from(LedgerTransfer)).scalar_one()


def test_authorize_beyond_available_is_declined_with_the_amounts_and_holds_nothing(session):
    line = make_line(session, limit_minor=100_000)
    authorize(session, line, 80_000, order_reference="PO-1", now=T0)
    before = _transfers(session)

    decline = _refused("limit_exceeded", authorize, session, line, 20_001, order_reference="PO-2", now=T0)

    assert "200.01 EUR" in decline.message and "available 200.00 EUR" in decline.message
    assert decline.details["available_minor"] == 20_000
    assert balances(session, line) == Balances(100_000, 0, 80_000)
    assert _transfers(session) == before


def test_exactly_the_available_amount_is_authorized(session):
    line = make_line(session, limit_minor=100_000)
    authorize(session, line, 80_000, order_reference="PO-1", now=T0)
    assert authorize(session, line, 20_000, order_reference="PO-2", now=T0).balances.available_minor == 0


def test_per_order_cap_declines_a_large_order_even_with_headroom(session):
    line = make_line(session, limit_minor=100_000, per_order_cap_minor=25_000)
    decline = _refused("per_order_cap_exceeded", authorize, session, line, 25_001, order_reference="PO-1", now=T0)
    assert "250.01 EUR" in decline.message and "cap 250.00 EUR" in decline.message
    assert authorize(session, line, 25_000, order_reference="PO-2", now=T0).amount_minor == 25_000


def test_frozen_line_declines_new_orders_but_settles_existing_ones(session):
    line = make_line(session, limit_minor=100_000)
    hold = authorize(session, line, 40_000, order_reference="PO-1", now=T0)
    freeze(session, line, now=T0)

    _refused("line_frozen", authorize, session, line, 1, order_reference="PO-2", now=T0)
    capture(session, hold.hold_id, 30_000, now=T0)
    void(session, hold.hold_id, now=T0)
    repay(session, line, 10_000, now=T0)
    assert balances(session, line) == Balances(100_000, 20_000, 0)

    unfreeze(session, line, now=T0)
    assert authorize(session, line, 1, order_reference="PO-3", now=T0).balances.pending_minor == 1


def test_unknown_and_closed_lines_are_declined(session):
    _refused("no_line", authorize, session, 987_654, 100, order_reference="PO-1", now=T0)
    line = make_line(session, limit_minor=10_000)
    close_line(session, line, now=T0)
    _refused("line_closed", authorize, session, line, 100, order_reference="PO-2", now=T0)
    _refused("line_closed", change_limit, session, line, 20_000, now=T0)


def test_a_line_with_exposure_cannot_close(session):
    line = make_line(session, limit_minor=10_000)
    authorize(session, line, 100, order_reference="PO-1", now=T0)
    assert "pending 1.00 EUR" in _refused("line_not_empty", close_line, session, line, now=T0).message


def test_a_hold_asked_for_by_one_party_is_not_found_for_another(session):
    line = make_line(session)
    hold = authorize(session, line, 100, order_reference="PO-1", authorized_by="storefront-a", now=T0)

    assert get_hold(session, hold.hold_id, authorized_by="storefront-a").amount_minor == 100
    assert get_hold(session, hold.hold_id).amount_minor == 100
    refusal = _refused("hold_not_found", get_hold, session, hold.hold_id, authorized_by="storefront-b")
    assert refusal.message == f"Hold {hold.hold_id} does not exist." and refusal.details == {"hold_id": hold.hold_id}


def test_capture_cannot_exceed_what_the_hold_still_reserves(session):
    line = make_line(session)
    hold = authorize(session, line, 30_000, order_reference="PO-1", now=T0)
    capture(session, hold.hold_id, 20_000, now=T0)

    refusal = _refused("capture_exceeds_hold", capture, session, hold.hold_id, 10_001, now=T0)

    assert "100.00 EUR of 300.00 EUR remains" in refusal.message
    assert get_hold(session, hold.hold_id).captured_minor == 20_000


def test_a_closed_hold_cannot_be_captured_or_voided_again(session):
    line = make_line(session)
    hold = authorize(session, line, 30_000, order_reference="PO-1", now=T0)
    void(session, hold.hold_id, now=T0)
    _refused("hold_not_pending", capture, session, hold.hold_id, 1, now=T0)
    _refused("hold_not_pending", void, session, hold.hold_id, now=T0)
    _refused("hold_not_found", capture, session, 987_654, 1, now=T0)
    _refused("hold_not_found", void, session, 987_654, now=T0)


def test_a_hold_past_its_expiry_cannot_be_captured_even_before_the_sweep(session):
    line = make_line(session)
    hold = authorize(session, line, 30_000, order_reference="PO-1", now=T0, hold_for=timedelta(hours=1))
    _refused("hold_expired", capture, session, hold.hold_id, 1, now=T0 + timedelta(hours=1))
    # Voiding an expired-but-unswept hold releases the same amount the sweep would.
    assert void(session, hold.hold_id, now=T0 + timedelta(hours=2)).released_minor == 30_000


def test_refund_is_bounded_by_what_was_captured_on_the_order(session):
    line = make_line(session)
    hold = authorize(session, line, 30_000, order_reference="PO-1", now=T0)
    capture(session, hold.hold_id, 10_000, now=T0)
    refund(session, hold.hold_id, 4_000, now=T0)

    refusal = _refused("refund_exceeds_captured", refund, session, hold.hold_id, 6_001, now=T0)

    assert "at most 60.00 EUR" in refusal.message
    assert balances(session, line) == Balances(100_000, 6_000, 20_000)


def test_refund_after_the_buyer_repaid_exceeds_posted_and_changes_nothing(session):
    line = make_line(session)
    hold = authorize(session, line, 30_000, order_reference="PO-1", now=T0)
    capture(session, hold.hold_id, 30_000, now=T0)
    repay(session, line, 25_000, now=T0)

    refusal = _refused("exceeds_posted", refund, session, hold.hold_id, 10_000, now=T0)

    assert "only 50.00 EUR is posted" in refusal.message
    assert get_hold(session, hold.hold_id).refunded_minor == 0
    assert balances(session, line) == Balances(100_000, 5_000, 0)


def test_repayment_cannot_exceed_posted_exposure(session):
    line = make_line(session)
    authorize(session, line, 30_000, order_reference="PO-1", now=T0)  # held, not posted
    refusal = _refused("exceeds_posted", repay, session, line, 1, now=T0)
    assert "only 0.00 EUR is posted" in refusal.message
    _refused("no_line", repay, session, 987_654, 1, now=T0)


def test_limit_cannot_drop_below_posted_plus_pending(session):
    line = make_line(session, limit_minor=100_000)
    hold = authorize(session, line, 50_000, order_reference="PO-1", now=T0)
    capture(session, hold.hold_id, 20_000, now=T0)

    refusal = _refused("limit_below_exposure", change_limit, session, line, 49_999, now=T0)

    assert "posted 200.00 EUR + pending 300.00 EUR = 500.00 EUR" in refusal.message
    assert balances(session, line).limit_minor == 100_000


@pytest.mark.parametrize("amount", [0, -1, 1.5, Decimal("10"), True, "100", None])
def test_amounts_must_be_positive_integer_minor_units(session, amount):
    line = make_line(session)
    hold = authorize(session, line, 100, order_reference="PO-1", now=T0)
    for call in (lambda: authorize(session, line, amount, order_reference="PO-2", now=T0),
                 lambda: capture(session, hold.hold_id, amount, now=T0),
                 lambda: refund(session, hold.hold_id, amount, now=T0),
                 lambda: repay(session, line, amount, now=T0)):
        _refused("invalid_amount", call)


def test_one_line_per_firm_and_only_for_a_known_firm(session):
    firm = make_firm(session)
    open_line(session, firm_id=firm, limit_minor=1_000, currency="EUR", now=T0)
    _refused("line_exists", open_line, session, firm_id=firm, limit_minor=2_000, currency="EUR", now=T0)
    _refused("no_firm", open_line, session, firm_id=987_654, limit_minor=2_000, currency="EUR", now=T0)
    _refused("invalid_amount", open_line, session, firm_id=make_firm(session), limit_minor=-1, currency="EUR")
