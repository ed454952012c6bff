"""The demo's credit book: the simulated buyers apply for credit lines and pay their orders with them.

The demo's history ends today. This job replays its last months through the decision
service, in time order, the way the marketplace would have called it:

* at every month start the batch scoring writes that month's snapshot (``credit score``, from
  the demo's feature panel, built by the same engine), so each firm has a score history and
  each decision reads the snapshot it would have read then;
* ``applicants`` buyers, drawn with the seed among the scored buyers that buy on terms, apply
  for a line at a random moment of the replayed months; the credit-line decision approves,
  refers or declines each one. Referred applications stay in the finance team's review queue;
* a buyer whose line opened pays its orders on terms with it from then on, exactly as the
  history has them: authorize when the order is placed, capture when it ships, void when it
  is cancelled before shipping, and repay as its invoice's payments arrive (never more than
  was captured for that order), as the marketplace's payment system, each payment under its
  own reference; a buyer whose invoice is paid in full then pays the fees the book charged on
  it; holds not captured in time expire at the daily sweep;
* suppliers finance orders and invoices and sellers take transaction-flow loans, and the
  financing book runs its daily job after the book's servicing (:mod:`cli.demo_financing`).

Every step calls the same service functions as the HTTP API (one transaction each), so the
decisions are audited, replayable and visible in the console like live traffic. Calling the
service is why this job sits with the CLI that runs it (``credit demo``), not in
``pipelines/``: the batch jobs stay below the API.
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from api.checkout import service as checkout
from api.checkout.schemas import AuthorizationApproved, AuthorizationIn
from api.credit_lines import service as credit_lines
from api.credit_lines.schemas import ApplicationIn
from api.kit.auth import Caller
from api.kit.db import make_sessionmaker
from api.kit.errors import ServiceError, as_service_error
from api.kit.money import from_minor
from api.repayments import service as repayments
from api.repayments.schemas import RepaymentIn
from cli.demo_financing import FinancingReplay, FinancingSummary, financing_events
from credit.features.asof import monthly
from credit.ledger import LedgerError, expire_holds
from credit.models.serving import ServingModel
from credit.origination.tables import CreditLineApplicationRecord as Application
from credit.policy import Policy
from credit.scoring.batch import store_scores
from credit.scoring.tables import ScoreSnapshot
from credit.servicing.amounts import OWED, RECEIVABLES
from credit.servicing.run import run_day
from credit.store.tables import Invoice, Order, Payment

ON_TERMS: tuple[str, ...] = ("net30", "net60", "net90", "credit")
"""Payment terms of the orders a buyer's credit line pays (prepaid orders need no credit)."""

MARKETPLACE = Caller(key_id=0, name="marketplace-checkout (demo replay)", role="checkout")
PAYMENT_SYSTEM = Caller(key_id=0, name="marketplace-payments (demo replay)", role="payments")


class BookExists(Exception):
    """The store has a credit book already."""


@dataclass
class BookSummary:
    """What the replay did: score snapshots, application outcomes and checkout traffic."""

    scored_as_of: list[date] = field(default_factory=list)
    scored_rows: int = 0
    applications: Counter = field(default_factory=Counter)
    checkout: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    servicing: Counter = field(default_factory=Counter)
    """Steps the daily servicing job took, by step (reminder, late_fee, freeze, ...)."""
    servicing_minor: Counter = field(default_factory=Counter)
    """Minor units those steps booked, by step (late_fee, charge_off)."""
    financing: FinancingSummary = field(default_factory=FinancingSummary)
    """What the financing book did: requests by product and outcome, its daily job, recoveries."""


