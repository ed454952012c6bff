"""webhooks: endpoints, one delivery per event and endpoint, and every attempt

Revision ID: 0019_webhooks
Revises: 0018_events
Create Date: 2026-12-06 11:00:00

Three tables (credit/webhooks/tables.py) the dispatcher (credit/webhooks/dispatch.py) works
on: ``webhook_endpoints`` (with their signing secrets and how far into the outbox each has
been fanned out), ``webhook_deliveries`` and ``webhook_attempts``. On the ``events`` branch:
deliveries are of the outbox's events.
"""
from alembic import op
import sqlalchemy as sa

revision = "0019_webhooks"
down_revision = "0018_events"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("endpoint_id", _ID, primary_key=True, autoincrement=True),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("disabled_reason", sa.String(300), nullable=True),
        sa.Column("disabled_at", sa.DateTime(), nullable=True),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("previous_secret", sa.String(100), nullable=True),
        sa.Column("previous_secret_expires_at", sa.DateTime(), nullable=True),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("(status = 'enabled' OR status = 'disabled')",
                           name=op.f("ck_webhook_endpoints_status_allowed")),
        sa.CheckConstraint("(status = 'disabled') = (disabled_at IS NOT NULL)",
                           name=op.f("ck_webhook_endpoints_disabled_has_time")),
        sa.PrimaryKeyConstraint("endpoint_id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("delivery_id", _ID, primary_key=True, autoincrement=True),
        sa.Column("endpoint_id", _ID, nullable=False),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.String(60), nullable=False),
        sa.Column("object_type", sa.String(40), nullable=False),
        sa.Column("object_id", sa.String(60), nullable=False),
        sa.Column("status", sa.String(9), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("lease_token", sa.String(32), nullable=True),
        sa.Column("first_failed_at", sa.DateTime(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("(status = 'pending' OR status = 'delivered' OR status = 'failed')",
                           name=op.f("ck_webhook_deliveries_status_allowed")),
        sa.ForeignKeyConstraint(["endpoint_id"], ["webhook_endpoints.endpoint_id"],
                                name=op.f("fk_webhook_deliveries_endpoint_id_webhook_endpoints")),
        sa.PrimaryKeyConstraint("delivery_id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
    )
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_webhook_deliveries_object", "webhook_deliveries",
                    ["endpoint_id", "object_type", "object_id", "position"])
    op.create_table(
        "webhook_attempts",
        sa.Column("attempt_id", _ID, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", _ID, nullable=False),
        sa.Column("attempted_at", sa.DateTime(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(300), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("response_snippet", sa.String(500), nullable=True),
        sa.ForeignKeyConstraint(["delivery_id"], ["webhook_deliveries.delivery_id"],
                                name=op.f("fk_webhook_attempts_delivery_id_webhook_deliveries")),
        sa.PrimaryKeyConstraint("attempt_id", name=op.f("pk_webhook_attempts")),
    )
    op.create_index("ix_webhook_attempts_delivery", "webhook_attempts", ["delivery_id", "attempt_id"])


def downgrade() -> None:
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
