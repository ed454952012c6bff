"""Marketplace transaction history as SQLAlchemy 2.0 tables.

These declarations are the single source of the data model: the Arrow/pandas schemas
(:mod:`credit.store.frames`), the Alembic migrations, the ingest validation suites and the
schema reference (``docs/schema.md``) are all derived from or checked against them.

Conventions
-----------
* Money is integer minor units (``*_minor`` columns, e.g. cents) in the marketplace currency.
* Timestamps are UTC, stored without a zone, microsecond precision.
* Identifiers are positive 64-bit integers assigned by the marketplace.
* Allowed values are listed in :data:`ALLOWED_VALUES` and enforced by CHECK constraints.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Integer,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ALLOWED_VALUES: dict[str, tuple[str, ...]] = {
    "role": ("buyer", "supplier", "both"),
    "industry": (
        "machinery", "construction", "automotive", "electronics",
        "food_processing", "chemicals", "textiles", "wholesale",
    ),
    "region": ("north", "south", "east", "west", "central"),
    "size_band": ("micro", "small", "medium", "large"),
    "category": ("parts", "tools", "materials", "packaging", "chemicals", "electrical"),
    "payment_terms": ("prepaid", "net30", "net60", "net90", "credit"),
    "return_reason": ("damaged", "defective", "wrong_item", "not_as_described", "late_delivery", "surplus"),
    "dispute_reason": ("quality", "quantity", "late_delivery", "pricing", "damaged", "not_received"),
    "dispute_resolution": ("buyer_favour", "supplier_favour", "settled", "withdrawn"),
    "credit_event_kind": ("default_90dpd", "insolvency", "write_off"),
}

# Net days a buyer has to pay an invoice under each payment term ("credit" is the platform's
# own net-terms product, settled like net 30).
TERMS_DAYS: dict[str, int] = {"prepaid": 0, "net30": 30, "net60": 60, "net90": 90, "credit": 30}


def one_of(column: str, values: tuple[str, ...]) -> str:
    """A CHECK that ``column`` holds one of ``values``, for every part of the store's tables.

    An OR chain, not IN (...): SQLite rebuilds an IN list for every inserted row, which made
    these checks cost three times the insert itself on bulk loads.
    """
    return "(" + " OR ".join(f"{column} = '{v}'" for v in values) + ")"


def _in_set(column: str, domain: str) -> str:
    return one_of(column, ALLOWED_VALUES[domain])


# On SQLite an INTEGER PRIMARY KEY is the rowid itself; a BIGINT key would be a second B-tree.
Identifier = BigInteger().with_variant(Integer, "sqlite")


def _choice(domain: str, doc: str, *, nullable: bool = False) -> Mapped:
    width = max(len(v) for v in ALLOWED_VALUES[domain])
    return mapped_column(String(width), nullable=nullable, doc=doc, info={"allowed": domain})


def _money(doc: str) -> Mapped:
    return mapped_column(BigInteger, nullable=False, doc=doc, info={"money": True})


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Firm(Base):
    """A member firm of the marketplace; buyer, supplier or both."""

    __tablename__ = "firms"
    __table_args__ = (
        CheckConstraint(_in_set("roles", "role"), name="roles_allowed"),
        CheckConstraint(_in_set("industry", "industry"), name="industry_allowed"),
        CheckConstraint(_in_set("region", "region"), name="region_allowed"),
        CheckConstraint(_in_set("size_band", "size_band"), name="size_band_allowed"),
        CheckConstraint("deposit_minor >= 0", name="deposit_non_negative"),
        {"info": {"event_time": "registered_at", "key": "firm_id"}},
    )

    firm_id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=False, doc="Firm identifier.")
    name: Mapped[str] = mapped_column(String(200), nullable=False, doc="Registered trading name.")
    roles: Mapped[str] = _choice("role", "What the firm does on the platform.")
    industry: Mapped[str] = _choice("industry", "The firm's own industry (drives shared shocks).")
    region: Mapped[str] = _choice("region", "Region of the registered address.")
    size_band: Mapped[str] = _choice("size_band", "Size band by headcount: micro <10, small <50, medium <250, large.")
    registered_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="When the firm joined the platform.")
    verified: Mapped[bool] = mapped_column(
        Boolean(create_constraint=True, name="verified_bool"), nullable=False, doc="Business licence checked by the platform."
    )
    deposit_minor: Mapped[int] = _money("Trading deposit held for a supplier (0 for buyers), minor units.")


class Order(Base):
    """A purchase order between a buyer and a supplier, with its status history.

    The status history is one timestamp per lifecycle status: an order is ``created``, then
    ``confirmed`` by the supplier, ``shipped`` and ``delivered``; it may be ``cancelled`` at
    any point before delivery. A status that has not happened (yet) is null. The state of an
    order as known at time t is the latest status whose timestamp is before t.
    """

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("buyer_id <> supplier_id", name="buyer_not_supplier"),
        CheckConstraint(_in_set("category", "category"), name="category_allowed"),
        CheckConstraint(_in_set("payment_terms", "payment_terms"), name="payment_terms_allowed"),
        CheckConstraint("confirmed_at IS NULL OR confirmed_at >= created_at", name="confirmed_after_created"),
        CheckConstraint(
            "shipped_at IS NULL OR (confirmed_at IS NOT NULL AND shipped_at >= confirmed_at)",
            name="shipped_after_confirmed",
        ),
        CheckConstraint(
            "delivered_at IS NULL OR (shipped_at IS NOT NULL AND delivered_at >= shipped_at)",
            name="delivered_after_shipped",
        ),
        CheckConstraint(
            "cancelled_at IS NULL OR (cancelled_at >= created_at AND delivered_at IS NULL)",
            name="cancelled_before_delivery",
        ),
        Index("ix_orders_buyer_created", "buyer_id", "created_at"),
        Index("ix_orders_supplier_created", "supplier_id", "created_at"),
        {"info": {"event_time": "created_at", "key": "order_id"}},
    )

    order_id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=False, doc="Order identifier.")
    buyer_id: Mapped[int] = mapped_column(ForeignKey("firms.firm_id"), nullable=False, doc="Buying firm.")
    supplier_id: Mapped[int] = mapped_column(ForeignKey("firms.firm_id"), nullable=False, doc="Supplying firm.")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="When the buyer placed the order.")
    amount_minor: Mapped[int] = _money("Order value including tax, minor units; > 0.")
    category: Mapped[str] = _choice("category", "Goods category of the order.")
    payment_terms: Mapped[str] = _choice("payment_terms", "Agreed payment terms.")
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime, doc="Supplier confirmed the order.")
    shipped_at: Mapped[datetime | None] = mapped_column(DateTime, doc="Goods left the supplier.")
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime, doc="Goods received by the buyer.")
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime, doc="Order cancelled (never after delivery).")


class Invoice(Base):
    """An invoice a supplier (creditor) issued to a buyer (debtor) for an order."""

    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("due_at >= issued_at", name="due_after_issued"),
        Index("ix_invoices_buyer_due", "buyer_id", "due_at"),
        Index("ix_invoices_supplier_issued", "supplier_id", "issued_at"),
        Index("ix_invoices_order", "order_id"),
        {"info": {"event_time": "issued_at", "key": "invoice_id"}},
    )

    invoice_id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=False, doc="Invoice identifier.")
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.order_id"), nullable=False, doc="Order invoiced.")
    supplier_id: Mapped[int] = mapped_column(ForeignKey("firms.firm_id"), nullable=False, doc="Creditor; the order's supplier.")
    buyer_id: Mapped[int] = mapped_column(ForeignKey("firms.firm_id"), nullable=False, doc="Debtor; the order's buyer.")
    issued_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="Issue time; not before the order was created.")
    due_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="Payment due; not before issue.")
    amount_minor: Mapped[int] = _money("Invoiced amount, minor units; > 0.")


class Payment(Base):
    """A payment against an invoice; an invoice may be paid in several partial payments."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        Index("ix_payments_invoice", "invoice_id"),
        Index("ix_payments_paid_at", "paid_at", "invoice_id", "amount_minor"),  # sellers' sales by time (loans)
        {"info": {"event_time": "paid_at", "key": "payment_id"}},
    )

    payment_id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=False, doc="Payment identifier.")
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.invoice_id"), nullable=False, doc="Invoice paid.")
    paid_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="Money received; not before the invoice was issued.")
    amount_minor: Mapped[int] = _money("Amount paid, minor units; > 0.")


