"""The order-financing daily job: invoicing, collections, recourse and write-off of every open order advance.

:func:`run_day` reads the ingested history as known at the **end of the business day**
``as_of`` (:func:`credit.servicing.run.end_of_day`: timestamps before ``as_of`` + 1 day,
00:00 UTC). For each order financing still open (``approved``, ``paid_out``, ``invoiced``,
``recourse``), in id order, under its row lock (:func:`credit.financing.journal.lock`), it

1. **invoices** a paid-out advance: once the financed order's invoice is issued
   (``invoices.order_id``; the first issued when there are several) the invoice carries the
   advance: ``invoice_id`` is set and the status moves to ``invoiced`` (under recourse it
   stays ``recourse``). ``invoice_id`` is unique across financings: an invoice already
   financed as a receivable is not taken (no double financing); the decision notes it once
   (step ``double_financed``) and the advance waits for recourse at its date;
2. **collects** the buyer's payments of that invoice: ingested ``payments`` with ``paid_at``
   on or after the value date and before the end of the day, not booked yet (source
   ``payment:<payment_id>``), oldest first, each through
   :func:`credit.financing.lifecycle.receive` (``collection``) on its own business day
   (``paid_at``'s date, so the fee accrues to exactly that day): principal, the fee accrued,
   then the rest released to the supplier; settled once nothing is owed;
3. takes the steps of :func:`credit.financing.order_steps.decide_order_step` (recorded in the
   audit trail as ``order_financing_step`` when there is one): cancel a financing whose order
   was cancelled before the payout; ``recourse`` (the supplier repays advance and fee through
   ``lifecycle.receive(kind="recovery")``) when the order was cancelled before shipment or the
   advance is ``recourse_after_days`` past due; ``write_off`` of principal and fee still owed
   ``write_off_after_days`` after the recourse step (journal ``write_off`` entries, status
   ``written_off``).

Everything is written in the caller's unit of work (flushed, not committed), stamped with the
clock's now. Running the day again books nothing and records no decision: payments are booked
once by source, statuses have moved, and the steps already taken are read back from the
audit trail. Run it daily in date order; a day skipped is caught up by the next (its
payments are still booked on their own days).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from credit import clock
from credit.audit import record_decision
from credit.audit.tables import DecisionRecord
from credit.financing import journal, lifecycle
from credit.financing.accrual import fee_accrued
from credit.financing.journal import Entry
from credit.financing.order_steps import (
    OrderFinancingCase,
    OrderStepDecision,
    decide_order_step,
)
from credit.financing.tables import CLOSED_STATUSES, Financing
from credit.policy import Policy
from credit.servicing.run import end_of_day
from credit.store.tables import Invoice, Order, Payment

__all__ = ["COUNTS", "OrderFinancingCase", "OrderStepDecision", "decide_order_step", "run_day"]

FINANCINGS = Financing.__table__
JOB_STATUSES: tuple[str, ...] = ("approved", "paid_out", "invoiced", "recourse")
"""Order financings the job looks at: every open status an order advance can be in."""

COUNTS: tuple[str, ...] = (
    "financings", "invoiced", "double_financed", "collections", "collected_minor", "settled", "cancelled",
    "recourse", "written_off", "written_off_minor", "decisions",
)
"""The keys of :func:`run_day`'s counts: financings looked at, steps taken, payments booked
(and their minor units), settlements, write-offs (and the principal and fee written off), and
decisions recorded."""


def run_day(session: Session, as_of: date, policy: Policy, *, actor: str = "financing") -> dict[str, int]:
    """Invoice, collect, and take the recourse and write-off steps due on ``as_of`` for every open order advance.

    Parameters
    ----------
    session
        The unit of work; flushed, not committed. On SQLite, bind it with
        ``sqlite_begin="IMMEDIATE"`` when the service may write meanwhile.
    as_of
        The business day; the history read is what was known by its end.
    policy
        Its ``order_financing`` section (fee floor, lifecycle days); stored with the decisions.
    actor
        Who runs the job, kept on each entry and decision.

    Returns
    -------
    dict of str to int
        :data:`COUNTS`, each 0 when nothing of the kind happened.

    Raises
    ------
    TypeError
        ``as_of`` is not a date (a datetime is refused: the day is what is run).
    RuntimeError
        A write-off's amounts changed between the decision and its booking (a writer that did
        not take the financing's lock): roll back and run the day again.
    """
    if not isinstance(as_of, date) or isinstance(as_of, datetime):
        raise TypeError(f"`as_of` must be a date; got {as_of!r}.")
    day = _Day(session, as_of, policy, actor)
    ids = session.execute(select(Financing.financing_id).where(
        Financing.kind == "order", Financing.status.in_(JOB_STATUSES)).order_by(Financing.financing_id)).scalars()
    for financing_id in list(ids):
        day.run(financing_id)
    return {key: day.counts[key] for key in COUNTS}


class _Day:
    """One business day's reads and writes; which step is due is :func:`decide_order_step`'s alone."""

    def __init__(self, session: Session, as_of: date, policy: Policy, actor: str) -> None:
        self.session, self.as_of, self.policy, self.actor = session, as_of, policy, actor
        self.end, self.now = end_of_day(as_of), clock.now()
        self.counts: Counter[str] = Counter()

    def run(self, financing_id: int) -> None:
        financing = journal.lock(self.session, financing_id)
        if financing.status not in JOB_STATUSES:  # closed since the list was read
            return
        self.counts["financings"] += 1
        order = self.session.execute(select(Order.cancelled_at).where(Order.order_id == financing.order_id)).one()
        invoice_id = self.session.execute(
            select(Invoice.invoice_id).where(Invoice.order_id == financing.order_id, Invoice.issued_at < self.end)
            .order_by(Invoice.issued_at, Invoice.invoice_id).limit(1)).scalar()
        cancelled = order.cancelled_at is not None and order.cancelled_at < self.end and invoice_id is None
        elsewhere = None
        if financing.paid_out_minor and financing.invoice_id is None and invoice_id is not None:
            if not self._carry(financing, invoice_id):
                elsewhere = invoice_id
        if financing.invoice_id is not None:
            self._collect(financing)
            if financing.status in CLOSED_STATUSES:
                return
        self._decide(financing, cancelled, elsewhere)

    # -- invoicing and collections -------------------------------------------------------

    def _carry(self, financing: Financing, invoice_id: int) -> bool:
        """Let the order's invoice carry the advance; False when another financing already holds the invoice."""
        held = self.session.execute(select(Financing.financing_id).where(
            Financing.invoice_id == invoice_id, Financing.financing_id != financing.financing_id)).scalar()
        if held is not None:
            return False
        try:
            with self.session.begin_nested():
                self.session.execute(update(FINANCINGS).where(FINANCINGS.c.financing_id == financing.financing_id)
                                     .values(invoice_id=invoice_id, updated_at=self.now))
        except IntegrityError:  # a receivables booking that did not lock the buyer got there first
            return False
        self.session.refresh(financing)
        status = "invoiced" if financing.status == "paid_out" else None
        journal.post(self.session, financing, [], booked_on=self.as_of, actor=self.actor, now=self.now, status=status)
        self.counts["invoiced"] += 1
        return True

    def _collect(self, financing: Financing) -> None:
        """Book the invoice's payments not booked yet, each on its own day, until the advance is settled."""
        booked = journal.booked_sources(self.session, financing.financing_id)
        value_from = datetime.combine(financing.value_date, time())
        payments = self.session.execute(
            select(Payment.payment_id, Payment.paid_at, Payment.amount_minor)
            .where(Payment.invoice_id == financing.invoice_id, Payment.paid_at >= value_from,
                   Payment.paid_at < self.end)
            .order_by(Payment.paid_at, Payment.payment_id)).all()
        for payment in payments:
            source = f"payment:{payment.payment_id}"
            if source in booked:
                continue
            if financing.status in CLOSED_STATUSES:  # repaid: what the buyer pays on is the supplier's
                return
            lifecycle.receive(self.session, financing.financing_id, payment.amount_minor, kind="collection",
                              source=source, booked_on=payment.paid_at.date(), actor=self.actor, now=self.now,
                              policy=self.policy)
            self.session.refresh(financing)
            self.counts["collections"] += 1
            self.counts["collected_minor"] += payment.amount_minor
            if financing.status == "settled":
                self.counts["settled"] += 1

    # -- the audited steps ---------------------------------------------------------------

    def _decide(self, financing: Financing, cancelled: bool, elsewhere: int | None) -> None:
        taken, recourse_since = self._steps_taken(financing) if financing.status != "approved" else ((), None)
        owed = journal.amounts(financing)
        fee_owed = owed.fee_owed  # plus what accrued to the day and is not charged yet
        if financing.paid_out_minor:
            accrued = fee_accrued(self.session, financing, self.as_of, self.policy)
            fee_owed += max(accrued - financing.fee_charged_minor, 0)
        case = OrderFinancingCase(
            financing_id=financing.financing_id, supplier_id=financing.supplier_id, status=financing.status,
            as_of=self.as_of, due_on=financing.due_on, order_cancelled=cancelled, invoice_financed_elsewhere=elsewhere,
            principal_owed_minor=owed.outstanding, fee_owed_minor=fee_owed, recourse_since=recourse_since,
            steps_taken=taken)
        decision = decide_order_step(case, self.policy)
        if not decision.steps:
            return
        record = record_decision(
            self.session, kind="order_financing_step", inputs=case, decision=decision, policy=self.policy,
            actor=self.actor, request={"as_of": self.as_of.isoformat(), "financing_id": financing.financing_id},
            now=self.now)
        self.counts["decisions"] += 1
        for step in decision.steps:
            if step.step == "cancel":
                journal.cancel(self.session, financing.financing_id, actor=self.actor, now=self.now)
                self.counts["cancelled"] += 1
            elif step.step == "double_financed":
                self.counts["double_financed"] += 1
            elif step.step == "recourse":
                journal.post(self.session, financing, [], booked_on=self.as_of, actor=self.actor, now=self.now,
                             decision_id=record.decision_id, status="recourse")
                self.counts["recourse"] += 1
            elif step.step == "write_off":
                self._write_off(financing, decision, record.decision_id)

    def _steps_taken(self, financing: Financing) -> tuple[tuple[str, ...], date | None]:
        """The step keys this financing's recorded decisions took, and the day of its recourse step."""
        d = DecisionRecord
        taken: list[str] = []
        since = None
        for inputs, result in self.session.execute(
                select(d.inputs, d.result).where(d.kind == "order_financing_step", d.firm_id == financing.supplier_id)
                .order_by(d.created_at, d.decision_id)):
            if inputs.get("financing_id") != financing.financing_id:
                continue
            for step in result.get("steps", ()):
                taken.append(step["step_key"])
                if step["step"] == "recourse" and since is None:
                    since = date.fromisoformat(inputs["as_of"])
        return tuple(taken), since

    def _write_off(self, financing: Financing, decision: OrderStepDecision, decision_id: str) -> None:
        lifecycle.charge_accrued(self.session, financing, self.as_of, actor=self.actor, now=self.now,
                                 policy=self.policy)
        owed = journal.amounts(financing)
        principal, fee = decision.write_off_principal_minor, decision.write_off_fee_minor
        if (owed.outstanding, owed.fee_owed) != (principal, fee):  # the row is locked: only a writer that skipped it
            raise RuntimeError(f"financing {financing.financing_id}: the decision writes off {principal} principal and "
                               f"{fee} fee but {owed.outstanding} and {owed.fee_owed} are owed now; roll back and "
                               "run the day again.")
        source = f"write_off:{self.as_of.isoformat()}"
        journal.post(self.session, financing, [Entry("write_off", "principal", principal, source),
                                               Entry("write_off", "fee", fee, f"{source}:fee")],
                     booked_on=self.as_of, actor=self.actor, now=self.now, decision_id=decision_id,
                     status="written_off")
        self.counts["written_off"] += 1
        self.counts["written_off_minor"] += principal + fee
