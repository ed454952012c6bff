"""Transaction-flow loan offers (交易流水贷款): sized from a seller's platform sales, made by a daily job.

**Sales** are the money the marketplace settled to the firm as seller: the ingested ``payments``
on invoices it issued (``invoices.supplier_id``), by ``paid_at``. That is the cash flow the loan
is repaid from (a share of each later such payment is withheld, :mod:`credit.financing.loans`),
so the offer is sized on the same flow; an invoice issued and never paid is no sale. Credit
notes are not netted (a return lowers later payments, which is what the volatility sees).

For the end of the business day ``as_of`` (:func:`credit.servicing.run.end_of_day`, payments
strictly before it), the job reads, for every firm at once (one ``GROUP BY`` over payments
joined to invoices):

* **trailing sales**: payments in the ``loans.trailing_days`` before that moment;
* **monthly sales** of the 12 whole calendar months before ``as_of``'s month (the current,
  partial month would look like a drop); **active months** are those with any sale;
* **volatility**: the coefficient of variation of those 12 monthly sums (population standard
  deviation / mean, months without sales counted as 0), rounded half up to six places;

and the firm's PD from its latest ``firm_scores`` row as of that day (the batch's stored PD:
the job has no model to re-score with), and its exposure as supplier
(:func:`credit.financing.exposure`: its order and receivable advances and loans).

:func:`decide_loan_offer` (pure, audited as kind ``loan_offer``) refuses when the firm is not
scored, its grade's ``amount_share`` is 0, its trailing sales are below
``min_trailing_sales_minor``, it had sales in fewer than ``min_active_months`` of the 12 months,
or its volatility is above ``max_sales_volatility`` (no sales at all: no volatility, refused);
else

    amount  = floor(amount_share(grade) x trailing sales), cut to max_amount_minor and to the
              headroom under concentration.per_supplier_minor(grade); below min_amount_minor: none
    fee     = fee_rate(grade) x amount, rounded half up (flat: the same whatever the speed)
    minimum = ceil((amount + fee) / minimum.periods), due in every minimum.period_days

Worked: trailing sales 1,000,000.00, grade C (share 0.10, fee rate 0.06, withholding 0.12):
amount 100,000.00, fee 6,000.00, minimum ceil(106,000.00 / 6) = 17,666.67 every 60 days.

:func:`run_offers` keeps one open offer per firm. An open offer stands until its ``expires_on``
unless the day's terms are tighter (an amount more than ``reoffer_when_amount_falls`` below it,
another withholding rate or period): then a
new offer replaces it (the old one is expired); looser terms wait for the next offer, so a seller
does not see its offer change with every day's sales. When the firm
no longer qualifies its open offer is withdrawn; a firm with an open loan gets no offer. A
decision is recorded for every offer made, and for a refusal only when its reasons differ from
the firm's previous ``loan_offer`` decision (what ``GET /v1/firms/{id}/loan-offers`` shows), so
the audit trail does not grow by every firm every day. Each offer made (a first one, or one that
replaces a tighter-termed one) writes ``loan_offer.made`` (data: :func:`offer_event_data`); an
offer that stands writes nothing, so a day run again announces nothing new.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Literal

from dateutil.relativedelta import relativedelta
from sqlalchemy import and_, case, func, select, update
from sqlalchemy.orm import Session

from credit import clock
from credit.audit.tables import DecisionRecord
from credit.decisions.outcome import RuleFired, as_probability, ordered_next_actions, ordered_reason_codes
from credit.decisions.pricing import floor_minor
from credit.events import outbox
from credit.financing.exposure import AT_RISK
from credit.financing.tables import OPEN_STATUSES, Financing, LoanOffer
from credit.money import MARKETPLACE_CURRENCY, from_minor, round_half_up
from credit.policy import Policy
from credit.scoring.tables import ScoreSnapshot
from credit.store.tables import Invoice, Payment

MONTHS = 12
"""Calendar months the active-months count and the volatility look at."""
VOLATILITY_PLACES = Decimal("0.000001")

OFFERS = LoanOffer.__table__
DECISIONS = DecisionRecord.__table__


@dataclass(frozen=True)
class LoanOfferCase:
    """What the offer rules read about one seller on one business day.

    Attributes
    ----------
    firm_id : int
    as_of : date
        The business day (sales strictly before its end).
    trailing_sales_minor : int
        Payments settled to the firm in the policy's trailing window.
    monthly_sales_minor : tuple of int
        Sales of the 12 whole calendar months before ``as_of``'s month, oldest first.
    pd : Decimal or None
        The firm's PD from its latest score as of the day; None when never scored.
    supplier_exposure_minor : int
        What every product already has at risk on the firm as supplier (it was advanced).
    """

    firm_id: int
    as_of: date
    trailing_sales_minor: int
    monthly_sales_minor: tuple[int, ...]
    pd: Decimal | None
    supplier_exposure_minor: int = 0

    def __post_init__(self) -> None:
        if self.pd is not None:
            object.__setattr__(self, "pd", as_probability(self.pd, "pd"))
        object.__setattr__(self, "monthly_sales_minor", tuple(self.monthly_sales_minor))
        if len(self.monthly_sales_minor) != MONTHS:
            raise ValueError(f"`monthly_sales_minor` must have {MONTHS} months; got {len(self.monthly_sales_minor)}.")
        for name, value in (("trailing_sales_minor", self.trailing_sales_minor),
                            ("supplier_exposure_minor", self.supplier_exposure_minor),
                            *(("monthly_sales_minor", m) for m in self.monthly_sales_minor)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"`{name}` must be integers >= 0 (minor units); got {value!r}.")


@dataclass(frozen=True)
class LoanOfferDecision:
    """An offer (``approve``) or none (``decline``, with the reasons), and the numbers behind it.

    Amounts are 0 and rates 0 when declined; ``expires_on`` is None then.
    """

    outcome: Literal["approve", "decline"]
    grade: str | None
    active_months: int
    sales_volatility: Decimal | None
    amount_share: Decimal
    amount_minor: int
    fee_rate: Decimal
    fee_minor: int
    withholding_rate: Decimal
    periods: int
    period_days: int
    minimum_minor: int
    expires_on: date | None
    rules_fired: tuple[RuleFired, ...] = ()
    reason_codes: tuple[str, ...] = ()
    next_actions: tuple[str, ...] = ()

    @property
    def amounts(self) -> dict[str, int]:
        return {"amount_minor": self.amount_minor, "fee_minor": self.fee_minor, "minimum_minor": self.minimum_minor}


def sales_volatility(monthly_sales_minor: tuple[int, ...]) -> Decimal | None:
    """Coefficient of variation of monthly sales (population std / mean), six places half up; None without sales.

    Exact decimal arithmetic at 28 digits, so a replay gives the same digits on any machine.
    For (100, 300): mean 200, std 100, 0.5.
    """
    total = sum(monthly_sales_minor)
    if total == 0:
        return None
    with localcontext(Context(prec=28)):
        n = Decimal(len(monthly_sales_minor))
        mean = Decimal(total) / n
        variance = sum((Decimal(m) - mean) ** 2 for m in monthly_sales_minor) / n
        return (variance.sqrt() / mean).quantize(VOLATILITY_PLACES, rounding=ROUND_HALF_UP)


def decide_loan_offer(case: LoanOfferCase, policy: Policy) -> LoanOfferDecision:
    """The loan the firm is offered today, or why none (see the module for the rules and a worked example)."""
    rules = policy.loans
    periods, period_days = rules.minimum.periods, rules.minimum.period_days
    active = sum(1 for m in case.monthly_sales_minor if m > 0)
    volatility = sales_volatility(case.monthly_sales_minor)
    grade = policy.grade_of(case.pd) if case.pd is not None else None
    refused: list[RuleFired] = []
    fired: list[RuleFired] = []

    if case.trailing_sales_minor == 0 and active == 0:
        refused.append(RuleFired("loan_no_platform_sales", f"no payments settled to firm {case.firm_id}"))
    if grade is None:
        refused.append(RuleFired("loan_not_scored", f"firm {case.firm_id} has no score as of {case.as_of}"))
        share = Decimal(0)
    else:
        share = rules.amount_share[grade]
        if share == 0:
            refused.append(RuleFired("loan_grade_not_offered", f"grade {grade}: amount share 0"))
    if case.trailing_sales_minor < rules.min_trailing_sales_minor:
        refused.append(RuleFired("loan_sales_below_minimum",
                                 f"trailing sales {case.trailing_sales_minor} < {rules.min_trailing_sales_minor}"))
    if active < rules.min_active_months:
        refused.append(RuleFired("loan_too_few_active_months",
                                 f"{active} of the last {MONTHS} months with sales < {rules.min_active_months}"))
    if volatility is None or volatility > rules.max_sales_volatility:
        refused.append(RuleFired("loan_sales_too_volatile",
                                 f"coefficient of variation {volatility} > {rules.max_sales_volatility}"
                                 if volatility is not None else "no monthly sales: volatility undefined"))

    amount = floor_minor(share * case.trailing_sales_minor)
    if amount > rules.max_amount_minor:
        fired.append(RuleFired("loan_amount_by_maximum", f"{amount} > {rules.max_amount_minor}"))
        amount = rules.max_amount_minor
    if grade is not None:
        cap = policy.concentration.per_supplier_minor[grade]
        headroom = max(cap - case.supplier_exposure_minor, 0)
        if amount > headroom:
            fired.append(RuleFired("loan_concentration_cap", f"amount {amount} > cap {cap} - exposure "
                                                             f"{case.supplier_exposure_minor} = {headroom}"))
            amount = headroom
    if not refused and amount < rules.min_amount_minor:
        refused.append(RuleFired("loan_amount_below_minimum", f"{amount} < {rules.min_amount_minor}"))

    if refused:
        fired = refused + fired
        actions = ["contact_finance" if r.code in ("loan_not_scored", "loan_grade_not_offered") else
                   "build_trading_history" for r in refused]
        return LoanOfferDecision("decline", grade, active, volatility, share, 0, Decimal(0), 0, Decimal(0), periods,
                                 period_days, 0, None, tuple(fired), ordered_reason_codes(fired),
                                 ordered_next_actions(actions))
    fee_rate = rules.fee_rate[grade]
    fee = round_half_up(fee_rate * amount)
    minimum = math.ceil((amount + fee) / periods)  # integers: exact
    return LoanOfferDecision("approve", grade, active, volatility, share, amount, fee_rate, fee,
                             rules.withholding_rate[grade], periods, period_days, minimum,
                             case.as_of + timedelta(days=rules.offer_valid_days), tuple(fired),
                             ordered_reason_codes(fired), ())


def month_starts(as_of: date) -> list[datetime]:
    """The starts of the 12 whole calendar months before ``as_of``'s month, oldest first, and the month's own start."""
    this_month = datetime(as_of.year, as_of.month, 1)
    return [this_month - relativedelta(months=MONTHS - i) for i in range(MONTHS + 1)]


@dataclass(frozen=True)
class Sales:
    trailing_minor: int
    monthly_minor: tuple[int, ...]


def sales_by_firm(session: Session, as_of: date, policy: Policy, firm_ids: list[int] | None = None) -> dict[int, Sales]:
    """Trailing and monthly sales of every firm with payments in the windows (one GROUP BY over the store).

    ``firm_ids`` limits it to those sellers (the API, one firm).
    """
    from credit.servicing.run import end_of_day  # the servicing day's end: the same moment every job judges at

    end = end_of_day(as_of)
    trailing_from = end - timedelta(days=policy.loans.trailing_days)
    starts = month_starts(as_of)
    paid, at = Payment.amount_minor, Payment.paid_at
    columns = [func.sum(case((at >= trailing_from, paid), else_=0)).label("trailing")]
    columns += [func.sum(case((and_(at >= starts[i], at < starts[i + 1]), paid), else_=0)).label(f"m{i}")
                for i in range(MONTHS)]
    query = (select(Invoice.supplier_id, *columns).join(Invoice, Invoice.invoice_id == Payment.invoice_id)
             .where(at >= min(trailing_from, starts[0]), at < end).group_by(Invoice.supplier_id))
    if firm_ids is not None:
        query = query.where(Invoice.supplier_id.in_(firm_ids))
    return {row[0]: Sales(int(row[1] or 0), tuple(int(v or 0) for v in row[2:])) for row in session.execute(query)}


def scores_as_of(session: Session, as_of: date, firm_ids: list[int] | None = None) -> dict[int, Decimal]:
    """Each firm's PD from its newest score snapshot dated on or before ``as_of`` (latest run that date)."""
    s = ScoreSnapshot
    rank = func.row_number().over(partition_by=s.firm_id,
                                  order_by=(s.as_of.desc(), s.scored_at.desc(), s.score_id.desc())).label("rank")
    inner = select(s.firm_id, s.pd, rank).where(s.as_of <= as_of)
    if firm_ids is not None:
        inner = inner.where(s.firm_id.in_(firm_ids))
    ranked = inner.subquery()
    return {firm_id: Decimal(repr(float(pd))) for firm_id, pd in
            session.execute(select(ranked.c.firm_id, ranked.c.pd).where(ranked.c.rank == 1))}


