"""Receivables financing (factoring) after booking: payout with its fee, collections, dilution, recourse, default.

This is the financing of a supplier's invoice (``financings.kind = 'receivable'``), not the
book's own receivables of the credit line (:mod:`credit.servicing.receivables`). The judgements
(clawback, default, recourse, write-off) are :mod:`credit.financing.factoring_steps`'s; this
module reads the ingested history, books the facts and applies those judgements.

Money (minor units; ``F`` face, ``A`` advance, ``R = F - A`` reserve, ``fee`` the flat fee):

* **Payout** (:func:`pay_out`, :func:`credit.financing.journal.pay_out`): the advance leaves on
  the value date and the flat fee is charged with it (a ``fee`` entry, source ``fee:flat``,
  booked on the value date), so no collection is ever allocated to a financing without its fee.
* **Collections** (:func:`collect`): money from the debtor repays principal, then the fee;
  the rest is released to the supplier (``release``): paid in full, the supplier gets
  ``R - fee`` back. A collection that repays what is owed settles the financing; the debtor's
  later payments (the rest of the reserve) are still released to the supplier, on a settled
  financing too, while anything of the invoice is collectible.
* **Dilution**: a credit note on the invoice (``returns.invoice_id``) or a dispute on it, or on
  its order without an invoice named, resolved ``buyer_favour`` (against the supplier; a
  ``settled`` or ``withdrawn`` dispute names no amount lost and is not dilution) books a
  ``dilution`` entry of ``min(amount, collectible)``, where
  ``collectible = F - diluted - paid by the debtor`` (paid = collected principal and fee and
  released surplus): what the invoice can still bring in. Dilution first eats the reserve;
  once ``collectible < owed`` the shortfall ``owed - collectible`` is clawed back from the
  supplier (step ``clawback``, status ``recourse``). Example: F 1,000,000, A 900,000, fee
  12,000; a 60,000 credit note leaves 940,000 collectible >= 912,000 owed (reserve left
  28,000); a further 150,000 leaves 790,000 collectible: 122,000 is clawed back (the dilution
  past the reserve, 110,000, and the fee the reserve no longer covers, 12,000).
* **Recoveries** from the supplier: :func:`credit.financing.lifecycle.receive` with
  ``kind="recovery"`` (principal, then fee).
* **Debtor default**: the invoice ``receivables.default_days`` or more past its due date with
  something the debtor still owes: with recourse the supplier owes all of it (``recourse``);
  without, the debtor's part is written off (``write_off`` entries, ``defaulted``). The
  debtor's later payments first **reverse that loss** (negative ``write_off`` rows and
  ``collection`` rows of the same amount, principal then fee), then pay what is owed, then
  are released; a defaulted financing whose loss is all recovered is ``settled``.
  ``receivables.write_off_after_days`` after the latest demand on the supplier, recourse
  still unpaid is written off (``written_off``, closed), and a defaulted financing's loss
  becomes final (``written_off``: later payments are no longer booked).

Which ingested rows count: those on the financed invoice with their time on or after the
value date (00:00) and on or after the booking (``financings.created_at``: the face already
nets what came before it, so nothing counts twice), and before the end of ``as_of``
(:func:`credit.servicing.run.end_of_day`). Sources: ``payment:<id>``, ``return:<id>``,
``dispute:<id>``; an ingested row is booked once (a source is unique per financing), so a
day run twice books nothing the second time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from credit import clock
from credit.audit import record_decision
from credit.audit.tables import DecisionRecord
from credit.financing import journal, lifecycle
from credit.financing.errors import FinancingClosed, FinancingError, NotPaidOut
from credit.financing.factoring_steps import DEFAULTS, DEMANDS, JUDGED_STATUSES, ReceivableStepCase, \
    decide_receivable_step
from credit.financing.journal import Entry
from credit.financing.tables import Financing
from credit.policy import Policy
from credit.servicing.run import end_of_day
from credit.standing import days_past_due
from credit.store.tables import Dispute, Invoice, Payment, Return

STEP_KIND = "receivable_financing_step"
RUN_COUNTS: tuple[str, ...] = (
    "financings", "collections", "dilutions", "decisions", "clawbacks", "clawbacks_repaid", "defaults",
    "write_offs", "closed",
)
"""The keys of :func:`run_day`'s counts, always all present."""
_STEP_COUNT = {"clawback": "clawbacks", "clawback_repaid": "clawbacks_repaid", "recourse_default": "defaults",
               "default_write_off": "defaults", "recourse_write_off": "write_offs", "loss_final": "closed"}
