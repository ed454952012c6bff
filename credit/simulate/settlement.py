"""Invoices, payments, returns, disputes and credit events of the simulated orders.

Settlement is planned when an order is placed (all its future times are drawn then) and
released month by month: an invoice is emitted in the month it is issued, a payment in the
month it is paid. Planned payments wait in a buffer, so a buyer's later distress can still
cancel them; ids are assigned at release, hence in time order.
"""

from __future__ import annotations

import numpy as np

from credit.simulate.market import DAY, NO_TIME, PAYMENT_TERMS, random_days
from credit.store.tables import ALLOWED_VALUES, TERMS_DAYS

RETURN_REASONS = ALLOWED_VALUES["return_reason"]
DISPUTE_REASONS = ALLOWED_VALUES["dispute_reason"]
DISPUTE_RESOLUTIONS = ALLOWED_VALUES["dispute_resolution"]
EVENT_KINDS = ALLOWED_VALUES["credit_event_kind"]

PREPAID = PAYMENT_TERMS.index("prepaid")
TERM_DAYS_BY_CODE = np.array([TERMS_DAYS[t] for t in PAYMENT_TERMS], dtype=np.int64)
# Healthy payers settle within this many days past due, so only a distressed firm reaches
# 90 days past due and the default label stays the definition in the data model.
MAX_DAYS_LATE = 85
DEFAULT_DAYS_PAST_DUE = 90
WRITE_OFF_SHARE = 0.4
RETURN_REASON_SHARES = (0.2, 0.25, 0.15, 0.15, 0.1, 0.15)
DISPUTE_REASON_SHARES = (0.3, 0.2, 0.15, 0.15, 0.1, 0.1)
DISPUTE_RESOLUTION_SHARES = (0.35, 0.3, 0.25, 0.1)


def _logistic(value: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-value))


