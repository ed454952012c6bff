"""servicing: receivables, repayments, allocations, actions, ageing

Revision ID: 0010_servicing
Revises: 0009_hold_authorized_by
Create Date: 2026-12-06 04:04:37

The book's own receivables and what runs them (tables declared in credit/servicing/tables.py),
on the ledger's branch: every one of them hangs off a credit line. The ledger changes with
them (credit/ledger/tables.py):

* holds.terms_days: the payment terms chosen at authorization;
* credit_lines.frozen_by: finance or servicing, so servicing unfreezes only what it froze;
* credit_lines' limit rule reads "an active line is within its limit": a returned payment
  can take a line over its limit, and freezes it in the same UPDATE;
* ledger_transfers gets the line-level kinds reopen and charge_off (kind widened to 10).

On SQLite a CHECK constraint changes only by rebuilding the table (batch mode), which drops
the append-only triggers of ledger_transfers: they are made again afterwards. The rebuild of
credit_lines needs foreign keys off, which migrations.upgrade arranges on SQLite.
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_servicing'
down_revision = '0009_hold_authorized_by'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('book_ageing',
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('firm_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('days_past_due', sa.Integer(), nullable=False),
    sa.Column('bucket', sa.String(length=7), nullable=False),
    sa.Column('open_minor', sa.BigInteger(), nullable=False),
    sa.Column('overdue_minor', sa.BigInteger(), nullable=False),
    sa.Column('charged_off_minor', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("(bucket = 'current' OR bucket = '1-30' OR bucket = '31-60' OR bucket = '61-90' OR bucket = '90+')", name=op.f('ck_book_ageing_bucket_allowed')),
    sa.CheckConstraint('open_minor >= 0 AND overdue_minor >= 0', name=op.f('ck_book_ageing_amounts_non_negative')),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.firm_id'], name=op.f('fk_book_ageing_firm_id_firms')),
    sa.ForeignKeyConstraint(['line_id'], ['credit_lines.line_id'], name=op.f('fk_book_ageing_line_id_credit_lines')),
    sa.PrimaryKeyConstraint('as_of', 'line_id', name=op.f('pk_book_ageing'))
    )
    op.create_table('repayments',
    sa.Column('repayment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('firm_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=False),
    sa.Column('received_by', sa.String(length=100), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('applied_minor', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('returned_at', sa.DateTime(), nullable=True),
    sa.Column('return_reason', sa.String(length=200), nullable=True),
    sa.CheckConstraint("(status = 'received' OR status = 'returned')", name=op.f('ck_repayments_status_allowed')),
    sa.CheckConstraint("(status = 'returned') = (returned_at IS NOT NULL)", name=op.f('ck_repayments_returned_when_returned')),
    sa.CheckConstraint('amount_minor > 0', name=op.f('ck_repayments_amount_positive')),
    sa.CheckConstraint('applied_minor >= 0 AND applied_minor <= amount_minor', name=op.f('ck_repayments_applied_within_amount')),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.firm_id'], name=op.f('fk_repayments_firm_id_firms')),
    sa.ForeignKeyConstraint(['line_id'], ['credit_lines.line_id'], name=op.f('fk_repayments_line_id_credit_lines')),
    sa.PrimaryKeyConstraint('repayment_id', name=op.f('pk_repayments'))
    )
    with op.batch_alter_table('repayments', schema=None) as batch_op:
        batch_op.create_index('ix_repayments_line', ['line_id', 'repayment_id'], unique=False)

    op.create_table('receivables',
    sa.Column('receivable_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('firm_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('hold_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('parent_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.String(length=11), nullable=False),
    sa.Column('installment_number', sa.Integer(), nullable=True),
    sa.Column('installment_count', sa.Integer(), nullable=True),
    sa.Column('shipment_reference', sa.String(length=200), nullable=False),
    sa.Column('terms_days', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('principal_minor', sa.BigInteger(), nullable=False),
    sa.Column('refunded_minor', sa.BigInteger(), nullable=False),
    sa.Column('rescheduled_minor', sa.BigInteger(), nullable=False),
    sa.Column('fee_minor', sa.BigInteger(), nullable=False),
    sa.Column('merchant_fee_minor', sa.BigInteger(), nullable=False),
    sa.Column('late_fee_minor', sa.BigInteger(), nullable=False),
    sa.Column('paid_principal_minor', sa.BigInteger(), nullable=False),
    sa.Column('paid_fee_minor', sa.BigInteger(), nullable=False),
    sa.Column('paid_late_fee_minor', sa.BigInteger(), nullable=False),
    sa.Column('charged_off_minor', sa.BigInteger(), nullable=False),
    sa.Column('recovered_minor', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=14), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("(kind = 'terms' OR kind = 'installment')", name=op.f('ck_receivables_kind_allowed')),
    sa.CheckConstraint("(kind = 'terms') = (parent_id IS NULL)", name=op.f('ck_receivables_installment_has_parent')),
    sa.CheckConstraint("(status = 'open' OR status = 'partially_paid' OR status = 'paid' OR status = 'overdue' OR status = 'defaulted' OR status = 'charged_off' OR status = 'recovered' OR status = 'rescheduled' OR status = 'cancelled')", name=op.f('ck_receivables_status_allowed')),
    sa.CheckConstraint('charged_off_minor >= 0 AND recovered_minor >= 0', name=op.f('ck_receivables_loss_non_negative')),
    sa.CheckConstraint('due_at >= issued_at', name=op.f('ck_receivables_due_after_issue')),
    sa.CheckConstraint('fee_minor >= 0 AND merchant_fee_minor >= 0 AND late_fee_minor >= 0', name=op.f('ck_receivables_fees_non_negative')),
    sa.CheckConstraint('paid_fee_minor >= 0 AND paid_fee_minor <= fee_minor', name=op.f('ck_receivables_fee_not_overpaid')),
    sa.CheckConstraint('paid_late_fee_minor >= 0 AND paid_late_fee_minor <= late_fee_minor', name=op.f('ck_receivables_late_fee_not_overpaid')),
    sa.CheckConstraint('principal_minor > 0', name=op.f('ck_receivables_principal_positive')),
    sa.CheckConstraint('refunded_minor + rescheduled_minor + paid_principal_minor <= principal_minor', name=op.f('ck_receivables_principal_not_overpaid')),
    sa.CheckConstraint('refunded_minor >= 0 AND rescheduled_minor >= 0 AND paid_principal_minor >= 0', name=op.f('ck_receivables_principal_parts_non_negative')),
    sa.CheckConstraint('terms_days > 0', name=op.f('ck_receivables_terms_positive')),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.firm_id'], name=op.f('fk_receivables_firm_id_firms')),
    sa.ForeignKeyConstraint(['hold_id'], ['holds.hold_id'], name=op.f('fk_receivables_hold_id_holds')),
    sa.ForeignKeyConstraint(['line_id'], ['credit_lines.line_id'], name=op.f('fk_receivables_line_id_credit_lines')),
    sa.ForeignKeyConstraint(['parent_id'], ['receivables.receivable_id'], name=op.f('fk_receivables_parent_id_receivables')),
    sa.PrimaryKeyConstraint('receivable_id', name=op.f('pk_receivables'))
    )
    with op.batch_alter_table('receivables', schema=None) as batch_op:
        batch_op.create_index('ix_receivables_firm_due', ['firm_id', 'due_at'], unique=False)
        batch_op.create_index('ix_receivables_hold', ['hold_id'], unique=False)
        batch_op.create_index('ix_receivables_line_due', ['line_id', 'due_at'], unique=False)

    op.create_table('repayment_allocations',
    sa.Column('allocation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('repayment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('receivable_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('part', sa.String(length=13), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("(part = 'credit_refund') = (receivable_id IS NULL)", name=op.f('ck_repayment_allocations_receivable_unless_refund')),
    sa.CheckConstraint("(part = 'late_fee' OR part = 'fee' OR part = 'principal' OR part = 'credit_refund')", name=op.f('ck_repayment_allocations_part_allowed')),
    sa.CheckConstraint('amount_minor <> 0', name=op.f('ck_repayment_allocations_amount_non_zero')),
    sa.ForeignKeyConstraint(['receivable_id'], ['receivables.receivable_id'], name=op.f('fk_repayment_allocations_receivable_id_receivables')),
    sa.ForeignKeyConstraint(['repayment_id'], ['repayments.repayment_id'], name=op.f('fk_repayment_allocations_repayment_id_repayments')),
    sa.PrimaryKeyConstraint('allocation_id', name=op.f('pk_repayment_allocations'))
    )
    with op.batch_alter_table('repayment_allocations', schema=None) as batch_op:
        batch_op.create_index('ix_repayment_allocations_receivable', ['receivable_id'], unique=False)
        batch_op.create_index('ix_repayment_allocations_repayment', ['repayment_id'], unique=False)

    op.create_table('servicing_actions',
    sa.Column('action_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('receivable_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('subject', sa.String(length=30), nullable=False),
    sa.Column('step', sa.String(length=10), nullable=False),
    sa.Column('step_key', sa.String(length=30), nullable=False),
    sa.Column('reason_code', sa.String(length=40), nullable=False),
    sa.Column('days_past_due', sa.Integer(), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=True),
    sa.Column('decision_id', sa.String(length=36), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("(step = 'reminder' OR step = 'late_fee' OR step = 'freeze' OR step = 'unfreeze' OR step = 'default' OR step = 'charge_off')", name=op.f('ck_servicing_actions_step_allowed')),
    sa.ForeignKeyConstraint(['line_id'], ['credit_lines.line_id'], name=op.f('fk_servicing_actions_line_id_credit_lines')),
    sa.ForeignKeyConstraint(['receivable_id'], ['receivables.receivable_id'], name=op.f('fk_servicing_actions_receivable_id_receivables')),
    sa.PrimaryKeyConstraint('action_id', name=op.f('pk_servicing_actions')),
    sa.UniqueConstraint('subject', 'step_key', 'as_of', name='once_per_day')
    )
    with op.batch_alter_table('servicing_actions', schema=None) as batch_op:
        batch_op.create_index('ix_servicing_actions_line', ['line_id', 'as_of'], unique=False)

    op.add_column('holds', sa.Column('terms_days', sa.Integer(), nullable=True))
    op.add_column('credit_lines', sa.Column('frozen_by', sa.String(length=10), nullable=True))
    _replace_checks('credit_lines', {
        'exposure_within_limit': "status <> 'active' OR posted_minor + pending_minor <= limit_minor",
        'frozen_by_allowed': "frozen_by IS NULL OR (frozen_by = 'finance' OR frozen_by = 'servicing')",
    }, drop=('exposure_within_limit',))
    sqlite = op.get_bind().dialect.name == 'sqlite'
    if sqlite:
        for event in ('update', 'delete'):
            op.execute(f"DROP TRIGGER ledger_transfers_no_{event}")
    _replace_checks('ledger_transfers', {
        'kind_allowed': "(kind = 'hold' OR kind = 'post' OR kind = 'void' OR kind = 'expire' OR kind = 'refund' "
                        "OR kind = 'repay' OR kind = 'reopen' OR kind = 'charge_off')",
        'hold_unless_line_transfer': "((kind = 'repay' OR kind = 'reopen' OR kind = 'charge_off')) = (hold_id IS NULL)",
    }, drop=('kind_allowed', 'hold_unless_repay'), widen_kind=True)
    if sqlite:
        for event in ('UPDATE', 'DELETE'):
            op.execute(f"CREATE TRIGGER ledger_transfers_no_{event.lower()} BEFORE {event} ON ledger_transfers "
                       f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY_MESSAGE}'); END")


_APPEND_ONLY_MESSAGE = 'ledger_transfers is append-only: book a correcting transfer instead'


def _replace_checks(table: str, checks: dict[str, str], *, drop: tuple[str, ...], widen_kind: bool = False) -> None:
    # Batch mode: ALTERs on PostgreSQL, a rebuild with the reflected (named) constraints on SQLite.
    with op.batch_alter_table(table) as batch_op:
        for name in drop:
            batch_op.drop_constraint(op.f(f'ck_{table}_{name}'), type_='check')
        if widen_kind:
            batch_op.alter_column('kind', existing_type=sa.VARCHAR(length=6), type_=sa.String(length=10),
                                  existing_nullable=False)
        for name, condition in checks.items():
            batch_op.create_check_constraint(op.f(f'ck_{table}_{name}'), condition)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    if sqlite:
        for event in ('update', 'delete'):
            op.execute(f"DROP TRIGGER ledger_transfers_no_{event}")
    with op.batch_alter_table('ledger_transfers') as batch_op:
        batch_op.drop_constraint(op.f('ck_ledger_transfers_kind_allowed'), type_='check')
        batch_op.drop_constraint(op.f('ck_ledger_transfers_hold_unless_line_transfer'), type_='check')
        batch_op.alter_column('kind', existing_type=sa.String(length=10), type_=sa.VARCHAR(length=6),
                              existing_nullable=False)
        batch_op.create_check_constraint(op.f('ck_ledger_transfers_kind_allowed'),
                                         "(kind = 'hold' OR kind = 'post' OR kind = 'void' OR kind = 'expire' "
                                         "OR kind = 'refund' OR kind = 'repay')")
        batch_op.create_check_constraint(op.f('ck_ledger_transfers_hold_unless_repay'),
                                         "(kind = 'repay' AND hold_id IS NULL) OR (kind <> 'repay' AND hold_id IS NOT NULL)")
    if sqlite:
        for event in ('UPDATE', 'DELETE'):
            op.execute(f"CREATE TRIGGER ledger_transfers_no_{event.lower()} BEFORE {event} ON ledger_transfers "
                       f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY_MESSAGE}'); END")
    with op.batch_alter_table('credit_lines') as batch_op:
        batch_op.drop_constraint(op.f('ck_credit_lines_frozen_by_allowed'), type_='check')
        batch_op.drop_constraint(op.f('ck_credit_lines_exposure_within_limit'), type_='check')
        batch_op.drop_column('frozen_by')
        batch_op.create_check_constraint(op.f('ck_credit_lines_exposure_within_limit'),
                                         'posted_minor + pending_minor <= limit_minor')
    with op.batch_alter_table('holds') as batch_op:
        batch_op.drop_column('terms_days')

    with op.batch_alter_table('servicing_actions', schema=None) as batch_op:
        batch_op.drop_index('ix_servicing_actions_line')

    op.drop_table('servicing_actions')
    with op.batch_alter_table('repayment_allocations', schema=None) as batch_op:
        batch_op.drop_index('ix_repayment_allocations_repayment')
        batch_op.drop_index('ix_repayment_allocations_receivable')

    op.drop_table('repayment_allocations')
    with op.batch_alter_table('receivables', schema=None) as batch_op:
        batch_op.drop_index('ix_receivables_line_due')
        batch_op.drop_index('ix_receivables_hold')
        batch_op.drop_index('ix_receivables_firm_due')

    op.drop_table('receivables')
    with op.batch_alter_table('repayments', schema=None) as batch_op:
        batch_op.drop_index('ix_repayments_line')

    op.drop_table('repayments')
    op.drop_table('book_ageing')
