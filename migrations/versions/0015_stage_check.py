"""dossier stage checked by the database: the worklist needs no catch-all branch

Revision ID: 0015_stage_check
Revises: 0014_worklist_counts

The worklist's "all" queue read a catch-all branch for rows whose stage is not one of app/dossiers/status.py
STAGES. PostgreSQL estimates `stage NOT IN (…)` as matching a fifth of a unit's rows (it multiplies the
stages' shares as if independent), so at 1M dossiers it walked the received-time index backwards for 50
rows that are not there: 3.5 s per unit scope, 6 s a page. The database now refuses any other stage, so the
branch and its partial index go. Rows with another stage are first given the one stage_of gives them.
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0015_stage_check"
down_revision: str | None = "0014_worklist_counts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAGES = "('new', 'in_progress', 'ministry', 'supplement', 'to_return', 'done', 'refused', 'withdrawn')"
# stage_of(status, current_step, waiting on the Ministry) in SQL, for rows written before any check
STAGE_OF = """CASE
    WHEN status = 'supplement_requested' THEN 'supplement'
    WHEN status IN ('withdrawn', 'closed') THEN 'withdrawn'
    WHEN status = 'refused' THEN 'refused'
    WHEN status = 'returned' THEN 'done'
    WHEN status = 'finished' OR current_step = 'return' THEN 'to_return'
    WHEN current_step = 'ministry' THEN 'ministry'
    WHEN current_step IS NULL OR current_step = 'assign' THEN 'new'
    ELSE 'in_progress' END"""
SQLITE_TRIGGER = """CREATE TRIGGER dossiers_stage_{name} BEFORE {event} ON dossiers
WHEN NEW.stage NOT IN {stages} BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: ck_dossiers_stage'); END"""


def upgrade() -> None:
    op.execute(f"UPDATE dossiers SET stage = {STAGE_OF} WHERE stage NOT IN {STAGES}")
    op.drop_index("ix_dossiers_unlisted_stage", table_name="dossiers")
    if op.get_bind().dialect.name == "postgresql":
        # NOT VALID, then VALIDATE: the check of existing rows does not block writers meanwhile
        op.execute(f"ALTER TABLE dossiers ADD CONSTRAINT ck_dossiers_stage CHECK (stage IN {STAGES}) NOT VALID")
        op.execute("ALTER TABLE dossiers VALIDATE CONSTRAINT ck_dossiers_stage")
    else:
        # SQLite adds a CHECK only by rebuilding the table, which would drop the worklist_counts triggers (0014)
        for name, event in (("insert", "INSERT"), ("update", "UPDATE OF stage")):
            op.execute(SQLITE_TRIGGER.format(name=name, event=event, stages=STAGES))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE dossiers DROP CONSTRAINT ck_dossiers_stage")
    else:
        op.execute("DROP TRIGGER dossiers_stage_insert")
        op.execute("DROP TRIGGER dossiers_stage_update")
    unlisted = f"stage NOT IN {STAGES}"
    op.execute(f"CREATE INDEX ix_dossiers_unlisted_stage ON dossiers (competent_unit, receiving_unit) WHERE {unlisted}")