class Return(Base):
    """Goods returned by the buyer and the credit note the supplier issued for them."""

    __tablename__ = "returns"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint(_in_set("reason", "return_reason"), name="reason_allowed"),
        Index("ix_returns_order", "order_id"),
        {"info": {"event_time": "returned_at", "key": "return_id"}},
    )

    return_id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=False, doc="Return / credit-note identifier.")
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.order_id"), nullable=False, doc="Order the goods came from.")
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.invoice_id"), doc="Invoice credited, if one was issued.")
    returned_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="Credit note issued; not before the order was created.")
    amount_minor: Mapped[int] = _money("Credit-note amount, minor units; > 0 and at most the order amount.")
    reason: Mapped[str] = _choice("return_reason", "Why the goods came back.")


class Dispute(Base):
    """A dispute the buyer raised on an order or invoice, and how it was resolved."""

    __tablename__ = "disputes"
    __table_args__ = (
        CheckConstraint("amount_minor >= 0", name="amount_non_negative"),
        CheckConstraint(_in_set("reason", "dispute_reason"), name="reason_allowed"),
        CheckConstraint(
            "resolution IS NULL OR " + _in_set("resolution", "dispute_resolution"), name="resolution_allowed"
        ),
        CheckConstraint(
            "(resolution IS NULL AND resolved_at IS NULL) OR "
            "(resolution IS NOT NULL AND resolved_at IS NOT NULL AND resolved_at >= opened_at)",
            name="resolved_after_opened",
        ),
        Index("ix_disputes_order", "order_id"),
        {"info": {"event_time": "opened_at", "key": "dispute_id"}},
    )

    dispute_id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=False, doc="Dispute identifier.")
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.order_id"), nullable=False, doc="Order disputed.")
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.invoice_id"), doc="Invoice disputed, if any.")
    opened_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="Dispute raised; not before the order was created.")
    amount_minor: Mapped[int] = _money("Amount in dispute, minor units; >= 0.")
    reason: Mapped[str] = _choice("dispute_reason", "What the buyer disputes.")
    resolution: Mapped[str | None] = _choice("dispute_resolution", "Outcome; null while open.", nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime, doc="When resolved; null while open.")


