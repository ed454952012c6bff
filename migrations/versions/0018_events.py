"""events: the transactional outbox of every state change a client cares about

Revision ID: 0018_events
Revises: 0001
Create Date: 2026-12-06 10:30:00

One table, ``events`` (credit/events/tables.py), written in the same transaction as the change
each row reports. ``position`` is given after commit by the sequencer
(credit/events/outbox.py), the order pollers and the webhook dispatcher read. Its own branch
(``events``) from the history tables: it references no other table.
"""
from alembic import op
import sqlalchemy as sa

revision = "0018_events"
down_revision = "0001"
branch_labels = ("events",)
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("seq", _ID, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("type", sa.String(60), nullable=False),
        sa.Column("object_type", sa.String(40), nullable=False),
        sa.Column("object_id", sa.String(60), nullable=False),
        sa.Column("firm_id", sa.BigInteger(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_events_event_id")),
    )
    op.create_index("ix_events_position", "events", ["position"], unique=True)
    op.create_index("ix_events_unsequenced", "events", ["seq"], postgresql_where=sa.text("position IS NULL"),
                    sqlite_where=sa.text("position IS NULL"))
    op.create_index("ix_events_object", "events", ["object_type", "object_id", "seq"])


def downgrade() -> None:
    op.drop_table("events")
