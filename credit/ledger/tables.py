"""The exposure ledger's tables: credit lines, holds and the append-only transfers.

Modelled on TigerBeetle's accounts and pending/posted transfers:

* ``credit_lines`` is the account. ``posted_minor`` (captured exposure the buyer owes) and
  ``pending_minor`` (held, not yet captured) are cached balances; the database refuses any
  row where ``posted_minor + pending_minor > limit_minor``, so available headroom
  (``limit - posted - pending``) can never go negative, whatever code writes the row.
* ``holds`` is the pending transfer of one checkout order: it reserves ``amount_minor``
  against the limit when authorized; captures move parts of it to posted, a void or expiry
  releases what is left. Its running totals are caches of its transfers too.
* ``ledger_transfers`` is the journal. Rows are never updated or deleted (triggers refuse
  it); a correction is a new transfer. Every cached balance can be recomputed from it:

  ==========  ====================  ======================
  kind        pending               posted
  ==========  ====================  ======================
  ``hold``    \\+ amount
  ``post``    − amount              \\+ amount
  ``void``    − amount
  ``expire``  − amount
  ``refund``                        − amount (seller refunded a captured order)
  ``repay``                         − amount (buyer paid back exposure)
  ``reopen``                        \\+ amount (a repayment returned, or paid principal refunded)
  ``charge_off``                    − amount (written off: exposure moved to realised loss)
  ==========  ====================  ======================

``repay``, ``reopen`` and ``charge_off`` move a line's exposure, not one order's. A ``reopen``
can take a line over its limit (a buyer's payment bounced after the headroom was used): it
freezes the line in the same UPDATE, so the database's rule reads "an *active* line is within
its limit" and no authorization can use headroom that is not there.

A limit change is not a transfer: it moves no exposure, only the ceiling.

``business_references`` sits beside them on a migration branch of its own (``references``):
each order, shipment, refund and payment reference a client books, claimed before the
booking so that a retry under a new Idempotency-Key cannot book it twice
(:mod:`credit.ledger.references`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, Integer, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from credit.store.tables import Base, Identifier, one_of

LINE_STATUSES: tuple[str, ...] = ("active", "frozen", "closed")
HOLD_STATUSES: tuple[str, ...] = ("pending", "closed", "expired")
TRANSFER_KINDS: tuple[str, ...] = ("hold", "post", "void", "expire", "refund", "repay", "reopen", "charge_off")
LINE_TRANSFER_KINDS: tuple[str, ...] = ("repay", "reopen", "charge_off")
"""Kinds that move a line's exposure rather than one hold's."""
FROZEN_BY: tuple[str, ...] = ("finance", "servicing")
REFERENCE_KINDS: tuple[str, ...] = ("order", "shipment", "refund", "payment", "payout")


def _money(doc: str) -> Mapped:
    return mapped_column(BigInteger, nullable=False, doc=doc, info={"money": True})


class CreditLine(Base):
    """A buyer firm's checkout credit line and its cached exposure balances."""

    __tablename__ = "credit_lines"
    __table_args__ = (
        CheckConstraint("limit_minor >= 0", name="limit_non_negative"),
        CheckConstraint("posted_minor >= 0", name="posted_non_negative"),
        CheckConstraint("pending_minor >= 0", name="pending_non_negative"),
        # The invariant of the whole ledger: an active line's exposure never exceeds its limit
        # (a returned payment may take a line over it, and freezes it in the same UPDATE).
        CheckConstraint("status <> 'active' OR posted_minor + pending_minor <= limit_minor",
                        name="exposure_within_limit"),
        CheckConstraint("frozen_by IS NULL OR " + one_of("frozen_by", FROZEN_BY), name="frozen_by_allowed"),
        CheckConstraint(
            "per_order_cap_minor IS NULL OR per_order_cap_minor > 0", name="per_order_cap_positive"
        ),
        CheckConstraint(one_of("status", LINE_STATUSES), name="status_allowed"),
        CheckConstraint("length(currency) = 3", name="currency_iso"),
    )

    line_id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True, doc="Credit line identifier.")
    firm_id: Mapped[int] = mapped_column(
        ForeignKey("firms.firm_id"), nullable=False, unique=True, doc="Buyer firm; at most one line per firm."
    )
    currency: Mapped[str] = mapped_column(String(3), nullable=False, doc="ISO 4217 code of every amount on the line.")
    limit_minor: Mapped[int] = _money("Credit limit, minor units; >= 0.")
    per_order_cap_minor: Mapped[int | None] = mapped_column(
        BigInteger, doc="Largest single authorization, minor units; null for no cap.", info={"money": True}
    )
    status: Mapped[str] = mapped_column(String(6), nullable=False, doc="active, frozen (no new holds) or closed.")
    frozen_by: Mapped[str | None] = mapped_column(
        String(10), doc="Who froze it: finance (only finance unfreezes) or servicing (unfrozen when cured); "
                        "null when not frozen by either.")
    posted_minor: Mapped[int] = _money("Captured exposure not yet repaid or refunded (cached from transfers).")
    pending_minor: Mapped[int] = _money("Held, not yet captured, voided or expired (cached from transfers).")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="When the line was opened (UTC).")
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="Last change of limit, status or balance (UTC).")


