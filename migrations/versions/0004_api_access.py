"""API access: API keys (hashed) and idempotency records

Revision ID: 0004_api_access
Revises: 0001
Create Date: 2026-11-22 19:00:00

A branch of its own from the history tables (see migrations.upgrade: "heads").
Tables declared in api/kit/tables.py.
"""
from alembic import op
import sqlalchemy as sa


revision = "0004_api_access"
down_revision = "0001"
branch_labels = ("api_access",)
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("key_id", _ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "(role = 'checkout' OR role = 'finance' OR role = 'analyst' OR role = 'admin')",
            name=op.f("ck_api_keys_role_allowed"),
        ),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "idempotency_records",
        sa.Column("record_id", _ID, autoincrement=True, nullable=False),
        sa.Column("key_id", _ID, nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("request_method", sa.String(length=10), nullable=False),
        sa.Column("request_path", sa.String(length=1000), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("lock_token", sa.String(length=32), nullable=False),
        sa.Column("locked_at", sa.DateTime(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "(state = 'in_progress' AND response_status IS NULL AND response_body IS NULL) OR "
            "(state = 'completed' AND response_status IS NOT NULL AND response_body IS NOT NULL)",
            name=op.f("ck_idempotency_records_response_when_completed"),
        ),
        sa.CheckConstraint(
            "(state = 'in_progress' OR state = 'completed')", name=op.f("ck_idempotency_records_state_allowed")
        ),
        sa.ForeignKeyConstraint(
            ["key_id"], ["api_keys.key_id"], name=op.f("fk_idempotency_records_key_id_api_keys")
        ),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_idempotency_records")),
        sa.UniqueConstraint("key_id", "idempotency_key", name=op.f("uq_idempotency_records_key_id")),
    )
    op.create_index("ix_idempotency_records_created", "idempotency_records", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_idempotency_records_created", table_name="idempotency_records")
    op.drop_table("idempotency_records")
    op.drop_table("api_keys")