def open_demo_book(engine: Engine, serving_folder: Path, policy: Policy, panel: pd.DataFrame, *,
                   history_end: datetime, score_months: int, origination_months: int, applicants: int,
                   seed: int, financed_orders: int = 80, financed_invoices: int = 80,
                   loans_per_month: int = 4) -> BookSummary:
    """Score the last months and replay credit-line applications and checkout traffic up to ``history_end``.

    Parameters
    ----------
    engine
        The demo store, with the simulated history ingested and no book yet.
    serving_folder
        The champion's serving files (the API and the batch scoring load the same files).
    policy
        The credit policy the decisions apply.
    panel
        The monthly feature panel of the store's history (``firm_id``, ``as_of`` and the
        model's features), holding every month scored.
    history_end
        The end of the simulated history (UTC, naive): nothing is replayed at or after it.
    score_months
        Month-start snapshots to write, the last one the latest month start before
        ``history_end``: the firms' score history.
    origination_months
        Applications arrive during the last this-many months (at most ``score_months``).
    applicants
        How many buyers apply.
    seed
        Draws the applicants, their requests and the moments they apply, and the financing
        requests (:mod:`cli.demo_financing`).
    financed_orders, financed_invoices, loans_per_month
        Confirmed orders and issued invoices whose suppliers ask for financing, and loan
        offers accepted at each month start.

    Returns
    -------
    BookSummary

    Raises
    ------
    BookExists
        If the store holds credit-line applications already: a replay over an existing book
        would read later snapshots as current and pay the same orders twice.
    ValueError
        If the numbers are out of range, the panel lacks a month, or too few buyers can apply.
    """
    if not 1 <= origination_months <= score_months:
        raise ValueError(f"`origination_months` must be in [1, score_months={score_months}]; "
                         f"got {origination_months}.")
    if applicants < 1:
        raise ValueError(f"`applicants` must be an integer >= 1; got {applicants}.")
    last_start = (history_end - timedelta(microseconds=1)).date().replace(day=1)  # a month begun before the end
    months = monthly(_months_before(last_start, score_months - 1), last_start)
    with engine.connect() as connection:
        applications = connection.execute(select(func.count()).select_from(Application)).scalar()
    if applications:
        raise BookExists(f"the store already holds a credit book ({applications:,} credit-line applications); "
                         "the demo opens one on a fresh store only")
    dates = pd.to_datetime(panel["as_of"])
    missing = [str(day) for day in months if not (dates == pd.Timestamp(day)).any()]
    if missing:
        raise ValueError(f"the feature panel has no rows as of {', '.join(missing)}")
    summary = BookSummary()
    model = ServingModel.load(serving_folder)
    scoring = _Scoring(engine, model, panel, dates, summary)
    for as_of in months[: score_months - origination_months]:
        scoring.score(as_of)
    replay_from = _midnight(months[score_months - origination_months])
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        buyers = _applicant_pool(session, replay_from)
    if len(buyers) < applicants:
        raise ValueError(f"only {len(buyers)} buyers trade on terms before {replay_from:%Y-%m-%d}; "
                         f"asked for {applicants} applicants")
    rng = np.random.default_rng(seed)
    chosen = rng.choice(np.asarray(buyers), size=applicants, replace=False)
    span = (history_end - timedelta(days=7) - replay_from).total_seconds()
    events: list[tuple[datetime, int, str, tuple]] = []
    order = 0  # ties keep insertion order: a month's snapshot before that day's applications
    for as_of in months[score_months - origination_months:]:
        events.append((_midnight(as_of), order, "score", (as_of,)))
        order += 1
    for firm_id in chosen.tolist():
        moment = replay_from + timedelta(seconds=int(rng.uniform(0, span)))
        requested = None if rng.random() < 0.5 else int(rng.choice([50_000_00, 100_000_00, 250_000_00]))
        events.append((moment, order, "apply", (firm_id, requested)))
        order += 1
    with sessions() as session:
        financing = financing_events(
            session, replay_from, history_end, months[score_months - origination_months:],
            np.random.default_rng([seed, 1]), orders=financed_orders, invoices=financed_invoices,
            loans_per_month=loans_per_month)
    for moment, kind, payload in financing:
        events.append((moment, order, kind, payload))
        order += 1
    day = replay_from
    while day < history_end:
        events.append((day, order, "expire", ()))
        order += 1
        day += timedelta(days=1)
    heapq.heapify(events)
    replay = _Replay(sessions, scoring, policy, model, history_end, summary)
    while events:
        moment, _, kind, payload = heapq.heappop(events)
        for follow_up in replay.run(moment, kind, payload):
            heapq.heappush(events, (follow_up[0], order, follow_up[1], follow_up[2]))
            order += 1
    return summary


