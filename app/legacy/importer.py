"""Legacy dossiers, one row per dossier (CSV or JSON Lines), each imported in its own transaction.

A row becomes a reception with its original received time (so its code and appointment follow the rules as
if received then); an in-flight dossier is then advanced through the current diagram until the step named by
the row is open; a finished one is closed as history carrying its result. The legacy id is the row's
idempotency key (the `processed_messages` table, written in the row's transaction): importing a file again,
or resuming after an interruption, skips what is already in, and a row changed since is refused.
"""

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.dossiers.reception import ReceptionService
from app.dossiers.requests import ReceptionRequest
from app.dossiers.status import DVCQG_CODE, Status
from app.errors import MotcuaError
from app.integrations.inbound import InboundOnce, request_hash
from persistence import repositories as repo
from persistence.dossier_models import Dossier, Procedure
from persistence.integration_models import ProcessedMessage

FIELDS = ("legacy_id", "source_system", "legacy_code", "procedure_code", "channel", "receiving_unit",
          "competent_unit", "applicant_type", "applicant_id_number", "applicant_name", "applicant_phone",
          "received_at", "appointment_at", "state", "step", "finished_at", "result_number", "result_note")
REQUIRED = ("legacy_id", "procedure_code", "receiving_unit", "applicant_id_number", "applicant_name",
            "received_at", "state")
ACTOR = "import"
MAX_STEPS = 20


@dataclass
class Mapping:
    """Which column holds each field, the values of `state` meaning finished or in progress, and defaults."""

    columns: dict[str, str] = field(default_factory=lambda: {f: f for f in FIELDS})
    finished_values: set[str] = field(default_factory=lambda: {"finished", "da_tra_ket_qua"})
    in_progress_values: set[str] = field(default_factory=lambda: {"in_progress", "dang_xu_ly"})
    defaults: dict[str, str] = field(default_factory=lambda: {"channel": "counter", "applicant_type": "citizen"})

    @classmethod
    def load(cls, path: Path | None) -> "Mapping":
        mapping = cls()
        if path is None:
            return mapping
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        unknown = set(data.get("columns", {})) - set(FIELDS)
        if unknown:
            raise ValueError(f"trường không biết trong mapping: {', '.join(sorted(unknown))}")
        mapping.columns.update(data.get("columns", {}))
        if "finished" in data.get("states", {}):
            mapping.finished_values = {str(v) for v in data["states"]["finished"]}
        if "in_progress" in data.get("states", {}):
            mapping.in_progress_values = {str(v) for v in data["states"]["in_progress"]}
        mapping.defaults.update({k: str(v) for k, v in data.get("defaults", {}).items()})
        return mapping

    def row(self, raw: dict[str, Any]) -> dict[str, str]:
        values = {name: raw.get(column) for name, column in self.columns.items()}
        out = {k: str(v).strip() for k, v in values.items() if v not in (None, "")}
        for name, value in self.defaults.items():
            out.setdefault(name, value)
        return out


@dataclass
class Outcome:
    line: int
    legacy_id: str | None
    result: str  # imported | skipped | refused
    code: str | None = None
    reason: str | None = None


