"""sandbox: the sandbox store's clock (its offset ahead of real time, the days its daily jobs ran)

Revision ID: 0021_sandbox
Revises: 0001
Create Date: 2026-12-06 10:30:00

One table, ``sandbox_clock`` (credit/sandbox/tables.py). Every store has it; only the sandbox's
store (test keys, docs/sandbox.md) holds its one row. Its own branch (``sandbox``) from the
history tables: it references no other table.
"""
from alembic import op
import sqlalchemy as sa

revision = "0021_sandbox"
down_revision = "0001"
branch_labels = ("sandbox",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sandbox_clock",
        sa.Column("clock_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("offset_us", sa.BigInteger(), nullable=False),
        sa.Column("serviced_through", sa.Date(), nullable=False),
        sa.Column("seeded_at", sa.DateTime(), nullable=False),
        sa.Column("moved_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("clock_id = 1", name=op.f("ck_sandbox_clock_one_row")),
        sa.CheckConstraint("offset_us >= 0", name=op.f("ck_sandbox_clock_offset_forward")),
        sa.PrimaryKeyConstraint("clock_id", name=op.f("pk_sandbox_clock")),
    )


def downgrade() -> None:
    op.drop_table("sandbox_clock")
