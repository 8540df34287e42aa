"""The procedure catalogue and the units: loading the shipped data, search, admin edits."""

from datetime import date
from importlib.resources import files
from typing import Any

import vietnam_provinces as vp
import yaml
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.dossiers.text import fold
from app.dossiers.views import ProcedureIn, ProcedureView, UnitView
from app.errors import Conflict, InvalidInput, NotFound
from persistence.db import Database
from persistence.dossier_models import Procedure, Unit
from persistence.types import utcnow

HAI_PHONG = 31
UNIT_TYPES = {"xã": "commune", "phường": "ward", "đặc khu": "special-zone"}


def shipped_units() -> list[dict[str, Any]]:
    """The Department, its divisions, and Hải Phòng's communes, wards and special zones (from 1 Jul 2025)."""
    data = yaml.safe_load((files("workflows") / "units.yaml").read_text(encoding="utf-8"))
    department = data["department"]
    units = [{"code": department["code"], "name": department["name"], "type": "department", "parent_code": None,
              "admin_code": None, "reception": False, "sample": True}]
    units += [{"code": d["code"], "name": d["name"], "type": "division", "parent_code": department["code"],
               "admin_code": None, "reception": bool(d.get("reception")), "sample": True} for d in data["divisions"]]
    for ward in vp.Ward.iter_by_province(HAI_PHONG):
        units.append({"code": f"{data['commune_prefix']}.{int(ward.code)}", "name": ward.name,
                      "type": UNIT_TYPES[ward.division_type.value], "parent_code": None,
                      "admin_code": str(int(ward.code)), "reception": True, "sample": True})
    return units


def shipped_procedures() -> list[dict[str, Any]]:
    data = yaml.safe_load((files("workflows") / "catalogue.yaml").read_text(encoding="utf-8"))
    return data["procedures"]


class CatalogueService:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- loading ---------------------------------------------------------------------------------

    def load_shipped(self) -> tuple[int, int]:
        """Insert or refresh the shipped units and procedures; admin-created entries are left alone."""
        units = shipped_units()
        department = next(u["code"] for u in units if u["type"] == "department")
        procedures = shipped_procedures()
        with self.db.transaction() as session:
            for unit in units:
                row = session.get(Unit, unit["code"]) or Unit(code=unit["code"])
                for key, value in unit.items():
                    setattr(row, key, value)
                row.search_text = fold(f"{unit['name']} {unit['code']}")
                session.add(row)
            for entry in procedures:
                data = ProcedureIn.model_validate(_from_yaml(entry, department))
                row = session.get(Procedure, data.code) or Procedure(code=data.code)
                _apply(row, data)
                session.add(row)
        return len(units), len(procedures)

    # --- procedures ------------------------------------------------------------------------------

    def search(self, q: str | None, level: str | None = None, limit: int = 100, offset: int = 0) -> list[ProcedureView]:
        with self.db.read() as session:
            query = select(Procedure).order_by(Procedure.code)
            if q:
                for word in fold(q).split():
                    query = query.where(Procedure.search_text.contains(word, autoescape=True))
            if level:
                query = query.where(Procedure.level == level)
            return [ProcedureView.of(p) for p in session.scalars(query.limit(limit).offset(offset))]

    def get(self, code: str) -> ProcedureView:
        with self.db.read() as session:
            return ProcedureView.of(self.procedure_row(session, code))

    def create(self, data: ProcedureIn) -> ProcedureView:
        with self.db.transaction() as session:
            if session.get(Procedure, data.code) is not None:
                raise Conflict(f"Thủ tục '{data.code}' đã có trong danh mục", code="already_exists")
            self._check_units(session, data)
            row = Procedure(code=data.code)
            _apply(row, data)
            session.add(row)
            session.flush()
            return ProcedureView.of(row)

    def update(self, code: str, data: ProcedureIn) -> ProcedureView:
        if data.code != code:
            raise InvalidInput("Không được đổi mã thủ tục", field="code")
        with self.db.transaction() as session:
            row = self.procedure_row(session, code)
            self._check_units(session, data)
            _apply(row, data)
            session.flush()
            return ProcedureView.of(row)

    @staticmethod
    def procedure_row(session: Session, code: str) -> Procedure:
        row = session.get(Procedure, code)
        if row is None:
            raise NotFound(f"Không có thủ tục '{code}' trong danh mục", field="procedureCode")
        return row

    @staticmethod
    def _check_units(session: Session, data: ProcedureIn) -> None:
        if data.competent_unit and session.get(Unit, data.competent_unit) is None:
            raise InvalidInput(f"Không có đơn vị '{data.competent_unit}'", field="competentUnit",
                               code="unknown_unit")

    # --- units -----------------------------------------------------------------------------------

    def units(self, q: str | None = None, unit_type: str | None = None) -> list[UnitView]:
        with self.db.read() as session:
            query = select(Unit).order_by(Unit.type, Unit.name)
            if q:
                folded = fold(q)
                query = query.where(or_(Unit.search_text.contains(folded, autoescape=True), Unit.code == q))
            if unit_type:
                query = query.where(Unit.type == unit_type)
            return [UnitView.of(u) for u in session.scalars(query)]


def _from_yaml(entry: dict[str, Any], department: str) -> dict[str, Any]:
    out = dict(entry)
    if out.get("level") == "department":
        out.setdefault("competent_unit", department)
    cutover = out.get("moh_cutover")
    if isinstance(cutover, date):
        out["moh_cutover"] = cutover.isoformat()
    return out


def _apply(row: Procedure, data: ProcedureIn) -> None:
    for key, value in data.model_dump(exclude={"code"}).items():
        setattr(row, key, value)
    row.search_text = fold(f"{data.code} {data.name} {data.short_name or ''} {data.sector}")
    row.updated_at = utcnow()
