"""The outbox table: one row per event, in the store of the change it reports.

``seq`` is given at insert (a sequence), ``position`` when the event is known to be committed
(:func:`credit.events.outbox.sequence`). Readers go by ``position``: on PostgreSQL, sequence
values are handed out in insert order but transactions commit in any order, so a reader that
went by ``seq`` could step past an event that commits later with a smaller one and never see it.
Positions are given by one sequencer at a time, to committed events only, so the order by
position only ever grows at its end.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from credit.store.tables import Base, Identifier


class Event(Base):
    """One event: what happened to which object, and the object's state after it."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_position", "position", unique=True),
        # The sequencer's work list: the few events not yet given a position.
        Index("ix_events_unsequenced", "seq", postgresql_where=text("position IS NULL"),
              sqlite_where=text("position IS NULL")),
        Index("ix_events_object", "object_type", "object_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(Identifier, primary_key=True, autoincrement=True,
                                     doc="Insert order (not commit order).")
    event_id: Mapped[str] = mapped_column(String(40), unique=True, nullable=False,
                                          doc="Public id, `evt_` + 32 hex; the webhook-id of every delivery.")
    type: Mapped[str] = mapped_column(String(60), nullable=False, doc="Event type, e.g. `credit_line.frozen`.")
    object_type: Mapped[str] = mapped_column(String(40), nullable=False, doc="What changed, e.g. `credit_line`.")
    object_id: Mapped[str] = mapped_column(String(60), nullable=False, doc="The object's id, as text.")
    firm_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, doc="The firm the object belongs to.")
    occurred_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, doc="When the change was made (UTC).")
    data: Mapped[dict] = mapped_column(JSON, nullable=False, doc="The object after the change, as the API shows it.")
    position: Mapped[int | None] = mapped_column(BigInteger, nullable=True,
                                                 doc="Place in the read order; set once the event is committed.")
