"""audit rows appended un-chained (seq, prev_hash, hash filled in after commit); archived instances

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
    # Retention: a finished instance's workflow state may be dropped (history and result variables stay).
    op.add_column("process_instances", sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_process_instances_status_ended", "process_instances", ["status", "ended_at"])


def downgrade() -> None:
    op.drop_index("ix_process_instances_status_ended", "process_instances")
    with op.batch_alter_table("process_instances") as batch:
        batch.drop_column("archived_at")
    op.drop_index("ix_audit_events_unchained", "audit_events")
    # Rows still waiting for their link cannot satisfy NOT NULL; chain them (`motcua audit verify`) first.
    with op.batch_alter_table("audit_events") as batch:
        batch.alter_column("hash", existing_type=sa.String(64), nullable=False)
        batch.alter_column("prev_hash", existing_type=sa.String(64), nullable=False)
        batch.alter_column("seq", existing_type=ID, nullable=False)
