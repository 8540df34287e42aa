"""dossiers: transfers between units and consultations with other agencies

Revision ID: 0004
Revises: 0003
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("dossiers") as batch:
        batch.add_column(sa.Column("consultations", JSON, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("transfers", JSON, nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("dossiers") as batch:
        batch.drop_column("transfers")
        batch.drop_column("consultations")