def _concat(buffer: dict[str, np.ndarray], new: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {key: np.concatenate([buffer[key], new[key]]) for key in buffer}


def _take(columns: dict[str, np.ndarray], index: np.ndarray) -> dict[str, np.ndarray]:
    return {key: value[index] for key, value in columns.items()}


def _empty(spec: dict[str, type]) -> dict[str, np.ndarray]:
    return {key: np.zeros(0, dtype=dtype) for key, dtype in spec.items()}


INVOICE_PLAN = {
    "order_id": np.int64, "buyer": np.int64, "supplier": np.int64, "issued_at": np.int64, "due_at": np.int64,
    "amount": np.int64, "first_paid_at": np.int64, "first_amount": np.int64, "second_paid_at": np.int64,
    "second_amount": np.int64,
}
PAYMENT_PLAN = {"invoice_id": np.int64, "buyer": np.int64, "due_at": np.int64, "paid_at": np.int64, "amount": np.int64}
RETURN_PLAN = {"order_id": np.int64, "returned_at": np.int64, "amount": np.int64, "reason": np.int8}
DISPUTE_PLAN = {
    "order_id": np.int64, "opened_at": np.int64, "amount": np.int64, "reason": np.int8,
    "resolution": np.int8, "resolved_at": np.int64,
}


class CreditBook:
    """Distress and credit events of every firm.

    ``event_at`` is the scheduled first credit event: 90 days after the earliest due date of
    the firm's unpaid invoices (``default_90dpd``), or, with nothing unpaid, insolvency 30 to
    180 days after distress; a later unpaid invoice can bring it forward. Some defaults are
    followed by a ``write_off`` about 180 days later.
    """

    def __init__(self, n_firms: int):
        self.distressed_at = np.full(n_firms, NO_TIME, dtype=np.int64)
        self.event_at = np.full(n_firms, NO_TIME, dtype=np.int64)
        self.event_kind = np.zeros(n_firms, dtype=np.int8)
        self.write_off_lag = np.full(n_firms, -1, dtype=np.int64)
        self.event_emitted = np.zeros(n_firms, dtype=bool)
        self.write_off_emitted = np.zeros(n_firms, dtype=bool)

    def distress(self, firms: np.ndarray, at: np.ndarray, earliest_unpaid_due: np.ndarray, rng) -> None:
        """Record distress of ``firms`` at ``at`` and schedule their credit events."""
        self.distressed_at[firms] = at
        has_unpaid = earliest_unpaid_due != NO_TIME
        default_at = np.maximum(np.where(has_unpaid, earliest_unpaid_due, 0) + DEFAULT_DAYS_PAST_DUE * DAY, at + DAY)
        insolvency_at = at + random_days(rng, 30, 180, len(firms))
        self.event_at[firms] = np.where(has_unpaid, default_at, insolvency_at)
        self.event_kind[firms] = np.where(
            has_unpaid, EVENT_KINDS.index("default_90dpd"), EVENT_KINDS.index("insolvency"))
        written_off = rng.random(len(firms)) < WRITE_OFF_SHARE
        self.write_off_lag[firms] = np.where(written_off, random_days(rng, 150, 210, len(firms)), -1)

    def unpaid_invoice(self, debtor: np.ndarray, due_at: np.ndarray) -> None:
        """Bring a distressed debtor's default forward to 90 days past ``due_at`` if earlier."""
        candidate = np.full(len(self.event_at), NO_TIME, dtype=np.int64)
        np.minimum.at(candidate, debtor, due_at + DEFAULT_DAYS_PAST_DUE * DAY)
        earlier = (candidate < self.event_at) & ~self.event_emitted
        self.event_at[earlier] = candidate[earlier]
        self.event_kind[earlier] = EVENT_KINDS.index("default_90dpd")

    def release(self, month_end: int) -> dict[str, np.ndarray]:
        """Credit events that occur before ``month_end``, sorted by time."""
        first = np.flatnonzero((self.event_at < month_end) & ~self.event_emitted)
        self.event_emitted[first] = True
        write_off_at = np.where(self.write_off_lag >= 0, self.event_at + np.maximum(self.write_off_lag, 0), NO_TIME)
        later = np.flatnonzero(self.event_emitted & (write_off_at < month_end) & ~self.write_off_emitted)
        self.write_off_emitted[later] = True
        firm = np.concatenate([first, later])
        at = np.concatenate([self.event_at[first], write_off_at[later]])
        kind = np.concatenate([self.event_kind[first], np.full(len(later), EVENT_KINDS.index("write_off"), np.int8)])
        by_time = np.lexsort((firm, at))
        return {"firm": firm[by_time], "occurred_at": at[by_time], "kind": kind[by_time]}


class Settlement:
    """Planned and released invoices, payments, returns and disputes.

    Parameters
    ----------
    horizon_end_us : int
        End of the simulation; nothing at or after it is ever released.
    """

    def __init__(self, horizon_end_us: int):
        self.horizon_end_us = horizon_end_us
        self.invoices = _empty(INVOICE_PLAN)
        self.payments = _empty(PAYMENT_PLAN)
        self.returns = _empty(RETURN_PLAN)
        self.disputes = _empty(DISPUTE_PLAN)
        self.invoice_of_order = np.zeros(1024, dtype=np.int64)
        self.next_id = {"invoices": 1, "payments": 1, "returns": 1, "disputes": 1}

    def plan(self, orders: dict[str, np.ndarray], credit_index: np.ndarray, credit: CreditBook, rng) -> None:
        """Draw the settlement of this month's orders (with ``order_id`` set).

        Lateness, partial payment and disputes grow as the buyer's credit index falls;
        returns, cancellations and disputes as the supplier's falls.
        """
        end = self.horizon_end_us
        n = len(orders["order_id"])
        xb, xs = credit_index[orders["buyer"]], credit_index[orders["supplier"]]
        prepaid = orders["terms"] == PREPAID
        amount = orders["amount"]

        issued = np.where(prepaid, orders["created_at"], orders["shipped_at"])
        due = np.where(issued == NO_TIME, NO_TIME, issued + TERM_DAYS_BY_CODE[orders["terms"]] * DAY)
        late = rng.random(n) < _logistic(-1.3 - 1.1 * xb)
        days_late = np.minimum(np.ceil(np.exp(np.log(6.0) - 0.35 * xb + rng.normal(0.0, 0.9, n))), MAX_DAYS_LATE)
        days_early = np.floor(rng.random(n) * np.minimum(TERM_DAYS_BY_CODE[orders["terms"]], 12))
        offset_days = np.where(late, days_late, -days_early)
        jitter = random_days(rng, -0.4, 0.4, n)
        first_paid = np.where(prepaid, issued, np.maximum(due + (offset_days * DAY).astype(np.int64) + jitter, issued))
        partial = ~prepaid & (rng.random(n) < _logistic(-2.8 - 0.7 * xb))
        first_amount = np.where(partial, np.maximum((amount * rng.uniform(0.3, 0.7, n)).astype(np.int64), 1), amount)
        second_paid = np.minimum(first_paid + random_days(rng, 15, 60, n), due + MAX_DAYS_LATE * DAY)
        second_paid = np.where(partial, np.maximum(second_paid, first_paid), NO_TIME)
        invoiced = issued != NO_TIME
        plan = {
            "order_id": orders["order_id"], "buyer": orders["buyer"], "supplier": orders["supplier"],
            "issued_at": issued, "due_at": due, "amount": amount, "first_paid_at": first_paid,
            "first_amount": first_amount, "second_paid_at": second_paid,
            "second_amount": np.where(partial, amount - first_amount, 0),
        }
        plan = _take(plan, np.flatnonzero(invoiced))
        self.invoices = _concat(self.invoices, plan)

        # A distressed buyer's new invoices go unpaid, which can bring its default forward.
        distressed_at = credit.distressed_at[plan["buyer"]]
        unpaid = (plan["first_paid_at"] >= distressed_at) | (
            (plan["second_paid_at"] != NO_TIME) & (plan["second_paid_at"] >= distressed_at))
        credit.unpaid_invoice(plan["buyer"][unpaid], plan["due_at"][unpaid])

        delivered = orders["delivered_at"] != NO_TIME
        returned = delivered & (rng.random(n) < np.clip(0.02 * np.exp(-0.4 * xs), 0, 0.3))
        returned_at = np.where(returned, orders["delivered_at"] + random_days(rng, 1, 30, n), NO_TIME)
        return_amount = np.maximum((amount * rng.uniform(0.05, 1.0, n)).astype(np.int64), 1)
        # A cancelled prepaid order is refunded in full by a credit note.
        refunded = prepaid & (orders["cancelled_at"] != NO_TIME)
        returned_at = np.where(refunded, orders["cancelled_at"], returned_at)
        return_amount = np.where(refunded, amount, return_amount)
        reason = np.where(refunded, RETURN_REASONS.index("surplus"),
                          rng.choice(len(RETURN_REASONS), n, p=RETURN_REASON_SHARES)).astype(np.int8)
        keep = np.flatnonzero(returned_at < end)
        self.returns = _concat(self.returns, _take(
            {"order_id": orders["order_id"], "returned_at": returned_at, "amount": return_amount, "reason": reason},
            keep))

        shipped = orders["shipped_at"] != NO_TIME
        disputed = shipped & (rng.random(n) < np.clip(0.012 * np.exp(-0.45 * xb - 0.35 * xs), 0, 0.4))
        opened = np.where(disputed, orders["shipped_at"] + random_days(rng, 2, 45, n), NO_TIME)
        resolved_at = opened + random_days(rng, 5, 60, n)
        resolved = (rng.random(n) < 0.85) & (resolved_at < end)
        keep = np.flatnonzero(opened < end)
        self.disputes = _concat(self.disputes, _take({
            "order_id": orders["order_id"], "opened_at": opened,
            "amount": (amount * rng.random(n)).astype(np.int64),
            "reason": rng.choice(len(DISPUTE_REASONS), n, p=DISPUTE_REASON_SHARES).astype(np.int8),
            "resolution": np.where(resolved, rng.choice(len(DISPUTE_RESOLUTIONS), n, p=DISPUTE_RESOLUTION_SHARES),
                                   -1).astype(np.int8),
            "resolved_at": np.where(resolved, resolved_at, NO_TIME),
        }, keep))

    def earliest_unpaid_due(self, firms: np.ndarray, distressed_at: np.ndarray, n_firms: int) -> np.ndarray:
        """Earliest due date of the invoices of ``firms`` still to be paid after their distress."""
        when = np.full(n_firms, NO_TIME, dtype=np.int64)
        when[firms] = distressed_at
        earliest = np.full(n_firms, NO_TIME, dtype=np.int64)
        inv = self.invoices
        cut = when[inv["buyer"]]
        open_invoice = (inv["first_paid_at"] >= cut) | ((inv["second_paid_at"] != NO_TIME) & (inv["second_paid_at"] >= cut))
        open_invoice &= cut != NO_TIME
        np.minimum.at(earliest, inv["buyer"][open_invoice], inv["due_at"][open_invoice])
        pay = self.payments
        cut = when[pay["buyer"]]
        open_payment = (pay["paid_at"] >= cut) & (cut != NO_TIME)
        np.minimum.at(earliest, pay["buyer"][open_payment], pay["due_at"][open_payment])
        return earliest[firms]

    def release(self, month_end: int, distressed_at: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
        """Everything that happens before ``month_end``, with ids, each table in time order."""
        out = {}
        inv = self.invoices
        now = inv["issued_at"] < month_end
        released = _take(inv, np.flatnonzero(now))
        self.invoices = _take(inv, np.flatnonzero(~now))
        released = _take(released, np.lexsort((released["order_id"], released["issued_at"])))
        ids = self.next_id["invoices"] + np.arange(len(released["order_id"]), dtype=np.int64)
        self.next_id["invoices"] += len(ids)
        self._remember_invoices(released["order_id"], ids)
        out["invoices"] = {**released, "invoice_id": ids}

        second = released["second_paid_at"] != NO_TIME
        self.payments = _concat(self.payments, {
            "invoice_id": np.concatenate([ids, ids[second]]),
            "buyer": np.concatenate([released["buyer"], released["buyer"][second]]),
            "due_at": np.concatenate([released["due_at"], released["due_at"][second]]),
            "paid_at": np.concatenate([released["first_paid_at"], released["second_paid_at"][second]]),
            "amount": np.concatenate([released["first_amount"], released["second_amount"][second]]),
        })
        pay = self.payments
        # A distressed buyer stops paying: planned payments after its distress never happen.
        alive = (pay["paid_at"] < distressed_at[pay["buyer"]]) & (pay["paid_at"] < self.horizon_end_us)
        now = alive & (pay["paid_at"] < month_end)
        released = _take(pay, np.flatnonzero(now))
        self.payments = _take(pay, np.flatnonzero(alive & ~now))
        released = _take(released, np.lexsort((released["invoice_id"], released["paid_at"])))
        out["payments"] = {**released, "payment_id": self._ids("payments", len(released["paid_at"]))}

        for table, time_column in (("returns", "returned_at"), ("disputes", "opened_at")):
            plan = getattr(self, table)
            now = plan[time_column] < month_end
            released = _take(plan, np.flatnonzero(now))
            setattr(self, table, _take(plan, np.flatnonzero(~now)))
            released = _take(released, np.lexsort((released["order_id"], released[time_column])))
            known = released["order_id"] < len(self.invoice_of_order)
            released["invoice_id"] = np.where(
                known, self.invoice_of_order[np.where(known, released["order_id"], 0)], 0)
            out[table] = {**released, table[:-1] + "_id": self._ids(table, len(released["order_id"]))}
        return out

    def _ids(self, table: str, count: int) -> np.ndarray:
        ids = self.next_id[table] + np.arange(count, dtype=np.int64)
        self.next_id[table] += count
        return ids

    def _remember_invoices(self, order_id: np.ndarray, invoice_id: np.ndarray) -> None:
        if len(order_id) == 0:
            return
        needed = int(order_id.max()) + 1
        if needed > len(self.invoice_of_order):
            grown = np.zeros(max(needed, 2 * len(self.invoice_of_order)), dtype=np.int64)
            grown[: len(self.invoice_of_order)] = self.invoice_of_order
            self.invoice_of_order = grown
        self.invoice_of_order[order_id] = invoice_id