class _Scoring:
    """Writes a month's snapshot from the panel's rows of that month."""

    def __init__(self, engine: Engine, model: ServingModel, panel: pd.DataFrame, dates: pd.Series,
                 summary: BookSummary) -> None:
        self.engine, self.model, self.panel, self.dates, self.summary = engine, model, panel, dates, summary

    def score(self, as_of: date) -> None:
        rows = self.panel[(self.dates == pd.Timestamp(as_of)).to_numpy()]
        self.summary.scored_rows += store_scores(self.engine, self.model, rows, as_of).rows
        self.summary.scored_as_of.append(as_of)


class _Replay:
    """Runs one event at a time, each in its own transaction; returns the events it causes."""

    def __init__(self, sessions, scoring: _Scoring, policy: Policy, model: ServingModel,  # noqa: ANN001
                 history_end: datetime, summary: BookSummary) -> None:
        self.sessions, self.scoring = sessions, scoring
        self.policy, self.model, self.history_end, self.summary = policy, model, history_end, summary
        self.holds: dict[int, int] = {}  # order_id -> hold_id
        self.order_lines: dict[int, int] = {}  # order_id -> line_id of its hold
        self.unrepaid: dict[int, int] = {}  # order_id -> captured minus repaid, minor units
        self.receivables: dict[int, int] = {}  # order_id -> the receivable its shipment booked
        self.financing = FinancingReplay(policy, model)
        summary.financing = self.financing.summary

    def run(self, moment: datetime, kind: str, payload: tuple) -> list[tuple[datetime, str, tuple]]:
        if kind == "score":
            self.scoring.score(*payload)
            return []
        with self.sessions() as session:
            try:
                with session.begin():
                    if kind == "expire":
                        self.summary.checkout["expired"] += len(expire_holds(session, now=moment))
                        # The day that just ended is serviced: reminders, late fees, freezes, defaults.
                        day = run_day(session, (moment - timedelta(days=1)).date(), self.policy,
                                      actor="servicing (demo replay)")
                        self.summary.servicing.update(day.steps)
                        self.summary.servicing_minor.update(day.amounts_minor)
                        self.financing.day(session, (moment - timedelta(days=1)).date(), moment)
                        return []
                    if kind in ("finance_order", "finance_invoice", "accept_loans"):
                        getattr(self.financing, kind)(session, moment, *payload)
                        return []
                    return getattr(self, f"_{kind}")(session, moment, *payload)
            except (ServiceError, LedgerError) as exc:  # refused as the API would, e.g. a hold that expired unshipped
                self.summary.skipped[f"{kind}: {as_service_error(exc).code}"] += 1
                return []

    # The request schemas take amounts as the wire has them, in major units: minor units go in
    # through from_minor, exactly as a client's "1250.50" would.
    def _apply(self, session: Session, moment: datetime, firm_id: int, requested: int | None) -> list:
        answer = credit_lines.apply(session, MARKETPLACE, ApplicationIn(
            buyer_id=firm_id, requested_limit=None if requested is None else from_minor(requested)),
                                    self.policy, self.model, moment)
        self.summary.applications[answer.status] += 1
        if answer.line_id is None:
            return []
        return [(order.created_at, "authorize", (order.order_id, firm_id, order.amount_minor))
                for order in _orders_on_terms(session, firm_id, moment, self.history_end)]

    def _authorize(self, session: Session, moment: datetime, order_id: int, buyer_id: int, amount: int) -> list:
        answer = checkout.authorize(session, MARKETPLACE, AuthorizationIn(
            buyer_id=buyer_id, order_reference=f"order-{order_id}", amount=from_minor(amount)), self.policy, moment)
        if not isinstance(answer, AuthorizationApproved):
            self.summary.checkout[f"declined: {answer.decline_code}"] += 1
            return []
        self.summary.checkout["authorized"] += 1
        self.holds[order_id] = answer.hold_id
        self.order_lines[order_id] = answer.line_id
        order = session.get(Order, order_id)
        if order.shipped_at is not None and order.shipped_at < self.history_end:
            return [(order.shipped_at, "capture", (order_id, amount))]
        if order.cancelled_at is not None and order.cancelled_at < self.history_end:
            return [(order.cancelled_at, "void", (order_id,))]
        return []

    def _capture(self, session: Session, moment: datetime, order_id: int, amount: int) -> list:
        captured = checkout.capture(session, MARKETPLACE, self.holds[order_id], amount, f"shipment-{order_id}",
                                    self.policy, moment)
        self.receivables[order_id] = captured.receivable_id
        self.summary.checkout["captured"] += 1
        self.unrepaid[order_id] = amount
        payments = session.execute(
            select(Payment.paid_at, Payment.payment_id, Payment.amount_minor)
            .join(Invoice, Invoice.invoice_id == Payment.invoice_id)
            .where(Invoice.order_id == order_id, Payment.paid_at >= moment, Payment.paid_at < self.history_end)
            .order_by(Payment.paid_at, Payment.payment_id)).all()
        return [(paid_at, "repay", (order_id, payment_id, paid)) for paid_at, payment_id, paid in payments]

    def _void(self, session: Session, moment: datetime, order_id: int) -> list:
        checkout.void(session, MARKETPLACE, self.holds[order_id], moment)
        self.summary.checkout["voided"] += 1
        return []

    def _repay(self, session: Session, moment: datetime, order_id: int, payment_id: int, paid: int) -> list:
        amount = min(paid, self.unrepaid[order_id])
        if amount <= 0:
            return []
        # The payment system matched the invoice's payment to the shipment's receivable (remittance
        # advice); a payment reference books once, so each payment repays under its own id.
        repayments.receive(session, PAYMENT_SYSTEM, self.order_lines[order_id], RepaymentIn(
            amount=from_minor(amount), reference=f"payment-{payment_id}",
            receivable_ids=[self.receivables[order_id]]), self.policy, moment)
        self.unrepaid[order_id] -= amount
        self.summary.checkout["repaid"] += 1
        if self.unrepaid[order_id] == 0:
            self._pay_fees(session, moment, order_id)
        return []

    def _pay_fees(self, session: Session, moment: datetime, order_id: int) -> None:
        """A buyer that paid its invoice in full also pays the fees the book charged on it.

        The waterfall pays late fees and fees before principal, so once the invoice's payments are
        in, what the fees took of them is still owed as principal: the buyer pays all that is left.
        """
        receivable_id = self.receivables[order_id]
        left = session.execute(select(OWED).where(RECEIVABLES.c.receivable_id == receivable_id)).scalar_one()
        if left > 0:
            repayments.receive(session, PAYMENT_SYSTEM, self.order_lines[order_id], RepaymentIn(
                amount=from_minor(int(left)), reference=f"fees-order-{order_id}", receivable_ids=[receivable_id]),
                self.policy, moment)
            self.summary.checkout["fees paid"] += 1