F = Financing


class NotAReceivableFinancing(FinancingError):
    code = "not_a_receivable_financing"

    def __init__(self, financing_id: int, kind: str) -> None:
        super().__init__(f"Financing {financing_id} is {kind} financing, not receivables financing.")
        self.financing_id = financing_id
        self.kind = kind


def collectible_minor(financing: Financing) -> int:
    """What the invoice can still bring in: face - diluted - paid by the debtor (collected, fee collected,
    released), at least 0."""
    f = financing
    return max(0, f.face_minor - f.diluted_minor - f.collected_minor - f.fee_collected_minor - f.released_minor)


COLLECTIBLE = F.face_minor - F.diluted_minor - F.collected_minor - F.fee_collected_minor - F.released_minor
""":func:`collectible_minor` as a SQL expression (before the floor at 0)."""


def pay_out(session: Session, financing_id: int, *, reference: str, value_date: date, actor: str,
            now: datetime) -> Financing:
    """Pay out an approved receivables financing; :func:`~credit.financing.journal.pay_out` charges its flat fee.

    Raises
    ------
    FinancingNotFound, NotAReceivableFinancing, AlreadyPaidOut, NotPayable
    """
    _receivable(journal.lock(session, financing_id))
    return journal.pay_out(session, financing_id, reference=reference, value_date=value_date, actor=actor, now=now)


def collect(session: Session, financing_id: int, amount_minor: int, *, source: str, booked_on: date, actor: str,
            now: datetime, policy: Policy) -> list[Entry]:
    """Book money from the debtor on a financed invoice: a written-off loss back first, then what is owed, then release.

    Parameters
    ----------
    source
        Unique per financing: ``payment:<id>`` (ingested) or ``api:<reference>``. Reversed
        loss is booked under ``<source>:loss`` / ``<source>:loss:fee`` (the write-off rows) and
        ``<source>:recovered-loss`` / ``<source>:recovered-loss:fee`` (the collections).

    Returns
    -------
    list of Entry
        What was booked.

    Raises
    ------
    FinancingNotFound, NotAReceivableFinancing, NotPaidOut, FinancingClosed (written off or cancelled)
    """
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int) or amount_minor <= 0:
        raise ValueError(f"`amount_minor` must be an integer > 0 (minor units); got {amount_minor!r}.")
    financing = _receivable(journal.lock(session, financing_id))
    if financing.status in ("written_off", "cancelled"):
        raise FinancingClosed(financing_id, financing.status)
    if not financing.paid_out_minor:
        raise NotPaidOut(financing_id)
    booked: list[Entry] = []
    post = dict(booked_on=booked_on, actor=actor, now=now)
    left = amount_minor
    principal = min(left, financing.written_off_minor)
    fee = min(left - principal, financing.fee_written_off_minor)
    left -= principal + fee
    if principal or fee:
        booked += journal.post(session, financing, [
            Entry("write_off", "principal", -principal, f"{source}:loss"),
            Entry("collection", "principal", principal, f"{source}:recovered-loss"),
            Entry("write_off", "fee", -fee, f"{source}:loss:fee"),
            Entry("collection", "fee", fee, f"{source}:recovered-loss:fee")], **post)
    if left and financing.status in ("paid_out", "recourse") and journal.amounts(financing).owed:
        booked += lifecycle.receive(session, financing_id, left, kind="collection", source=source, policy=policy,
                                    **post)
    elif left:  # nothing owed (settled, or defaulted with its loss recovered): the supplier's
        booked += journal.post(session, financing, journal.allocate(
            financing, left, kind="collection", source=source, surplus=True), **post)
    if (financing.status == "defaulted" and not journal.amounts(financing).owed
            and not financing.written_off_minor and not financing.fee_written_off_minor):
        journal.post(session, financing, [], status="settled", **post)
    return booked


