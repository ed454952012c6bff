"""early-warning work list: acknowledgements, assignments and notes, append-only

Revision ID: 0022_early_warning_work
Revises: 0001
Create Date: 2026-12-06 16:00:00

One table, ``early_warning_actions`` (credit/monitoring/tables.py), what the finance team did on
the early warnings of the console's work list: the work list's audit log, so triggers refuse
UPDATE and DELETE as on the decision trail (0003). Its own branch (``work_list``) from the history
tables: it names monitoring runs and firms without foreign keys (see 0006_applications for why a
cross-branch dependency is avoided).
"""
from alembic import op
import sqlalchemy as sa

revision = "0022_early_warning_work"
down_revision = "0001"
branch_labels = ("work_list",)
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TABLE = "early_warning_actions"


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("action_id", _ID, autoincrement=True, nullable=False),
        sa.Column("run_id", _ID, nullable=False),
        sa.Column("firm_id", _ID, nullable=False),
        sa.Column("action", sa.String(length=11), nullable=False),
        sa.Column("assignee", sa.String(length=100), nullable=True),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("actor_name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("(action = 'acknowledge' OR action = 'assign' OR action = 'note')",
                           name=op.f("ck_early_warning_actions_action_allowed")),
        sa.CheckConstraint("(action = 'assign') = (assignee IS NOT NULL)",
                           name=op.f("ck_early_warning_actions_assignee_with_assign")),
        sa.CheckConstraint("(action = 'note') = (note IS NOT NULL)",
                           name=op.f("ck_early_warning_actions_note_with_note")),
        sa.PrimaryKeyConstraint("action_id", name=op.f("pk_early_warning_actions")),
    )
    op.create_index("ix_early_warning_actions_warning", _TABLE, ["run_id", "firm_id", "action_id"])
    if op.get_bind().dialect.name == "postgresql":
        # A function of its own: audit_append_only() belongs to the audit branch, which may come later.
        op.execute(
            "CREATE FUNCTION early_warning_actions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP; END $$")
        op.execute(f"CREATE TRIGGER {_TABLE}_append_only BEFORE UPDATE OR DELETE ON {_TABLE} "
                   "FOR EACH ROW EXECUTE FUNCTION early_warning_actions_append_only()")
    else:
        for statement in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {_TABLE}_no_{statement.lower()} BEFORE {statement} ON {_TABLE} "
                       f"BEGIN SELECT RAISE(ABORT, 'table {_TABLE} is append-only: {statement} refused'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER {_TABLE}_append_only ON {_TABLE}")
        op.execute("DROP FUNCTION early_warning_actions_append_only()")
    else:
        for statement in ("update", "delete"):
            op.execute(f"DROP TRIGGER {_TABLE}_no_{statement}")
    op.drop_index("ix_early_warning_actions_warning", table_name=_TABLE)
    op.drop_table(_TABLE)
