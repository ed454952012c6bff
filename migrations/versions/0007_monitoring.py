"""monitoring runs: PSI, calibration by grade and vintage, early warnings

Revision ID: 0007_monitoring
Revises: 0001
Create Date: 2026-11-24 09:00:00

A branch of its own from the history tables (see migrations.upgrade: "heads"), like
0005 and 0006: its only foreign keys are to its own run table (early warnings name firms
without one, since the panel monitored may come from history files not in this store).
Tables declared in credit/monitoring/tables.py.
"""
from alembic import op
import sqlalchemy as sa


revision = "0007_monitoring"
down_revision = "0001"
branch_labels = ("monitoring",)
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_STATUSES = "(status = 'ok' OR status = 'watch' OR status = 'alarm')"


def _rates(table):
    return [sa.CheckConstraint(f"{column} >= 0 AND {column} <= 1", name=op.f(f"ck_{table}_{column}_probability"))
            for column in ("predicted_rate", "realised_rate", "ci_low", "ci_high")]


def _calibration_columns():
    return [
        sa.Column("firms", sa.Integer(), nullable=False),
        sa.Column("defaults", sa.Integer(), nullable=False),
        sa.Column("predicted_rate", sa.Double(), nullable=False),
        sa.Column("realised_rate", sa.Double(), nullable=False),
        sa.Column("ci_low", sa.Double(), nullable=False),
        sa.Column("ci_high", sa.Double(), nullable=False),
    ]


def _run_key(table):
    return sa.ForeignKeyConstraint(["run_id"], ["monitoring_runs.run_id"],
                                   name=op.f(f"fk_{table}_run_id_monitoring_runs"))


def upgrade() -> None:
    op.create_table(
        "monitoring_runs",
        sa.Column("run_id", _ID, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("model_version", sa.String(length=50), nullable=False),
        sa.Column("training_from", sa.Date(), nullable=False),
        sa.Column("training_to", sa.Date(), nullable=False),
        sa.Column("calibration_vintage", sa.Date(), nullable=True),
        sa.Column("firms", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=1000), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.CheckConstraint("training_from <= training_to", name=op.f("ck_monitoring_runs_training_window_ordered")),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_monitoring_runs")),
    )
    op.create_index("ix_monitoring_runs_latest", "monitoring_runs", ["created_at", "run_id"])

    op.create_table(
        "monitoring_psi",
        sa.Column("run_id", _ID, nullable=False),
        sa.Column("variable", sa.String(length=200), nullable=False),
        sa.Column("segment", sa.String(length=200), nullable=False),
        sa.Column("psi", sa.Double(), nullable=False),
        sa.Column("status", sa.String(length=5), nullable=False),
        sa.Column("expected_rows", sa.Integer(), nullable=False),
        sa.Column("actual_rows", sa.Integer(), nullable=False),
        sa.CheckConstraint("psi >= 0", name=op.f("ck_monitoring_psi_psi_non_negative")),
        sa.CheckConstraint(_STATUSES, name=op.f("ck_monitoring_psi_status_allowed")),
        _run_key("monitoring_psi"),
        sa.PrimaryKeyConstraint("run_id", "variable", "segment", name=op.f("pk_monitoring_psi")),
    )

    op.create_table(
        "monitoring_grade_calibration",
        sa.Column("run_id", _ID, nullable=False),
        sa.Column("grade", sa.String(length=10), nullable=False),
        *_calibration_columns(),
        sa.Column("status", sa.String(length=5), nullable=False),
        sa.CheckConstraint("defaults >= 0 AND defaults <= firms",
                           name=op.f("ck_monitoring_grade_calibration_defaults_within_firms")),
        sa.CheckConstraint(_STATUSES, name=op.f("ck_monitoring_grade_calibration_status_allowed")),
        *_rates("monitoring_grade_calibration"),
        _run_key("monitoring_grade_calibration"),
        sa.PrimaryKeyConstraint("run_id", "grade", name=op.f("pk_monitoring_grade_calibration")),
    )

    op.create_table(
        "monitoring_vintage_calibration",
        sa.Column("run_id", _ID, nullable=False),
        sa.Column("vintage", sa.Date(), nullable=False),
        *_calibration_columns(),
        sa.Column("in_training", sa.Boolean(), nullable=False),
        sa.CheckConstraint("defaults >= 0 AND defaults <= firms",
                           name=op.f("ck_monitoring_vintage_calibration_defaults_within_firms")),
        *_rates("monitoring_vintage_calibration"),
        _run_key("monitoring_vintage_calibration"),
        sa.PrimaryKeyConstraint("run_id", "vintage", name=op.f("pk_monitoring_vintage_calibration")),
    )

    op.create_table(
        "monitoring_early_warnings",
        sa.Column("run_id", _ID, nullable=False),
        sa.Column("firm_id", _ID, nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        _run_key("monitoring_early_warnings"),
        sa.PrimaryKeyConstraint("run_id", "firm_id", name=op.f("pk_monitoring_early_warnings")),
    )
    op.create_index("ix_monitoring_early_warnings_firm", "monitoring_early_warnings", ["firm_id", "run_id"])


def downgrade() -> None:
    op.drop_index("ix_monitoring_early_warnings_firm", table_name="monitoring_early_warnings")
    op.drop_table("monitoring_early_warnings")
    op.drop_table("monitoring_vintage_calibration")
    op.drop_table("monitoring_grade_calibration")
    op.drop_table("monitoring_psi")
    op.drop_index("ix_monitoring_runs_latest", table_name="monitoring_runs")
    op.drop_table("monitoring_runs")