def supplier_exposures(session: Session, firm_ids: list[int] | None = None) -> dict[int, int]:
    """What every product has at risk on each firm as supplier (one GROUP BY over ``financings``)."""
    query = (select(Financing.supplier_id, func.sum(AT_RISK)).where(Financing.status.in_(OPEN_STATUSES))
             .group_by(Financing.supplier_id))
    if firm_ids is not None:
        query = query.where(Financing.supplier_id.in_(firm_ids))
    return {firm_id: int(total or 0) for firm_id, total in session.execute(query)}


def firms_with_open_loans(session: Session, firm_ids: list[int] | None = None) -> set[int]:
    query = select(Financing.supplier_id).where(Financing.kind == "loan", Financing.status.in_(OPEN_STATUSES))
    if firm_ids is not None:
        query = query.where(Financing.supplier_id.in_(firm_ids))
    return set(session.execute(query.distinct()).scalars())


def latest_offer_decisions(session: Session, firm_ids: list[int] | None = None) -> dict[int, DecisionRecord]:
    """Each firm's newest ``loan_offer`` decision (by record time, then the business day it was for)."""
    d = DecisionRecord
    newest = select(d.firm_id, func.max(d.created_at).label("at")).where(d.kind == "loan_offer")
    if firm_ids is not None:
        newest = newest.where(d.firm_id.in_(firm_ids))
    newest = newest.group_by(d.firm_id).subquery()
    rows = session.execute(select(d).join(newest, and_(d.firm_id == newest.c.firm_id, d.created_at == newest.c.at))
                           .where(d.kind == "loan_offer")).scalars()
    latest: dict[int, DecisionRecord] = {}
    for record in rows:  # one clock moment may hold several days' runs (a fixed clock): the later day wins
        held = latest.get(record.firm_id)
        if held is None or record.inputs["as_of"] > held.inputs["as_of"]:
            latest[record.firm_id] = record
    return latest


