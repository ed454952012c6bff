"""After a charge-off: returned payments and refunds on written-off receivables.

The charge-off here is booked the way the daily servicing job books it at default (open
principal to ``charged_off_minor``, status ``charged_off``, a ``charge_off`` transfer, the line
closed): ``credit/servicing/run.py`` is not on main yet. Amounts are worked out by hand; the
default policy has the merchant pay the terms fee, so only principal is owed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from credit import ledger
from credit.servicing import receivables, repayments
from credit.servicing.amounts import PRINCIPAL_OWED, RECEIVABLES
from credit.servicing.errors import RefundExceedsReceivables
from tests.ledger.factories import make_line
from tests.servicing.book import POLICY, order, receivable, ship

T0 = datetime(2027, 1, 10, 9, 0)
CHARGED_OFF_AT = T0 + timedelta(days=125)


def _charge_off(session: Session, line_id: int, now: datetime) -> int:
    """Write off the line's live receivables and close it, as the daily job does at default; returns the amount."""
    r = RECEIVABLES.c
    live = (r.line_id == line_id, r.status.not_in(("charged_off", "recovered", "rescheduled")))
    amount = int(session.execute(select(func.sum(PRINCIPAL_OWED)).where(*live)).scalar_one())
    session.execute(update(RECEIVABLES).where(*live)
                    .values(charged_off_minor=r.charged_off_minor + PRINCIPAL_OWED, status="charged_off"))
    ledger.charge_off(session, line_id, amount, reference="charge-off", now=now)
    ledger.close_line(session, line_id, now=now)
    return amount


def _receive(session, line_id, amount, reference, now):  # noqa: ANN001, ANN202
    return repayments.receive(session, line_id=line_id, amount_minor=amount, reference=reference,
                              received_by="payments-system", policy=POLICY, now=now)


@pytest.fixture
def written_off(session: Session):  # noqa: ANN201
    """A line whose 80,000 order was paid 30,000 and then charged off (50,000); yields (session, line, hold, rid, paid)."""
    line = make_line(session, limit_minor=100_000)
    hold = order(session, line, 80_000, reference="PO-1", now=T0)
    rid = ship(session, hold, 80_000, reference="S-1", now=T0)
    paid = _receive(session, line, 30_000, "PAY-1", T0 + timedelta(days=1))
    assert _charge_off(session, line, CHARGED_OFF_AT) == 50_000
    yield session, line, hold, rid, paid


def test_a_payment_returned_after_the_charge_off_is_written_off_with_the_rest(written_off):
    # Was: the reversal went to recovered_minor (0 - 30,000) and the CHECK refused it (a 500 at the API).
    session, line, _, rid, paid = written_off
    repayments.return_repayment(session, paid.repayment_id, reason="chargeback", policy=POLICY,
                                now=CHARGED_OFF_AT + timedelta(days=1))
    r = receivable(session, rid)
    # owed again: 80,000, all of it realised loss (50,000 + 30,000); the closed line's exposure stays 0
    assert (r.paid_principal_minor, r.charged_off_minor, r.recovered_minor, r.status) == (0, 80_000, 0, "charged_off")
    assert ledger.balances(session, line).posted_minor == 0
    assert ledger.reconcile(session).ok


def test_a_returned_recovery_is_no_longer_recovered(written_off):
    session, _, _, rid, _ = written_off
    recovery = _receive(session, written_off[1], 20_000, "PAY-2", CHARGED_OFF_AT + timedelta(days=3))
    assert (receivable(session, rid).recovered_minor, receivable(session, rid).charged_off_minor) == (20_000, 50_000)
    repayments.return_repayment(session, recovery.repayment_id, reason="insufficient_funds", policy=POLICY,
                                now=CHARGED_OFF_AT + timedelta(days=5))
    r = receivable(session, rid)
    assert (r.paid_principal_minor, r.charged_off_minor, r.recovered_minor, r.status) == (30_000, 50_000, 0, "charged_off")


def test_a_refund_cannot_reach_an_order_whose_receivables_were_charged_off(written_off):
    # Was: with no live receivable left the refund went to the ledger, which refused it as
    # `exceeds_posted` ("the buyer has repaid the rest"); with other orders posted it would have lowered theirs.
    session, _, hold, rid, _ = written_off
    with pytest.raises(RefundExceedsReceivables, match="its receivables not charged off carry 0"):
        receivables.book_refund(session, hold_id=hold, amount_minor=10_000, reference="CN-1", authorized_by=None,
                                now=CHARGED_OFF_AT + timedelta(days=1))
    assert receivable(session, rid).refunded_minor == 0
