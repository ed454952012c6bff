"""What the store says, worked out here with plain SQL and arithmetic, not with the console's queries."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, text

from credit.policy import default_policy


def store_counts(engine: Engine) -> dict[str, object]:
    """Everything a form could write: decisions, applications by status, lines and their balances, holds, transfers."""
    with engine.connect() as connection:
        def scalar(sql: str) -> object:
            return connection.execute(text(sql)).scalar()

        return {
            "decisions": scalar("SELECT count(*) FROM decisions"),
            "applications": dict(Counter(connection.execute(
                text("SELECT status FROM credit_line_applications")).scalars())),
            "lines": connection.execute(text(
                "SELECT line_id, status, limit_minor, posted_minor, pending_minor, per_order_cap_minor "
                "FROM credit_lines ORDER BY line_id")).all(),
            "holds": scalar("SELECT count(*) FROM holds"),
            "transfers": scalar("SELECT count(*) FROM ledger_transfers"),
        }


def grade_of(pd_: Decimal) -> str:
    """The master scale read straight from the policy document: the first grade whose bound is above the PD."""
    scale = list(default_policy().document.master_scale.items())
    for grade, bound in scale:
        if pd_ < bound:
            return grade
    return scale[-1][0]


def euros(minor: int) -> str:
    """``123456`` -> ``"1,234.56"``, from the integer."""
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def percent_of(pd_: Decimal) -> str:
    """A PD as the console writes it, worked out here: 2 places from 1%, else 3."""
    value = pd_ * 100
    return f"{value:.{2 if value >= 1 else 3}f}%"


def ageing(engine: Engine, firm_id: int, now: datetime) -> dict[str, tuple[int, int]]:
    """Open invoices of a buyer by days past due now: bucket -> (invoices, outstanding minor units)."""
    with engine.connect() as connection:
        invoices = connection.execute(text(
            "SELECT invoice_id, due_at, amount_minor FROM invoices WHERE buyer_id = :firm AND issued_at < :now"),
            {"firm": firm_id, "now": now}).all()
        paid: Counter = Counter()
        for invoice_id, amount, paid_at in connection.execute(text(
                "SELECT p.invoice_id, p.amount_minor, p.paid_at FROM payments p JOIN invoices i "
                "ON i.invoice_id = p.invoice_id WHERE i.buyer_id = :firm"), {"firm": firm_id}):
            if _when(paid_at) < now:
                paid[invoice_id] += amount
    buckets = {label: [0, 0] for label in ("Current", "1–30 days", "31–60 days", "61–90 days", "Over 90 days")}
    for invoice_id, due_at, amount in invoices:
        outstanding = amount - paid[invoice_id]
        if outstanding <= 0:
            continue
        due = _when(due_at)
        days = (now - due).days if due < now else 0
        label = ("Current" if days < 1 else "1–30 days" if days <= 30 else "31–60 days" if days <= 60
                 else "61–90 days" if days <= 90 else "Over 90 days")
        buckets[label][0] += 1
        buckets[label][1] += outstanding
    return {label: (count, total) for label, (count, total) in buckets.items()}


def _when(value: object) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def days_ago(moment: datetime, days: int) -> datetime:
    return moment - timedelta(days=days)
