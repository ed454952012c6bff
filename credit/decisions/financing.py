"""Financing quotes: advances against confirmed purchase orders and against unpaid invoices.

Pure functions like :mod:`credit.decisions.credit_line`: the caller brings grades' PDs, the
supplier's record, the current exposures from the ledger and the policy. A quote that is
accepted is booked by the caller against the same exposure caps.

Two kinds of cap cut an advance to what is left under them, each reported when it binds:

* the product's own caps (``order_financing.exposure_caps``, ``receivables.concentration_caps_minor``),
  on that product's exposure alone;
* one exposure (``concentration.per_debtor_minor`` / ``per_supplier_minor`` by the firm's grade),
  on everything the firm owes (its credit line at its limit, the advances on its orders and
  invoices) and everything advanced to it (its orders' and invoices' advances, its loans):
  :mod:`credit.financing.exposure`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from credit.decisions.outcome import (
    FeatureValue,
    RuleFired,
    as_probability,
    as_share,
    feature_decimal,
    ordered_next_actions,
    ordered_reason_codes,
    plain_features,
)
from credit.decisions.pricing import fee_minor, fee_rate, floor_minor
from credit.policy import Policy

QuoteOutcome = Literal["approve", "decline"]

SUPPLIER_RECORD_FEATURES = ("supplier_sale_count_365d", "supplier_cancellation_rate_365d",
                            "supplier_return_rate_365d", "supplier_dispute_rate_365d")
"""Panel features of the supplier's fulfilment and return record the order-financing rules read."""


def _non_negative(value: int, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"`{name}` must be an integer >= 0; got {value!r}.")


def _cut_to_cap(advance: int, code: str, cap: int, exposure: int, fired: list[RuleFired], what: str = "") -> int:
    """``advance`` cut to ``cap - exposure`` (at least 0), recording ``code`` when the cap binds."""
    headroom = max(cap - exposure, 0)
    if advance > headroom:
        fired.append(RuleFired(code, f"advance {advance} > {what}cap {cap} - exposure {exposure} = {headroom}"))
        return headroom
    return advance


def _cut_to_concentration(advance: int, policy: Policy, fired: list[RuleFired], *, debtor_grade: str,
                          debtor_exposure: int, supplier_grade: str | None, supplier_exposure: int) -> int:
    """``advance`` cut to the debtor's and then the supplier's headroom under the one-exposure caps.

    ``supplier_grade`` None: the supplier's grade is not known (a decision recorded before the
    supplier cap was read), so only the debtor's cap applies.
    """
    caps = policy.concentration
    advance = _cut_to_cap(advance, "debtor_concentration_cap", caps.per_debtor_minor[debtor_grade], debtor_exposure,
                          fired, f"all products, grade {debtor_grade}: ")
    if supplier_grade is not None:
        advance = _cut_to_cap(advance, "supplier_concentration_cap", caps.per_supplier_minor[supplier_grade],
                              supplier_exposure, fired, f"all products, grade {supplier_grade}: ")
    return advance