class CreditEvent(Base):
    """A credit event of a firm: the labels of the risk models.

    ``default_90dpd`` is recorded when any invoice of the firm is 90 or more days past due;
    ``insolvency`` when insolvency proceedings open; ``write_off`` when a receivable is
    written off. A firm defaults at its first credit event.
    """

    __tablename__ = "credit_events"
    __table_args__ = (
        CheckConstraint(_in_set("kind", "credit_event_kind"), name="kind_allowed"),
        Index("ix_credit_events_firm", "firm_id", "occurred_at"),
        {"info": {"event_time": "occurred_at", "key": "event_id"}},
    )

    event_id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=False, doc="Credit event identifier.")
    firm_id: Mapped[int] = mapped_column(ForeignKey("firms.firm_id"), nullable=False, doc="Firm concerned.")
    occurred_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="When the event happened.")
    kind: Mapped[str] = _choice("credit_event_kind", "Kind of event.")


class QuarantinedRow(Base):
    """A row that ingest refused, with the rule it broke; one record per (row, rule)."""

    __tablename__ = "ingest_quarantine"
    __table_args__ = (
        UniqueConstraint("table_name", "row_fingerprint", "rule", name="row_rule"),
        Index("ix_ingest_quarantine_table_rule", "table_name", "rule"),
    )

    quarantine_id: Mapped[int] = mapped_column(primary_key=True)
    table_name: Mapped[str] = mapped_column(String(64), nullable=False, doc="Target table.")
    source: Mapped[str] = mapped_column(String(500), nullable=False, doc="File the row came from.")
    row_number: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="CSV line number (header = line 1) or 1-based Parquet row.")
    row_key: Mapped[str | None] = mapped_column(String(100), doc="The row's primary key as given, if any.")
    rule: Mapped[str] = mapped_column(String(100), nullable=False, doc="Validation rule broken.")
    detail: Mapped[str] = mapped_column(Text, nullable=False, doc="What was wrong, in words.")
    row_json: Mapped[str] = mapped_column(Text, nullable=False, doc="The row as read, JSON.")
    row_fingerprint: Mapped[str] = mapped_column(String(64), nullable=False, doc="SHA-256 of the row as read.")
    quarantined_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="When it was quarantined.")


class IngestRun(Base):
    """One file loaded into one table: what was loaded, unchanged and quarantined."""

    __tablename__ = "ingest_runs"

    run_id: Mapped[int] = mapped_column(primary_key=True)
    table_name: Mapped[str] = mapped_column(String(64), nullable=False)
    source: Mapped[str] = mapped_column(String(500), nullable=False)
    file_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    rows_read: Mapped[int] = mapped_column(BigInteger, nullable=False)
    rows_loaded: Mapped[int] = mapped_column(BigInteger, nullable=False)
    rows_unchanged: Mapped[int] = mapped_column(BigInteger, nullable=False)
    rows_quarantined: Mapped[int] = mapped_column(BigInteger, nullable=False)
    started_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    finished_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


HISTORY_TABLES: tuple[str, ...] = (
    "firms", "orders", "invoices", "payments", "returns", "disputes", "credit_events",
)
"""History tables in load order: every table comes after the tables it references."""
