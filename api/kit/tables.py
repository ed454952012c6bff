"""Tables of API access: API keys and idempotency records (migrations ``0004_api_access``, ``0012_payments_role``,
``0020_api_clients``).

Declared on the store's :class:`~credit.store.tables.Base` so one metadata describes the whole
operational store. Timestamps are UTC without a zone, like the rest of the store.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from credit.store.tables import Base, Identifier, one_of

ROLES: tuple[str, ...] = ("checkout", "payments", "finance", "analyst", "admin")
"""Roles an API key can have; each endpoint names the roles it allows. ``checkout`` is the
marketplace's checkout system, ``payments`` its payment system (it books repayments)."""

IDEMPOTENCY_STATES: tuple[str, ...] = ("in_progress", "completed")



class ApiKey(Base):
    """An API key: only the SHA-256 of the secret is stored; the secret is shown once.

    A key belongs to a client (``client``): the party that holds it, which keeps its holds,
    business references and Idempotency-Keys when its key is rotated (a new key, same client).
    Keys issued before ``0020_api_clients`` took their name as their client.
    """

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(one_of("role", ROLES), name="role_allowed"),
        UniqueConstraint("key_hash"),
        Index("ix_api_keys_client", "client"),
    )

    key_id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True, doc="Key identifier.")
    name: Mapped[str] = mapped_column(String(100), nullable=False, doc="Who or what holds the key.")
    client: Mapped[str] = mapped_column(String(100), nullable=False,
                                        doc="The client the key belongs to; its rotations keep it.")
    role: Mapped[str] = mapped_column(String(16), nullable=False, doc="checkout, payments, finance, analyst or admin.")
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False, doc="Hex SHA-256 of the secret.")
    prefix: Mapped[str] = mapped_column(String(16), nullable=False, doc="First characters of the secret, for display.")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="When the key was issued.")
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, doc="When the key was revoked; null while valid.")


class IdempotencyRecord(Base):
    """One ``Idempotency-Key`` of one client: the request it was first used with and its response.

    ``in_progress`` while a request holds the key (``lock_token`` names that attempt and
    ``locked_at`` starts its lease); ``completed`` once the response was stored, in the same
    transaction as the request's business writes.
    """

    __tablename__ = "idempotency_records"
    __table_args__ = (
        UniqueConstraint("client", "idempotency_key"),
        CheckConstraint(one_of("state", IDEMPOTENCY_STATES), name="state_allowed"),
        CheckConstraint(
            "(state = 'in_progress' AND response_status IS NULL AND response_body IS NULL) OR "
            "(state = 'completed' AND response_status IS NOT NULL AND response_body IS NOT NULL)",
            name="response_when_completed",
        ),
        Index("ix_idempotency_records_created", "created_at"),
    )

    record_id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.key_id"), nullable=False,
                                        doc="The API key that first used it.")
    client: Mapped[str] = mapped_column(String(100), nullable=False, doc="The key's client: the key's scope.")
    idempotency_key: Mapped[str] = mapped_column(String(255), nullable=False, doc="The header's value.")
    request_method: Mapped[str] = mapped_column(String(10), nullable=False)
    request_path: Mapped[str] = mapped_column(String(1000), nullable=False)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False, doc="SHA-256 of method, path and body.")
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    lock_token: Mapped[str] = mapped_column(String(32), nullable=False, doc="The attempt that holds the key.")
    locked_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="When that attempt claimed it.")
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
