"""The console's sessions (migration ``0008_console_sessions``).

A session is what a signed-in browser holds instead of the API key: a random token in an
HttpOnly cookie. Only the token's SHA-256 is stored, as for API keys, so a copy of the store
does not let anyone in. The session names the API key it was opened with; the key's role,
name and revocation are read live on every request, so revoking the key ends its sessions.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from credit.store.tables import Base, Identifier


class ConsoleSession(Base):
    """A signed-in browser session of the finance console."""

    __tablename__ = "console_sessions"
    __table_args__ = (
        CheckConstraint("expires_at > created_at", name="expires_after_created"),
        CheckConstraint("ended_at IS NULL OR ended_at >= created_at", name="ended_after_created"),
        Index("ix_console_sessions_key", "key_id"),
    )

    session_id: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True,
                                            doc="Session identifier.")
    # The API key is named without a foreign key: api_keys lives on another migration branch
    # (see migration 0006_applications for why a cross-branch dependency is avoided).
    key_id: Mapped[int] = mapped_column(Identifier, nullable=False, doc="The API key (api_keys.key_id) signed in with.")
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True,
                                            doc="Hex SHA-256 of the session token in the cookie.")
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="Signed in (UTC).")
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="The session ends by itself (UTC).")
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, doc="Signed out (UTC); null while open.")
