"""history tables, ingest quarantine and run log

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 14:26:01.492962
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('firms',
    sa.Column('firm_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('roles', sa.String(length=8), nullable=False),
    sa.Column('industry', sa.String(length=15), nullable=False),
    sa.Column('region', sa.String(length=7), nullable=False),
    sa.Column('size_band', sa.String(length=6), nullable=False),
    sa.Column('registered_at', sa.DateTime(), nullable=False),
    sa.Column('verified', sa.Boolean(create_constraint=True, name='verified_bool'), nullable=False),
    sa.Column('deposit_minor', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("(industry = 'machinery' OR industry = 'construction' OR industry = 'automotive' OR industry = 'electronics' OR industry = 'food_processing' OR industry = 'chemicals' OR industry = 'textiles' OR industry = 'wholesale')", name=op.f('ck_firms_industry_allowed')),
    sa.CheckConstraint("(region = 'north' OR region = 'south' OR region = 'east' OR region = 'west' OR region = 'central')", name=op.f('ck_firms_region_allowed')),
    sa.CheckConstraint("(roles = 'buyer' OR roles = 'supplier' OR roles = 'both')", name=op.f('ck_firms_roles_allowed')),
    sa.CheckConstraint("(size_band = 'micro' OR size_band = 'small' OR size_band = 'medium' OR size_band = 'large')", name=op.f('ck_firms_size_band_allowed')),
    sa.CheckConstraint('deposit_minor >= 0', name=op.f('ck_firms_deposit_non_negative')),
    sa.PrimaryKeyConstraint('firm_id', name=op.f('pk_firms')),
    info={'event_time': 'registered_at', 'key': 'firm_id'}
    )
    op.create_table('ingest_quarantine',
    sa.Column('quarantine_id', sa.Integer(), nullable=False),
    sa.Column('table_name', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=500), nullable=False),
    sa.Column('row_number', sa.BigInteger(), nullable=False),
    sa.Column('row_key', sa.String(length=100), nullable=True),
    sa.Column('rule', sa.String(length=100), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('row_json', sa.Text(), nullable=False),
    sa.Column('row_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('quarantined_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('quarantine_id', name=op.f('pk_ingest_quarantine')),
    sa.UniqueConstraint('table_name', 'row_fingerprint', 'rule', name='row_rule')
    )
    with op.batch_alter_table('ingest_quarantine', schema=None) as batch_op:
        batch_op.create_index('ix_ingest_quarantine_table_rule', ['table_name', 'rule'], unique=False)

    op.create_table('ingest_runs',
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('table_name', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=500), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('rows_read', sa.BigInteger(), nullable=False),
    sa.Column('rows_loaded', sa.BigInteger(), nullable=False),
    sa.Column('rows_unchanged', sa.BigInteger(), nullable=False),
    sa.Column('rows_quarantined', sa.BigInteger(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('run_id', name=op.f('pk_ingest_runs'))
    )
    op.create_table('credit_events',
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('firm_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('kind', sa.String(length=13), nullable=False),
    sa.CheckConstraint("(kind = 'default_90dpd' OR kind = 'insolvency' OR kind = 'write_off')", name=op.f('ck_credit_events_kind_allowed')),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.firm_id'], name=op.f('fk_credit_events_firm_id_firms')),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_credit_events')),
    info={'event_time': 'occurred_at', 'key': 'event_id'}
    )
    with op.batch_alter_table('credit_events', schema=None) as batch_op:
        batch_op.create_index('ix_credit_events_firm', ['firm_id', 'occurred_at'], unique=False)

    op.create_table('orders',
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('buyer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('supplier_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('category', sa.String(length=10), nullable=False),
    sa.Column('payment_terms', sa.String(length=7), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(), nullable=True),
    sa.Column('shipped_at', sa.DateTime(), nullable=True),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("(category = 'parts' OR category = 'tools' OR category = 'materials' OR category = 'packaging' OR category = 'chemicals' OR category = 'electrical')", name=op.f('ck_orders_category_allowed')),
    sa.CheckConstraint("(payment_terms = 'prepaid' OR payment_terms = 'net30' OR payment_terms = 'net60' OR payment_terms = 'net90' OR payment_terms = 'credit')", name=op.f('ck_orders_payment_terms_allowed')),
    sa.CheckConstraint('amount_minor > 0', name=op.f('ck_orders_amount_positive')),
    sa.CheckConstraint('buyer_id <> supplier_id', name=op.f('ck_orders_buyer_not_supplier')),
    sa.CheckConstraint('cancelled_at IS NULL OR (cancelled_at >= created_at AND delivered_at IS NULL)', name=op.f('ck_orders_cancelled_before_delivery')),
    sa.CheckConstraint('confirmed_at IS NULL OR confirmed_at >= created_at', name=op.f('ck_orders_confirmed_after_created')),
    sa.CheckConstraint('delivered_at IS NULL OR (shipped_at IS NOT NULL AND delivered_at >= shipped_at)', name=op.f('ck_orders_delivered_after_shipped')),
    sa.CheckConstraint('shipped_at IS NULL OR (confirmed_at IS NOT NULL AND shipped_at >= confirmed_at)', name=op.f('ck_orders_shipped_after_confirmed')),
    sa.ForeignKeyConstraint(['buyer_id'], ['firms.firm_id'], name=op.f('fk_orders_buyer_id_firms')),
    sa.ForeignKeyConstraint(['supplier_id'], ['firms.firm_id'], name=op.f('fk_orders_supplier_id_firms')),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_orders')),
    info={'event_time': 'created_at', 'key': 'order_id'}
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_buyer_created', ['buyer_id', 'created_at'], unique=False)
        batch_op.create_index('ix_orders_supplier_created', ['supplier_id', 'created_at'], unique=False)

    op.create_table('invoices',
    sa.Column('invoice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('supplier_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('buyer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount_minor > 0', name=op.f('ck_invoices_amount_positive')),
    sa.CheckConstraint('due_at >= issued_at', name=op.f('ck_invoices_due_after_issued')),
    sa.ForeignKeyConstraint(['buyer_id'], ['firms.firm_id'], name=op.f('fk_invoices_buyer_id_firms')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.order_id'], name=op.f('fk_invoices_order_id_orders')),
    sa.ForeignKeyConstraint(['supplier_id'], ['firms.firm_id'], name=op.f('fk_invoices_supplier_id_firms')),
    sa.PrimaryKeyConstraint('invoice_id', name=op.f('pk_invoices')),
    info={'event_time': 'issued_at', 'key': 'invoice_id'}
    )
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_index('ix_invoices_buyer_due', ['buyer_id', 'due_at'], unique=False)
        batch_op.create_index('ix_invoices_order', ['order_id'], unique=False)
        batch_op.create_index('ix_invoices_supplier_issued', ['supplier_id', 'issued_at'], unique=False)

    op.create_table('disputes',
    sa.Column('dispute_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('invoice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=13), nullable=False),
    sa.Column('resolution', sa.String(length=15), nullable=True),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("(reason = 'quality' OR reason = 'quantity' OR reason = 'late_delivery' OR reason = 'pricing' OR reason = 'damaged' OR reason = 'not_received')", name=op.f('ck_disputes_reason_allowed')),
    sa.CheckConstraint("resolution IS NULL OR (resolution = 'buyer_favour' OR resolution = 'supplier_favour' OR resolution = 'settled' OR resolution = 'withdrawn')", name=op.f('ck_disputes_resolution_allowed')),
    sa.CheckConstraint('(resolution IS NULL AND resolved_at IS NULL) OR (resolution IS NOT NULL AND resolved_at IS NOT NULL AND resolved_at >= opened_at)', name=op.f('ck_disputes_resolved_after_opened')),
    sa.CheckConstraint('amount_minor >= 0', name=op.f('ck_disputes_amount_non_negative')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.invoice_id'], name=op.f('fk_disputes_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.order_id'], name=op.f('fk_disputes_order_id_orders')),
    sa.PrimaryKeyConstraint('dispute_id', name=op.f('pk_disputes')),
    info={'event_time': 'opened_at', 'key': 'dispute_id'}
    )
    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.create_index('ix_disputes_order', ['order_id'], unique=False)

    op.create_table('payments',
    sa.Column('payment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('invoice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('paid_at', sa.DateTime(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount_minor > 0', name=op.f('ck_payments_amount_positive')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.invoice_id'], name=op.f('fk_payments_invoice_id_invoices')),
    sa.PrimaryKeyConstraint('payment_id', name=op.f('pk_payments')),
    info={'event_time': 'paid_at', 'key': 'payment_id'}
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index('ix_payments_invoice', ['invoice_id'], unique=False)

    op.create_table('returns',
    sa.Column('return_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('invoice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('returned_at', sa.DateTime(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.CheckConstraint("(reason = 'damaged' OR reason = 'defective' OR reason = 'wrong_item' OR reason = 'not_as_described' OR reason = 'late_delivery' OR reason = 'surplus')", name=op.f('ck_returns_reason_allowed')),
    sa.CheckConstraint('amount_minor > 0', name=op.f('ck_returns_amount_positive')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.invoice_id'], name=op.f('fk_returns_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.order_id'], name=op.f('fk_returns_order_id_orders')),
    sa.PrimaryKeyConstraint('return_id', name=op.f('pk_returns')),
    info={'event_time': 'returned_at', 'key': 'return_id'}
    )
    with op.batch_alter_table('returns', schema=None) as batch_op:
        batch_op.create_index('ix_returns_order', ['order_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('returns', schema=None) as batch_op:
        batch_op.drop_index('ix_returns_order')

    op.drop_table('returns')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_invoice')

    op.drop_table('payments')
    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.drop_index('ix_disputes_order')

    op.drop_table('disputes')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index('ix_invoices_supplier_issued')
        batch_op.drop_index('ix_invoices_order')
        batch_op.drop_index('ix_invoices_buyer_due')

    op.drop_table('invoices')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_supplier_created')
        batch_op.drop_index('ix_orders_buyer_created')

    op.drop_table('orders')
    with op.batch_alter_table('credit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_credit_events_firm')

    op.drop_table('credit_events')
    op.drop_table('ingest_runs')
    with op.batch_alter_table('ingest_quarantine', schema=None) as batch_op:
        batch_op.drop_index('ix_ingest_quarantine_table_rule')

    op.drop_table('ingest_quarantine')
    op.drop_table('firms')
