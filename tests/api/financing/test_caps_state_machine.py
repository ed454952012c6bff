"""Stateful property test of the caps: bookings through the quote service, a credit line, payouts, collections.

Hypothesis drives the real booking services (:func:`api.financing.service.receivable_financing`
and :func:`~api.financing.service.order_financing` with ``book=True``) and the credit-line
service (:mod:`api.credit_lines.service`) on a store (SQLite and PostgreSQL) at a frozen clock.
Each operation is its own committed unit of work, as a request's would be, and succeeds or is
refused with a code the test expects. The parties, scored under the served model:

- debtor ``D`` (grade B: debtor cap 120,000,000, receivables cap 80,000,000, order buyer cap
  30,000,000, the default's 50,000,000 edited down so that it binds too) owes invoices of three
  creditors and buys orders of supplier ``S``; it applies for a credit line (limits of
  5,000,000 to 75,000,000), which is reviewed when referred and then re-limited;
- buyer ``E`` (grade C: debtor cap 90,000,000, order buyer cap 30,000,000) buys orders of ``S`` too;
- ``S`` (grade D: supplier cap 100,000,000) is financed on its orders and its invoices on ``D``;
  creditor ``F`` (grade F: supplier cap 20,000,000) and creditor ``A`` (grade B: supplier cap
  200,000,000) on their invoices on ``D``.

Invoices and orders run from 10,000,000 to 40,000,000 minor units, so a handful of bookings fill
every cap; the financings are paid out, collected in part or in full, and cancelled while
approved. What an example commits stays (its firms are new, so examples do not meet). After
every step, for every firm of the example:

- its exposure as debtor and as supplier (:func:`credit.financing.exposure.firm_exposure`)
  is within the concentration cap of its grade, and the product caps hold: order financing per
  buyer and per supplier, receivables per debtor by the debtor's grade;
- every financing's cached totals equal the sums of its journal; outstanding = paid out -
  collected - recovered - written off >= 0 and the fee owed >= 0.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import ClassVar

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from api.credit_lines import service as lines
from api.credit_lines.schemas import ApplicationIn, ReviewIn
from api.financing import service
from api.financing.schemas import OrderFinancingIn, ReceivableIn
from api.kit.auth import Caller
from api.kit.money import from_minor
from credit import clock
from credit.financing import factoring, journal, lifecycle
from credit.financing.exposure import firm_exposure, product_exposure
from credit.financing.tables import CACHED, CLOSED_STATUSES, Financing, FinancingEntry
from tests.api.financing.factories import SERVED, make_invoice, make_order, make_scored_firm
from tests.api.financing.test_concentration import _RECORD
from tests.decisions.policies import edited_policy

POLICY = edited_policy(("per_buyer_minor: 50_000_000", "per_buyer_minor: 30_000_000"))  # the order cap binds too
START = datetime(2027, 3, 1, 9, 0)
CHECKOUT = Caller(key_id=1, name="checkout", role="checkout")
FINANCE = Caller(key_id=2, name="finance", role="finance")
face = st.integers(min_value=10_000_000, max_value=40_000_000)
CAP_CODES = {"debtor_concentration_cap", "supplier_concentration_cap", "buyer_exposure_cap"}


@dataclass
class Party:
    firm_id: int
    pd: float

    @property
    def grade(self) -> str:
        return POLICY.grade_of(Decimal(str(self.pd)))


class CapsMachine(RuleBasedStateMachine):
    engine: Engine  # set by the test before running
    reasons_seen: ClassVar[set[str]] = set()

    def __init__(self) -> None:
        super().__init__()
        self.ticks = 0
        with clock.frozen(START):
            self.debtor = self._party(0.003, roles="buyer", buyer_return_rate_365d=0.01, buyer_gmv_365d=600_000_000.0)
            self.buyer = self._party(0.007, roles="buyer", buyer_return_rate_365d=0.01)
            self.supplier = self._party(0.01, roles="supplier", **_RECORD)
            self.creditors = [self.supplier, self._party(0.05, roles="supplier"),
                              self._party(0.003, roles="supplier")]
        self.parties = [self.debtor, self.buyer, *self.creditors]
        assert [p.grade for p in self.parties] == ["B", "C", "D", "F", "B"]
        self.invoices: list[int] = []
        self.orders: list[tuple[int, int, int]] = []  # (order, buyer, amount)
        self.financings: list[int] = []
        self.referred: str | None = None  # the debtor's referred application
        self.line: int | None = None  # the debtor's line, once open

    def _party(self, pd: float, **kwargs: object) -> Party:
        return Party(make_scored_firm(self.engine, pd, **kwargs), pd)

    def _now(self) -> datetime:
        self.ticks += 1
        return START + timedelta(seconds=self.ticks)

    def _call(self, allowed: set[str], operation):  # noqa: ANN001, ANN202
        """Run ``operation(session, now)`` as one committed unit of work; a refusal must carry an allowed code."""
        now = self._now()
        try:
            with clock.frozen(now), Session(self.engine) as session, session.begin():
                return operation(session, now)
        except Exception as refused:
            code = getattr(refused, "code", None)
            if code is None or code not in allowed:
                raise
            event(f"refused {code}")
            return None

    def _financing(self, financing_id: int) -> Financing:
        with Session(self.engine) as session:
            return session.get(Financing, financing_id)

    # -- bookings through the quote service -------------------------------------------------

    @rule(creditor=st.integers(0, 2), amount=face, again=st.booleans(), data=st.data())
    def book_a_receivable(self, creditor, amount, again, data):
        """Finance a new invoice of one creditor on the debtor, or now and then one already seen."""
        if again and self.invoices:
            invoice = data.draw(st.sampled_from(self.invoices), label="invoice")
        else:
            with clock.frozen(START):
                invoice = make_invoice(self.engine, self.creditors[creditor].firm_id, self.debtor.firm_id, amount)
            self.invoices.append(invoice)
        out = self._call(set(), lambda s, now: service.receivable_financing(
            s, CHECKOUT, ReceivableIn(invoice_id=invoice), POLICY, SERVED, now, book=True))
        self._booked(out)

    @rule(to_debtor=st.booleans(), amount=face, share=st.sampled_from([1, 2]), tenor=st.sampled_from([30, 60]),
          again=st.booleans(), data=st.data())
    def book_an_order(self, to_debtor, amount, share, tenor, again, data):
        """Finance a new order of the supplier (all or half of it), or one already financed (refused)."""
        if again and self.orders:
            order, buyer, amount = data.draw(st.sampled_from(self.orders), label="order")
        else:
            buyer = (self.debtor if to_debtor else self.buyer).firm_id
            with clock.frozen(START):
                order = make_order(self.engine, buyer, self.supplier.firm_id, amount)
            self.orders.append((order, buyer, amount))
        body = OrderFinancingIn(order_id=order, supplier_id=self.supplier.firm_id, buyer_id=buyer,
                                amount=str(from_minor(amount // share)), tenor_days=tenor)
        out = self._call({"order_already_financed"}, lambda s, now: service.order_financing(
            s, CHECKOUT, body, POLICY, SERVED, now, book=True))
        if out is not None:
            self._booked(out)

    def _booked(self, out) -> None:  # noqa: ANN001
        codes = {reason.code for reason in out.reason_codes} | {reason.code for reason in
                                                                getattr(out, "eligibility_reasons", [])}
        self.reasons_seen.update(codes & CAP_CODES)
        for code in sorted(codes):
            event(f"reason {code}")
        if out.status == "booked":
            assert out.financing_id is not None and out.advance > 0
            self.financings.append(out.financing_id)
        else:
            assert (out.status, out.financing_id, out.advance) == ("declined", None, 0), out

    # -- the debtor's credit line -------------------------------------------------------------

    @precondition(lambda self: self.line is None)
    @rule(requested=st.sampled_from([None, 5_000_000, 5_000_000, 20_000_000]),  # mostly small: raised later
          limit=st.sampled_from([5_000_000, 20_000_000, 45_000_000, 75_000_000]), approve=st.booleans())
    def open_the_line(self, requested, limit, approve):
        """Apply for the debtor's line, or review its referral: approve it, or change it to ``limit``.

        A review opening a line above what the debtor cap leaves after the financings is refused.
        """
        if self.referred is None:
            body = ApplicationIn(buyer_id=self.debtor.firm_id,
                                 requested_limit=None if requested is None else str(from_minor(requested)))
            out = self._call(set(), lambda s, now: lines.apply(s, CHECKOUT, body, POLICY, SERVED, now))
            event(f"application {out.status}")
            self.referred = out.decision_id if out.status == "referred" else None
            self.line = out.line_id
            return
        body = ReviewIn(action="approve", reason="Known") if approve else \
            ReviewIn(action="change_limit", limit=str(from_minor(limit)), reason="Within the cap")
        wanted = self.referred_limit() if approve else limit
        expected = "concentration_cap_exceeded" if wanted > self._headroom() else None
        out = self._call({expected} - {None}, lambda s, now: lines.review(s, FINANCE, self.referred, body, POLICY,
                                                                          now))
        assert (out is None) == (expected is not None)
        event("review refused" if out is None else f"review {out.review.outcome}")
        if out is not None:
            assert out.review.limit == wanted
            self.referred, self.line = None, out.line_id

    @precondition(lambda self: self.line is not None)
    @rule(limit=st.sampled_from([5_000_000, 45_000_000, 75_000_000]))
    def re_limit_the_line(self, limit):
        """Change the open line's limit: refused above what the debtor cap leaves after the financings."""
        expected = "concentration_cap_exceeded" if limit > self._headroom() else None
        out = self._call({expected} - {None}, lambda s, now: lines.change_line(
            s, FINANCE, self.line, "change_limit", "Re-limit", limit, POLICY, SERVED, now))
        assert (out is None) == (expected is not None)
        event("change refused" if out is None else "changed")
        if out is not None:
            assert out.limit == limit

    def _headroom(self) -> int:
        """The largest line the debtor cap leaves after the debtor's financings."""
        with Session(self.engine) as session:
            exposure = firm_exposure(session, self.debtor.firm_id)
        return POLICY.concentration.per_debtor_minor[self.debtor.grade] - (exposure.as_debtor - exposure.line)

    def referred_limit(self) -> int:
        with Session(self.engine) as session:
            return lines.visible_application(session, FINANCE, self.referred).limit

    # -- servicing ------------------------------------------------------------------------------

    @precondition(lambda self: self.financings)
    @rule(data=st.data())
    def pay_out(self, data):
        financing_id = data.draw(st.sampled_from(self.financings), label="financing")
        f = self._financing(financing_id)
        expected = None if f.status == "approved" else "already_paid_out" if f.paid_out_minor else \
            "financing_not_payable"
        pay = factoring.pay_out if f.kind == "receivable" else journal.pay_out
        out = self._call({expected} - {None}, lambda s, now: pay(
            s, financing_id, reference=f"PAY-{financing_id}-{self.ticks}", value_date=now.date(), actor="payments",
            now=now))
        assert (out is None) == (expected is not None)

    @precondition(lambda self: self.financings)
    @rule(data=st.data(), share=st.sampled_from([4, 2, 1]), recovery=st.booleans())
    def collect(self, data, share, recovery):
        """A quarter, half or all of what is outstanding (at least 1) comes in: the debtor, or the supplier."""
        financing_id = data.draw(st.sampled_from(self.financings), label="financing")
        f = self._financing(financing_id)
        amount = max(journal.amounts(f).outstanding // share, 1)
        source = f"api:{financing_id}-{self.ticks}"
        if f.kind == "receivable":
            expected = "financing_closed" if f.status in ("written_off", "cancelled") else \
                "financing_not_paid_out" if not f.paid_out_minor else None
            out = self._call({expected} - {None}, lambda s, now: factoring.collect(
                s, financing_id, amount, source=source, booked_on=now.date(), actor="test", now=now, policy=POLICY))
        else:
            expected = "financing_closed" if f.status in CLOSED_STATUSES else \
                "financing_not_paid_out" if not f.paid_out_minor else None
            out = self._call({expected} - {None}, lambda s, now: lifecycle.receive(
                s, financing_id, amount, kind="recovery" if recovery else "collection", source=source,
                booked_on=now.date(), actor="test", now=now, policy=POLICY))
        assert (out is None) == (expected is not None)

    @precondition(lambda self: self.financings)
    @rule(data=st.data())
    def cancel(self, data):
        financing_id = data.draw(st.sampled_from(self.financings), label="financing")
        f = self._financing(financing_id)
        expected = None if f.status == "approved" else "already_paid_out" if f.paid_out_minor else \
            "financing_closed"
        out = self._call({expected} - {None}, lambda s, now: journal.cancel(s, financing_id, actor="test", now=now))
        assert (out is None) == (expected is not None)

    # -- invariants ------------------------------------------------------------------------------

    @invariant()
    def no_cap_is_exceeded(self):
        caps = POLICY.order_financing.exposure_caps
        with Session(self.engine) as session:
            for party in self.parties:
                exposure = firm_exposure(session, party.firm_id)
                assert exposure.as_debtor <= POLICY.concentration.per_debtor_minor[party.grade], (party, exposure)
                assert exposure.as_supplier <= POLICY.concentration.per_supplier_minor[party.grade], (party, exposure)
                assert product_exposure(session, "order", buyer_id=party.firm_id) <= caps.per_buyer_minor
                assert product_exposure(session, "order", supplier_id=party.firm_id) <= caps.per_supplier_minor
                assert product_exposure(session, "receivable", buyer_id=party.firm_id) <= \
                    POLICY.receivables.concentration_caps_minor[party.grade]

    @invariant()
    def the_book_adds_up(self):
        if not self.financings:
            return
        with Session(self.engine) as session:
            sums: dict[int, dict[tuple[str, str], int]] = defaultdict(dict)
            for financing_id, kind, part, amount in session.execute(
                    select(FinancingEntry.financing_id, FinancingEntry.kind, FinancingEntry.part,
                           func.sum(FinancingEntry.amount_minor))
                    .where(FinancingEntry.financing_id.in_(self.financings))
                    .group_by(FinancingEntry.financing_id, FinancingEntry.kind, FinancingEntry.part)):
                sums[financing_id][(kind, part)] = int(amount)
            for f in session.execute(select(Financing).where(Financing.financing_id.in_(self.financings))).scalars():
                for (kind, part), column in CACHED.items():
                    assert getattr(f, column) == sums[f.financing_id].get((kind, part), 0), (f.financing_id, column)
                a = journal.amounts(f)
                assert a.outstanding == a.paid_out - a.collected - a.recovered - a.written_off >= 0
                assert a.paid_out in (0, f.advance_minor) and a.fee_owed >= 0
                if f.status == "cancelled":
                    assert a.paid_out == 0


def test_bookings_lines_payouts_and_collections_never_exceed_a_cap(store):
    CapsMachine.engine = store
    CapsMachine.reasons_seen = set()
    run_state_machine_as_test(CapsMachine, settings=settings(
        max_examples=25, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow],
        derandomize=True))
    # derandomize: the same examples on every run, so the assertion below holds on every run or on none (drawn
    # at random, some runs missed one of the caps: with random draws, --hypothesis-seed=1 failed it on both
    # stores, with and without the libpq lane of credit/store/libpq_lane.py).
    # the caps bound: bookings were cut or declined by both concentration caps and the order buyer cap. (Each
    # line step checks by hand that it is refused exactly when above what the debtor cap leaves; a refusal is
    # not reached in every run, so it is not asserted here.)
    assert CAP_CODES <= CapsMachine.reasons_seen, CapsMachine.reasons_seen
