"""Event streams that feature definitions aggregate, each with one event time.

Point-in-time correctness is built into what a stream may expose: every column of a stream
is known at the stream's event time. An order's later cancellation is not a column of
``orders`` (it is not known when the order is placed); it is its own event in
``order_cancellations`` at ``cancelled_at``. So a feature counting only events before an
as-of date sees every event's state as it was known then, and an order cancelled after the
as-of date counts as a live order.

State that builds up over several events is derived once per history in helper tables:
``_payment_facts`` (each payment with its invoice and the amount paid so far) and
``_invoice_facts`` (each invoice issued before the last as-of date, with when it was paid in
full and what was paid by its due date) and ``_order_parties`` (buyer and supplier of the
orders that returns and disputes refer to, so those small streams need not scan all orders).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from credit.features.history import BUILD_MEMORY_LIMIT, MEMORY_LIMIT, History

DAY_US = 86_400_000_000


@dataclass(frozen=True)
class Source:
    """An event stream: rows with one event time and the firms they concern.

    Attributes
    ----------
    name
        Name used in feature definitions.
    description
        What one row is.
    event_time
        Column with the time the row's facts became known.
    entities
        Role (``buyer``, ``supplier``, ``debtor``, ``creditor``, ``firm``) to the column
        holding that firm's id.
    columns
        Every other column a definition may filter on or aggregate, with its meaning.
    select
        DuckDB query over the history views (and helper tables) producing the rows.
    """

    name: str
    description: str
    event_time: str
    entities: dict[str, str]
    columns: dict[str, str]
    select: str


# The running total is cast to BIGINT (a sum is HUGEINT, twice the bytes on ten million rows):
# it is at most an invoice's payments, far inside BIGINT, and DuckDB raises on an overflow.
_PAYMENT_FACTS = """
CREATE OR REPLACE TEMP TABLE _payment_facts AS
SELECT p.payment_id, p.invoice_id, i.buyer_id, i.supplier_id, p.paid_at, p.amount_minor,
       i.due_at, i.amount_minor AS invoice_amount_minor,
       CAST(sum(p.amount_minor) OVER (PARTITION BY p.invoice_id ORDER BY p.paid_at, p.payment_id
                                      ROWS UNBOUNDED PRECEDING) AS BIGINT) AS paid_to_date_minor
FROM (SELECT * FROM payments WHERE paid_at < $until) p JOIN invoices i USING (invoice_id)
"""

# Payment amounts are positive (a CHECK of the store), so an invoice's running total only grows:
# it is settled at the first payment whose running total reaches its amount, and what was paid
# by the due time is the largest running total of a payment not after it. Both are plain
# aggregates of one grouping of the payments by invoice, with no look at the next payment.
_INVOICE_FACTS = """
CREATE OR REPLACE TEMP TABLE _invoice_facts AS
SELECT i.invoice_id, i.buyer_id, i.supplier_id, i.issued_at, i.due_at, i.amount_minor, p.settled_at,
       coalesce(p.paid_by_due_minor, 0) AS paid_by_due_minor
FROM (SELECT * FROM invoices WHERE issued_at < $until) i
LEFT JOIN (SELECT invoice_id,
                  min(paid_at) FILTER (WHERE paid_to_date_minor >= invoice_amount_minor) AS settled_at,
                  max(paid_to_date_minor) FILTER (WHERE paid_at <= due_at) AS paid_by_due_minor
           FROM _payment_facts GROUP BY invoice_id) p USING (invoice_id)
