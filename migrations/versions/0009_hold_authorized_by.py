"""holds: who authorized each one

Revision ID: 0009_hold_authorized_by
Revises: 0002_ledger
Create Date: 2026-12-02 10:00:00

The name of the API key's holder that asked for the hold, so that a checkout key sees and
settles only its own holds. Null for holds booked before (and outside the API): only the
finance team, analysts and admins see those. Column declared in credit/ledger/tables.py.
"""
from alembic import op
import sqlalchemy as sa


revision = "0009_hold_authorized_by"
down_revision = "0002_ledger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("holds", sa.Column("authorized_by", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("holds") as batch:
        batch.drop_column("authorized_by")