def open_offers(session: Session, firm_ids: list[int] | None = None) -> dict[int, LoanOffer]:
    query = select(LoanOffer).where(LoanOffer.status == "open").order_by(LoanOffer.offer_id)
    if firm_ids is not None:
        query = query.where(LoanOffer.firm_id.in_(firm_ids))
    offers: dict[int, LoanOffer] = {}
    for offer in session.execute(query).scalars():
        offers[offer.firm_id] = offer  # the newest if ever several
    return offers


def build_cases(session: Session, as_of: date, policy: Policy,
                firm_ids: list[int] | None = None) -> tuple[list[LoanOfferCase], set[int]]:
    """Cases for the firms with sales or an open offer (or ``firm_ids``), and the firms with an open loan."""
    sales = sales_by_firm(session, as_of, policy, firm_ids)
    offered = open_offers(session, firm_ids)
    firms = sorted(set(sales) | set(offered) | set(firm_ids or ()))
    scores = scores_as_of(session, as_of, firms if firm_ids is not None else None)
    exposures = supplier_exposures(session, firms if firm_ids is not None else None)
    with_loans = firms_with_open_loans(session, firms if firm_ids is not None else None)
    none = Sales(0, (0,) * MONTHS)
    cases = [LoanOfferCase(firm_id=f, as_of=as_of, trailing_sales_minor=sales.get(f, none).trailing_minor,
                           monthly_sales_minor=sales.get(f, none).monthly_minor, pd=scores.get(f),
                           supplier_exposure_minor=exposures.get(f, 0)) for f in firms]
    return cases, with_loans


