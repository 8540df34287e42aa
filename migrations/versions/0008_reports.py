"""reports: dossier ratings, and an index for period scans of dossiers

Revision ID: 0008
Revises: 0004
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


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
    # Reports select dossiers by reception date, then group; the period scan needs this index.
    op.create_index("ix_dossiers_received", "dossiers", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_dossiers_received", table_name="dossiers")
    op.drop_table("dossier_ratings")
