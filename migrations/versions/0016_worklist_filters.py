"""worklist filters and the view without a unit: four indexes and the statistics of stage with status

Revision ID: 0016_worklist_filters
Revises: 0015_stage_check

At 1M dossiers a filtered page walked whole (unit, stage) ranges of the 0013 indexes looking for 50 matches, and
the page without a unit read and sorted every dossier of the queue:
- ix_dossiers_competent_procedure(_received): a procedure's dossiers of a unit, stage by stage, in each sort
  order. The appointment time follows the procedure's legal time, so a procedure with long ones has no row among
  the first tens of thousands of the unit's range; one the unit seldom or never handles has few or none at all.
- ix_dossiers_stage_appointment: every unit's dossiers of a stage in appointment order (PostgreSQL 15 has no skip
  scan through the units of a unit-leading index). Received-time pages without a unit walk ix_dossiers_received.
- ix_dossiers_unusual_status: the few dossiers whose status is not their stage's usual one (in progress while new
  again after a supplement, accepted at the return step, ...). A status filter reads them here for those stages,
  where the (unit, stage) ranges hold almost none of them. Partial: a dossier on the ordinary path is not in it,
  so most writes do not touch it.
- st_dossiers_stage_status (PostgreSQL): the planner multiplies the shares of stage and of status as if
  independent and expects thousands of rows where there are none; with the pairs' own shares it reads the partial
  index, also in a prepared statement's generic plan. ANALYZE fills it.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_worklist_filters"
down_revision: str | None = "0015_stage_check"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# persistence/dossier_models.py UNUSUAL_STATUS as of this revision (a test holds the two equal): the worklist states
# the same predicate, so the planner sees that the index applies
UNUSUAL_STATUS = (
    "NOT (stage = 'new' AND status IN ('accepted') OR stage = 'in_progress' AND status IN ('in_progress') "
    "OR stage = 'ministry' AND status IN ('in_progress') "
    "OR stage = 'supplement' AND status IN ('supplement_requested') "
    "OR stage = 'to_return' AND status IN ('finished') OR stage = 'done' AND status IN ('returned') "
    "OR stage = 'refused' AND status IN ('refused') OR stage = 'withdrawn' AND status IN ('withdrawn', 'closed'))")
INDEXES = (("ix_dossiers_competent_procedure", ["competent_unit", "procedure_code", "stage", "appointment_at"]),
           ("ix_dossiers_competent_procedure_received", ["competent_unit", "procedure_code", "stage", "received_at"]),
           ("ix_dossiers_stage_appointment", ["stage", "appointment_at"]))


def upgrade() -> None:
    for name, columns in INDEXES:
        op.create_index(name, "dossiers", columns)
    op.create_index("ix_dossiers_unusual_status", "dossiers", ["stage", "status", "competent_unit", "receiving_unit"],
                    postgresql_where=sa.text(UNUSUAL_STATUS), sqlite_where=sa.text(UNUSUAL_STATUS))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE STATISTICS st_dossiers_stage_status (mcv) ON stage, status FROM dossiers")
        op.execute("ANALYZE dossiers")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS st_dossiers_stage_status")
    op.drop_index("ix_dossiers_unusual_status", table_name="dossiers")
    for name, _ in reversed(INDEXES):
        op.drop_index(name, table_name="dossiers")
