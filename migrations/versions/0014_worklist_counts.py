"""worklist counts: queue sizes kept by triggers on dossiers, not counted per request

Revision ID: 0014_worklist_counts
Revises: 0013_worklist

Each dossier counts +1 in worklist_counts under (competent_unit, 'competent', stage), (receiving_unit,
'receiving', stage) and, when received in one unit for another, (receiving_unit, 'received_elsewhere', stage):
the unit branches of app/dossiers/queries.py. Triggers, not ORM events, write the deltas, because dossiers are
also written by Core bulk inserts (legacy import, demo generator), by migrations and by restores.

SQLite drops a table's triggers with the table: a later migration that rebuilds dossiers in batch mode (copy,
drop, rename) must create these triggers again.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_worklist_counts"
down_revision: str | None = "0013_worklist"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
COLUMNS = "unit_code, scope, stage, delta"
ELSEWHERE = "receiving_unit <> competent_unit"


def scoped(rows: str) -> str:
    """(unit_code, scope, stage) once per scope each row of `rows` counts in."""
    return (f"SELECT competent_unit AS unit_code, 'competent' AS scope, stage FROM {rows}"
            f" UNION ALL SELECT receiving_unit, 'receiving', stage FROM {rows}"
            f" UNION ALL SELECT receiving_unit, 'received_elsewhere', stage FROM {rows} WHERE {ELSEWHERE}")


def row_deltas(row: str, sign: int) -> str:
    """The delta rows of one dossier row (NEW or OLD in a row-level trigger), as one SELECT."""
    return (f"SELECT {row}.competent_unit, 'competent', {row}.stage, {sign}"
            f" UNION ALL SELECT {row}.receiving_unit, 'receiving', {row}.stage, {sign}"
            f" UNION ALL SELECT {row}.receiving_unit, 'received_elsewhere', {row}.stage, {sign}"
            f" WHERE {row}.receiving_unit <> {row}.competent_unit")


# What makes an update move a dossier between counts; others (most updates) write nothing.
COUNTED_CHANGE = ("OLD.stage IS DISTINCT FROM NEW.stage OR OLD.competent_unit IS DISTINCT FROM NEW.competent_unit"
                  " OR OLD.receiving_unit IS DISTINCT FROM NEW.receiving_unit")

POSTGRESQL = [
    # INSERT and DELETE are counted per statement from their transition table: a statement of many rows (INSERT …
    # SELECT, multi-row VALUES, COPY, a DELETE … WHERE) writes one row per (unit, scope, stage) it touches, not up to
    # three per dossier. (psycopg's executemany, as in the demo generator, is one statement per row all the same.)
    f"""CREATE FUNCTION worklist_counts_of_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO worklist_counts ({COLUMNS})
    SELECT unit_code, scope, stage, CASE TG_OP WHEN 'INSERT' THEN count(*) ELSE -count(*) END
    FROM ({scoped("changed")}) AS scoped
    GROUP BY unit_code, scope, stage;
    RETURN NULL;
END $$""",
    """CREATE TRIGGER dossiers_worklist_counts_insert AFTER INSERT ON dossiers
REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION worklist_counts_of_statement()""",
    """CREATE TRIGGER dossiers_worklist_counts_delete AFTER DELETE ON dossiers
REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION worklist_counts_of_statement()""",
    # An update trigger with a transition table may not name columns nor have a WHEN, and would run for every
    # update of a dossier (most change neither stage nor unit): per row, only when a counted column changed.
    f"""CREATE FUNCTION worklist_counts_of_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO worklist_counts ({COLUMNS}) {row_deltas("OLD", -1)} UNION ALL {row_deltas("NEW", 1)};
    RETURN NULL;
END $$""",
    f"""CREATE TRIGGER dossiers_worklist_counts_update AFTER UPDATE OF stage, competent_unit, receiving_unit
ON dossiers FOR EACH ROW WHEN ({COUNTED_CHANGE}) EXECUTE FUNCTION worklist_counts_of_update()""",
    # TRUNCATE fires no delete trigger: an emptied dossier table has nothing to count.
    """CREATE FUNCTION worklist_counts_of_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM worklist_counts;
    RETURN NULL;
END $$""",
    """CREATE TRIGGER dossiers_worklist_counts_truncate AFTER TRUNCATE ON dossiers
FOR EACH STATEMENT EXECUTE FUNCTION worklist_counts_of_truncate()""",
]

# SQLite has row-level triggers only.
SQLITE = [
    f"""CREATE TRIGGER dossiers_worklist_counts_insert AFTER INSERT ON dossiers BEGIN
    INSERT INTO worklist_counts ({COLUMNS}) {row_deltas("NEW", 1)};
END""",
    f"""CREATE TRIGGER dossiers_worklist_counts_delete AFTER DELETE ON dossiers BEGIN
    INSERT INTO worklist_counts ({COLUMNS}) {row_deltas("OLD", -1)};
END""",
    f"""CREATE TRIGGER dossiers_worklist_counts_update AFTER UPDATE OF stage, competent_unit, receiving_unit
ON dossiers WHEN {COUNTED_CHANGE.replace("IS DISTINCT FROM", "IS NOT")} BEGIN
    INSERT INTO worklist_counts ({COLUMNS}) {row_deltas("OLD", -1)} UNION ALL {row_deltas("NEW", 1)};
END""",
]

BACKFILL = (f"INSERT INTO worklist_counts ({COLUMNS}) SELECT unit_code, scope, stage, count(*)"
            f" FROM ({scoped('dossiers')}) AS scoped GROUP BY unit_code, scope, stage")


def upgrade() -> None:
    op.create_table(
        "worklist_counts",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("unit_code", sa.String(32), nullable=False),
        sa.Column("scope", sa.String(24), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
    )
    op.create_index("ix_worklist_counts_unit_scope_stage", "worklist_counts", ["unit_code", "scope", "stage"])
    # Triggers first, then the backfill, in this one transaction: on PostgreSQL, CREATE TRIGGER locks dossiers
    # against writes until commit, so no dossier is counted twice or missed.
    for statement in POSTGRESQL if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)
    op.execute(BACKFILL)


def downgrade() -> None:
    for trigger in ("insert", "delete", "update", "truncate"):
        op.execute(f"DROP TRIGGER IF EXISTS dossiers_worklist_counts_{trigger}"
                   + (" ON dossiers" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        for function in ("of_statement", "of_update", "of_truncate"):
            op.execute(f"DROP FUNCTION worklist_counts_{function}()")
    op.drop_index("ix_worklist_counts_unit_scope_stage", table_name="worklist_counts")
    op.drop_table("worklist_counts")
