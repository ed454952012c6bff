"""The book's receivables: a capture creates one, a refund reduces it; terms and their fee.

A **capture** (goods shipped) moves part of a hold to posted exposure and books what the
buyer owes for it: principal = the captured amount, issued now, due after the terms chosen at
authorization (``holds.terms_days``; the policy's default when the hold has none), and the
terms fee the policy prices (:func:`terms_fee`): owed by the buyer on the receivable, or
recorded as the merchant's fee (deducted from its payout), as ``servicing.terms.fee_payer``
says. A buyer's credit balance then pays it at once (:func:`credit.servicing.repayments.apply_credit`).

A **refund** (the seller takes goods back, or a credit note) reduces the principal of the
order's receivables, newest capture first: first what is still owed (exposure falls by it),
then what the buyer already paid, which goes back to the buyer's credit balance. A refund
cannot reach receivables already charged off.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from credit import ledger
from credit.ledger.journal import HOLDS, LINES, require_positive
from credit.money import round_half_up, shown
from credit.policy import Policy
from credit.servicing import status
from credit.servicing.allocation import Allocation, book, lock_line, net_allocations
from credit.servicing.amounts import RECEIVABLES
from credit.servicing.errors import RefundExceedsReceivables, TermsNotAllowed
from credit.servicing.repayments import apply_credit


def terms_fee(policy: Policy, terms_days: int, amount_minor: int) -> int:
    """The fee for ``terms_days`` on ``amount_minor``: the policy's rate times the amount, rounded half up."""
    return round_half_up(policy.document.servicing.terms.fee_rates[terms_days] * amount_minor)


def allowed_terms(policy: Policy, grade: str | None) -> tuple[int, ...]:
    """Payment terms (days) the policy offers a buyer of this grade (None: not graded yet)."""
    terms = policy.document.servicing.terms
    return terms.ungraded_days if grade is None else terms.allowed_days[grade]


def choose_terms(policy: Policy, grade: str | None, requested: int | None) -> int:
    """The terms of an authorization: the requested ones if allowed for the grade, else the default.

    Raises
    ------
    TermsNotAllowed
        The requested terms are not offered to this grade (``terms_not_allowed``), or no terms
        were requested and the default is not offered to it.
    """
    allowed = allowed_terms(policy, grade)
    terms = policy.document.servicing.terms.default_days if requested is None else requested
    if terms not in allowed:
        if requested is None:
            terms = min(allowed)
        else:
            raise TermsNotAllowed(
                f"Net {requested} is not offered to a buyer graded {grade or 'ungraded'}; allowed: "
                f"{', '.join(f'net {d}' for d in allowed)}.", terms_days=requested, grade=grade,
                allowed=list(allowed))
    return terms


def book_capture(session: Session, *, hold_id: int, amount_minor: int, shipment_reference: str,
                 authorized_by: str | None, policy: Policy, now: datetime) -> tuple[ledger.HoldState, int]:
    """Capture part of a hold and book the buyer's receivable for it; one unit of work.

    Returns
    -------
    (HoldState, int)
        The hold after the capture and the new receivable's id.

    Raises
    ------
    The errors of :func:`credit.ledger.capture`.
    """
    hold = ledger.capture(session, hold_id, amount_minor, reference=shipment_reference,
                          authorized_by=authorized_by, now=now)
    terms_days, firm_id = session.execute(
        select(HOLDS.c.terms_days, LINES.c.firm_id).join(LINES, LINES.c.line_id == HOLDS.c.line_id)
        .where(HOLDS.c.hold_id == hold_id)).one()
    terms = policy.document.servicing.terms
    terms_days = terms_days or terms.default_days
    fee = terms_fee(policy, terms_days, amount_minor)
    buyer_pays = terms.fee_payer == "buyer"
    receivable_id = session.execute(insert(RECEIVABLES).values(
        line_id=hold.line_id, firm_id=firm_id, hold_id=hold_id, parent_id=None, kind="terms",
        shipment_reference=shipment_reference, terms_days=terms_days, issued_at=now,
        due_at=now + timedelta(days=terms_days), principal_minor=amount_minor, refunded_minor=0, rescheduled_minor=0,
        fee_minor=fee if buyer_pays else 0, merchant_fee_minor=0 if buyer_pays else fee, late_fee_minor=0,
        paid_principal_minor=0, paid_fee_minor=0, paid_late_fee_minor=0, charged_off_minor=0, recovered_minor=0,
        status="open", created_at=now, updated_at=now,
    ).returning(RECEIVABLES.c.receivable_id)).scalar_one()
    apply_credit(session, hold.line_id, policy, now)
    return hold, receivable_id


