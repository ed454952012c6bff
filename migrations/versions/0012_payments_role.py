"""api_keys: the payments role (the marketplace's payment system books repayments)

Revision ID: 0012_payments_role
Revises: 0004_api_access
Create Date: 2026-12-05 11:00:00

Repayments move from the checkout key to a role of their own, so the check of
``api_keys.role`` admits ``payments``. Roles declared in api/kit/tables.py (ROLES).

SQLite cannot alter a CHECK constraint: the table is rebuilt. Not by Alembic's batch, which
copies the rows into the new table BEFORE it drops the old one: ``idempotency_records``
points at the keys, the DROP's implicit delete counts each of its rows as a foreign-key
violation (deferred here, ``PRAGMA defer_foreign_keys``, since ``foreign_keys`` cannot be
switched off inside the migration's transaction), and rows copied earlier never pay the count
back, so the COMMIT fails. Here the rows are kept aside, the table dropped and created anew,
and the rows inserted again: each insert resolves the references it orphaned, the count
returns to zero and the COMMIT checks that every reference still holds.
"""
from alembic import op
import sqlalchemy as sa


revision = "0012_payments_role"
down_revision = "0004_api_access"
branch_labels = None
depends_on = None

_BEFORE = ("checkout", "finance", "analyst", "admin")
_AFTER = ("checkout", "payments", "finance", "analyst", "admin")
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _one_of(values: tuple[str, ...]) -> str:
    return "(" + " OR ".join(f"role = '{value}'" for value in values) + ")"


def _allow(roles: tuple[str, ...]) -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_api_keys_role_allowed"), "api_keys", type_="check")
        op.create_check_constraint(op.f("ck_api_keys_role_allowed"), "api_keys", _one_of(roles))
        return
    op.execute("PRAGMA defer_foreign_keys = ON")  # until this transaction ends
    op.execute("CREATE TEMP TABLE api_keys_kept AS SELECT * FROM api_keys")
    op.drop_table("api_keys")
    op.create_table(
        "api_keys",
        sa.Column("key_id", _ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(_one_of(roles), name=op.f("ck_api_keys_role_allowed")),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.execute("INSERT INTO api_keys (key_id, name, role, key_hash, prefix, created_at, revoked_at) "
               "SELECT key_id, name, role, key_hash, prefix, created_at, revoked_at FROM api_keys_kept")
    op.execute("DROP TABLE api_keys_kept")


def upgrade() -> None:
    _allow(_AFTER)


def downgrade() -> None:
    # Refused while a payments key exists: the old check would not hold.
    _allow(_BEFORE)
