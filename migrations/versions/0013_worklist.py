"""worklist indexes: every queue page is an ordered index range per (unit, stage)

Revision ID: 0013_worklist
Revises: 0011
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_worklist"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the stages app/dossiers/status.py STAGES names; a row with any other stage lands in the small partial index
KNOWN_STAGES = "('new', 'in_progress', 'ministry', 'supplement', 'to_return', 'done', 'refused', 'withdrawn')"
ELSEWHERE = "receiving_unit <> competent_unit"


def upgrade() -> None:
    # The legacy importer before this revision wrote stage 'returned' for finished imports; stage_of says 'done'.
    op.execute("UPDATE dossiers SET stage = 'done' WHERE stage = 'returned' AND status = 'returned'")
    op.create_index("ix_dossiers_competent_stage_received", "dossiers", ["competent_unit", "stage", "received_at"])
    op.create_index("ix_dossiers_receiving_stage_received", "dossiers", ["receiving_unit", "stage", "received_at"])
    for name, column in (("ix_dossiers_elsewhere_appointment", "appointment_at"),
                         ("ix_dossiers_elsewhere_received", "received_at")):
        op.create_index(name, "dossiers", ["receiving_unit", "stage", column],
                        postgresql_where=sa.text(ELSEWHERE), sqlite_where=sa.text(ELSEWHERE))
    unlisted = f"stage NOT IN {KNOWN_STAGES}"
    op.create_index("ix_dossiers_unlisted_stage", "dossiers", ["competent_unit", "receiving_unit"],
                    postgresql_where=sa.text(unlisted), sqlite_where=sa.text(unlisted))


def downgrade() -> None:
    for name in ("ix_dossiers_unlisted_stage", "ix_dossiers_elsewhere_received", "ix_dossiers_elsewhere_appointment",
                 "ix_dossiers_receiving_stage_received", "ix_dossiers_competent_stage_received"):
        op.drop_index(name, table_name="dossiers")
