"""The national portal's (DVCQG) shape of a dossier and of one processing step (DOMAIN.md, Art. 27.2.d)."""

from datetime import datetime
from typing import Any

from app.calendar.workdays import LOCAL_TZ
from persistence.dossier_models import Dossier, DossierDocument

CHANNEL = {"counter": 1, "online": 2, "post": 3}
APPLICANT_TYPE = {"citizen": 1, "business": 2, "agency": 3, "other": 4}


def portal_time(value: datetime | None) -> str | None:
    """`yyyyMMddHHmmss` in Vietnam time, as the portal expects."""
    return value.astimezone(LOCAL_TZ).strftime("%Y%m%d%H%M%S") if value is not None else None


def dossier_payload(dossier: Dossier, documents: list[DossierDocument]) -> dict[str, Any]:
    applicant = dossier.applicant or {}
    result = dossier.result or {}
    return {
        "MaHoSo": dossier.code,
        "MaTTHC": dossier.procedure_code,
        "TrangThaiHoSo": dossier.status_code,
        "KenhThucHien": CHANNEL[dossier.channel],
        "DoiTuongThucHien": APPLICANT_TYPE.get(dossier.applicant_type, 4),
        "ChuHoSo": applicant.get("name"),
        "SoGiayToChuHoSo": dossier.applicant_id_number,
        "SoDienThoai": applicant.get("phone"),
        "Email": applicant.get("email"),
        "DonViTiepNhan": dossier.receiving_unit,
        "DonViXuLy": dossier.competent_unit,
        "NgayTiepNhan": portal_time(dossier.received_at),
        "NgayHenTra": portal_time(dossier.appointment_at),
        "NgayKetThucXuLy": portal_time(dossier.finished_at),
        "NgayTra": portal_time(dossier.returned_at),
        "LePhi": {"TongTien": dossier.fee_total, "DaThanhToan": dossier.fee_paid,
                  "HinhThucThanhToan": dossier.payment_channel},
        "TaiLieuNop": [
            {"MaGiayTo": d.document_code, "TenGiayTo": d.name, "DuocSoHoa": d.digitised,
             "DuocTaiSuDung": d.reused, "TuKhoDuLieuQuocGia": d.from_national_store}
            for d in documents
        ],
        "KetQua": ({"MaGiayTo": result.get("number"), "KetQuaDienTu": bool(result.get("electronic")),
                    "GhiChu": result.get("note")} if result else None),
    }


def step_payload(dossier: Dossier, kind: str, at: datetime, actor: str | None, content: str | None) -> dict[str, Any]:
    """One entry of the portal's processing log: officer, unit, time, content, status, start, legal end."""
    return {
        "MaHoSo": dossier.code,
        "CanBoXuLy": actor,
        "DonViXuLy": dossier.competent_unit,
        "ThoiDiemXuLy": portal_time(at),
        "NoiDungXuLy": content or kind,
        "TrangThai": dossier.status_code,
        "NgayBatDau": portal_time(dossier.clock_started_at),
        "NgayHetHan": portal_time(dossier.appointment_at),
    }