"""

_ORDER_PARTIES = """
CREATE OR REPLACE TEMP TABLE _order_parties AS
SELECT order_id, buyer_id, supplier_id FROM orders
WHERE order_id IN (SELECT order_id FROM returns UNION ALL SELECT order_id FROM disputes)
"""

HELPER_TABLES = ("_payment_facts", "_invoice_facts", "_order_parties")


def reads_helper_tables(source: Source) -> bool:
    """Whether the stream is derived from the helper tables (:func:`prepare` must run before it is scanned)."""
    return any(table in source.select for table in HELPER_TABLES)


def release(history: History) -> None:
    """Drop the helper tables (they hold a copy of the payments and invoices)."""
    for table in HELPER_TABLES:
        history.connection.execute(f"DROP TABLE IF EXISTS {table}")
    history.prepared_until = None


def prepare(history: History, until: datetime) -> None:
    """Create the helper tables the derived streams read, from payments before ``until``.

    Every derived event before ``until`` depends only on payments before it (a settlement
    happens at a payment; what was paid by a due date is paid before it), so the later
    ones are never read.
    """
    history.connection.execute(f"SET memory_limit = '{BUILD_MEMORY_LIMIT}'")
    try:
        history.connection.execute(_PAYMENT_FACTS, {"until": until})
        history.connection.execute(_INVOICE_FACTS, {"until": until})
        history.connection.execute(_ORDER_PARTIES)
    finally:
        history.connection.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")


def _days(later: str, earlier: str) -> str:
    """Whole days from ``earlier`` to ``later`` (floor), as an integer."""
    return f"CAST(floor((epoch_us({later}) - epoch_us({earlier})) / {DAY_US}) AS BIGINT)"


ORDER_PARTIES = {"buyer": "buyer_id", "supplier": "supplier_id"}
INVOICE_PARTIES = {"debtor": "buyer_id", "creditor": "supplier_id"}

SOURCES: dict[str, Source] = {s.name: s for s in [
    Source(
        "orders", "An order placed by a buyer with a supplier.", "created_at", ORDER_PARTIES,
        {"order_id": "Order id.", "amount_minor": "Order value, minor units.",
         "category": "Goods category.", "payment_terms": "prepaid, net30, net60, net90 or credit."},
        "SELECT order_id, buyer_id, supplier_id, created_at, amount_minor, category, payment_terms FROM orders"),
    Source(
        "order_cancellations", "An order cancelled, at the time of cancellation.", "cancelled_at", ORDER_PARTIES,
        {"order_id": "Order id.", "amount_minor": "Value of the cancelled order, minor units."},
        "SELECT order_id, buyer_id, supplier_id, cancelled_at, amount_minor FROM orders WHERE cancelled_at IS NOT NULL"),
    Source(
        "order_deliveries", "An order delivered to the buyer, at delivery.", "delivered_at", ORDER_PARTIES,
        {"order_id": "Order id.", "amount_minor": "Order value, minor units.",
         "lead_time_days": "Whole days from order to delivery."},
        f"SELECT order_id, buyer_id, supplier_id, delivered_at, amount_minor, "
        f"{_days('delivered_at', 'created_at')} AS lead_time_days FROM orders WHERE delivered_at IS NOT NULL"),
    Source(
        "order_shipments", "An order shipped by the supplier, at shipment.", "shipped_at", ORDER_PARTIES,
        {"order_id": "Order id.", "amount_minor": "Order value, minor units.",
         "hours_to_ship": "Whole hours from the supplier's confirmation to shipment (null if never confirmed)."},
        "SELECT order_id, buyer_id, supplier_id, shipped_at, amount_minor, "
        "CAST(floor((epoch_us(shipped_at) - epoch_us(confirmed_at)) / 3600000000) AS BIGINT) AS hours_to_ship "
        "FROM orders WHERE shipped_at IS NOT NULL"),
    Source(
        "invoices", "An invoice issued by a supplier (creditor) to a buyer (debtor).", "issued_at", INVOICE_PARTIES,
        {"invoice_id": "Invoice id.", "amount_minor": "Invoiced amount, minor units.",
         "terms_days": "Whole days from issue to due date."},
        f"SELECT invoice_id, buyer_id, supplier_id, issued_at, amount_minor, "
        f"{_days('due_at', 'issued_at')} AS terms_days FROM _invoice_facts"),
    Source(
        "invoices_due", "An invoice reaching its due date, with what had been paid by then.", "due_at",
        INVOICE_PARTIES,
        {"invoice_id": "Invoice id.", "amount_minor": "Invoiced amount, minor units.",
         "paid_by_due_minor": "Paid up to and including the due time, minor units.",
         "unpaid_at_due_minor": "Still owed at the due time, minor units.",
         "paid_on_time": "Paid in full by the due time."},
        "SELECT invoice_id, buyer_id, supplier_id, due_at, amount_minor, paid_by_due_minor, "
        "greatest(amount_minor - paid_by_due_minor, 0) AS unpaid_at_due_minor, "
        "paid_by_due_minor >= amount_minor AS paid_on_time FROM _invoice_facts"),
    Source(
        "payments", "A payment received against an invoice.", "paid_at", INVOICE_PARTIES,
        {"payment_id": "Payment id.", "invoice_id": "Invoice paid.", "amount_minor": "Amount paid, minor units.",
         "days_after_due": "Whole days after the due date (negative: early).",
         "partial": "The invoice still had a balance after this payment."},
        f"SELECT payment_id, invoice_id, buyer_id, supplier_id, paid_at, amount_minor, "
        f"{_days('paid_at', 'due_at')} AS days_after_due, "
        f"paid_to_date_minor < invoice_amount_minor AS partial FROM _payment_facts"),
    Source(
        "invoice_settlements", "An invoice paid in full, at the payment that completed it.", "settled_at",
        INVOICE_PARTIES,
        {"invoice_id": "Invoice id.", "amount_minor": "Invoiced amount, minor units.",
         "days_beyond_terms": "Whole days paid after the due date, 0 if on time."},
        f"SELECT invoice_id, buyer_id, supplier_id, settled_at, amount_minor, "
        f"greatest({_days('settled_at', 'due_at')}, 0) AS days_beyond_terms "
        f"FROM _invoice_facts WHERE settled_at IS NOT NULL"),
    Source(
        "returns", "Goods returned and credited (a credit note).", "returned_at", ORDER_PARTIES,
        {"return_id": "Return id.", "order_id": "Order returned.", "amount_minor": "Credited amount, minor units.",
         "reason": "Why the goods came back."},
        "SELECT r.return_id, r.order_id, o.buyer_id, o.supplier_id, r.returned_at, r.amount_minor, r.reason "
        "FROM returns r JOIN _order_parties o USING (order_id)"),
    Source(
        "disputes", "A dispute opened by the buyer over an order.", "opened_at", ORDER_PARTIES,
        {"dispute_id": "Dispute id.", "order_id": "Order disputed.", "amount_minor": "Amount in dispute, minor units.",
         "reason": "What the buyer disputes."},
        "SELECT d.dispute_id, d.order_id, o.buyer_id, o.supplier_id, d.opened_at, d.amount_minor, d.reason "
        "FROM disputes d JOIN _order_parties o USING (order_id)"),
    Source(
        "dispute_resolutions", "A dispute resolved, at resolution.", "resolved_at", ORDER_PARTIES,
        {"dispute_id": "Dispute id.", "amount_minor": "Amount that was in dispute, minor units.",
         "resolution": "buyer_favour, supplier_favour, settled or withdrawn."},
        "SELECT d.dispute_id, o.buyer_id, o.supplier_id, d.resolved_at, d.amount_minor, d.resolution "
        "FROM disputes d JOIN _order_parties o USING (order_id) WHERE d.resolved_at IS NOT NULL"),
    Source(
        "credit_events", "A default, insolvency or write-off of a firm.", "occurred_at", {"firm": "firm_id"},
        {"event_id": "Event id.", "kind": "default_90dpd, insolvency or write_off."},
        "SELECT event_id, firm_id, occurred_at, kind FROM credit_events"),
]}
