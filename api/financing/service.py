"""Financing over HTTP: gather a quote's inputs from the store, quote, audit, and book an accepted request.

Inputs: both firms' PDs under the champion (:mod:`api.firms.service`), the supplier's
fulfilment and return record and the debtor's return rate from their latest score snapshot,
the invoice's outstanding amount, dispute and age now, and the exposures
(:mod:`credit.financing.exposure`): the product's own on each firm (its caps), and each firm's
whole exposure as debtor and as supplier (the concentration caps). A quote records its
decision and books nothing; a request books an approved quote in the same unit of work.

Concurrency: a request begins with ``BEGIN IMMEDIATE`` on SQLite (one writer at a time) and on
PostgreSQL locks both firms whose caps it checks (:func:`credit.financing.exposure.lock_firms`,
``SELECT ... FOR UPDATE`` in id order) before it reads an exposure, so two requests never both
fit under one cap; opening or raising a credit line takes the same firm lock. An invoice (or
order) is financed at most once: the second request sees the first booking and is declined
``invoice_already_financed``; the UNIQUE constraint on ``financings.invoice_id`` backs this
should anything slip past. The invoice of an order financed (and not cancelled) is already
financed too: the order's advance is carried by it (:mod:`credit.financing.orders`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.decisions.schemas import next_actions_out, reasons_out
from api.financing.schemas import OrderFinancingIn, OrderFinancingOut, ReceivableIn, ReceivableOut
from api.firms import service as firms
from api.kit.auth import Caller
from api.kit.db import take_write_lock
from api.kit.errors import Conflict, NotFound
from api.kit.money import from_minor
from credit.audit import record_decision
from credit.decisions import (
    SUPPLIER_RECORD_FEATURES,
    OrderFinancingRequest,
    ReceivableRequest,
    quote_order_financing,
    quote_receivable,
)
from credit.decisions.outcome import as_share
from credit.decisions.pricing import annual_rate
from credit.financing import journal
from credit.financing.exposure import firm_exposure, lock_firms, product_exposure
from credit.financing.tables import Financing
from credit.models.serving import ServingModel
from credit.policy import Policy
from credit.store.tables import Dispute, Invoice, Order, Payment, Return


def order_financing(session: Session, caller: Caller, body: OrderFinancingIn, policy: Policy, model: ServingModel,
                    now: datetime, *, book: bool) -> OrderFinancingOut:
    """Quote (``book=False``) or request (``book=True``) an advance against a purchase order.

    Raises
    ------
    NotFound
        ``order_not_found``; ``unknown_firm``: the supplier or buyer id is no firm's.
    Conflict
        ``order_parties_mismatch``, ``amount_above_order``, ``order_already_financed`` (on a
        request), ``firm_not_scored``.
    """
    take_write_lock(session)
    order = session.get(Order, body.order_id)
    if order is None:
        raise NotFound(f"Order {body.order_id} does not exist.", code="order_not_found")
    if (order.supplier_id, order.buyer_id) != (body.supplier_id, body.buyer_id):
        for firm_id in (body.supplier_id, body.buyer_id):
            firms.require_firm(session, firm_id)  # a typo is 404 unknown_firm, not another firm's order
        raise Conflict(f"Order {order.order_id} is from supplier {order.supplier_id} to buyer {order.buyer_id}.",
                       code="order_parties_mismatch")
    if body.amount > order.amount_minor:
        raise Conflict(f"Order {order.order_id} is worth {from_minor(order.amount_minor)}; {from_minor(body.amount)} "
                       "cannot be financed against it.", code="amount_above_order")
    if book:
        lock_firms(session, order.buyer_id, order.supplier_id)
        booked = session.execute(select(Financing.financing_id).where(Financing.order_id == order.order_id)).scalar()
        if booked is not None:
            raise Conflict(f"Order {order.order_id} is already financed (financing {booked}).",
                           code="order_already_financed", details={"financing_id": booked})
    buyer = firms.required_score(session, model, order.buyer_id)
    supplier = firms.required_score(session, model, order.supplier_id)
    inputs = OrderFinancingRequest(
        order_id=order.order_id, buyer_id=order.buyer_id, supplier_id=order.supplier_id, po_value_minor=body.amount,
        tenor_days=body.tenor_days, po_confirmed=order.confirmed_at is not None and order.cancelled_at is None,
        buyer_pd=firms.pd_decimal(buyer), supplier_pd=firms.pd_decimal(supplier),
        supplier_record={name: supplier.features.get(name) for name in SUPPLIER_RECORD_FEATURES},
        buyer_exposure_minor=product_exposure(session, "order", buyer_id=order.buyer_id),
        supplier_exposure_minor=product_exposure(session, "order", supplier_id=order.supplier_id),
        debtor_total_exposure_minor=firm_exposure(session, order.buyer_id).as_debtor,
        supplier_total_exposure_minor=firm_exposure(session, order.supplier_id).as_supplier)
    quote = quote_order_financing(inputs, policy)
    record = record_decision(
        session, kind="order_financing", inputs=inputs, decision=quote, policy=policy, actor=caller.actor,
        firm_id=order.supplier_id, model_name=model.name, model_version=model.version,
        request=body.model_dump(mode="json") | {"booking": book}, now=now)
    financing_id = None
    if book and quote.outcome == "approve":
        pd = 1 - (1 - inputs.buyer_pd) * (1 - inputs.supplier_pd)
        financing_id = _book(session, Financing(
            kind="order", decision_id=record.decision_id, supplier_id=order.supplier_id, buyer_id=order.buyer_id,
            order_id=order.order_id, face_minor=body.amount, advance_minor=quote.advance_minor,
            fee_minor=quote.fee_minor, annual_rate=str(annual_rate(pd, policy.order_financing.fee)), recourse=True,
            tenor_days=quote.tenor_days, due_on=now.date() + timedelta(days=quote.tenor_days), status="approved",
            actor=caller.actor, created_at=now, updated_at=now),
            "order_already_financed", f"Order {order.order_id} is already financed.")
    return OrderFinancingOut(
        decision_id=record.decision_id, status=_status(book, quote.outcome), outcome=quote.outcome,
        order_id=order.order_id, supplier_id=order.supplier_id, buyer_id=order.buyer_id,
        buyer_grade=quote.buyer_grade, supplier_grade=quote.supplier_grade, advance_rate=quote.advance_rate,
        advance=quote.advance_minor, fee_rate=quote.fee_rate, fee=quote.fee_minor, tenor_days=quote.tenor_days,
        reason_codes=reasons_out(quote.reason_codes), next_actions=next_actions_out(quote.next_actions),
        model_version=model.version, policy_version=policy.version, financing_id=financing_id)


def receivable_financing(session: Session, caller: Caller, body: ReceivableIn, policy: Policy, model: ServingModel,
                         now: datetime, *, book: bool) -> ReceivableOut:
    """Quote (``book=False``) or request (``book=True``) an advance against an unpaid invoice.

    Raises
    ------
    NotFound
        ``invoice_not_found``.
    Conflict
        ``firm_not_scored`` (the debtor or the creditor), ``invoice_already_financed`` (a concurrent booking
        the checks could not see; normally a second request is a declined quote).
    """
    take_write_lock(session)
    invoice = session.get(Invoice, body.invoice_id)
    if invoice is None:
        raise NotFound(f"Invoice {body.invoice_id} does not exist.", code="invoice_not_found")
    if book:
        lock_firms(session, invoice.buyer_id, invoice.supplier_id)
    paid = session.execute(select(func.coalesce(func.sum(Payment.amount_minor), 0)).where(
        Payment.invoice_id == invoice.invoice_id, Payment.paid_at < now)).scalar_one()
    credited = session.execute(select(func.coalesce(func.sum(Return.amount_minor), 0)).where(
        Return.invoice_id == invoice.invoice_id, Return.returned_at < now)).scalar_one()
    disputed = session.execute(select(Dispute.dispute_id).where(
        (Dispute.invoice_id == invoice.invoice_id) | (Dispute.order_id == invoice.order_id),
        Dispute.resolution.is_(None), Dispute.opened_at < now).limit(1)).first() is not None
    # an invoice is financed once: as a receivable, or as the invoice of an order financed (not cancelled) that
    # carries, or will carry, its advance
    financed = session.execute(select(Financing.financing_id).where(
        (Financing.invoice_id == invoice.invoice_id)
        | ((Financing.kind == "order") & (Financing.order_id == invoice.order_id)
           & (Financing.status != "cancelled"))).limit(1)).first() is not None
    debtor = firms.required_score(session, model, invoice.buyer_id)
    creditor = firms.required_score(session, model, invoice.supplier_id)
    inputs = ReceivableRequest(
        invoice_id=invoice.invoice_id, creditor_id=invoice.supplier_id, debtor_id=invoice.buyer_id,
        outstanding_minor=max(invoice.amount_minor - int(paid) - int(credited), 0),
        issued_on=invoice.issued_at.date(), due_on=invoice.due_at.date(), as_of=now.date(), disputed=disputed,
        already_financed=financed, debtor_pd=firms.pd_decimal(debtor),
        debtor_return_rate=_share(debtor.features.get("buyer_return_rate_365d")),
        debtor_exposure_minor=product_exposure(session, "receivable", buyer_id=invoice.buyer_id),
        debtor_total_exposure_minor=firm_exposure(session, invoice.buyer_id).as_debtor,
        creditor_pd=firms.pd_decimal(creditor),
        supplier_total_exposure_minor=firm_exposure(session, invoice.supplier_id).as_supplier)
    quote = quote_receivable(inputs, policy)
    record = record_decision(
        session, kind="receivable_financing", inputs=inputs, decision=quote, policy=policy, actor=caller.actor,
        firm_id=invoice.supplier_id, model_name=model.name, model_version=model.version,
        request=body.model_dump(mode="json") | {"booking": book}, now=now)
    financing_id = None
    if book and quote.outcome == "approve":
        financing_id = _book(session, Financing(
            kind="receivable", decision_id=record.decision_id, supplier_id=invoice.supplier_id,
            buyer_id=invoice.buyer_id, invoice_id=invoice.invoice_id, face_minor=inputs.outstanding_minor,
            advance_minor=quote.advance_minor, reserve_minor=inputs.outstanding_minor - quote.advance_minor,
            fee_minor=quote.fee_minor, recourse=policy.receivables.recourse[quote.debtor_grade] == "recourse",
            tenor_days=max(quote.tenor_days, 1),
            due_on=invoice.due_at.date() + timedelta(days=policy.receivables.collection_days), status="approved",
            actor=caller.actor, created_at=now, updated_at=now),
            "invoice_already_financed", f"Invoice {invoice.invoice_id} is already financed.")
    return ReceivableOut(
        decision_id=record.decision_id, status=_status(book, quote.outcome), outcome=quote.outcome,
        invoice_id=invoice.invoice_id, creditor_id=invoice.supplier_id, debtor_id=invoice.buyer_id,
        outstanding=inputs.outstanding_minor, eligibility_reasons=reasons_out(quote.eligibility_reasons),
        debtor_grade=quote.debtor_grade, dilution_reserve_rate=quote.dilution_reserve_rate,
        risk_haircut_rate=quote.risk_haircut_rate, advance_rate=quote.advance_rate, advance=quote.advance_minor,
        fee_rate=quote.fee_rate, fee=quote.fee_minor, tenor_days=quote.tenor_days,
        reason_codes=reasons_out(quote.reason_codes), next_actions=next_actions_out(quote.next_actions),
        model_version=model.version, policy_version=policy.version, financing_id=financing_id)


def _book(session: Session, financing: Financing, code: str, message: str) -> int:
    try:
        journal.add(session, financing)
    except IntegrityError as exc:
        raise Conflict(message, code=code) from exc
    return financing.financing_id


def _share(value: object):  # noqa: ANN202
    # a snapshot may hold "inf" (no purchases but credit notes): no usable rate, the reserve's maximum applies
    if isinstance(value, str):
        return None
    return as_share(value, "debtor_return_rate") if value is not None else None


def _status(book: bool, outcome: str) -> str:
    if outcome == "decline":
        return "declined"
    return "booked" if book else "quoted"
