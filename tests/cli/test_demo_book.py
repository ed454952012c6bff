"""The demo's replayed credit book: applications decided in time order, checkout traffic that follows the history."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from credit import clock
from credit.audit.tables import DecisionRecord
from credit.features.asof import monthly
from credit.features.history import History
from credit.features.panel import build_panel
from credit.ledger.journal import LINES
from credit.ledger.reconcile import reconcile
from credit.ledger.tables import Hold, LedgerTransfer
from credit.origination.tables import CreditLineApplicationRecord as Application
from credit.policy import default_policy
from credit.scoring.tables import ScoreSnapshot
from credit.servicing.amounts import OWED
from credit.servicing.tables import Receivable, Repayment
from credit.store.engine import make_engine
from credit.store.tables import Invoice, Order, Payment
from cli.demo_book import ON_TERMS, BookExists, open_demo_book
from tests.api.marketplace import AS_OF, ScoredMarketplace, fresh_store_copy, marketplace  # noqa: F401

APPLICANTS = 25


@pytest.fixture(scope="module")
def book(marketplace: ScoredMarketplace, tmp_path_factory: pytest.TempPathFactory):  # noqa: F811, ANN201
    engine = make_engine(fresh_store_copy(marketplace, tmp_path_factory.mktemp("book")))
    with engine.begin() as connection:  # the demo's store has no snapshot before the book is opened
        connection.execute(delete(ScoreSnapshot))
    end = min(datetime.combine(AS_OF, datetime.min.time()) + timedelta(days=20), clock.now())
    months = monthly(_months_back(end.date().replace(day=1), 3), end.date())
    panel = build_panel(History.from_store(engine), months).frame
    summary = open_demo_book(engine, marketplace.serving, default_policy(), panel, history_end=end, score_months=4,
                             origination_months=3, applicants=APPLICANTS, seed=3)
    yield engine, summary, end
    engine.dispose()


def test_every_applicant_is_decided_once_and_snapshots_cover_the_months(book) -> None:  # noqa: ANN001
    engine, summary, end = book
    with Session(engine) as session:
        statuses = Counter(dict(session.execute(
            select(Application.status, func.count()).group_by(Application.status)).all()))
        firms = session.execute(select(func.count(func.distinct(Application.firm_id)))).scalar()
        as_of = sorted(session.execute(select(ScoreSnapshot.as_of).distinct()).scalars())
    assert sum(statuses.values()) == APPLICANTS == firms
    assert statuses == summary.applications
    assert set(statuses) <= {"approved", "referred", "declined"}
    first_of_month = end.date().replace(day=1)
    assert as_of == [_months_back(first_of_month, back) for back in (3, 2, 1, 0)] == summary.scored_as_of


def test_each_decision_read_the_snapshot_of_its_own_month(book) -> None:  # noqa: ANN001
    engine, _, _ = book
    with Session(engine) as session:
        rows = session.execute(select(Application.created_at, Application.score_as_of)).all()
    for created_at, score_as_of in rows:
        assert score_as_of == created_at.date().replace(day=1)


def test_checkout_traffic_follows_the_buyers_orders_on_terms(book) -> None:  # noqa: ANN001
    engine, summary, end = book
    with Session(engine) as session:
        lines = dict(session.execute(select(LINES.c.firm_id, LINES.c.line_id)).all())
        opened = dict(session.execute(select(Application.firm_id, Application.created_at)
                                      .where(Application.line_id.is_not(None))).all())
        checkout = session.execute(select(DecisionRecord.firm_id, DecisionRecord.request)
                                   .where(DecisionRecord.kind == "checkout")).all()
        expected = Counter()
        for firm_id, since in opened.items():
            orders = session.execute(select(Order.order_id).where(
                Order.buyer_id == firm_id, Order.payment_terms.in_(ON_TERMS), Order.created_at > since,
                Order.created_at < end)).scalars().all()
            expected.update({(firm_id, f"order-{order_id}") for order_id in orders})
        last_transfer = session.execute(select(func.max(LedgerTransfer.created_at))).scalar()
        hold_orders = set(session.execute(select(Hold.order_reference)).scalars())
        order_amounts = dict(session.execute(select(Order.order_id, Order.amount_minor)).all())
        held = [(amount, order_amounts[int(reference.removeprefix("order-"))])
                for reference, amount in session.execute(select(Hold.order_reference, Hold.amount_minor))]
        repaid = Counter(session.execute(select(Repayment.reference, Repayment.amount_minor)
                                         .where(Repayment.reference.like("payment-%"))).all())
        expected_repaid, paid_in_full = _repayments_the_history_makes(session, end)
        receivables = session.execute(
            select(Hold.order_reference, Receivable.late_fee_minor + Receivable.fee_minor, OWED)
            .join(Receivable, Receivable.hold_id == Hold.hold_id)).all()
        fees_paid = dict(session.execute(select(Repayment.reference, Repayment.amount_minor)
                                         .where(Repayment.reference.like("fees-order-%"))).all())
        report = reconcile(session)
    assert set(lines) == set(opened)
    assert Counter((firm_id, request["order_reference"]) for firm_id, request in checkout) == expected
    assert hold_orders <= {reference for _, reference in expected}
    assert summary.checkout["authorized"] == len(hold_orders) > 0
    assert len(held) == len(hold_orders) and all(hold == order for hold, order in held)  # minor units, not x100
    assert summary.checkout["captured"] > 0
    # Whether any invoice of a captured order was paid before the end depends on the date the
    # history ends; that every such payment was repaid, capped at what was captured, does not.
    assert repaid == expected_repaid
    assert summary.checkout["repaid"] == sum(expected_repaid.values())
    # A buyer that paid its invoice in full paid the fees charged on it too, and owes nothing: the
    # waterfall takes late fees first, so without that payment principal would stay overdue.
    charged = {reference: fees for reference, fees, _ in receivables if reference in paid_in_full and fees > 0}
    assert fees_paid == {f"fees-{reference}": fees for reference, fees in charged.items()}
    assert summary.checkout["fees paid"] == len(charged)
    assert all(owed == 0 for reference, _, owed in receivables if reference in paid_in_full)
    assert last_transfer < end
    assert report.differences == ()


def _repayments_the_history_makes(session: Session, end: datetime) -> tuple[Counter, set[str]]:
    """(reference, amount) of each repayment: the payments of a captured order's invoice from its capture to
    ``end``, in time order, each capped at what is still unpaid of the captured amount; and the orders whose
    payments covered what was captured."""
    expected, paid_in_full = Counter(), set()
    captures = session.execute(select(Hold.order_reference, func.min(LedgerTransfer.created_at),
                                      func.sum(LedgerTransfer.amount_minor))
                               .join(LedgerTransfer, LedgerTransfer.hold_id == Hold.hold_id)
                               .where(LedgerTransfer.kind == "post").group_by(Hold.order_reference)).all()
    for reference, captured_at, captured in captures:
        order_id = int(reference.removeprefix("order-"))
        unpaid = captured
        for payment_id, paid in session.execute(
                select(Payment.payment_id, Payment.amount_minor).join(Invoice, Invoice.invoice_id == Payment.invoice_id)
                .where(Invoice.order_id == order_id, Payment.paid_at >= captured_at, Payment.paid_at < end)
                .order_by(Payment.paid_at, Payment.payment_id)):
            if unpaid > 0:
                expected[(f"payment-{payment_id}", min(paid, unpaid))] += 1
                unpaid -= min(paid, unpaid)
        if unpaid == 0:
            paid_in_full.add(reference)
    return expected, paid_in_full


def _months_back(month_start, months: int):  # noqa: ANN001, ANN202
    index = month_start.year * 12 + month_start.month - 1 - months
    return month_start.replace(year=index // 12, month=index % 12 + 1)


def test_a_second_replay_on_the_same_store_is_refused(book, marketplace: ScoredMarketplace) -> None:  # noqa: ANN001, F811
    engine, _, end = book
    with Session(engine) as session:
        before = session.execute(select(func.count()).select_from(DecisionRecord)).scalar()
    with pytest.raises(BookExists, match="already holds a credit book"):
        open_demo_book(engine, marketplace.serving, default_policy(), pd.DataFrame({"as_of": []}), history_end=end,
                       score_months=4, origination_months=3, applicants=APPLICANTS, seed=3)
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(DecisionRecord)).scalar() == before
