"""Twenty hand-built dossiers with known outcomes for the service-quality tests (figures in test_reports.py).

Two units (SYT: the Department, XA1: a commune), three procedures, two periods (Q1 and Q2 2025).
Rows are written straight into the dossier tables, as the reports only read those tables.
Each dossier: (code, unit, procedure, received, appointment, status, finished/stopped, channel,
fee paid channel, e-result, documents as (digitised, reused, from national store), supplements,
extensions, rating).
"""

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.container import Services
from app.dossiers.status import Status, stage_of
from persistence.dossier_models import Dossier, DossierDocument, Procedure, Unit
from persistence.report_models import DossierRating

VN = ZoneInfo("Asia/Ho_Chi_Minh")
AS_OF = datetime(2025, 7, 15, 3, 0, tzinfo=UTC)
APPLICANT_ID = "031090001234"
D, N, R, S = (True, False, False), (False, False, False), (True, True, False), (True, False, True)

UNITS = [("SYT", "Sở Y tế Hải Phòng", "department"), ("XA1", "UBND xã An Hưng", "commune")]
# code, name, sector, level, online level, fee
PROCEDURES = [("P1", "Cấp chứng chỉ hành nghề dược", "Dược", "department", "full", 500000),
              ("P2", "Cấp giấy chứng nhận đủ điều kiện y tế xã", "Y tế dự phòng", "commune", "partial", 100000),
              ("P3", "Cấp giấy phép hành nghề khám bệnh", "Khám bệnh, chữa bệnh", "department", "partial", 0)]
PROCEDURE_UNIT = {"P1": "SYT", "P3": "SYT", "P2": "XA1"}


def local(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=VN)


# code, procedure, received, appointment, status, decided (finished or stopped), channel, payment, e-result,
# documents, supplements, extensions, rating (score, complaint)
DOSSIERS: list[tuple[Any, ...]] = [
    ("A01", "P1", local(1, 2), local(1, 20), "returned", local(1, 10), "online", "online", True, [D, R], 0, 0,
     (5, None)),
    ("A02", "P1", local(1, 3), local(1, 20), "returned", local(1, 25), "online", "online", True, [D, N], 0, 0,
     (2, "Trả kết quả chậm")),
    ("A03", "P1", local(1, 6), local(2, 10), "finished", local(2, 5), "online", "transfer", False, [D], 0, 0,
     (4, None)),
    ("A04", "P1", local(1, 8), local(2, 25), "returned", local(2, 20), "counter", "cash", None, [N], 0, 1, None),
    ("A05", "P1", local(2, 3), local(8, 1), "in_progress", None, "online", "online", None, [D, R], 0, 0, None),
    ("A06", "P1", local(2, 4), local(3, 20), "accepted", None, "online", None, None, [D], 0, 0, None),
    ("A07", "P1", local(2, 5), local(3, 1), "supplement_requested", None, "online", "online", None, [D], 1, 0,
     None),
    ("A08", "P1", local(2, 6), local(3, 20), "returned", local(3, 10), "online", "online", True, [D, D], 2, 0,
     None),
    ("A09", "P1", local(2, 7), local(3, 20), "withdrawn", local(3, 5), "counter", None, None, [N], 0, 0, None),
    ("A10", "P1", local(2, 8), local(3, 25), "refused", local(3, 15), "online", "online", None, [D], 0, 0, None),
    ("B01", "P3", local(1, 5), local(1, 30), "returned", local(1, 15), "counter", None, True, [D, S], 0, 0,
     (5, None)),
    ("B02", "P3", local(3, 31, 23, 30), local(4, 28), "returned", local(4, 30), "post", None, False, [N], 0, 0,
     None),
    ("B03", "P3", local(3, 3), local(6, 30), "in_progress", None, "online", None, None, [D], 0, 0, None),
    ("C01", "P2", local(1, 27), local(2, 5), "returned", local(2, 3), "counter", "cash", False, [N], 0, 0,
     (3, "Phải chờ lâu tại quầy")),
    ("C02", "P2", local(1, 28), local(2, 10), "returned", local(2, 6), "online", "online", True, [D], 0, 0,
     (5, None)),
    ("C03", "P2", local(2, 3), local(2, 12), "finished", local(2, 12), "counter", "transfer", True, [D, R], 0, 0,
     (4, None)),
    ("C04", "P2", local(2, 10), local(2, 28), "returned", local(3, 3), "counter", None, None, [N, N], 0, 0, None),
    ("D01", "P1", local(4, 2), local(4, 20), "returned", local(4, 10), "online", "online", True, [D], 0, 0,
     (5, None)),
    ("D02", "P2", local(4, 3), local(4, 25), "returned", local(4, 30), "counter", "cash", None, [N], 0, 0, None),
    ("D03", "P2", local(4, 1, 0, 10), local(7, 30), "accepted", None, "online", None, None, [D], 0, 0, None),
]


def load(services: Services) -> None:
    fees = {code: fee for code, *_, fee in PROCEDURES}
    with services.db.transaction() as session:
        for code, name, kind in UNITS:
            session.add(Unit(code=code, name=name, type=kind, search_text=name.lower(), reception=True))
        for code, name, sector, level, online_level, fee in PROCEDURES:
            session.add(Procedure(code=code, name=name, short_name=name, sector=sector, level=level,
                                  competent_unit=PROCEDURE_UNIT[code], legal_days=10,
                                  fees=[{"amount": fee}] if fee else [], documents=[], result_types=[],
                                  diagram_key="demo", online_level=online_level, search_text=name.lower()))
        session.flush()
        for i, (code, procedure, received, appointment, status, decided, channel, payment, e_result, documents,
                supplements, extensions, rating) in enumerate(DOSSIERS):
            unit = PROCEDURE_UNIT[procedure]
            stopped = status in ("withdrawn", "refused")
            session.add(Dossier(
                code=code, procedure_code=procedure, process_instance_id=f"fixture-{i}", channel=channel,
                applicant_type="citizen", applicant_id_number=APPLICANT_ID, applicant={"name": "Trần Thị Bình"},
                receiving_unit=unit, competent_unit=unit, status=status, status_code=0,
                stage=stage_of(Status(status), None, False),
                received_at=received, clock_started_at=received, appointment_at=appointment,
                finished_at=None if stopped else decided, stopped_at=decided if stopped else None,
                supplement_count=supplements, extension_count=extensions, fee_total=fees[procedure],
                fee_paid=payment is not None, payment_channel=payment,
                result=None if e_result is None else {"number": f"{code}/KQ", "electronic": e_result},
                updated_at=decided or received))
            session.flush()
            for j, (digitised, reused, national) in enumerate(documents):
                session.add(DossierDocument(dossier_code=code, applicant_id_number=APPLICANT_ID,
                                            document_code=f"TP{j + 1}", name=f"Thành phần {j + 1}",
                                            digitised=digitised, reused=reused, from_national_store=national))
            if rating:
                session.add(DossierRating(dossier_code=code, score=rating[0], complaint=rating[1],
                                          rated_at=(decided or received)))