@dataclass(frozen=True)
class OrderFinancingRequest:
    """A request to finance a purchase order.

    Attributes
    ----------
    order_id, buyer_id, supplier_id : int
    po_value_minor : int
        The order's value.
    tenor_days : int
        Days from the advance to repayment (order to the buyer's payment).
    po_confirmed : bool
        Whether the supplier confirmed the order.
    buyer_pd, supplier_pd : Decimal
        The champion's PDs of both firms.
    supplier_record : mapping
        The supplier's :data:`SUPPLIER_RECORD_FEATURES` as of now (missing rates count as 0,
        a missing sales count as no sales).
    buyer_exposure_minor, supplier_exposure_minor : int
        Order-financing advances outstanding on each firm, from the exposure ledger.
    debtor_total_exposure_minor : int
        The buyer's whole exposure as debtor, every product
        (:attr:`credit.financing.exposure.FirmExposure.as_debtor`); 0 in decisions recorded before
        the one-exposure caps.
    supplier_total_exposure_minor : int
        The supplier's whole exposure as supplier, every product (``as_supplier``).
    """

    order_id: int
    buyer_id: int
    supplier_id: int
    po_value_minor: int
    tenor_days: int
    po_confirmed: bool
    buyer_pd: Decimal
    supplier_pd: Decimal
    supplier_record: Mapping[str, FeatureValue]
    buyer_exposure_minor: int = 0
    supplier_exposure_minor: int = 0
    debtor_total_exposure_minor: int = 0
    supplier_total_exposure_minor: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "buyer_pd", as_probability(self.buyer_pd, "buyer_pd"))
        object.__setattr__(self, "supplier_pd", as_probability(self.supplier_pd, "supplier_pd"))
        object.__setattr__(self, "supplier_record", plain_features(self.supplier_record))
        for name in ("po_value_minor", "buyer_exposure_minor", "supplier_exposure_minor",
                     "debtor_total_exposure_minor", "supplier_total_exposure_minor"):
            _non_negative(getattr(self, name), name)
        if isinstance(self.tenor_days, bool) or not isinstance(self.tenor_days, int) or self.tenor_days < 1:
            raise ValueError(f"`tenor_days` must be an integer >= 1; got {self.tenor_days!r}.")


@dataclass(frozen=True)
class OrderFinancingQuote:
    """An order-financing quote.

    Attributes
    ----------
    outcome : {"approve", "decline"}
    buyer_grade, supplier_grade : str
    advance_rate : Decimal
        Share of the PO value advanced after supplier-record adjustments (before caps).
    advance_minor : int
        Amount advanced, after exposure caps; 0 when declined.
    fee_rate : Decimal
        Fee as a share of the advance; 0 when declined.
    fee_minor : int
    tenor_days : int
    rules_fired, reason_codes, next_actions : tuple
        As in :class:`credit.decisions.credit_line.CreditLineDecision`.
    """

    outcome: QuoteOutcome
    buyer_grade: str
    supplier_grade: str
    advance_rate: Decimal
    advance_minor: int
    fee_rate: Decimal
    fee_minor: int
    tenor_days: int
    rules_fired: tuple[RuleFired, ...] = ()
    reason_codes: tuple[str, ...] = ()
    next_actions: tuple[str, ...] = ()

    @property
    def amounts(self) -> dict[str, int]:
        return {"advance_minor": self.advance_minor, "fee_minor": self.fee_minor}


