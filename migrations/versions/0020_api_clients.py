"""api_keys: the client a key belongs to; idempotency records scoped per client

Revision ID: 0020_api_clients
Revises: 0012_payments_role
Create Date: 2026-12-06 11:00:00

A client (the marketplace's checkout, its payment system, a person of the finance team) holds
one or more keys over time: a rotation issues a new key for the same client. What a caller
may see and what it booked (its holds, its business references, its Idempotency-Keys) belong
to the client, not to one key, so a retry under the rotated key replays instead of booking
twice. Tables declared in api/kit/tables.py.

Existing keys migrate with ``client = name``: until now the key's name was what scoped holds,
business references and decisions (``checkout_holds.authorized_by``,
``business_references.client``, ``decision_records.actor`` hold names), so keys that shared a
name were one party already; they stay one client, and every stored hold and reference stays
with it. Existing idempotency records take their key's client.
"""
from alembic import op
import sqlalchemy as sa


revision = "0020_api_clients"
down_revision = "0012_payments_role"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("client", sa.String(length=100), nullable=True))
    op.execute("UPDATE api_keys SET client = name")
    with op.batch_alter_table("api_keys") as batch:
        batch.alter_column("client", existing_type=sa.String(length=100), nullable=False)
    op.create_index("ix_api_keys_client", "api_keys", ["client"])

    op.add_column("idempotency_records", sa.Column("client", sa.String(length=100), nullable=True))
    op.execute("UPDATE idempotency_records SET client = "
               "(SELECT api_keys.client FROM api_keys WHERE api_keys.key_id = idempotency_records.key_id)")
    with op.batch_alter_table("idempotency_records") as batch:
        batch.alter_column("client", existing_type=sa.String(length=100), nullable=False)
        batch.drop_constraint(op.f("uq_idempotency_records_key_id"), type_="unique")
        batch.create_unique_constraint(op.f("uq_idempotency_records_client"), ["client", "idempotency_key"])


def downgrade() -> None:
    # Holds: one client's keys never share an Idempotency-Key, so neither does one key.
    with op.batch_alter_table("idempotency_records") as batch:
        batch.drop_constraint(op.f("uq_idempotency_records_client"), type_="unique")
        batch.create_unique_constraint(op.f("uq_idempotency_records_key_id"), ["key_id", "idempotency_key"])
        batch.drop_column("client")
    op.drop_index("ix_api_keys_client", table_name="api_keys")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("client")
