"""financing: lifecycles of order and receivables financing, transaction-flow loans

Revision ID: 0015_financing
Revises: 0006_applications
Create Date: 2026-12-06 07:30:00

The financings table (credit/financing/tables.py) grows from a booking record into the book of
every advance: a third kind ``loan`` (no buyer), the lifecycle statuses (approved, paid_out,
invoiced, overdue, recourse, defaulted, settled, written_off, cancelled) and the totals cached
from the new append-only journal ``financing_entries``; ``loan_offers`` holds the daily job's
pre-qualified loan offers. A booking made before this revision was never paid out: it becomes
``approved`` (``repaid`` had no code path), its face value its advance.

On SQLite a CHECK constraint changes only by rebuilding the table (batch mode); the rebuild
needs foreign keys off, which migrations.upgrade arranges on SQLite.
"""
from alembic import op
import sqlalchemy as sa

revision = "0015_financing"
down_revision = "0006_applications"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_KINDS = ("order", "receivable", "loan")
_STATUSES = ("approved", "paid_out", "invoiced", "overdue", "recourse", "defaulted", "settled", "written_off",
             "cancelled")
_MONEY = ("face_minor", "reserve_minor", "minimum_minor", "paid_out_minor", "collected_minor", "recovered_minor",
          "written_off_minor", "fee_charged_minor", "fee_collected_minor", "fee_recovered_minor",
          "fee_written_off_minor", "diluted_minor", "released_minor")
_CHECKS = {
    "kind_allowed": None,
    "status_allowed": None,
    "financed_object": ("(kind = 'order' AND order_id IS NOT NULL AND buyer_id IS NOT NULL) OR "
                        "(kind = 'receivable' AND invoice_id IS NOT NULL AND buyer_id IS NOT NULL) OR "
                        "(kind = 'loan' AND buyer_id IS NULL AND order_id IS NULL AND invoice_id IS NULL)"),
    "paid_out_within_advance": "paid_out_minor >= 0 AND paid_out_minor <= advance_minor",
    "principal_parts_non_negative": "collected_minor >= 0 AND recovered_minor >= 0 AND written_off_minor >= 0",
    "principal_not_overpaid": "collected_minor + recovered_minor + written_off_minor <= paid_out_minor",
    "fee_parts_non_negative": ("fee_charged_minor >= 0 AND fee_collected_minor >= 0 AND fee_recovered_minor >= 0 "
                               "AND fee_written_off_minor >= 0"),
    "fee_not_overpaid": "fee_collected_minor + fee_recovered_minor + fee_written_off_minor <= fee_charged_minor",
    "reserve_parts_non_negative": "reserve_minor >= 0 AND diluted_minor >= 0 AND released_minor >= 0",
}


def _one_of(column, values):
    return "(" + " OR ".join(f"{column} = '{v}'" for v in values) + ")"


