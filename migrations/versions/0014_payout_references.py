"""business references: payouts of a buyer's credit balance book once too

Revision ID: 0014_payout_references
Revises: 0011_business_references
Create Date: 2026-12-06 05:30:00

A refund of credit balance to the buyer carries the payout's reference in the payment
system; like a repayment, it books once per client (kind ``payout``; its object id is the
line). On SQLite the kind's CHECK changes by rebuilding the table (nothing refers to it).
"""
from alembic import op


revision = "0014_payout_references"
down_revision = "0011_business_references"
branch_labels = None
depends_on = None

_NAME = "ck_business_references_kind_allowed"  # the full name: op.f keeps the naming convention off it


def _kinds(*kinds: str) -> str:
    return "(" + " OR ".join(f"kind = '{kind}'" for kind in kinds) + ")"


def upgrade() -> None:
    with op.batch_alter_table("business_references") as batch:
        batch.drop_constraint(op.f(_NAME), type_="check")
        batch.create_check_constraint(op.f(_NAME), _kinds("order", "shipment", "refund", "payment", "payout"))


def downgrade() -> None:
    with op.batch_alter_table("business_references") as batch:
        batch.drop_constraint(op.f(_NAME), type_="check")
        batch.create_check_constraint(op.f(_NAME), _kinds("order", "shipment", "refund", "payment"))