def quote_order_financing(request: OrderFinancingRequest, policy: Policy) -> OrderFinancingQuote:
    """Quote an advance against a confirmed purchase order.

    advance rate = rate(buyer grade, supplier grade) minus each supplier-record adjustment
    whose metric is above its threshold; advance = rate x PO value rounded down, then cut to
    the buyer's and the supplier's remaining order-financing caps, then to the buyer's remaining
    debtor and the supplier's remaining supplier concentration caps (every product, by each
    one's grade). Declined when the PO is not
    confirmed, the tenor is too long, the supplier's track record is too short, the grade
    pair is not financed, the rate falls below the minimum, or the advance below the minimum.
    Fee rate: :func:`credit.decisions.pricing.fee_rate` on PD = 1 - (1 - buyer PD)(1 - supplier
    PD), as either side failing loses the advance.

    Returns
    -------
    OrderFinancingQuote
    """
    rules = policy.order_financing
    buyer_grade = policy.grade_of(request.buyer_pd)
    supplier_grade = policy.grade_of(request.supplier_pd)
    record = request.supplier_record
    fired: list[RuleFired] = []
    refused: list[RuleFired] = []

    if not request.po_confirmed:
        refused.append(RuleFired("po_not_confirmed", f"order {request.order_id} not confirmed"))
    if request.tenor_days > rules.max_tenor_days:
        refused.append(RuleFired("tenor_too_long", f"{request.tenor_days} days > {rules.max_tenor_days}"))
    sales = feature_decimal(record, "supplier_sale_count_365d", missing=Decimal(0))
    if sales < rules.supplier_record.min_sales_count_365d:
        refused.append(RuleFired("supplier_track_record_short",
                                 f"{sales} sales in 365 days < {rules.supplier_record.min_sales_count_365d}"))
    base_rate = rules.advance_rates[buyer_grade][supplier_grade]
    if base_rate == 0:
        refused.append(RuleFired("grade_pair_not_financed", f"buyer {buyer_grade}, supplier {supplier_grade}"))

    rate = base_rate
    for adjustment in rules.supplier_record.adjustments:
        value = feature_decimal(record, adjustment.metric, missing=Decimal(0))
        if value > adjustment.above:
            rate -= adjustment.deduct
            fired.append(RuleFired("supplier_record_adjustment",
                                   f"{adjustment.metric} {value} > {adjustment.above}: -{adjustment.deduct}"))
    rate = max(rate, Decimal(0))
    if base_rate > 0 and rate < rules.min_advance_rate:
        refused.append(RuleFired("advance_rate_below_minimum", f"{rate} < {rules.min_advance_rate}"))

    advance = floor_minor(rate * request.po_value_minor)
    caps = rules.exposure_caps
    advance = _cut_to_cap(advance, "buyer_exposure_cap", caps.per_buyer_minor, request.buyer_exposure_minor, fired)
    advance = _cut_to_cap(advance, "supplier_exposure_cap", caps.per_supplier_minor, request.supplier_exposure_minor,
                          fired)
    advance = _cut_to_concentration(
        advance, policy, fired, debtor_grade=buyer_grade, debtor_exposure=request.debtor_total_exposure_minor,
        supplier_grade=supplier_grade, supplier_exposure=request.supplier_total_exposure_minor)
    if not refused and advance < rules.min_advance_minor:
        refused.append(RuleFired("advance_below_minimum", f"{advance} < {rules.min_advance_minor}"))

    if refused:
        fired = refused + fired
        actions = ["build_trading_history" if rule.code == "supplier_track_record_short" else "contact_finance"
                   for rule in refused]
        return OrderFinancingQuote("decline", buyer_grade, supplier_grade, rate, 0, Decimal(0), 0,
                                   request.tenor_days, tuple(fired), ordered_reason_codes(fired),
                                   ordered_next_actions(actions))

    pd = 1 - (1 - request.buyer_pd) * (1 - request.supplier_pd)
    price, at_floor = fee_rate(pd, request.tenor_days, rules.fee)
    if at_floor:
        fired.append(RuleFired("fee_at_floor", f"fee rate {price}"))
    return OrderFinancingQuote("approve", buyer_grade, supplier_grade, rate, advance, price,
                               fee_minor(advance, price), request.tenor_days, tuple(fired),
                               ordered_reason_codes(fired), ())