def upgrade() -> None:
    op.drop_index("ix_financings_buyer", table_name="financings")
    op.drop_index("ix_financings_supplier", table_name="financings")
    with op.batch_alter_table("financings") as batch_op:
        for name in ("kind_allowed", "status_allowed", "financed_object"):
            batch_op.drop_constraint(op.f(f"ck_financings_{name}"), type_="check")
        batch_op.alter_column("buyer_id", existing_type=_ID, nullable=True)
        batch_op.add_column(sa.Column("offer_id", _ID, nullable=True))
        for column in _MONEY:
            batch_op.add_column(sa.Column(column, sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("annual_rate", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("withholding_rate", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("period_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("recourse", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column("due_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("payout_reference", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("value_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(), nullable=True))
        batch_op.create_unique_constraint(op.f("uq_financings_offer_id"), ["offer_id"])
    op.execute("UPDATE financings SET status = CASE status WHEN 'repaid' THEN 'settled' ELSE 'approved' END, "
               "face_minor = advance_minor, updated_at = created_at")
    with op.batch_alter_table("financings") as batch_op:
        batch_op.alter_column("updated_at", existing_type=sa.DateTime(), nullable=False)
        checks = dict(_CHECKS, kind_allowed=_one_of("kind", _KINDS), status_allowed=_one_of("status", _STATUSES))
        for name, condition in checks.items():
            batch_op.create_check_constraint(op.f(f"ck_financings_{name}"), condition)
    op.create_index("ix_financings_buyer", "financings", ["buyer_id", "status"])
    op.create_index("ix_financings_supplier", "financings", ["supplier_id", "status"])
    op.create_index("ix_financings_kind_status", "financings", ["kind", "status", "financing_id"])

    op.create_table(
        "financing_entries",
        sa.Column("entry_id", _ID, autoincrement=True, nullable=False),
        sa.Column("financing_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("part", sa.String(length=9), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("decision_id", sa.String(length=36), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(_one_of("kind", ("payout", "collection", "recovery", "fee", "dilution", "release",
                                            "write_off")), name=op.f("ck_financing_entries_kind_allowed")),
        sa.CheckConstraint(_one_of("part", ("principal", "fee", "surplus")),
                           name=op.f("ck_financing_entries_part_allowed")),
        sa.CheckConstraint("amount_minor <> 0", name=op.f("ck_financing_entries_amount_not_zero")),
        sa.ForeignKeyConstraint(["financing_id"], ["financings.financing_id"],
                                name=op.f("fk_financing_entries_financing_id_financings")),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_financing_entries")),
        sa.UniqueConstraint("financing_id", "source", name=op.f("uq_financing_entries_financing_id")),
    )
    op.create_index("ix_financing_entries_financing", "financing_entries", ["financing_id", "entry_id"])
    op.create_index("ix_financing_entries_booked", "financing_entries", ["booked_on", "kind"])
    if op.get_bind().dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER financing_entries_no_{event.lower()} BEFORE {event} ON financing_entries "
                       f"BEGIN SELECT RAISE(ABORT, 'table financing_entries is append-only: {event} refused'); END")
    else:
        op.execute("CREATE FUNCTION financing_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN RAISE EXCEPTION 'table financing_entries is append-only: % refused', TG_OP; END $$")
        op.execute("CREATE TRIGGER financing_entries_append_only BEFORE UPDATE OR DELETE ON financing_entries "
                   "FOR EACH ROW EXECUTE FUNCTION financing_entries_append_only()")

    op.create_table(
        "loan_offers",
        sa.Column("offer_id", _ID, autoincrement=True, nullable=False),
        sa.Column("firm_id", _ID, nullable=False),
        sa.Column("decision_id", sa.String(length=36), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("trailing_sales_minor", sa.BigInteger(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("withholding_rate", sa.String(length=40), nullable=False),
        sa.Column("minimum_minor", sa.BigInteger(), nullable=False),
        sa.Column("period_days", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=9), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(_one_of("status", ("open", "accepted", "expired", "withdrawn")),
                           name=op.f("ck_loan_offers_status_allowed")),
        sa.CheckConstraint("amount_minor > 0 AND fee_minor >= 0 AND minimum_minor > 0",
                           name=op.f("ck_loan_offers_amounts_valid")),
        sa.ForeignKeyConstraint(["firm_id"], ["firms.firm_id"], name=op.f("fk_loan_offers_firm_id_firms")),
        sa.PrimaryKeyConstraint("offer_id", name=op.f("pk_loan_offers")),
        sa.UniqueConstraint("decision_id", name=op.f("uq_loan_offers_decision_id")),
    )
    op.create_index("ix_loan_offers_firm", "loan_offers", ["firm_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_loan_offers_firm", table_name="loan_offers")
    op.drop_table("loan_offers")
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER financing_entries_append_only ON financing_entries")
        op.execute("DROP FUNCTION financing_entries_append_only()")
    op.drop_index("ix_financing_entries_booked", table_name="financing_entries")
    op.drop_index("ix_financing_entries_financing", table_name="financing_entries")
    op.drop_table("financing_entries")
    op.execute("DELETE FROM financings WHERE kind = 'loan'")
    op.drop_index("ix_financings_kind_status", table_name="financings")
    op.drop_index("ix_financings_supplier", table_name="financings")
    op.drop_index("ix_financings_buyer", table_name="financings")
    with op.batch_alter_table("financings") as batch_op:
        for name in _CHECKS:
            batch_op.drop_constraint(op.f(f"ck_financings_{name}"), type_="check")
        batch_op.drop_constraint(op.f("uq_financings_offer_id"), type_="unique")
        for column in ("offer_id", *_MONEY, "annual_rate", "withholding_rate", "period_days", "recourse", "due_on",
                       "payout_reference", "value_date", "updated_at", "closed_at"):
            batch_op.drop_column(column)
    op.execute("UPDATE financings SET status = CASE status WHEN 'settled' THEN 'repaid' ELSE 'outstanding' END")
    with op.batch_alter_table("financings") as batch_op:
        batch_op.alter_column("buyer_id", existing_type=_ID, nullable=False)
        batch_op.create_check_constraint(op.f("ck_financings_kind_allowed"), _one_of("kind", ("order", "receivable")))
        batch_op.create_check_constraint(op.f("ck_financings_status_allowed"),
                                         _one_of("status", ("outstanding", "repaid")))
        batch_op.create_check_constraint(op.f("ck_financings_financed_object"),
                                         "(kind = 'order' AND order_id IS NOT NULL AND invoice_id IS NULL) OR "
                                         "(kind = 'receivable' AND invoice_id IS NOT NULL)")
    op.create_index("ix_financings_buyer", "financings", ["buyer_id", "kind", "status"])
    op.create_index("ix_financings_supplier", "financings", ["supplier_id", "kind", "status"])
