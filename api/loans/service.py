"""Loans over HTTP: read a firm's offer, and hand acceptances and repayments to :mod:`credit.financing.loans`.

Writes begin with ``BEGIN IMMEDIATE`` on SQLite (one writer at a time); on PostgreSQL the
library locks the firm (acceptance: its supplier concentration cap) and the loan's row. The
library's refusals (:class:`credit.financing.errors.FinancingError`) reach the client through
the app's handler: not found 404, the rest 409 with their code.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.decisions.schemas import next_actions_out, reasons_out
from api.firms import service as firms
from api.kit.auth import Caller
from api.kit.db import take_write_lock
from api.loans.schemas import AcceptanceIn, LoanOffersOut, LoanOfferOut, LoanOut, PayoffOut, RepaymentIn
from credit.audit.tables import DecisionRecord
from credit.financing import journal, loans
from credit.financing.offers import latest_offer_decisions
from credit.financing.tables import OPEN_STATUSES, Financing, LoanOffer
from credit.policy import Policy


def offers(session: Session, firm_id: int, today: date) -> LoanOffersOut:
    """The firm's open offer not past its expiry, or none and why (404 ``unknown_firm``)."""
    firms.require_firm(session, firm_id)
    offer = session.execute(select(LoanOffer).where(
        LoanOffer.firm_id == firm_id, LoanOffer.status == "open", LoanOffer.expires_on >= today)
        .order_by(LoanOffer.offer_id.desc()).limit(1)).scalar()
    if offer is not None:
        decided = session.get(DecisionRecord, offer.decision_id)
        return LoanOffersOut(firm_id=firm_id, offers=[LoanOfferOut(
            offer_id=offer.offer_id, firm_id=firm_id, decision_id=offer.decision_id, as_of=offer.as_of,
            trailing_sales=offer.trailing_sales_minor, amount=offer.amount_minor, fee=offer.fee_minor,
            withholding_rate=offer.withholding_rate, minimum=offer.minimum_minor, period_days=offer.period_days,
            periods=int(decided.result["periods"]), expires_on=offer.expires_on)], reason_codes=[], next_actions=[])
    open_loan = session.execute(select(Financing.financing_id).where(
        Financing.kind == "loan", Financing.supplier_id == firm_id, Financing.status.in_(OPEN_STATUSES))
        .limit(1)).scalar()
    if open_loan is not None:
        codes, actions = ("loan_already_open",), ()
    else:
        last = latest_offer_decisions(session, [firm_id]).get(firm_id)
        if last is None:
            codes, actions = ("loan_offer_not_computed",), ()
        elif last.outcome == "decline":
            codes, actions = tuple(last.reason_codes), tuple(last.next_actions)
        else:
            codes, actions = ("loan_offer_lapsed",), ()
    return LoanOffersOut(firm_id=firm_id, offers=[], reason_codes=reasons_out(codes),
                         next_actions=next_actions_out(actions))


def loan_out(loan: Financing) -> LoanOut:
    amounts = journal.amounts(loan)
    return LoanOut(
        loan_id=loan.financing_id, firm_id=loan.supplier_id, offer_id=loan.offer_id, status=loan.status,
        amount=loan.advance_minor, fee=loan.fee_minor, withholding_rate=loan.withholding_rate,
        minimum=loan.minimum_minor, period_days=loan.period_days, value_date=loan.value_date,
        principal_outstanding=amounts.outstanding, fee_owed=amounts.fee_owed, repaid=loans.repaid_minor(amounts))


def accept(session: Session, caller: Caller, offer_id: int, body: AcceptanceIn, policy: Policy,
           now: datetime) -> LoanOut:
    """Book and pay out the loan an offer offers (see :func:`credit.financing.loans.accept_offer`)."""
    take_write_lock(session)
    loan = loans.accept_offer(session, offer_id, amount_minor=body.amount, policy=policy, actor=caller.actor, now=now)
    return loan_out(loan)


def repay(session: Session, caller: Caller, loan_id: int, body: RepaymentIn, policy: Policy, now: datetime) -> LoanOut:
    """Book a prepayment or payoff (see :func:`credit.financing.loans.repay`)."""
    take_write_lock(session)
    loan = loans.repay(session, loan_id, body.amount, reference=body.reference, policy=policy, actor=caller.actor,
                       now=now)
    return loan_out(loan)


def payoff(session: Session, loan_id: int, today: date) -> PayoffOut:
    """Principal and fee left on the loan (404 ``loan_not_found``)."""
    amounts = loans.payoff(session, loan_id)
    loan = session.get(Financing, loan_id)
    return PayoffOut(loan_id=loan_id, as_of=today, status=loan.status, principal=amounts.outstanding,
                     fee=amounts.fee_owed, total=amounts.owed)