def run_offers(session: Session, as_of: date, policy: Policy, *, actor: str = "financing") -> dict[str, int]:
    """Recompute every seller's loan offer for the end of ``as_of`` (see the module); flushed, not committed.

    Returns
    -------
    dict of str to int
        ``firms`` decided, ``offered`` (new offers), ``kept`` (open offers that still stand),
        ``expired``, ``withdrawn``, ``declined`` (refusals recorded) and ``decisions``.
    """
    if not isinstance(as_of, date) or isinstance(as_of, datetime):
        raise TypeError(f"`as_of` must be a date; got {as_of!r}.")
    now = clock.now()
    counts: dict[str, int] = defaultdict(int)
    counts["expired"] = session.execute(update(OFFERS).where(OFFERS.c.status == "open", OFFERS.c.expires_on < as_of)
                                        .values(status="expired")).rowcount
    cases, with_loans = build_cases(session, as_of, policy)
    offered = open_offers(session)
    previous = latest_offer_decisions(session)
    for case in cases:
        held = offered.get(case.firm_id)
        if case.firm_id in with_loans:
            if held is not None:
                _close(session, held, "withdrawn", counts)
            continue
        counts["firms"] += 1
        decision = decide_loan_offer(case, policy)
        if decision.outcome == "decline":
            if held is not None:
                _close(session, held, "withdrawn", counts)
            last = previous.get(case.firm_id)
            if last is not None and last.outcome == "decline" \
                    and list(last.reason_codes) == list(decision.reason_codes):
                continue
            _record(session, case, decision, policy, actor, now)
            counts["declined"] += 1
            counts["decisions"] += 1
            continue
        if held is not None and _still_stands(held, decision, policy.loans.reoffer_when_amount_falls):
            counts["kept"] += 1
            continue
        if held is not None:
            _close(session, held, "expired", counts)
        record = _record(session, case, decision, policy, actor, now)
        counts["decisions"] += 1
        offer = LoanOffer(firm_id=case.firm_id, decision_id=record.decision_id, as_of=as_of,
                          trailing_sales_minor=case.trailing_sales_minor, amount_minor=decision.amount_minor,
                          fee_minor=decision.fee_minor, withholding_rate=str(decision.withholding_rate),
                          minimum_minor=decision.minimum_minor, period_days=decision.period_days, status="open",
                          expires_on=decision.expires_on, created_at=now)
        session.add(offer)
        session.flush()  # its id, for the event
        outbox.emit(session, "loan_offer.made", object_id=offer.offer_id, firm_id=offer.firm_id,
             data=offer_event_data(offer, replaces=None if held is None else held.offer_id), occurred_at=now)
        counts["offered"] += 1
    session.flush()
    return dict(counts)