def _applicant_pool(session: Session, replay_from: datetime) -> list[int]:
    """Firms scored before the replay that bought on terms in the 90 days before it, by id."""
    as_of = session.execute(select(ScoreSnapshot.as_of).where(ScoreSnapshot.as_of <= replay_from.date())
                            .order_by(ScoreSnapshot.as_of.desc()).limit(1)).scalar()
    if as_of is None:
        return []
    scored = select(ScoreSnapshot.firm_id).where(ScoreSnapshot.as_of == as_of)
    return list(session.execute(
        select(Order.buyer_id).distinct()
        .where(Order.payment_terms.in_(ON_TERMS), Order.created_at >= replay_from - timedelta(days=90),
               Order.created_at < replay_from, Order.buyer_id.in_(scored))
        .order_by(Order.buyer_id)).scalars())


def _orders_on_terms(session: Session, buyer_id: int, after: datetime, before: datetime) -> list[Order]:
    return list(session.execute(
        select(Order).where(Order.buyer_id == buyer_id, Order.payment_terms.in_(ON_TERMS),
                            Order.created_at > after, Order.created_at < before)
        .order_by(Order.created_at, Order.order_id)).scalars())


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time())


def _months_before(month_start: date, months: int) -> date:
    index = month_start.year * 12 + month_start.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)