@dataclass(frozen=True)
class ReceivableRequest:
    """A supplier's request to finance one unpaid invoice it issued.

    Attributes
    ----------
    invoice_id, creditor_id, debtor_id : int
        The invoice, the supplier who issued it, the buyer who owes it.
    outstanding_minor : int
        Amount still unpaid on the invoice.
    issued_on, due_on, as_of : date
        Issue date, due date, and the day of the request.
    disputed : bool
        Whether a dispute is open on the invoice's order.
    already_financed : bool
        Whether the invoice is already financed (an invoice is financed at most once).
    debtor_pd : Decimal
        The champion's PD of the debtor.
    debtor_return_rate : Decimal
        The debtor's credit-note value over purchase value (``buyer_return_rate_365d``); None
        for no history (the reserve's minimum applies).
    debtor_exposure_minor : int
        Financed receivables outstanding on this debtor, from the exposure ledger.
    debtor_total_exposure_minor : int
        The debtor's whole exposure as debtor, every product
        (:attr:`credit.financing.exposure.FirmExposure.as_debtor`); 0 in decisions recorded before
        the one-exposure caps.
    creditor_pd : Decimal or None
        The champion's PD of the creditor (the supplier advanced the money), whose grade sets
        its supplier concentration cap; None in decisions recorded before that cap (not checked).
    supplier_total_exposure_minor : int
        The creditor's whole exposure as supplier, every product (``as_supplier``).
    """

    invoice_id: int
    creditor_id: int
    debtor_id: int
    outstanding_minor: int
    issued_on: date
    due_on: date
    as_of: date
    disputed: bool
    already_financed: bool
    debtor_pd: Decimal
    debtor_return_rate: Decimal | None
    debtor_exposure_minor: int = 0
    debtor_total_exposure_minor: int = 0
    creditor_pd: Decimal | None = None
    supplier_total_exposure_minor: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "debtor_pd", as_probability(self.debtor_pd, "debtor_pd"))
        object.__setattr__(self, "debtor_return_rate", as_share(self.debtor_return_rate, "debtor_return_rate"))
        if self.creditor_pd is not None:
            object.__setattr__(self, "creditor_pd", as_probability(self.creditor_pd, "creditor_pd"))
        for name in ("outstanding_minor", "debtor_exposure_minor", "debtor_total_exposure_minor",
                     "supplier_total_exposure_minor"):
            _non_negative(getattr(self, name), name)
        if self.due_on < self.issued_on:
            raise ValueError(f"`due_on` ({self.due_on}) must not be before `issued_on` ({self.issued_on}).")


@dataclass(frozen=True)
class ReceivableQuote:
    """A receivables-financing quote.

    Attributes
    ----------
    outcome : {"approve", "decline"}
    eligibility_reasons : tuple of str
        Why the invoice is not eligible (codes of POLICY_REASONS), empty if it is.
    debtor_grade : str
    dilution_reserve_rate, risk_haircut_rate : Decimal
        Deducted from the base advance rate.
    advance_rate : Decimal
        base - dilution reserve - haircut, at least 0.
    advance_minor, fee_minor : int
        0 when declined.
    fee_rate : Decimal
    tenor_days : int
        Days to the due date plus the policy's collection days.
    rules_fired, reason_codes, next_actions : tuple
    """

    outcome: QuoteOutcome
    eligibility_reasons: tuple[str, ...]
    debtor_grade: str
    dilution_reserve_rate: Decimal
    risk_haircut_rate: Decimal
    advance_rate: Decimal
    advance_minor: int
    fee_rate: Decimal
    fee_minor: int
    tenor_days: int
    rules_fired: tuple[RuleFired, ...] = ()
    reason_codes: tuple[str, ...] = ()
    next_actions: tuple[str, ...] = ()

    @property
    def eligible(self) -> bool:
        return not self.eligibility_reasons

    @property
    def amounts(self) -> dict[str, int]:
        return {"advance_minor": self.advance_minor, "fee_minor": self.fee_minor}


_ELIGIBILITY_ACTIONS = {
    "invoice_already_financed": "finance_another_invoice",
    "invoice_not_outstanding": "finance_another_invoice",
    "invoice_overdue": "finance_another_invoice",
    "invoice_disputed": "resolve_dispute",
    "invoice_too_old": "finance_another_invoice",
    "debtor_grade_too_low": "finance_another_invoice",
    "advance_below_minimum": "finance_another_invoice",
}


