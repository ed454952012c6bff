"""finance console sessions

Revision ID: 0008_console_sessions
Revises: 0001
Create Date: 2026-11-22 21:00:00

A branch of its own from the history tables (see migrations.upgrade: "heads"); it
names API keys (0004) without a foreign key, for the reason given in 0006_applications.
Table declared in api/console/tables.py.
"""
from alembic import op
import sqlalchemy as sa


revision = "0008_console_sessions"
down_revision = "0001"
branch_labels = ("console",)
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("session_id", _ID, autoincrement=True, nullable=False),
        sa.Column("key_id", _ID, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("expires_at > created_at", name=op.f("ck_console_sessions_expires_after_created")),
        sa.CheckConstraint("ended_at IS NULL OR ended_at >= created_at",
                           name=op.f("ck_console_sessions_ended_after_created")),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_console_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_console_sessions_token_hash")),
    )
    op.create_index("ix_console_sessions_key", "console_sessions", ["key_id"])


def downgrade() -> None:
    op.drop_index("ix_console_sessions_key", table_name="console_sessions")
    op.drop_table("console_sessions")
