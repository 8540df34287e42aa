"""Realistic demo dossiers, inserted fast (Core bulk inserts), for demos and report/worklist benchmarks.

The rows only fill the dossier, document and rating tables (no process instances): enough for
reports, worklists and the public page, not for acting on the dossiers.
"""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from app.calendar.workdays import LOCAL_TZ
from app.dossiers.catalogue import CatalogueService
from app.dossiers.status import DVCQG_CODE, Status, stage_of
from app.reports.summary import invalidate, refresh
from persistence.db import Database
from persistence.dossier_models import Dossier, DossierDocument, Procedure, Unit
from persistence.report_models import DossierRating

# status, weight: most dossiers of a past year are finished and returned
STATUSES = [(Status.RETURNED, 72), (Status.FINISHED, 5), (Status.IN_PROGRESS, 9), (Status.ACCEPTED, 4),
            (Status.SUPPLEMENT_REQUESTED, 3), (Status.REFUSED, 3), (Status.WITHDRAWN, 4)]
CHANNELS = [("online", 62), ("counter", 34), ("post", 4)]
PAYMENTS = [("online", 45), ("transfer", 20), ("cash", 35)]
COMMUNE_TYPES = ("commune", "ward", "special-zone")


@dataclass(frozen=True)
class Generated:
    dossiers: int
    documents: int
    ratings: int


def _pick(rng: random.Random, weighted: list[tuple[Any, int]]) -> Any:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def generate(db: Database, count: int, *, year: int = 2025, seed: int = 766, batch: int = 5000) -> Generated:
    """Insert `count` dossiers received during `year`, with documents and ratings, in batches."""
    rng = random.Random(seed)
    with db.read() as session:
        has_catalogue = session.scalar(select(func.count()).select_from(Procedure))
    if not has_catalogue:
        CatalogueService(db).load_shipped()
    with db.read() as session:
        procedures = list(session.execute(select(Procedure.code, Procedure.level, Procedure.competent_unit,
                                                 Procedure.legal_days, Procedure.fees, Procedure.online_level)))
        units = list(session.execute(select(Unit.code, Unit.type)))
        start_number = session.scalar(select(func.count()).select_from(Dossier)) or 0
    communes = [code for code, kind in units if kind in COMMUNE_TYPES]
    department = next((code for code, kind in units if kind == "department"), units[0][0])
    # Few communes see most dossiers; a power law keeps worklists uneven like real ones.
    commune_weights = [1 / (i + 1) ** 0.8 for i in range(len(communes))]
    procedure_weights = [1 / (i + 1) ** 0.6 for i in range(len(procedures))]
    year_start = datetime(year, 1, 1, tzinfo=LOCAL_TZ)
    totals = Generated(0, 0, 0)
    for offset in range(0, count, batch):
        dossiers: list[dict[str, Any]] = []
        documents: list[dict[str, Any]] = []
        ratings: list[dict[str, Any]] = []
        for number in range(start_number + offset, start_number + min(offset + batch, count)):
            proc = rng.choices(procedures, weights=procedure_weights)[0]
            commune_level = proc.level == "commune"
            unit = (rng.choices(communes, weights=commune_weights)[0] if commune_level and communes
                    else proc.competent_unit or department)
            day = year_start + timedelta(days=rng.randrange(365))
            received = day.replace(hour=rng.choice((7, 8, 9, 10, 13, 14, 15, 16)), minute=rng.randrange(60))
            received = received.astimezone(UTC)
            legal = max(float(proc.legal_days or 5), 0.5)
            appointment = received + timedelta(days=legal * 1.4)
            status = _pick(rng, STATUSES)
            finished = decided = None
            if status in (Status.RETURNED, Status.FINISHED):
                ratio = rng.uniform(0.2, 0.98) if rng.random() < 0.93 else rng.uniform(1.02, 1.6)
                finished = decided = received + (appointment - received) * ratio
            elif status in (Status.REFUSED, Status.WITHDRAWN):
                decided = received + (appointment - received) * rng.uniform(0.1, 0.9)
            elif status in (Status.IN_PROGRESS, Status.ACCEPTED) and rng.random() < 0.3:
                appointment = datetime.now(UTC) + timedelta(days=rng.randint(1, 20))
            channel = _pick(rng, CHANNELS)
            fee = int(sum(int(f.get("amount") or 0) for f in proc.fees or [] if isinstance(f, dict)))
            paid = fee > 0 and (finished is not None or rng.random() < 0.5)
            payment = _pick(rng, PAYMENTS) if paid else None
            if paid and channel == "online" and rng.random() < 0.5:
                payment = "online"
            code = f"{unit}-{received.astimezone(LOCAL_TZ):%y%m%d}-D{number:07d}"
            dossiers.append({
                "code": code, "procedure_code": proc.code, "process_instance_id": f"demo-{number:012d}",
                "channel": channel, "applicant_type": "citizen", "applicant_id_number": f"0310{number:08d}",
                "applicant": {"name": "Người nộp mẫu"}, "receiving_unit": unit, "competent_unit": unit,
                "status": status.value, "status_code": DVCQG_CODE[status],
                "stage": stage_of(status, "appraise" if status == Status.IN_PROGRESS else None, False),
                "current_step": None, "moh_route": False, "received_at": received, "clock_started_at": received,
                "appointment_at": appointment, "finished_at": finished,
                "returned_at": finished if status == Status.RETURNED else None,
                "stopped_at": decided if status in (Status.REFUSED, Status.WITHDRAWN) else None,
                "supplement_count": 1 if status == Status.SUPPLEMENT_REQUESTED or rng.random() < 0.04 else 0,
                "extension_count": 1 if finished and finished > appointment and rng.random() < 0.6 else 0,
                "fee_total": fee, "fee_paid": paid, "payment_channel": payment,
                "result": {"number": f"KQ-{number}", "electronic": rng.random() < 0.65} if finished else None,
                "consultations": [], "transfers": [], "created_by": "demo", "version": 1,
                "updated_at": finished or decided or received,
            })
            for part in range(rng.randint(1, 4)):
                reused = rng.random() < 0.15
                documents.append({"dossier_code": code, "applicant_id_number": f"0310{number:08d}",
                                  "document_code": f"TP{part + 1}", "name": f"Thành phần hồ sơ {part + 1}",
                                  "originals": 1, "copies": 0, "digitised": reused or rng.random() < 0.9,
                                  "reused": reused, "from_national_store": rng.random() < 0.05})
            if finished and rng.random() < 0.35:
                ratings.append({"dossier_code": code, "score": rng.choices((1, 2, 3, 4, 5), (2, 3, 10, 35, 50))[0],
                                "comment": None, "complaint": "Chậm trả kết quả" if rng.random() < 0.04 else None,
                                "channel": "public", "rated_at": finished + timedelta(days=1)})
        with db.transaction() as session:
            session.execute(insert(Dossier.__table__), dossiers)
            session.execute(insert(DossierDocument.__table__), documents)
            if ratings:
                session.execute(insert(DossierRating.__table__), ratings)
            invalidate(session)  # written behind the report summary's back
        totals = Generated(totals.dossiers + len(dossiers), totals.documents + len(documents),
                           totals.ratings + len(ratings))
    with db.transaction() as session:
        refresh(session, datetime.now(UTC))  # rebuilt here, so that no reader waits for it
    return totals
