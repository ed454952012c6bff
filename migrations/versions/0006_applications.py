"""credit-line applications and booked financings

Revision ID: 0006_applications
Revises: 0001
Create Date: 2026-11-23 10:00:00

A branch of its own from the history tables (see migrations.upgrade: "heads"); it
names decisions (0003) and credit lines (0002) without foreign keys: a ``depends_on`` on
another branch makes Alembic drop that branch's head from ``alembic_version`` (and on two
branches its head bookkeeping fails), which /v1/health would report as a stale schema. The
service writes a decision and its row in one transaction.
Tables declared in credit/origination/tables.py.
"""
from alembic import op
import sqlalchemy as sa


revision = "0006_applications"
down_revision = "0001"
branch_labels = ("applications",)
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _one_of(column, values):
    return "(" + " OR ".join(f"{column} = '{v}'" for v in values) + ")"


def upgrade() -> None:
    op.create_table(
        "credit_line_applications",
        sa.Column("decision_id", sa.String(length=36), nullable=False),
        sa.Column("firm_id", _ID, nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("review_decision_id", sa.String(length=36), nullable=True),
        sa.Column("line_id", _ID, nullable=True),
        sa.Column("score_as_of", sa.Date(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(_one_of("status", ("approved", "referred", "declined", "reviewed")),
                           name=op.f("ck_credit_line_applications_status_allowed")),
        sa.CheckConstraint("(status = 'reviewed') = (review_decision_id IS NOT NULL)",
                           name=op.f("ck_credit_line_applications_reviewed_has_review")),
        sa.ForeignKeyConstraint(["firm_id"], ["firms.firm_id"],
                                name=op.f("fk_credit_line_applications_firm_id_firms")),
        sa.PrimaryKeyConstraint("decision_id", name=op.f("pk_credit_line_applications")),
        sa.UniqueConstraint("review_decision_id", name=op.f("uq_credit_line_applications_review_decision_id")),
    )
    op.create_index("ix_credit_line_applications_status", "credit_line_applications", ["status", "created_at"])
    op.create_index("ix_credit_line_applications_firm", "credit_line_applications", ["firm_id", "created_at"])

    op.create_table(
        "financings",
        sa.Column("financing_id", _ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("decision_id", sa.String(length=36), nullable=False),
        sa.Column("supplier_id", _ID, nullable=False),
        sa.Column("buyer_id", _ID, nullable=False),
        sa.Column("order_id", _ID, nullable=True),
        sa.Column("invoice_id", _ID, nullable=True),
        sa.Column("advance_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("tenor_days", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=11), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(_one_of("kind", ("order", "receivable")), name=op.f("ck_financings_kind_allowed")),
        sa.CheckConstraint(_one_of("status", ("outstanding", "repaid")), name=op.f("ck_financings_status_allowed")),
        sa.CheckConstraint("advance_minor > 0", name=op.f("ck_financings_advance_positive")),
        sa.CheckConstraint("fee_minor >= 0", name=op.f("ck_financings_fee_non_negative")),
        sa.CheckConstraint("tenor_days >= 1", name=op.f("ck_financings_tenor_positive")),
        sa.CheckConstraint("(kind = 'order' AND order_id IS NOT NULL AND invoice_id IS NULL) OR "
                           "(kind = 'receivable' AND invoice_id IS NOT NULL)",
                           name=op.f("ck_financings_financed_object")),
        sa.ForeignKeyConstraint(["supplier_id"], ["firms.firm_id"], name=op.f("fk_financings_supplier_id_firms")),
        sa.ForeignKeyConstraint(["buyer_id"], ["firms.firm_id"], name=op.f("fk_financings_buyer_id_firms")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.order_id"], name=op.f("fk_financings_order_id_orders")),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.invoice_id"],
                                name=op.f("fk_financings_invoice_id_invoices")),
        sa.PrimaryKeyConstraint("financing_id", name=op.f("pk_financings")),
        sa.UniqueConstraint("decision_id", name=op.f("uq_financings_decision_id")),
        sa.UniqueConstraint("order_id", name=op.f("uq_financings_order_id")),
        sa.UniqueConstraint("invoice_id", name=op.f("uq_financings_invoice_id")),
    )
    op.create_index("ix_financings_buyer", "financings", ["buyer_id", "kind", "status"])
    op.create_index("ix_financings_supplier", "financings", ["supplier_id", "kind", "status"])


def downgrade() -> None:
    op.drop_index("ix_financings_supplier", table_name="financings")
    op.drop_index("ix_financings_buyer", table_name="financings")
    op.drop_table("financings")
    op.drop_index("ix_credit_line_applications_firm", table_name="credit_line_applications")
    op.drop_index("ix_credit_line_applications_status", table_name="credit_line_applications")
    op.drop_table("credit_line_applications")
