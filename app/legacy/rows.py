"""Legacy files: their rows (CSV or JSON Lines), the column mapping, and one row's values as a reception."""

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from app.dossiers.requests import ReceptionRequest
from persistence.dossier_models import Procedure

FIELDS = ("legacy_id", "source_system", "legacy_code", "procedure_code", "channel", "receiving_unit",
          "competent_unit", "applicant_type", "applicant_id_number", "applicant_name", "applicant_phone",
          "received_at", "appointment_at", "state", "step", "finished_at", "result_number", "result_note")
REQUIRED = ("legacy_id", "procedure_code", "receiving_unit", "applicant_id_number", "applicant_name",
            "received_at", "state")


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


class Refused(Exception):
    """A row refused before anything is written: a stable code and the reason, in Vietnamese."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


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


def reception_request(row: dict[str, str], procedure: Procedure, received_at: datetime) -> ReceptionRequest:
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
        return ReceptionRequest.model_validate({k: v for k, v in body.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise Refused("invalid_row", f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None


def legacy_reference(row: dict[str, str]) -> dict[str, Any]:
    return {"legacy": {"id": row["legacy_id"], "system": row.get("source_system"), "code": row.get("legacy_code")}}


def moment(row: dict[str, str], name: str) -> datetime:
    try:
        value = datetime.fromisoformat(row[name])
    except ValueError:
        raise Refused("invalid_row", f"{name}: không phải thời điểm ISO 8601") from None
    if value.tzinfo is None:
        raise Refused("invalid_row", f"{name}: cần có múi giờ, ví dụ 2025-03-05T08:00:00+07:00")
    return value.astimezone(UTC)
