"""audit: decisions of the financing lifecycles and of transaction-flow loans

Revision ID: 0016_financing_decisions
Revises: 0013_dunning
Create Date: 2026-12-06 07:35:00

Every step the financing book takes on its own (an order advance or a financed invoice turning
to recourse, default or write-off; a loan offer made; a loan's missed minimum, default and
write-off) is an audited decision: kinds ``order_financing_step``, ``receivable_financing_step``,
``loan_offer`` and ``loan_step`` (credit/audit/kinds.py). On the audit branch, rebuilt like
0013_dunning.
"""
from alembic import op

revision = "0016_financing_decisions"
down_revision = "0013_dunning"
branch_labels = None
depends_on = None

_BEFORE = ("credit_line_application", "credit_line_review", "line_change", "checkout", "order_financing",
           "receivable_financing", "dunning")
_AFTER = (*_BEFORE, "order_financing_step", "receivable_financing_step", "loan_offer", "loan_step")


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
