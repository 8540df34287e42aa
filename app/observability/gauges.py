"""Gauges read from the database at scrape time: overdue dossiers and overdue open steps."""

from sqlalchemy import func, select

from app.dossiers.deadlines import RUNNING
from persistence.db import Database
from persistence.dossier_models import Dossier
from persistence.models import HumanTask


def overdue_lines(db: Database) -> list[str]:
    with db.read() as session:
        dossiers = session.execute(
            select(Dossier.competent_unit, func.count()).where(Dossier.overdue_at.is_not(None),
                                                               Dossier.status.in_(RUNNING))
            .group_by(Dossier.competent_unit)).all()
        tasks = session.scalar(select(func.count()).select_from(HumanTask).where(
            HumanTask.status == "open", HumanTask.overdue_at.is_not(None))) or 0
    lines = ["# HELP motcua_overdue_dossiers Dossiers past their appointment and still being processed, by unit.",
             "# TYPE motcua_overdue_dossiers gauge"]
    lines += [f'motcua_overdue_dossiers{{unit="{unit}"}} {n}' for unit, n in sorted(dossiers)]
    lines += ["# HELP motcua_overdue_tasks Open steps past their due time.",
              "# TYPE motcua_overdue_tasks gauge", f"motcua_overdue_tasks {tasks}"]
    return lines
