"""Form 02 at the counter for a dossier that is not complete: built from what the clerk entered, nothing stored.

Reception (app/dossiers/reception.py) records only complete dossiers, so an incomplete one at the counter has no
dossier row, no code and no supplement request; the applicant still gets the one-time written list of everything
missing (Art. 17 in the shared DOMAIN.md), printed from the entered data.
"""

from datetime import UTC, datetime
from typing import Any

from app.dossiers.forms import APPLICANT_TYPES, CHANNELS, PLACE, _parent_name, _procedure, _unit_name, form_spec
from app.dossiers.views import ProcedureView
from app.errors import InvalidInput
from persistence.db import Database
from persistence.dossier_models import Procedure, Unit

NO_CODE = "Chưa cấp (hồ sơ chưa được tiếp nhận)"


def counter_form02(db: Database, public_base_url: str, procedure: ProcedureView, receiving_unit: str,
                   applicant: dict[str, str], ticked: set[str], guide: str | None) -> dict[str, Any]:
    """The Form 02 context listing every published document the applicant did not bring (all at once)."""
    missing = [d.name for d in procedure.documents if d.required and d.code not in ticked]
    if not missing:
        raise InvalidInput("Hồ sơ đã đủ giấy tờ bắt buộc: hãy tiếp nhận và in Mẫu số 01", field="documents",
                           code="dossier_complete")
    if len((applicant.get("name") or "").strip()) < 2:
        raise InvalidInput("Cần họ và tên người nộp để in phiếu hướng dẫn", field="applicant.name")
    now = datetime.now(UTC)
    with db.read() as session:
        receiving = session.get(Unit, receiving_unit)
        if receiving is None:
            raise InvalidInput(f"Không có đơn vị '{receiving_unit}'", field="receivingUnit", code="unknown_unit")
        competent = session.get(Unit, procedure.competent_unit) if procedure.competent_unit else receiving
        return {
            "form": form_spec("02"),
            "counter": True,
            "agency": {"parent": _parent_name(session, receiving), "name": _unit_name(receiving)},
            "place": PLACE, "issued_at": now, "printed_at": now,
            "dossier": {"code": NO_CODE, "channel": CHANNELS["counter"], "received_at": None},
            "procedure": _procedure(session.get(Procedure, procedure.code), procedure.code),
            "applicant": {"name": applicant.get("name", "").strip(), "id_number": applicant.get("idNumber", ""),
                          "phone": applicant.get("phone", ""), "email": applicant.get("email", ""),
                          "address": applicant.get("address", ""),
                          "type": APPLICANT_TYPES.get(applicant.get("type", ""), "")},
            "receiving": {"code": receiving.code, "name": receiving.name},
            "competent": {"code": competent.code if competent else "", "name": _unit_name(competent)},
            "lookup_url": f"{public_base_url.rstrip('/')}/public/lookup",
            "supplement": {"reason": "Hồ sơ chưa đủ thành phần theo danh mục giấy tờ đã công bố của thủ tục",
                           "documents": missing, "requested_at": now, "requested_by": guide,
                           "received_at": None, "note": None},
        }
