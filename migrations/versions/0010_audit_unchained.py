"""audit: rows are appended un-chained and chained after commit (seq, prev_hash, hash filled in later)

Revision ID: 0010
Revises: 0009
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.alter_column("seq", existing_type=ID, nullable=True)
        batch.alter_column("prev_hash", existing_type=sa.String(64), nullable=True)
        batch.alter_column("hash", existing_type=sa.String(64), nullable=True)
    # The chaining pump looks for the few rows not chained yet; a partial index keeps that lookup tiny.
    op.create_index("ix_audit_events_unchained", "audit_events", ["id"],
                    postgresql_where=sa.text("seq IS NULL"), sqlite_where=sa.text("seq IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_audit_events_unchained", "audit_events")
    # Rows still waiting for their link cannot satisfy NOT NULL; chain them (`motcua audit verify`) first.
    with op.batch_alter_table("audit_events") as batch:
        batch.alter_column("hash", existing_type=sa.String(64), nullable=False)
        batch.alter_column("prev_hash", existing_type=sa.String(64), nullable=False)
        batch.alter_column("seq", existing_type=ID, nullable=False)
