"""The demo's financing book: suppliers finance orders and invoices, sellers take transaction-flow loans.

During the replayed months of :mod:`cli.demo_book`, as the marketplace would have asked:

* ``orders`` confirmed purchase orders, drawn with the seed, ask for order financing an hour after
  the supplier confirms them; ``invoices`` invoices ask for receivables financing two hours
  after issue. An approved request is booked and paid out at once by the payments team;
* at every month start, ``loans_per_month`` sellers with an open loan offer accept it;
* every day, after the book's servicing, the financing book's daily job
  (:func:`credit.financing.run.run_day`) books the day the history shows: invoices carrying order
  advances, the debtors' payments, credit notes and disputes, withholding from the sellers'
  sales, fresh loan offers, and the steps due (recourse, clawback, default, overdue, write-off);
* a supplier under recourse for two weeks repays what it owes, three times in four (by the
  financing's id); the rest run on to their write-off.

Requests go through the same service functions as the HTTP API, one transaction each.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.financing import service as financing_requests
from api.financing.book import service as financing_book
from api.financing.book.schemas import MoneyReceivedIn, PayoutIn
from api.financing.schemas import OrderFinancingIn, ReceivableIn
from api.kit.auth import Caller
from api.kit.errors import ServiceError, as_service_error
from api.kit.money import from_minor
from api.loans import service as loan_requests
from api.loans.schemas import AcceptanceIn
from credit.financing import journal
from credit.financing.errors import FinancingError
from credit.financing.run import run_day
from credit.financing.tables import Financing, LoanOffer
from credit.models.serving import ServingModel
from credit.policy import Policy
from credit.store.tables import Invoice, Order

SUPPLIER_DESK = Caller(key_id=0, name="marketplace-financing (demo replay)", role="checkout")
PAYMENTS_TEAM = Caller(key_id=0, name="marketplace-payments (demo replay)", role="payments")
JOB = "financing (demo replay)"

TENOR_DAYS = {"net30": 45, "net60": 75, "net90": 105, "credit": 45, "prepaid": 15}
"""Days from an order's advance to the buyer's payment, by the order's terms (shipping, terms, slack)."""

RECOURSE_PAID_AFTER = timedelta(days=14)
MIN_ORDER_MINOR = 200_000
MIN_INVOICE_MINOR = 100_000


@dataclass
class FinancingSummary:
    """What the financing replay did: requests by product and outcome, the daily job's counts, recoveries."""

    requests: Counter = field(default_factory=Counter)
    days: Counter = field(default_factory=Counter)
    recoveries: int = 0
    recovered_minor: int = 0


def financing_events(session: Session, replay_from: datetime, history_end: datetime, month_starts: list[date],
                     rng: np.random.Generator, *, orders: int, invoices: int,
                     loans_per_month: int) -> list[tuple[datetime, str, tuple]]:
    """The financing requests of the replay: (moment, kind, payload), drawn with ``rng``."""
    last = history_end - timedelta(days=7)
    order_ids = list(session.execute(select(Order.order_id).where(
        Order.confirmed_at >= replay_from, Order.confirmed_at < last, Order.amount_minor >= MIN_ORDER_MINOR)
        .order_by(Order.order_id)).scalars())
    invoice_ids = list(session.execute(select(Invoice.invoice_id).where(
        Invoice.issued_at >= replay_from, Invoice.issued_at < last, Invoice.amount_minor >= MIN_INVOICE_MINOR)
        .order_by(Invoice.invoice_id)).scalars())
    events: list[tuple[datetime, str, tuple]] = []
    for order_id in _draw(rng, order_ids, orders):
        confirmed = session.get(Order, order_id).confirmed_at
        events.append((confirmed + timedelta(hours=1), "finance_order", (order_id,)))
    for invoice_id in _draw(rng, invoice_ids, invoices):
        issued = session.get(Invoice, invoice_id).issued_at
        events.append((issued + timedelta(hours=2), "finance_invoice", (invoice_id,)))
    for start in month_starts:
        events.append((datetime.combine(start, datetime.min.time()) + timedelta(hours=12), "accept_loans",
                       (loans_per_month, int(rng.integers(2**31)))))
    return events


