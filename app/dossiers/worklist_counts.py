"""Upkeep of worklist_counts, the queue sizes that triggers on dossiers keep as +1/-1 delta rows (migration 0014):
compaction folds the deltas into one row per (unit, scope, stage); a recount rebuilds the table from dossiers."""

from datetime import datetime

from sqlalchemy import Select, delete, func, insert, literal, select, text, union_all

from persistence.db import Database
from persistence.dossier_models import Dossier, WorklistCount

COMPACTION_LOCK = 766_0002  # PostgreSQL advisory lock: one compaction at a time (two could deadlock on rows)
KEY = (WorklistCount.unit_code, WorklistCount.scope, WorklistCount.stage)

# The rows a compaction folds: those of keys with several rows (a key's lone row is already folded).
_FOLDED = """(unit_code, scope, stage) IN (
    SELECT unit_code, scope, stage FROM worklist_counts {where} GROUP BY unit_code, scope, stage HAVING count(*) > 1)"""
# PostgreSQL: the deleted rows are summed and written back in one statement. The DELETE sees the committed rows of
# its snapshot only, and a row a concurrent compaction deleted first is skipped, not returned: every delta is
# either folded here or left for the next compaction, never both nor neither.
_COMPACT_POSTGRESQL = """WITH folded AS (
    DELETE FROM worklist_counts WHERE {where} {folded} RETURNING unit_code, scope, stage, delta
), written AS (
    INSERT INTO worklist_counts (unit_code, scope, stage, delta)
    SELECT unit_code, scope, stage, sum(delta) FROM folded GROUP BY unit_code, scope, stage HAVING sum(delta) <> 0
    RETURNING 1
)
SELECT (SELECT count(*) FROM folded), (SELECT count(*) FROM written)"""


class WorklistCounts:
    def __init__(self, db: Database) -> None:
        self.db = db

    def compact(self, unit: str | None = None) -> int:
        """Fold the delta rows of `unit` (every unit when None) into one row per (unit, scope, stage), dropping
        sums of 0; returns how many rows were folded. Concurrent writers keep writing deltas meanwhile."""
        of_unit = "unit_code = :unit" if unit is not None else "TRUE"
        folded = _FOLDED.format(where=f"WHERE {of_unit}")
        with self.db.transaction() as session:
            if self.db.dialect == "postgresql":
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": COMPACTION_LOCK})
                gone, _ = session.execute(text(_COMPACT_POSTGRESQL.format(where=of_unit, folded=f"AND {folded}")),
                                          {"unit": unit}).one()
                return int(gone)
            # SQLite: this transaction holds the write lock (BEGIN IMMEDIATE), so no delta is written meanwhile.
            rows = session.execute(delete(WorklistCount).where(text(f"{of_unit} AND {folded}"))
                                   .returning(*KEY, WorklistCount.delta), {"unit": unit}).all()
            sums: dict[tuple[str, str, str], int] = {}
            for unit_code, scope, stage, delta in rows:
                sums[unit_code, scope, stage] = sums.get((unit_code, scope, stage), 0) + delta
            written = [{"unit_code": unit_code, "scope": scope, "stage": stage, "delta": total}
                       for (unit_code, scope, stage), total in sums.items() if total]
            if written:
                session.execute(insert(WorklistCount), written)
            return len(rows)

    def compact_scan(self, now: datetime) -> int:
        """The worker's periodic scan (every scan_interval_seconds)."""
        return self.compact()

    def recount(self) -> int:
        """Rebuild the table from dossiers in one transaction; returns the rows written. Writers of dossiers wait
        meanwhile (PostgreSQL: their triggers wait for the table lock; SQLite: the write lock), so a change is
        either in the recount or a delta after it."""
        with self.db.transaction() as session:
            if self.db.dialect == "postgresql":
                # EXCLUSIVE: readers of the counts go on, trigger inserts wait until this commits.
                session.execute(text("LOCK TABLE worklist_counts IN EXCLUSIVE MODE"))
            session.execute(delete(WorklistCount))
            session.execute(insert(WorklistCount).from_select(["unit_code", "scope", "stage", "delta"],
                                                              counted_from_dossiers()))
            return session.scalar(select(func.count()).select_from(WorklistCount)) or 0


def counted_from_dossiers() -> Select:
    """Each (unit, scope, stage) with its number of dossiers: what the triggers' deltas add up to."""
    scoped = union_all(
        select(Dossier.competent_unit.label("unit_code"), literal("competent").label("scope"), Dossier.stage),
        select(Dossier.receiving_unit, literal("receiving"), Dossier.stage),
        select(Dossier.receiving_unit, literal("received_elsewhere"), Dossier.stage)
        .where(Dossier.receiving_unit != Dossier.competent_unit)).subquery("scoped")
    return (select(scoped.c.unit_code, scoped.c.scope, scoped.c.stage, func.count())
            .group_by(scoped.c.unit_code, scoped.c.scope, scoped.c.stage))