class Refused(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


class _DryRun(Exception):
    pass


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, raw row) from a .csv (header row) or a .jsonl / .ndjson file."""
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    try:
                        value = json.loads(line)
                    except ValueError:
                        value = None
                    yield number, value if isinstance(value, dict) else {"__invalid__": line[:200]}
    else:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for number, raw in enumerate(csv.DictReader(handle), start=2):
                yield number, raw


class LegacyImporter:
    def __init__(self, reception: ReceptionService, inbound: InboundOnce) -> None:
        self.reception = reception
        self.instances = reception.instances
        self.inbound = inbound

    def import_row(self, line: int, raw: dict[str, Any], mapping: Mapping, *, dry_run: bool = False) -> Outcome:
        if "__invalid__" in raw:
            return Outcome(line, None, "refused", "invalid_json", "Dòng không phải một đối tượng JSON")
        row = mapping.row(raw)
        legacy_id = row.get("legacy_id")
        try:
            missing = [name for name in REQUIRED if name not in row]
            if missing:
                raise Refused("missing_field", f"Thiếu trường: {', '.join(missing)}")
            key = f"legacy:{row.get('source_system', '')}:{legacy_id}"
            with self.instances.db.read() as session:
                earlier = session.get(ProcessedMessage, key)
            already = earlier is not None
            if already and not dry_run:
                if earlier.request_hash != request_hash(row):
                    raise Refused("idempotency_key_reused", f"Mã hồ sơ cũ '{legacy_id}' đã được nhập với nội dung khác")
                return Outcome(line, legacy_id, "skipped", earlier.response.get("code"))
            if dry_run:
                try:
                    with self.instances.command() as session:
                        self._import(session, row, mapping)
                        raise _DryRun
                except _DryRun:
                    return Outcome(line, legacy_id, "skipped" if already else "imported")
            answer = self.inbound.run(key, row, lambda session: self._import(session, row, mapping),
                                      field="legacy_id")
            return Outcome(line, legacy_id, "skipped" if already else "imported", answer["code"])
        except Refused as exc:
            return Outcome(line, legacy_id, "refused", exc.code, exc.reason)
        except MotcuaError as exc:
            where = f" ({exc.field or exc.element_id})" if (exc.field or exc.element_id) else ""
            return Outcome(line, legacy_id, "refused", exc.code, f"{exc.detail}{where}")

    def _import(self, session: Session, row: dict[str, str], mapping: Mapping) -> dict[str, Any]:
        state = row["state"]
        if state not in mapping.finished_values | mapping.in_progress_values:
            raise Refused("unknown_state", f"Trạng thái '{state}' không có trong mapping")
        procedure = session.get(Procedure, row["procedure_code"])
        if procedure is None:
            raise Refused("unknown_procedure", f"Không có thủ tục '{row['procedure_code']}' trong danh mục")
        received_at = _moment(row, "received_at")
        body = {
            "procedureCode": procedure.code, "channel": row.get("channel"), "receivingUnit": row["receiving_unit"],
            "competentUnit": row.get("competent_unit"), "receivedAt": received_at.isoformat(), "feePaid": True,
            "applicant": {"type": row.get("applicant_type"), "idNumber": row["applicant_id_number"],
                          "name": row["applicant_name"], "phone": row.get("applicant_phone")},
            "documents": [{"code": d["code"], "originals": d.get("originals") or 1, "copies": d.get("copies", 0)}
                          for d in procedure.documents if d.get("required")] or
                         [{"code": "legacy", "originals": 1, "copies": 0}],
        }
        try:
            request = ReceptionRequest.model_validate({k: v for k, v in body.items() if v is not None})
        except ValidationError as exc:
            first = exc.errors()[0]
            raise Refused("invalid_row", f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
        view = self.reception.receive_in(session, request, ACTOR)
        dossier = session.get(Dossier, view.code)
        assert dossier is not None
        if "appointment_at" in row:
            dossier.appointment_at = _moment(row, "appointment_at")
        dossier.result = {"legacy": {"id": row["legacy_id"], "system": row.get("source_system"),
                                     "code": row.get("legacy_code")}}
        if state in mapping.finished_values:
            self._finish(session, dossier, row)
        else:
            self._advance(session, dossier, row.get("step"))
        session.flush()
        return {"code": dossier.code, "status": dossier.status, "step": dossier.current_step}

    def _advance(self, session: Session, dossier: Dossier, step: str | None) -> None:
        if step is None:
            raise Refused("missing_field", "Hồ sơ đang xử lý cần trường step (bước hiện tại)")
        for _ in range(MAX_STEPS):
            tasks = list(repo.open_tasks_of(session, [dossier.process_instance_id]))
            if any(t.properties.get("motcua:step") == step or t.element_id == step for t in tasks):
                return
            if not tasks:
                break
            self.instances.complete_in(session, tasks[0].id, {"appraisal_note": "Nhập từ hệ thống cũ"}, ACTOR)
        raise Refused("step_not_reached", f"Quy trình hiện hành không dừng ở bước '{step}' trên đường xử lý chính")

    def _finish(self, session: Session, dossier: Dossier, row: dict[str, str]) -> None:
        if "finished_at" not in row or "result_number" not in row:
            raise Refused("missing_field", "Hồ sơ đã giải quyết cần finished_at và result_number")
        finished_at = _moment(row, "finished_at")
        if finished_at < dossier.received_at:
            raise Refused("invalid_row", "finished_at trước received_at")
        self.instances.terminate_in(session, dossier.process_instance_id,
                                    reason="Hồ sơ đã giải quyết trên hệ thống cũ; nhập làm lịch sử", actor=ACTOR)
        dossier.status = Status.RETURNED.value
        dossier.status_code = DVCQG_CODE[Status.RETURNED]
        dossier.stage = "returned"
        dossier.current_step = None
        dossier.finished_at = dossier.returned_at = finished_at
        dossier.result = {**(dossier.result or {}), "number": row["result_number"], "note": row.get("result_note"),
                          "returnedAt": finished_at.isoformat(), "returnedBy": ACTOR}


def _moment(row: dict[str, str], name: str) -> datetime:
    try:
        value = datetime.fromisoformat(row[name])
    except ValueError:
        raise Refused("invalid_row", f"{name}: không phải thời điểm ISO 8601") from None
    if value.tzinfo is None:
        raise Refused("invalid_row", f"{name}: cần có múi giờ, ví dụ 2025-03-05T08:00:00+07:00")
    return value.astimezone(UTC)