def _draw(rng: np.random.Generator, ids: list[int], count: int) -> list[int]:
    if not ids or count <= 0:
        return []
    return sorted(rng.choice(np.asarray(ids), size=min(count, len(ids)), replace=False).tolist())


class FinancingReplay:
    """Runs the financing events of the replay, each inside the caller's transaction."""

    def __init__(self, policy: Policy, model: ServingModel) -> None:
        self.policy, self.model = policy, model
        self.summary = FinancingSummary()
        self.recourse_since: dict[int, date] = {}  # financing id -> the first day the replay saw it under recourse

    def finance_order(self, session: Session, moment: datetime, order_id: int) -> None:
        order = session.get(Order, order_id)
        body = OrderFinancingIn(order_id=order.order_id, supplier_id=order.supplier_id, buyer_id=order.buyer_id,
                                amount=from_minor(order.amount_minor), tenor_days=TENOR_DAYS[order.payment_terms])
        answer = self._ask("order", lambda: financing_requests.order_financing(
            session, SUPPLIER_DESK, body, self.policy, self.model, moment, book=True))
        if answer is not None and answer.financing_id is not None:
            self._pay_out(session, moment, answer.financing_id)

    def finance_invoice(self, session: Session, moment: datetime, invoice_id: int) -> None:
        answer = self._ask("receivable", lambda: financing_requests.receivable_financing(
            session, SUPPLIER_DESK, ReceivableIn(invoice_id=invoice_id), self.policy, self.model, moment, book=True))
        if answer is not None and answer.financing_id is not None:
            self._pay_out(session, moment, answer.financing_id)

    def accept_loans(self, session: Session, moment: datetime, count: int, seed: int) -> None:
        open_offers = list(session.execute(select(LoanOffer.offer_id).where(
            LoanOffer.status == "open", LoanOffer.expires_on >= moment.date()).order_by(LoanOffer.offer_id)).scalars())
        for offer_id in _draw(np.random.default_rng(seed), open_offers, count):
            try:
                with session.begin_nested():
                    loan_requests.accept(session, SUPPLIER_DESK, offer_id, AcceptanceIn(), self.policy, moment)
                self.summary.requests["loan: accepted"] += 1
            except (ServiceError, FinancingError) as exc:
                self.summary.requests[f"loan: refused ({_code(exc)})"] += 1

    def day(self, session: Session, as_of: date, moment: datetime) -> None:
        """The financing book's day ``as_of`` (run at ``moment``, its end), then the suppliers' recourse repayments."""
        report = run_day(session, as_of, self.policy, actor=JOB)
        for product, counts in report.counts.items():
            self.summary.days.update({f"{product}: {key}": value for key, value in counts.items() if value})
        in_recourse = session.execute(select(Financing).where(Financing.status == "recourse")
                                      .order_by(Financing.financing_id)).scalars().all()
        for financing in in_recourse:
            since = self.recourse_since.setdefault(financing.financing_id, as_of)
            owed = journal.amounts(financing).owed
            if financing.financing_id % 4 == 0 or owed <= 0 or as_of - since < RECOURSE_PAID_AFTER:
                continue
            # the payments team sees the supplier's transfer arrive and books it, at the end of the day
            financing_book.receive(session, PAYMENTS_TEAM, financing.financing_id, MoneyReceivedIn(
                amount=from_minor(owed),
                reference=f"recourse-{financing.financing_id}-{as_of.isoformat()}"), kind="recovery",
                policy=self.policy, now=moment - timedelta(microseconds=1))
            self.summary.recoveries += 1
            self.summary.recovered_minor += owed

    def _ask(self, product: str, request):  # noqa: ANN001, ANN202 - a service call and its answer
        try:
            answer = request()
        except (ServiceError, FinancingError) as exc:
            self.summary.requests[f"{product}: refused ({_code(exc)})"] += 1
            return None
        self.summary.requests[f"{product}: {answer.status}"] += 1
        return answer

    def _pay_out(self, session: Session, moment: datetime, financing_id: int) -> None:
        financing_book.pay_out(session, PAYMENTS_TEAM, financing_id, PayoutIn(
            reference=f"payout-{financing_id}", value_date=moment.date()), moment)
        self.summary.requests["paid out"] += 1


def _code(exc: Exception) -> str:
    return exc.code if isinstance(exc, FinancingError) else as_service_error(exc).code
