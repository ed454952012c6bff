"""score snapshot: every firm's PD, model inputs and reason codes as of a date

Revision ID: 0005_scores
Revises: 0001
Create Date: 2026-11-22 21:00:00

A branch of its own from the history tables (see migrations.upgrade: "heads").
Table declared in credit/scoring/tables.py.
"""
from alembic import op
import sqlalchemy as sa


revision = "0005_scores"
down_revision = "0001"
branch_labels = ("scores",)
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "firm_scores",
        sa.Column("score_id", _ID, autoincrement=True, nullable=False),
        sa.Column("firm_id", _ID, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("model_version", sa.String(length=50), nullable=False),
        sa.Column("pd", sa.Double(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("reason_codes", sa.JSON(), nullable=False),
        sa.Column("reason_catalogue_version", sa.Integer(), nullable=False),
        sa.Column("scored_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("pd >= 0 AND pd <= 1", name=op.f("ck_firm_scores_pd_probability")),
        sa.ForeignKeyConstraint(["firm_id"], ["firms.firm_id"], name=op.f("fk_firm_scores_firm_id_firms")),
        sa.PrimaryKeyConstraint("score_id", name=op.f("pk_firm_scores")),
        sa.UniqueConstraint("firm_id", "as_of", "model_name", "model_version",
                            name="uq_firm_scores_firm_as_of_model"),
    )
    op.create_index("ix_firm_scores_latest", "firm_scores", ["firm_id", "as_of", "scored_at", "score_id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_firm_scores_latest", table_name="firm_scores")
    op.drop_table("firm_scores")