class Hold(Base):
    """An authorization for one checkout order: the pending amount reserved on a line."""

    __tablename__ = "holds"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("captured_minor >= 0", name="captured_non_negative"),
        CheckConstraint("released_minor >= 0", name="released_non_negative"),
        CheckConstraint("captured_minor + released_minor <= amount_minor", name="settled_within_amount"),
        CheckConstraint("refunded_minor >= 0 AND refunded_minor <= captured_minor", name="refunded_within_captured"),
        # Only a pending hold has anything left to capture or release.
        CheckConstraint(
            "status = 'pending' OR captured_minor + released_minor = amount_minor", name="settled_unless_pending"
        ),
        CheckConstraint(one_of("status", HOLD_STATUSES), name="status_allowed"),
        Index("ix_holds_line", "line_id"),
        Index("ix_holds_status_expires", "status", "expires_at"),
    )

    hold_id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True, doc="Hold identifier.")
    line_id: Mapped[int] = mapped_column(ForeignKey("credit_lines.line_id"), nullable=False, doc="Line the hold is on.")
    order_reference: Mapped[str] = mapped_column(String(100), nullable=False, doc="The marketplace's order reference.")
    authorized_by: Mapped[str | None] = mapped_column(
        String(100), doc="Who asked for the hold: the API key's client (migration 0020); null when not recorded.")
    amount_minor: Mapped[int] = _money("Amount authorized, minor units; > 0.")
    captured_minor: Mapped[int] = _money("Captured so far (moved to posted).")
    released_minor: Mapped[int] = _money("Released by a void or by expiry.")
    refunded_minor: Mapped[int] = _money("Refunded by the seller out of what was captured.")
    status: Mapped[str] = mapped_column(String(7), nullable=False, doc="pending, closed (fully captured or voided) or expired.")
    terms_days: Mapped[int | None] = mapped_column(
        Integer, doc="Payment terms chosen at authorization (days); null for holds booked before terms existed.")
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="After this the rest can no longer be captured (UTC).")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="When it was authorized (UTC).")
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="Last capture, void, refund or expiry (UTC).")


class LedgerTransfer(Base):
    """One immutable movement of exposure on a line; the journal the balances come from."""

    __tablename__ = "ledger_transfers"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint(one_of("kind", TRANSFER_KINDS), name="kind_allowed"),
        # A repayment settles the line; every other movement belongs to one order's hold.
        # A repayment, a reopening or a charge-off moves the line; every other movement one order's hold.
        CheckConstraint(
            f"({one_of('kind', LINE_TRANSFER_KINDS)}) = (hold_id IS NULL)", name="hold_unless_line_transfer",
        ),
        Index("ix_ledger_transfers_line", "line_id", "transfer_id"),
        Index("ix_ledger_transfers_hold", "hold_id"),
    )

    transfer_id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True, doc="Transfer identifier, in booking order.")
    line_id: Mapped[int] = mapped_column(ForeignKey("credit_lines.line_id"), nullable=False, doc="Line whose exposure moves.")
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("holds.hold_id"),
                                                doc="Hold concerned; null for repay, reopen and charge_off.")
    kind: Mapped[str] = mapped_column(String(10), nullable=False,
                                      doc="hold, post, void, expire, refund, repay, reopen or charge_off.")
    amount_minor: Mapped[int] = _money("Amount moved, minor units; > 0.")
    reference: Mapped[str | None] = mapped_column(String(200), doc="Caller's reference (shipment, refund, payment id).")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="When it was booked (UTC).")


class BusinessReference(Base):
    """A business reference a client has booked: one order, shipment, refund or payment, booked once."""

    __tablename__ = "business_references"
    __table_args__ = (
        # The key decides among concurrent duplicates: the second INSERT waits on it, then conflicts.
        PrimaryKeyConstraint("client", "kind", "reference"),
        CheckConstraint(one_of("kind", REFERENCE_KINDS), name="kind_allowed"),
    )

    client: Mapped[str] = mapped_column(String(100), doc="Who booked it: the name of the API key's holder.")
    kind: Mapped[str] = mapped_column(String(10), doc="order, shipment, refund or payment.")
    reference: Mapped[str] = mapped_column(String(200), doc="The client's own reference (order, shipment, ...).")
    object_id: Mapped[int | None] = mapped_column(
        BigInteger, doc="What it booked (a hold id; a transfer id for a payment); null until booked.")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="When it was claimed (UTC).")
