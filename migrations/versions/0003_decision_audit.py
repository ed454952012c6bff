"""decision audit trail: policies and decisions, append-only

Revision ID: 0003_audit
Revises: 0001
Create Date: 2026-11-22 19:30:00

A branch of its own from the history tables (see migrations.upgrade: "heads").
Tables declared in credit/audit/tables.py. Triggers refuse UPDATE and DELETE on both tables:
a decision is corrected by a new decision, never by rewriting the old one.
"""
from alembic import op
import sqlalchemy as sa


revision = "0003_audit"
down_revision = "0001"
branch_labels = ("audit",)
depends_on = None

_KINDS = ("credit_line_application", "credit_line_review", "line_change", "checkout", "order_financing",
          "receivable_financing")
_OUTCOMES = ("approve", "refer", "decline")
_APPEND_ONLY = ("policies", "decisions")


def _one_of(column, values):
    return "(" + " OR ".join(f"{column} = '{v}'" for v in values) + ")"


def upgrade() -> None:
    op.create_table(
        "policies",
        sa.Column("policy_version", sa.String(length=20), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("stored_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("policy_version", name=op.f("pk_policies")),
        sa.UniqueConstraint("content_hash", name=op.f("uq_policies_content_hash")),
    )
    op.create_table(
        "decisions",
        sa.Column("decision_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("firm_id", sa.BigInteger(), nullable=True),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=True),
        sa.Column("model_version", sa.String(length=50), nullable=True),
        sa.Column("policy_version", sa.String(length=20), nullable=False),
        sa.Column("policy_hash", sa.String(length=64), nullable=False),
        sa.Column("reason_catalogue_version", sa.Integer(), nullable=False),
        sa.Column("codes_catalogue_version", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("grade", sa.String(length=4), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("amounts", sa.JSON(), nullable=False),
        sa.Column("rules_fired", sa.JSON(), nullable=False),
        sa.Column("reason_codes", sa.JSON(), nullable=False),
        sa.Column("next_actions", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("parent_decision_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(_one_of("kind", _KINDS), name=op.f("ck_decisions_kind_allowed")),
        sa.CheckConstraint(_one_of("outcome", _OUTCOMES), name=op.f("ck_decisions_outcome_allowed")),
        sa.ForeignKeyConstraint(["parent_decision_id"], ["decisions.decision_id"],
                                name=op.f("fk_decisions_parent_decision_id_decisions")),
        sa.ForeignKeyConstraint(["policy_version"], ["policies.policy_version"],
                                name=op.f("fk_decisions_policy_version_policies")),
        sa.PrimaryKeyConstraint("decision_id", name=op.f("pk_decisions")),
    )
    op.create_index("ix_decisions_firm_created", "decisions", ["firm_id", "created_at"], unique=False)
    op.create_index("ix_decisions_kind_created", "decisions", ["kind", "created_at"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP; END $$")
        for table in _APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION audit_append_only()")
    else:
        for table in _APPEND_ONLY:
            for statement in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{statement.lower()} BEFORE {statement} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, 'table {table} is append-only: {statement} refused'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _APPEND_ONLY:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute("DROP FUNCTION audit_append_only()")
    else:
        for table in _APPEND_ONLY:
            for statement in ("update", "delete"):
                op.execute(f"DROP TRIGGER {table}_no_{statement}")
    op.drop_index("ix_decisions_kind_created", table_name="decisions")
    op.drop_index("ix_decisions_firm_created", table_name="decisions")
    op.drop_table("decisions")
    op.drop_table("policies")
