"""business references: each order, shipment, refund and payment reference books once per client

Revision ID: 0011_business_references
Revises: 0001
Create Date: 2026-12-05 10:00:00

A branch of its own from the history tables (see migrations.upgrade: "heads"), labelled
``references``. The primary key (client, kind, reference) is what a concurrent duplicate
waits on and then conflicts with (credit/ledger/references.py). Table declared in
credit/ledger/tables.py. No foreign key to the ledger: ``object_id`` is a hold id or a
transfer id by kind, opaque to the table.
"""
from alembic import op
import sqlalchemy as sa


revision = "0011_business_references"
down_revision = "0001"
branch_labels = ("references",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "business_references",
        sa.Column("client", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("object_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "(kind = 'order' OR kind = 'shipment' OR kind = 'refund' OR kind = 'payment')",
            name=op.f("ck_business_references_kind_allowed"),
        ),
        sa.PrimaryKeyConstraint("client", "kind", "reference", name=op.f("pk_business_references")),
    )


def downgrade() -> None:
    op.drop_table("business_references")