def run_day(session: Session, as_of: date, policy: Policy, *, actor: str = "financing") -> dict[str, int]:
    """Book the day's collections and dilution on every receivables financing and take the steps due (see the module).

    Parameters
    ----------
    session
        The unit of work; flushed, not committed.
    as_of
        The business day: ingested rows before its end count.
    policy
        Its ``receivables`` section sets the steps; stored with the decisions.
    actor
        Who runs the job, kept on entries and decisions.

    Returns
    -------
    dict of str to int
        Counts of what it did, keys :data:`RUN_COUNTS`: financings looked at,
        payments and dilutions booked, decisions recorded, and steps by kind.

    Raises
    ------
    TypeError
        ``as_of`` is not a date (a datetime is refused).
    """
    if not isinstance(as_of, date) or isinstance(as_of, datetime):
        raise TypeError(f"`as_of` must be a date; got {as_of!r}.")
    day = _Day(session, as_of, policy, actor)
    for financing_id in day.financing_ids():
        day.run(financing_id)
    return {key: day.counts[key] for key in RUN_COUNTS}


@dataclass(frozen=True)
class _Event:
    at: datetime
    order: int  # payments before dilution at the same instant
    source: str
    amount_minor: int


class _Day:
    """One day's reads and writes on the receivables financings; what is judged is decide_receivable_step's."""

    def __init__(self, session: Session, as_of: date, policy: Policy, actor: str) -> None:
        self.session, self.as_of, self.policy, self.actor = session, as_of, policy, actor
        self.judged_at, self.now = end_of_day(as_of), clock.now()
        self.counts: Counter[str] = Counter()

    def financing_ids(self) -> list[int]:
        """Paid-out receivables financings still judged, and settled ones the invoice can still pay into."""
        return list(self.session.execute(select(F.financing_id).where(
            F.kind == "receivable", F.paid_out_minor > 0,
            or_(F.status.in_(JUDGED_STATUSES), and_(F.status == "settled", COLLECTIBLE > 0)))
            .order_by(F.financing_id)).scalars())

    def run(self, financing_id: int) -> None:
        financing = journal.lock(self.session, financing_id)
        if financing.status not in (*JUDGED_STATUSES, "settled"):  # closed since financing_ids() read it
            return
        self.counts["financings"] += 1
        diluted = 0
        for event in self._events(financing):
            if event.source.startswith("payment:"):
                collect(self.session, financing_id, event.amount_minor, source=event.source, booked_on=self.as_of,
                        actor=self.actor, now=self.now, policy=self.policy)
                self.counts["collections"] += 1
            else:
                amount = min(event.amount_minor, collectible_minor(financing))
                if journal.post(self.session, financing, [Entry("dilution", "surplus", amount, event.source)],
                                booked_on=self.as_of, actor=self.actor, now=self.now):
                    self.counts["dilutions"] += 1
                    diluted += amount
        if financing.status in JUDGED_STATUSES:
            self._judge(financing, diluted)

    def _events(self, financing: Financing) -> list[_Event]:
        """The invoice's payments and dilution in the financing's window, not booked yet, in time order."""
        invoice = self.session.get(Invoice, financing.invoice_id)
        start = max(datetime.combine(financing.value_date, time()), financing.created_at)
        end = self.judged_at
        events = [_Event(at, 0, f"payment:{pid}", amount) for pid, at, amount in self.session.execute(
            select(Payment.payment_id, Payment.paid_at, Payment.amount_minor).where(
                Payment.invoice_id == invoice.invoice_id, Payment.paid_at >= start, Payment.paid_at < end))]
        events += [_Event(at, 1, f"return:{rid}", amount) for rid, at, amount in self.session.execute(
            select(Return.return_id, Return.returned_at, Return.amount_minor).where(
                Return.invoice_id == invoice.invoice_id, Return.returned_at >= start, Return.returned_at < end))]
        events += [_Event(at, 1, f"dispute:{did}", amount) for did, at, amount in self.session.execute(
            select(Dispute.dispute_id, Dispute.resolved_at, Dispute.amount_minor).where(
                or_(Dispute.invoice_id == invoice.invoice_id,
                    and_(Dispute.invoice_id.is_(None), Dispute.order_id == invoice.order_id)),
                Dispute.resolution == "buyer_favour", Dispute.amount_minor > 0,
                Dispute.resolved_at >= start, Dispute.resolved_at < end))]
        booked = {":".join(source.split(":")[:2]) for source in journal.booked_sources(self.session,
                                                                                      financing.financing_id)}
        return sorted((e for e in events if e.source not in booked), key=lambda e: (e.at, e.order, e.source))

    def _judge(self, financing: Financing, diluted_now: int) -> None:
        taken = self._steps_taken(financing)
        demands = [on for step, on in taken if step in DEMANDS]
        owed = journal.amounts(financing)
        invoice = self.session.get(Invoice, financing.invoice_id)
        case = ReceivableStepCase(
            financing_id=financing.financing_id, supplier_id=financing.supplier_id, debtor_id=financing.buyer_id,
            as_of=self.as_of, status=financing.status, recourse=financing.recourse,
            days_past_due=days_past_due(invoice.due_at, self.judged_at), outstanding_minor=owed.outstanding,
            fee_owed_minor=owed.fee_owed, collectible_minor=collectible_minor(financing),
            diluted_now_minor=diluted_now, debtor_defaulted=any(step in DEFAULTS for step, _ in taken),
            days_since_demand=(self.as_of - max(demands)).days if demands else None,
            loss_minor=financing.written_off_minor + financing.fee_written_off_minor)
        decision = decide_receivable_step(case, self.policy)
        if not decision.steps:
            return
        record = record_decision(
            self.session, kind=STEP_KIND, inputs=case, decision=decision, policy=self.policy, actor=self.actor,
            request={"as_of": self.as_of.isoformat(), "financing_id": financing.financing_id}, now=self.now)
        self.counts["decisions"] += 1
        source = f"{decision.steps[-1].step}:{self.as_of.isoformat()}"  # a write-off is always the last step
        journal.post(self.session, financing, [
            Entry("write_off", "principal", decision.write_off_principal_minor, source),
            Entry("write_off", "fee", decision.write_off_fee_minor, f"{source}:fee")],
            booked_on=self.as_of, actor=self.actor, now=self.now, decision_id=record.decision_id,
            status=decision.status)
        for step in decision.steps:
            self.counts[_STEP_COUNT[step.step]] += 1

    def _steps_taken(self, financing: Financing) -> list[tuple[str, date]]:
        """The steps recorded on this financing before, with their business day (from the audit trail)."""
        d = DecisionRecord
        rows = self.session.execute(select(d.inputs, d.result).where(
            d.kind == STEP_KIND, d.firm_id == financing.supplier_id,
            d.inputs["financing_id"].as_integer() == financing.financing_id)).all()
        return [(step["step"], date.fromisoformat(inputs["as_of"])) for inputs, result in rows
                for step in result["steps"]]


def _receivable(financing: Financing) -> Financing:
    if financing.kind != "receivable":
        raise NotAReceivableFinancing(financing.financing_id, financing.kind)
    return financing
