"""exposure ledger: credit lines, holds and append-only transfers

Revision ID: 0002_ledger
Revises: 0001
Create Date: 2026-11-22 18:30:00

Its own branch from the history tables (``upgrade(engine, "heads")``): the ledger only
needs ``firms``. Besides the tables declared in :mod:`credit.ledger.tables`, triggers make
``ledger_transfers`` append-only on both databases; corrections are new transfers.
"""
from alembic import op
import sqlalchemy as sa


revision = '0002_ledger'
down_revision = '0001'
branch_labels = ('ledger',)
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

_APPEND_ONLY_MESSAGE = 'ledger_transfers is append-only: book a correcting transfer instead'


def upgrade() -> None:
    op.create_table('credit_lines',
    sa.Column('line_id', _ID, autoincrement=True, nullable=False),
    sa.Column('firm_id', _ID, nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('limit_minor', sa.BigInteger(), nullable=False),
    sa.Column('per_order_cap_minor', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=6), nullable=False),
    sa.Column('posted_minor', sa.BigInteger(), nullable=False),
    sa.Column('pending_minor', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("(status = 'active' OR status = 'frozen' OR status = 'closed')", name=op.f('ck_credit_lines_status_allowed')),
    sa.CheckConstraint('length(currency) = 3', name=op.f('ck_credit_lines_currency_iso')),
    sa.CheckConstraint('limit_minor >= 0', name=op.f('ck_credit_lines_limit_non_negative')),
    sa.CheckConstraint('pending_minor >= 0', name=op.f('ck_credit_lines_pending_non_negative')),
    sa.CheckConstraint('per_order_cap_minor IS NULL OR per_order_cap_minor > 0', name=op.f('ck_credit_lines_per_order_cap_positive')),
    sa.CheckConstraint('posted_minor + pending_minor <= limit_minor', name=op.f('ck_credit_lines_exposure_within_limit')),
    sa.CheckConstraint('posted_minor >= 0', name=op.f('ck_credit_lines_posted_non_negative')),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.firm_id'], name=op.f('fk_credit_lines_firm_id_firms')),
    sa.PrimaryKeyConstraint('line_id', name=op.f('pk_credit_lines')),
    sa.UniqueConstraint('firm_id', name=op.f('uq_credit_lines_firm_id'))
    )
    op.create_table('holds',
    sa.Column('hold_id', _ID, autoincrement=True, nullable=False),
    sa.Column('line_id', _ID, nullable=False),
    sa.Column('order_reference', sa.String(length=100), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('captured_minor', sa.BigInteger(), nullable=False),
    sa.Column('released_minor', sa.BigInteger(), nullable=False),
    sa.Column('refunded_minor', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=7), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("(status = 'pending' OR status = 'closed' OR status = 'expired')", name=op.f('ck_holds_status_allowed')),
    sa.CheckConstraint("status = 'pending' OR captured_minor + released_minor = amount_minor", name=op.f('ck_holds_settled_unless_pending')),
    sa.CheckConstraint('amount_minor > 0', name=op.f('ck_holds_amount_positive')),
    sa.CheckConstraint('captured_minor + released_minor <= amount_minor', name=op.f('ck_holds_settled_within_amount')),
    sa.CheckConstraint('captured_minor >= 0', name=op.f('ck_holds_captured_non_negative')),
    sa.CheckConstraint('refunded_minor >= 0 AND refunded_minor <= captured_minor', name=op.f('ck_holds_refunded_within_captured')),
    sa.CheckConstraint('released_minor >= 0', name=op.f('ck_holds_released_non_negative')),
    sa.ForeignKeyConstraint(['line_id'], ['credit_lines.line_id'], name=op.f('fk_holds_line_id_credit_lines')),
    sa.PrimaryKeyConstraint('hold_id', name=op.f('pk_holds'))
    )
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.create_index('ix_holds_line', ['line_id'], unique=False)
        batch_op.create_index('ix_holds_status_expires', ['status', 'expires_at'], unique=False)

    op.create_table('ledger_transfers',
    sa.Column('transfer_id', _ID, autoincrement=True, nullable=False),
    sa.Column('line_id', _ID, nullable=False),
    sa.Column('hold_id', _ID, nullable=True),
    sa.Column('kind', sa.String(length=6), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("(kind = 'hold' OR kind = 'post' OR kind = 'void' OR kind = 'expire' OR kind = 'refund' OR kind = 'repay')", name=op.f('ck_ledger_transfers_kind_allowed')),
    sa.CheckConstraint("(kind = 'repay' AND hold_id IS NULL) OR (kind <> 'repay' AND hold_id IS NOT NULL)", name=op.f('ck_ledger_transfers_hold_unless_repay')),
    sa.CheckConstraint('amount_minor > 0', name=op.f('ck_ledger_transfers_amount_positive')),
    sa.ForeignKeyConstraint(['hold_id'], ['holds.hold_id'], name=op.f('fk_ledger_transfers_hold_id_holds')),
    sa.ForeignKeyConstraint(['line_id'], ['credit_lines.line_id'], name=op.f('fk_ledger_transfers_line_id_credit_lines')),
    sa.PrimaryKeyConstraint('transfer_id', name=op.f('pk_ledger_transfers'))
    )
    with op.batch_alter_table('ledger_transfers', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_transfers_hold', ['hold_id'], unique=False)
        batch_op.create_index('ix_ledger_transfers_line', ['line_id', 'transfer_id'], unique=False)

    # Row triggers only: TRUNCATE (test clean-up, a deliberate wipe) still works on PostgreSQL.
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            "CREATE FUNCTION ledger_transfers_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{_APPEND_ONLY_MESSAGE} (% refused)', TG_OP; END $$"
        )
        op.execute(
            "CREATE TRIGGER ledger_transfers_append_only BEFORE UPDATE OR DELETE ON ledger_transfers "
            "FOR EACH ROW EXECUTE FUNCTION ledger_transfers_append_only()"
        )
    else:
        for event in ('UPDATE', 'DELETE'):
            op.execute(
                f"CREATE TRIGGER ledger_transfers_no_{event.lower()} BEFORE {event} ON ledger_transfers "
                f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY_MESSAGE}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER ledger_transfers_append_only ON ledger_transfers")
        op.execute("DROP FUNCTION ledger_transfers_append_only()")
    else:
        op.execute("DROP TRIGGER ledger_transfers_no_update")
        op.execute("DROP TRIGGER ledger_transfers_no_delete")

    with op.batch_alter_table('ledger_transfers', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_transfers_line')
        batch_op.drop_index('ix_ledger_transfers_hold')

    op.drop_table('ledger_transfers')
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.drop_index('ix_holds_status_expires')
        batch_op.drop_index('ix_holds_line')

    op.drop_table('holds')
    op.drop_table('credit_lines')
