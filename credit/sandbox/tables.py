"""The sandbox's clock: one row in the sandbox's store saying how far its time is ahead (migration ``0021_sandbox``).

The table exists in every store (one schema for all); only the sandbox's store has its row.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, DateTime, Integer
from sqlalchemy.orm import Mapped, mapped_column

from credit.store.tables import Base


class SandboxClock(Base):
    """How far the sandbox's time runs ahead of the real clock, and which days its daily jobs have run."""

    __tablename__ = "sandbox_clock"
    __table_args__ = (
        CheckConstraint("clock_id = 1", name="one_row"),
        CheckConstraint("offset_us >= 0", name="offset_forward"),
    )

    clock_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False, doc="Always 1: one clock.")
    offset_us: Mapped[int] = mapped_column(BigInteger, nullable=False,
                                           doc="Microseconds the sandbox's now is ahead of the real now (>= 0).")
    serviced_through: Mapped[date] = mapped_column(Date, nullable=False,
                                                   doc="Last day the servicing and financing daily jobs ran for.")
    seeded_at: Mapped[datetime] = mapped_column(DateTime, nullable=False,
                                                doc="When the sandbox was last reset and seeded, sandbox time (UTC).")
    moved_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True,
                                                      doc="When the clock was last moved, sandbox time after the move.")
