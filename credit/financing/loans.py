"""Transaction-flow loans after the offer: acceptance and payout, repayment by withholding, minimums, write-off.

**Acceptance** (:func:`accept_offer`) books an open, unexpired offer as a ``loan`` financing
(borrower ``supplier_id``, no buyer) for the amount asked (at most the offer's; the flat fee pro
rata, ``offer fee x amount / offer amount`` rounded half up; the minimum ``ceil((amount + fee) /
periods)``), pays it out that day (:func:`credit.financing.journal.pay_out`) and charges its
flat fee as one ``fee`` entry. Under the firm's row lock
(:func:`credit.financing.exposure.lock_firms`) it re-checks the supplier concentration cap
(``concentration.per_supplier_minor`` of the grade the offer was decided at) against the firm's
exposure as supplier now, so concurrent bookings cannot both fit; the offer becomes
``accepted`` (a second acceptance is refused; ``financings.offer_id`` is UNIQUE besides).

**Repayment.** The daily job :func:`run_day` withholds ``withholding_rate`` (rounded half up,
capped at what is owed) of each later sale of the borrower settled through the marketplace:
the ingested payments on invoices it issued, paid on or after the value date and before the
end of ``as_of``, each booked once as a ``collection`` with source ``payment:<id>``
(:func:`credit.financing.lifecycle.receive`: principal first, then the fee). The borrower may
prepay or pay off at any time (:func:`repay`, source ``api:<reference>``); more than is owed is
refused. The fee is flat: paying early saves nothing, and :func:`payoff` is principal plus fee left.

**Minimum.** Period k ends on ``value_date + k x period_days``; by the end of that day the loan
must have repaid (principal and fee, collected or recovered) at least ``min(k x minimum,
amount + fee)``. The first period end whose minimum is not met is the loan's **missed-minimum
date**: ``value_date + (floor(repaid / minimum) + 1) x period_days`` (every earlier minimum is
met by construction). :func:`decide_loan_step` (pure, audited as ``loan_step``) moves a loan
behind its minimum to ``overdue``, an overdue loan that caught up back to ``paid_out``, and one
behind for more than ``loans.default_days`` after its missed-minimum date to ``written_off``
(its principal and fee left booked as ``write_off`` entries). While overdue the firm is in
arrears from that date (:mod:`credit.standing.sql`), so checkout refuses it credit.

Everything here flushes into the caller's unit of work and never commits; :func:`run_day` is
idempotent per day (sources are unique per loan, steps follow the status).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal

from sqlalchemy import String, and_, cast, exists, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from credit import clock
from credit.audit.tables import DecisionRecord
from credit.decisions.outcome import RuleFired, ordered_next_actions, ordered_reason_codes
from credit.financing import journal, lifecycle
from credit.financing.errors import FinancingError, FinancingNotFound
from credit.financing.exposure import firm_exposure, lock_firms
from credit.financing.journal import Amounts, Entry
from credit.financing.tables import OPEN_STATUSES, Financing, FinancingEntry, LoanOffer
from credit.money import from_minor, round_half_up
from credit.policy import Policy
from credit.store.tables import Invoice, Payment

SERVICED: tuple[str, ...] = ("paid_out", "overdue")
"""Loan statuses the daily job withholds on and checks against the minimum."""


# --- what can be refused ---------------------------------------------------------------------------------------


class LoanNotFound(FinancingNotFound):
    code = "loan_not_found"

    def __init__(self, loan_id: int) -> None:
        FinancingError.__init__(self, f"Loan {loan_id} does not exist.")
        self.financing_id = loan_id


class OfferNotFound(FinancingNotFound):
    code = "loan_offer_not_found"

    def __init__(self, offer_id: int) -> None:
        FinancingError.__init__(self, f"Loan offer {offer_id} does not exist.")
        self.financing_id = None
        self.offer_id = offer_id


class OfferAlreadyAccepted(FinancingError):
    code = "offer_already_accepted"

    def __init__(self, offer_id: int, loan_id: int | None) -> None:
        super().__init__(f"Loan offer {offer_id} was already accepted" + (f" (loan {loan_id})." if loan_id else "."))
        self.offer_id = offer_id
        self.loan_id = loan_id


class OfferNotOpen(FinancingError):
    code = "offer_not_open"

    def __init__(self, offer_id: int, status: str, expires_on: date) -> None:
        why = f"expired on {expires_on}" if status in ("open", "expired") else status
        super().__init__(f"Loan offer {offer_id} can no longer be accepted: {why}.")
        self.offer_id = offer_id
        self.status = status


class LoanAlreadyOpen(FinancingError):
    code = "loan_already_open"

    def __init__(self, firm_id: int, loan_id: int) -> None:
        super().__init__(f"Firm {firm_id} already has loan {loan_id} open; one loan at a time.")
        self.firm_id = firm_id
        self.loan_id = loan_id


class AmountAboveOffer(FinancingError):
    code = "amount_above_offer"

    def __init__(self, offer_id: int, amount_minor: int, offered_minor: int) -> None:
        super().__init__(f"{from_minor(amount_minor)} is more than the {from_minor(offered_minor)} "
                         f"loan offer {offer_id} offers.")
        self.amount_minor = amount_minor
        self.offered_minor = offered_minor


class AmountBelowMinimum(FinancingError):
    code = "amount_below_minimum"

    def __init__(self, amount_minor: int, minimum_minor: int) -> None:
        super().__init__(f"{from_minor(amount_minor)} is less than the smallest loan, {from_minor(minimum_minor)}.")
        self.amount_minor = amount_minor
        self.minimum_minor = minimum_minor


class SupplierCapExceeded(FinancingError):
    code = "supplier_concentration_cap"

    def __init__(self, firm_id: int, amount_minor: int, exposure_minor: int, cap_minor: int) -> None:
        headroom = max(cap_minor - exposure_minor, 0)
        super().__init__(f"A loan of {from_minor(amount_minor)} would take firm {firm_id}'s exposure as supplier "
                         f"({from_minor(exposure_minor)}) past its cap of {from_minor(cap_minor)}; at most "
                         f"{from_minor(headroom)} can be lent now.")
        self.firm_id = firm_id
        self.headroom_minor = headroom


class DuplicateRepayment(FinancingError):
    code = "duplicate_reference"

    def __init__(self, loan_id: int, reference: str) -> None:
        super().__init__(f"A repayment with reference {reference!r} is already booked on loan {loan_id}.")
        self.loan_id = loan_id
        self.reference = reference


# --- acceptance, prepayment, payoff ----------------------------------------------------------------------------


def loan_terms(offer: LoanOffer, amount_minor: int, periods: int) -> tuple[int, int]:
    """The fee (the offer's, pro rata, half up) and the minimum per period for borrowing ``amount_minor``."""
    fee = round_half_up(Decimal(offer.fee_minor) * amount_minor / offer.amount_minor)
    return fee, math.ceil((amount_minor + fee) / periods)


def accept_offer(session: Session, offer_id: int, *, amount_minor: int | None, policy: Policy, actor: str,
                 now: datetime) -> Financing:
    """Book and pay out a loan on an open offer (see the module); flushed, not committed.

    Raises
    ------
    OfferNotFound, OfferAlreadyAccepted, OfferNotOpen (expired or withdrawn), LoanAlreadyOpen,
    AmountAboveOffer, AmountBelowMinimum, SupplierCapExceeded
    """
    seen = session.get(LoanOffer, offer_id)
    if seen is None:
        raise OfferNotFound(offer_id)
    lock_firms(session, seen.firm_id)
    offer = session.execute(select(LoanOffer).where(LoanOffer.offer_id == offer_id).with_for_update()
                            .execution_options(populate_existing=True)).scalar_one()
    today = now.date()
    if offer.status == "accepted":
        loan = session.execute(select(Financing.financing_id).where(Financing.offer_id == offer_id)).scalar()
        raise OfferAlreadyAccepted(offer_id, loan)
    if offer.status != "open" or offer.expires_on < today:
        raise OfferNotOpen(offer_id, offer.status, offer.expires_on)
    open_loan = session.execute(select(Financing.financing_id).where(
        Financing.kind == "loan", Financing.supplier_id == offer.firm_id, Financing.status.in_(OPEN_STATUSES))
        .limit(1)).scalar()
    if open_loan is not None:
        raise LoanAlreadyOpen(offer.firm_id, open_loan)
    amount = offer.amount_minor if amount_minor is None else amount_minor
    if amount > offer.amount_minor:
        raise AmountAboveOffer(offer_id, amount, offer.amount_minor)
    if amount < policy.loans.min_amount_minor:
        raise AmountBelowMinimum(amount, policy.loans.min_amount_minor)
    decided = session.get(DecisionRecord, offer.decision_id)
    grade, periods = decided.grade, int(decided.result["periods"])
    exposure = firm_exposure(session, offer.firm_id).as_supplier
    cap = policy.concentration.per_supplier_minor[grade]
    if exposure + amount > cap:
        raise SupplierCapExceeded(offer.firm_id, amount, exposure, cap)
    fee, minimum = loan_terms(offer, amount, periods)
    loan = Financing(
        kind="loan", decision_id=offer.decision_id, supplier_id=offer.firm_id, offer_id=offer_id, face_minor=amount,
        advance_minor=amount, fee_minor=fee, withholding_rate=offer.withholding_rate, minimum_minor=minimum,
        period_days=offer.period_days, recourse=False, tenor_days=periods * offer.period_days,
        due_on=today + timedelta(days=periods * offer.period_days), status="approved", actor=actor,
        created_at=now, updated_at=now)
    try:
        journal.add(session, loan)
    except IntegrityError as exc:  # the offer's UNIQUE: a booking the checks above could not see
        raise OfferAlreadyAccepted(offer_id, None) from exc
    offer.status = "accepted"
    # the payout charges the flat fee with it (fee:flat, on the day)
    journal.pay_out(session, loan.financing_id, reference=f"loan-offer:{offer_id}", value_date=today, actor=actor,
                    now=now)
    return loan


def lock_loan(session: Session, loan_id: int) -> Financing:
    """The loan, its row locked.

    Raises
    ------
    LoanNotFound
        Also for a financing of another product.
    """
    try:
        loan = journal.lock(session, loan_id)
    except FinancingNotFound:
        raise LoanNotFound(loan_id) from None
    if loan.kind != "loan":
        raise LoanNotFound(loan_id)
    return loan


def repay(session: Session, loan_id: int, amount_minor: int, *, reference: str, policy: Policy, actor: str,
          now: datetime) -> Financing:
    """Book a prepayment or payoff the borrower sent (source ``api:<reference>``); settles a loan repaid.

    Raises
    ------
    LoanNotFound, DuplicateRepayment, NotPaidOut, FinancingClosed, ExceedsOwed (``amount_exceeds_owed``)
    """
    loan = lock_loan(session, loan_id)
    source = f"api:{reference}"
    if source in journal.booked_sources(session, loan_id):
        raise DuplicateRepayment(loan_id, reference)
    lifecycle.receive(session, loan_id, amount_minor, kind="collection", source=source, booked_on=now.date(),
                      actor=actor, now=now, policy=policy)
    return loan


def payoff(session: Session, loan_id: int) -> Amounts:
    """What settles the loan today: its principal and fee left (``outstanding``, ``fee_owed``, ``owed``).

    Raises
    ------
    LoanNotFound
    """
    loan = session.get(Financing, loan_id, populate_existing=True)
    if loan is None or loan.kind != "loan":
        raise LoanNotFound(loan_id)
    return journal.amounts(loan)


def repaid_minor(amounts: Amounts) -> int:
    """Principal and fee repaid so far (collected from sales or the borrower, or recovered)."""
    return amounts.collected + amounts.recovered + amounts.fee_collected + amounts.fee_recovered


def missed_minimum_on(value_date: date, period_days: int, minimum_minor: int, repaid: int) -> date:
    """The end of the first period whose minimum ``repaid`` does not meet: value date + (repaid // minimum + 1) periods.
    """
    return value_date + timedelta(days=(repaid // minimum_minor + 1) * period_days)


# --- the daily minimum check, a pure decision ------------------------------------------------------------------


@dataclass(frozen=True)
class LoanStepCase:
    """One loan at the end of a business day, as the minimum rules read it.

    Attributes
    ----------
    financing_id, firm_id : int
        The loan and its borrower.
    as_of : date
        The business day.
    value_date : date
        The payout's value date; period k ends on value_date + k x period_days.
    period_days, minimum_minor : int
        The loan's minimum: ``minimum_minor`` more repaid by the end of each period.
    total_minor : int
        Amount lent plus the flat fee: the most any minimum asks.
    repaid_minor : int
        Principal and fee repaid so far.
    status : {"paid_out", "overdue"}
    outstanding_minor, fee_owed_minor : int
        Principal and fee still owed (what a write-off books).
    """

    financing_id: int
    firm_id: int
    as_of: date
    value_date: date
    period_days: int
    minimum_minor: int
    total_minor: int
    repaid_minor: int
    status: Literal["paid_out", "overdue"]
    outstanding_minor: int
    fee_owed_minor: int

    def __post_init__(self) -> None:
        for name in ("total_minor", "repaid_minor", "outstanding_minor", "fee_owed_minor"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"`{name}` must be an integer >= 0 (minor units); got {value!r}.")
        for name in ("period_days", "minimum_minor"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be an integer >= 1; got {value!r}.")


@dataclass(frozen=True)
class LoanStepDecision:
    """The step due on a loan today (None: nothing to do; such a decision is not recorded).

    ``required_minor`` is what the periods ended by ``as_of`` ask; ``missed_on`` the loan's
    missed-minimum date when it is behind; the write-off amounts are set with ``write_off``.
    """

    financing_id: int
    step: Literal["overdue", "cure", "write_off"] | None
    periods_ended: int
    required_minor: int
    missed_on: date | None
    days_overdue: int
    write_off_minor: int = 0
    fee_write_off_minor: int = 0
    outcome: Literal["approve"] = "approve"
    rules_fired: tuple[RuleFired, ...] = ()
    reason_codes: tuple[str, ...] = ()
    next_actions: tuple[str, ...] = ()

    @property
    def amounts(self) -> dict[str, int]:
        return {"required_minor": self.required_minor, "write_off_minor": self.write_off_minor,
                "fee_write_off_minor": self.fee_write_off_minor}

    @property
    def total_write_off_minor(self) -> int | None:
        return self.write_off_minor + self.fee_write_off_minor if self.step == "write_off" else None


def decide_loan_step(case: LoanStepCase, policy: Policy) -> LoanStepDecision:
    """Overdue, cured or written off, by the loan's repayments against its minimum (see the module)."""
    periods_ended = max((case.as_of - case.value_date).days // case.period_days, 0)
    required = min(periods_ended * case.minimum_minor, case.total_minor)
    behind = case.repaid_minor < required
    if not behind:
        if case.status == "overdue":
            rule = RuleFired("loan_minimum_caught_up", f"repaid {case.repaid_minor} >= {required} due after "
                                                       f"{periods_ended} periods")
            return LoanStepDecision(case.financing_id, "cure", periods_ended, required, None, 0, rules_fired=(rule,),
                                    reason_codes=ordered_reason_codes((rule,)))
        return LoanStepDecision(case.financing_id, None, periods_ended, required, None, 0)
    missed = missed_minimum_on(case.value_date, case.period_days, case.minimum_minor, case.repaid_minor)
    days = (case.as_of - missed).days
    fired: list[RuleFired] = []
    if case.status == "paid_out":
        fired.append(RuleFired("loan_minimum_missed", f"repaid {case.repaid_minor} < {required} due after "
                                                      f"{periods_ended} periods; behind since {missed}"))
    if days > policy.loans.default_days:
        fired.append(RuleFired("loan_written_off", f"{days} days behind the minimum > {policy.loans.default_days}: "
                                                   f"principal {case.outstanding_minor} and fee "
                                                   f"{case.fee_owed_minor} written off"))
        return LoanStepDecision(case.financing_id, "write_off", periods_ended, required, missed, days,
                                case.outstanding_minor, case.fee_owed_minor, rules_fired=tuple(fired),
                                reason_codes=ordered_reason_codes(fired),
                                next_actions=ordered_next_actions(("contact_finance",)))
    if case.status == "paid_out":
        return LoanStepDecision(case.financing_id, "overdue", periods_ended, required, missed, days,
                                rules_fired=tuple(fired), reason_codes=ordered_reason_codes(fired),
                                next_actions=ordered_next_actions(("repay_loan_minimum",)))
    return LoanStepDecision(case.financing_id, None, periods_ended, required, missed, days)


def step_case(loan: Financing, as_of: date) -> LoanStepCase:
    """A loan's :class:`LoanStepCase` from its cached totals."""
    amounts = journal.amounts(loan)
    return LoanStepCase(
        financing_id=loan.financing_id, firm_id=loan.supplier_id, as_of=as_of, value_date=loan.value_date,
        period_days=loan.period_days, minimum_minor=loan.minimum_minor, total_minor=loan.advance_minor + loan.fee_minor,
        repaid_minor=repaid_minor(amounts), status=loan.status, outstanding_minor=amounts.outstanding,
        fee_owed_minor=amounts.fee_owed)


# --- the daily job -----------------------------------------------------------------------------------------------


def unbooked_sales(session: Session, as_of: date) -> dict[int, list[tuple[int, datetime, int]]]:
    """Each serviced loan's sales not yet withheld on: (payment id, paid at, amount), oldest first (one query)."""
    from credit.servicing.run import end_of_day  # not at the top: credit.servicing.run imports the audit trail

    source = literal("payment:", String) + cast(Payment.payment_id, String)
    booked = exists().where(FinancingEntry.financing_id == Financing.financing_id, FinancingEntry.source == source)
    rows = session.execute(
        select(Financing.financing_id, Payment.payment_id, Payment.paid_at, Payment.amount_minor)
        .join(Invoice, Invoice.invoice_id == Payment.invoice_id)
        .join(Financing, and_(Financing.supplier_id == Invoice.supplier_id, Financing.kind == "loan",
                              Financing.status.in_(SERVICED)))
        .where(Payment.paid_at >= Financing.value_date, Payment.paid_at < end_of_day(as_of), ~booked)
        .order_by(Financing.financing_id, Payment.paid_at, Payment.payment_id)).all()
    sales: dict[int, list[tuple[int, datetime, int]]] = defaultdict(list)
    for loan_id, payment_id, paid_at, amount in rows:
        sales[loan_id].append((payment_id, paid_at, amount))
    return sales


def run_day(session: Session, as_of: date, policy: Policy, *, actor: str = "financing") -> dict[str, int]:
    """Withhold on the day's sales, then check every serviced loan against its minimum (see the module).

    Flushed, not committed; on SQLite bind the session with ``sqlite_begin="IMMEDIATE"`` when the
    service may write meanwhile.

    Returns
    -------
    dict of str to int
        ``withheld`` (sales withheld on) and ``withheld_minor``, ``settled``, ``overdue``, ``cured``,
        ``written_off`` and ``written_off_minor`` (principal and fee), ``decisions``.
    """
    if not isinstance(as_of, date) or isinstance(as_of, datetime):
        raise TypeError(f"`as_of` must be a date; got {as_of!r}.")
    from credit.audit import record_decision  # credit.audit.kinds imports this module: not at its top

    now = clock.now()
    counts: Counter[str] = Counter()
    for loan_id, sales in sorted(unbooked_sales(session, as_of).items()):
        loan = lock_loan(session, loan_id)
        rate = Decimal(loan.withholding_rate)
        for payment_id, paid_at, amount in sales:
            if loan.status not in SERVICED:
                break
            withheld = min(round_half_up(rate * amount), journal.amounts(loan).owed)
            if withheld <= 0:
                continue
            lifecycle.receive(session, loan_id, withheld, kind="collection", source=f"payment:{payment_id}",
                              booked_on=paid_at.date(), actor=actor, now=now, policy=policy)
            counts["withheld"] += 1
            counts["withheld_minor"] += withheld
        if loan.status == "settled":
            counts["settled"] += 1
    loan_ids = session.execute(select(Financing.financing_id).where(
        Financing.kind == "loan", Financing.status.in_(SERVICED), Financing.value_date <= as_of)
        .order_by(Financing.financing_id)).scalars().all()
    for loan_id in loan_ids:
        loan = lock_loan(session, loan_id)
        if loan.status not in SERVICED:
            continue
        case = step_case(loan, as_of)
        decision = decide_loan_step(case, policy)
        if decision.step is None:
            continue
        record = record_decision(session, kind="loan_step", inputs=case, decision=decision, policy=policy,
                                 actor=actor, request={"as_of": as_of.isoformat(), "loan_id": loan_id}, now=now)
        counts["decisions"] += 1
        if decision.step == "write_off":
            journal.post(session, loan, [
                Entry("write_off", "principal", decision.write_off_minor, f"day:{as_of.isoformat()}:write_off"),
                Entry("write_off", "fee", decision.fee_write_off_minor, f"day:{as_of.isoformat()}:write_off:fee")],
                booked_on=as_of, actor=actor, now=now, decision_id=record.decision_id, status="written_off")
            counts["written_off"] += 1
            counts["written_off_minor"] += decision.total_write_off_minor
        else:
            journal.post(session, loan, [], booked_on=as_of, actor=actor, now=now, decision_id=record.decision_id,
                         status="overdue" if decision.step == "overdue" else "paid_out")
            counts["overdue" if decision.step == "overdue" else "cured"] += 1
    session.flush()
    return {name: count for name, count in counts.items() if count}