def book_refund(session: Session, *, hold_id: int, amount_minor: int, reference: str | None,
                authorized_by: str | None, now: datetime) -> ledger.HoldState:
    """Book a seller's refund on an order: its receivables shrink, exposure falls by what was still owed.

    Raises
    ------
    The errors of :func:`credit.ledger.refund`, and
    RefundExceedsReceivables
        More than the order's receivables not charged off still carry (``refund_exceeds_receivables``).
    """
    require_positive(amount_minor)
    hold = ledger.get_hold(session, hold_id, authorized_by=authorized_by)
    # FOR NO KEY UPDATE, like the ledger's UPDATEs of the hold: a plain FOR UPDATE also blocks the
    # foreign-key checks (FOR KEY SHARE) of a repayment that holds the line and updates this
    # hold's receivable twice (paid, then status), while we wait for the line: a deadlock.
    session.execute(select(HOLDS.c.hold_id).where(HOLDS.c.hold_id == hold_id).with_for_update(key_share=True))
    lock_line(session, hold.line_id)
    r = RECEIVABLES.c
    booked = session.execute(
        select(r.receivable_id, (r.principal_minor - r.refunded_minor - r.rescheduled_minor).label("refundable"),
               r.paid_principal_minor, r.status)
        .where(r.hold_id == hold_id).order_by(r.receivable_id.desc())).all()
    rows = [row for row in booked if row.status not in ("rescheduled", "charged_off", "recovered")]
    refundable = sum(int(row.refundable) for row in rows)
    # A hold with no receivables was captured before servicing: the ledger alone decides.
    if booked and amount_minor > refundable:
        raise RefundExceedsReceivables(
            f"Cannot refund {shown(amount_minor)} on hold {hold_id}: its receivables not charged off carry "
            f"{shown(refundable)}.",
            hold_id=hold_id, amount_minor=amount_minor, refundable_minor=refundable)
    left, reopened, given_back, taken = amount_minor, 0, [], {}
    for row in rows:
        take = min(left, int(row.refundable))
        if not take:
            continue
        owed = int(row.refundable) - row.paid_principal_minor
        from_paid = max(0, take - owed)  # the buyer had paid for these goods: its money goes back to credit
        if from_paid:
            given_back += _give_back(session, row.receivable_id, from_paid)
            reopened += from_paid
        taken[row.receivable_id] = take
        left -= take
        if not left:
            break
    # The paid principal given back first (the receivable's CHECK counts paid and refunded together),
    # off the ledger: the refund's own UPDATE moves posted by amount - reopened in one statement.
    book(session, hold.line_id, given_back, reason="refund", now=now, written_off=set(), ledger_moves=False)
    for receivable_id, take in taken.items():
        session.execute(update(RECEIVABLES).where(r.receivable_id == receivable_id)
                        .values(refunded_minor=r.refunded_minor + take, updated_at=now))
    touched = list(taken)
    refunded = ledger.refund(session, hold_id, amount_minor, reference=reference, authorized_by=authorized_by,
                             reopened_minor=reopened, now=now)
    status.refresh(session, touched, now)
    return refunded


def _give_back(session: Session, receivable_id: int, amount_minor: int) -> list[Allocation]:
    """Reversals of the receivable's principal allocations worth ``amount_minor``, newest money first."""
    reversals, left = [], amount_minor
    for allocation in net_allocations(session, receivable_id=receivable_id):
        if allocation.part != "principal" or allocation.amount_minor <= 0:
            continue
        take = min(left, allocation.amount_minor)
        reversals.append(Allocation(allocation.repayment_id, receivable_id, "principal", -take))
        left -= take
        if not left:
            break
    return reversals