def quote_receivable(request: ReceivableRequest, policy: Policy) -> ReceivableQuote:
    """Quote an advance against an unpaid invoice, or say why it is not eligible.

    Eligibility, each checked and reported in this order: not already financed, something
    outstanding, not overdue (``as_of`` after ``due_on``), not disputed, at most
    ``max_invoice_age_days`` since issue, debtor grade no worse than ``min_debtor_grade``.
    advance rate = base - dilution reserve - risk haircut(debtor grade), where the reserve is
    ``multiplier`` x the debtor's return rate kept within [min_rate, max_rate]; advance =
    rate x outstanding rounded down, cut to the debtor's remaining receivables concentration cap
    (by its grade), then to the debtor's remaining debtor and the creditor's remaining supplier
    concentration caps (every product, by each one's grade). Fee:
    :func:`credit.decisions.pricing.fee_rate` on the debtor's PD over the days to the due date
    plus ``collection_days``.

    Returns
    -------
    ReceivableQuote
    """
    rules = policy.receivables
    grade = policy.grade_of(request.debtor_pd)
    age_days = (request.as_of - request.issued_on).days
    refused: list[RuleFired] = []
    if request.already_financed:
        refused.append(RuleFired("invoice_already_financed", f"invoice {request.invoice_id}"))
    if request.outstanding_minor == 0:
        refused.append(RuleFired("invoice_not_outstanding", "nothing outstanding"))
    if request.as_of > request.due_on:
        refused.append(RuleFired("invoice_overdue", f"due {request.due_on.isoformat()}, "
                                                    f"{(request.as_of - request.due_on).days} days ago"))
    if request.disputed:
        refused.append(RuleFired("invoice_disputed", "dispute open"))
    if age_days > rules.max_invoice_age_days:
        refused.append(RuleFired("invoice_too_old", f"{age_days} days since issue > {rules.max_invoice_age_days}"))
    if policy.grade_rank(grade) > policy.grade_rank(rules.min_debtor_grade):
        refused.append(RuleFired("debtor_grade_too_low", f"grade {grade} worse than {rules.min_debtor_grade}"))
    eligibility = tuple(rule.code for rule in refused)

    reserve_rules = rules.dilution_reserve
    return_rate = request.debtor_return_rate if request.debtor_return_rate is not None else Decimal(0)
    reserve = min(max(reserve_rules.multiplier * return_rate, reserve_rules.min_rate), reserve_rules.max_rate)
    haircut = rules.risk_haircuts[grade]
    rate = max(rules.base_advance_rate - reserve - haircut, Decimal(0))
    fired: list[RuleFired] = []
    if reserve > 0:
        fired.append(RuleFired("dilution_reserve", f"return rate {return_rate}: reserve {reserve}"))
    if haircut > 0:
        fired.append(RuleFired("risk_haircut", f"grade {grade}: {haircut}"))
    advance = floor_minor(rate * request.outstanding_minor)
    advance = _cut_to_cap(advance, "debtor_concentration_cap", rules.concentration_caps_minor[grade],
                          request.debtor_exposure_minor, fired)
    advance = _cut_to_concentration(
        advance, policy, fired, debtor_grade=grade, debtor_exposure=request.debtor_total_exposure_minor,
        supplier_grade=None if request.creditor_pd is None else policy.grade_of(request.creditor_pd),
        supplier_exposure=request.supplier_total_exposure_minor)
    if not refused and advance < rules.min_advance_minor:
        refused.append(RuleFired("advance_below_minimum", f"{advance} < {rules.min_advance_minor}"))
    tenor = max((request.due_on - request.as_of).days, 0) + rules.collection_days

    if refused:
        fired = refused + fired
        return ReceivableQuote("decline", eligibility, grade, reserve, haircut, rate, 0, Decimal(0), 0, tenor,
                               tuple(fired), ordered_reason_codes(fired),
                               ordered_next_actions(_ELIGIBILITY_ACTIONS[rule.code] for rule in refused))
    price, at_floor = fee_rate(request.debtor_pd, max(tenor, 1), rules.fee)
    if at_floor:
        fired.append(RuleFired("fee_at_floor", f"fee rate {price}"))
    return ReceivableQuote("approve", (), grade, reserve, haircut, rate, advance, price, fee_minor(advance, price),
                           tenor, tuple(fired), ordered_reason_codes(fired), ())