def offer_event_data(offer: LoanOffer, *, replaces: int | None = None) -> dict[str, object]:
    """A loan offer as its event carries it: the most the firm may borrow, the flat fee, the withholding and minimum."""
    return {"offer_id": offer.offer_id, "status": offer.status, "decision_id": offer.decision_id,
            "as_of": offer.as_of, "expires_on": offer.expires_on, "currency": MARKETPLACE_CURRENCY,
            "amount": from_minor(offer.amount_minor), "fee": from_minor(offer.fee_minor),
            "withholding_rate": offer.withholding_rate, "minimum": from_minor(offer.minimum_minor),
            "period_days": offer.period_days, "replaces_offer_id": replaces}


def _still_stands(offer: LoanOffer, decision: LoanOfferDecision, falls: Decimal) -> bool:
    """An open offer stands until it expires unless today's terms are tighter: an amount more than
    ``falls`` (policy ``reoffer_when_amount_falls``) below it, or another withholding rate or period
    (the grade moved). Looser terms wait for the next offer, so a seller sees one offer for weeks,
    not one that moves with every day's sales."""
    return (decision.amount_minor >= offer.amount_minor * (1 - falls)
            and (Decimal(offer.withholding_rate), offer.period_days) == (decision.withholding_rate,
                                                                         decision.period_days))


def _close(session: Session, offer: LoanOffer, status: str, counts: dict[str, int]) -> None:
    offer.status = status
    counts[status] += 1


def _record(session: Session, case: LoanOfferCase, decision: LoanOfferDecision, policy: Policy, actor: str,
            now: datetime) -> DecisionRecord:
    from credit.audit import record_decision  # credit.audit.kinds imports this module: not at its top

    return record_decision(session, kind="loan_offer", inputs=case, decision=decision, policy=policy, actor=actor,
                           request={"as_of": case.as_of.isoformat()}, now=now)
