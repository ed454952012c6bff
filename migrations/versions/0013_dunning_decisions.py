"""audit: decisions of kind dunning (the servicing job's steps)

Revision ID: 0013_dunning
Revises: 0003_audit
Create Date: 2026-12-06 06:00:00

Every step the daily servicing job takes (reminder, late fee, freeze, unfreeze, default,
charge-off) is an audited decision of kind ``dunning`` (credit/servicing/dunning.py), so the
``decisions.kind`` check takes it. On the audit branch: the decisions table is the audit
trail's.

On SQLite a CHECK constraint changes only by rebuilding the table (batch mode), which drops
the append-only triggers of ``decisions``: they are made again afterwards. The rebuild needs
foreign keys off (applications and decisions themselves reference decisions), which
migrations.upgrade arranges on SQLite.
"""
from alembic import op

revision = "0013_dunning"
down_revision = "0003_audit"
branch_labels = None
depends_on = None

_BEFORE = ("credit_line_application", "credit_line_review", "line_change", "checkout", "order_financing",
           "receivable_financing")
_AFTER = (*_BEFORE, "dunning")


def _one_of(column, values):
    return "(" + " OR ".join(f"{column} = '{v}'" for v in values) + ")"


def _replace_kind_check(kinds) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER decisions_no_{event}")
    with op.batch_alter_table("decisions") as batch_op:
        batch_op.drop_constraint(op.f("ck_decisions_kind_allowed"), type_="check")
        batch_op.create_check_constraint(op.f("ck_decisions_kind_allowed"), _one_of("kind", kinds))
    if sqlite:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER decisions_no_{event.lower()} BEFORE {event} ON decisions "
                       f"BEGIN SELECT RAISE(ABORT, 'table decisions is append-only: {event} refused'); END")


def upgrade() -> None:
    _replace_kind_check(_AFTER)


def downgrade() -> None:
    _replace_kind_check(_BEFORE)
