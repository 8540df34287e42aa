"""reports: dossier ratings, the daily quality summary with its watermark, period and change indexes

Revision ID: 0008
Revises: 0007
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The counts of app.reports.figures.Counts, frozen here as migrations must not import the app.
COUNTS = ("received", "withdrawn", "evaluated", "finished", "on_time", "late", "overdue_with_apology",
          "open_overdue", "online", "full_online_offered", "full_online", "fee_bearing", "paid", "paid_online",
          "e_results", "digitised", "reused", "ratings", "score_sum", "complaints")


def upgrade() -> None:
    op.create_table(
        "dossier_ratings",
        sa.Column("dossier_code", sa.String(length=64), sa.ForeignKey("dossiers.code"), primary_key=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("complaint", sa.Text(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False, server_default="public"),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name="ck_dossier_ratings_score"),
    )
    op.create_table(
        "quality_daily",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("competent_unit", sa.String(length=32), primary_key=True),
        sa.Column("procedure_code", sa.String(length=32), primary_key=True),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS],
    )
    op.create_table(
        "report_refreshes",
        sa.Column("name", sa.String(length=32), primary_key=True),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
    )
    # Reports select dossiers by reception date; the summary refresh finds changed dossiers by update time.
    op.create_index("ix_dossiers_received", "dossiers", ["received_at"])
    op.create_index("ix_dossiers_updated", "dossiers", ["updated_at"])
    op.create_index("ix_dossier_ratings_rated", "dossier_ratings", ["rated_at"])


def downgrade() -> None:
    op.drop_index("ix_dossier_ratings_rated", table_name="dossier_ratings")
    op.drop_index("ix_dossiers_updated", table_name="dossiers")
    op.drop_index("ix_dossiers_received", table_name="dossiers")
    op.drop_table("report_refreshes")
    op.drop_table("quality_daily")
    op.drop_table("dossier_ratings")
