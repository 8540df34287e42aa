"""One-stop domain tables: units, procedure catalogue, dossiers, their documents and code sequences."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models import Base
from persistence.types import JSONDocument, UTCDateTime, utcnow


class Unit(Base):
    """The Department, its divisions, and the city's communes, wards and special zones."""

    __tablename__ = "units"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16))  # department | division | commune | ward | special-zone
    parent_code: Mapped[str | None] = mapped_column(String(32))
    admin_code: Mapped[str | None] = mapped_column(String(16))  # national administrative unit code
    search_text: Mapped[str] = mapped_column(String(500))
    reception: Mapped[bool] = mapped_column(Boolean, default=False)  # runs a one-stop counter
    sample: Mapped[bool] = mapped_column(Boolean, default=False)


class Procedure(Base):
    """One administrative procedure of the catalogue: its documents, fees, time limit and diagram."""

    __tablename__ = "procedures"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    short_name: Mapped[str | None] = mapped_column(String(120))
    sector: Mapped[str] = mapped_column(String(255))
    level: Mapped[str] = mapped_column(String(16))  # commune | department
    competent_unit: Mapped[str | None] = mapped_column(String(32))
    legal_days: Mapped[float] = mapped_column(Numeric(6, 2, asdecimal=False))
    legal_time_unit: Mapped[str] = mapped_column(String(16), default="working_days")
    fees: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument, default=list)
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument, default=list)
    result_types: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    diagram_key: Mapped[str] = mapped_column(String(255))
    online_level: Mapped[str] = mapped_column(String(16), default="partial")
    boundary_free: Mapped[bool] = mapped_column(Boolean, default=True)
    moh_centralized: Mapped[bool] = mapped_column(Boolean, default=False)
    moh_cutover: Mapped[date | None] = mapped_column(Date)
    sample: Mapped[bool] = mapped_column(Boolean, default=False)
    sources: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    uncertain: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    search_text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


ELSEWHERE = "receiving_unit <> competent_unit"
# app/dossiers/status.py STAGES (a test holds the two equal; persistence does not import the app layer)
KNOWN_STAGES = ("new", "in_progress", "ministry", "supplement", "to_return", "done", "refused", "withdrawn")
# The statuses a dossier of each stage has on the ordinary path (the workflow moves an accepted dossier to in progress
# when it leaves the assign step, to finished at the return step). Other pairs stage_of can give (in progress while
# new again after a supplement, accepted at the return step, ...) are few and all open, so a partial index holds
# them: a status filter reads them there instead of walking a whole (unit, stage) range for rows that are not there.
USUAL_STATUSES = {"new": ("accepted",), "in_progress": ("in_progress",), "ministry": ("in_progress",),
                  "supplement": ("supplement_requested",), "to_return": ("finished",), "done": ("returned",),
                  "refused": ("refused",), "withdrawn": ("withdrawn", "closed")}
UNUSUAL_STATUS = "NOT (" + " OR ".join(
    f"stage = '{stage}' AND status IN ({', '.join(repr(status) for status in statuses)})"
    for stage, statuses in USUAL_STATUSES.items()) + ")"


class Dossier(Base):
    """A dossier (hồ sơ): the one-stop record around one process instance of its procedure's diagram."""

    __tablename__ = "dossiers"
    __table_args__ = (
        # Worklists (app/dossiers/queries.py): each queue page is an ordered range of (unit, stage, sort column).
        Index("ix_dossiers_competent_stage", "competent_unit", "stage", "appointment_at"),
        Index("ix_dossiers_receiving_stage", "receiving_unit", "stage", "appointment_at"),
        Index("ix_dossiers_competent_stage_received", "competent_unit", "stage", "received_at"),
        Index("ix_dossiers_receiving_stage_received", "receiving_unit", "stage", "received_at"),
        # dossiers received in one unit for another: the second half of "received here or decided here"
        Index("ix_dossiers_elsewhere_appointment", "receiving_unit", "stage", "appointment_at",
              postgresql_where=text(ELSEWHERE), sqlite_where=text(ELSEWHERE)),
        Index("ix_dossiers_elsewhere_received", "receiving_unit", "stage", "received_at",
              postgresql_where=text(ELSEWHERE), sqlite_where=text(ELSEWHERE)),
        # no other stage (migration 0015: a CHECK on PostgreSQL, triggers on SQLite)
        CheckConstraint(f"stage IN ({', '.join(repr(stage) for stage in KNOWN_STAGES)})", name="ck_dossiers_stage"),
        Index("ix_dossiers_applicant", "applicant_id_number"),
        Index("ix_dossiers_status", "status"),
        # Filtered worklists (migration 0016): a procedure's dossiers of a unit stage by stage, in either sort order;
        # every unit's dossiers of a stage (the view without a unit); the few dossiers whose status is not their
        # stage's usual one.
        Index("ix_dossiers_competent_procedure", "competent_unit", "procedure_code", "stage", "appointment_at"),
        Index("ix_dossiers_competent_procedure_received", "competent_unit", "procedure_code", "stage", "received_at"),
        Index("ix_dossiers_stage_appointment", "stage", "appointment_at"),
        Index("ix_dossiers_unusual_status", "stage", "status", "competent_unit", "receiving_unit",
              postgresql_where=text(UNUSUAL_STATUS), sqlite_where=text(UNUSUAL_STATUS)),
    )

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    procedure_code: Mapped[str] = mapped_column(ForeignKey("procedures.code"))
    process_instance_id: Mapped[str] = mapped_column(String(36), unique=True)
    channel: Mapped[str] = mapped_column(String(16))  # counter | online | post
    applicant_type: Mapped[str] = mapped_column(String(16))
    applicant_id_number: Mapped[str] = mapped_column(String(32))
    applicant: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    receiving_unit: Mapped[str] = mapped_column(ForeignKey("units.code"))
    competent_unit: Mapped[str] = mapped_column(ForeignKey("units.code"))
    status: Mapped[str] = mapped_column(String(32))
    status_code: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(32))  # worklist queue: new | in_progress | ministry | ...
    current_step: Mapped[str | None] = mapped_column(String(255))
    moh_route: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    clock_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    appointment_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    supplement_count: Mapped[int] = mapped_column(Integer, default=0)
    supplement_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    supplement_request: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    extension_count: Mapped[int] = mapped_column(Integer, default=0)
    extension: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # set once by the deadline scan
    apology_due_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stop_reason: Mapped[str | None] = mapped_column(Text)
    fee_total: Mapped[int] = mapped_column(Integer, default=0)
    fee_paid: Mapped[bool] = mapped_column(Boolean, default=False)
    payment_channel: Mapped[str | None] = mapped_column(String(16))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    moh_remote_id: Mapped[str | None] = mapped_column(String(64))  # the Ministry system's id after hand-over
    payment: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)  # online payment request/confirmation
    consultations: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument, default=list)
    transfers: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument, default=list)
    created_by: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}


# The unit a dossier counts for in each scope of worklist_counts: the unit branches of the worklist queries.
COUNT_SCOPES = ("competent", "receiving", "received_elsewhere")


class WorklistCount(Base):
    """A change of a worklist queue's size: +1/-1 per dossier entering/leaving (unit, scope, stage), written by
    triggers on dossiers (migration 0014) so that every write path counts, ORM or not. A queue's size is the sum
    of its rows; compaction (app/dossiers/worklist_counts.py) folds them into one row per key."""

    __tablename__ = "worklist_counts"
    __table_args__ = (Index("ix_worklist_counts_unit_scope_stage", "unit_code", "scope", "stage"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    unit_code: Mapped[str] = mapped_column(String(32))
    # competent: the dossier's competent_unit; receiving: its receiving_unit; received_elsewhere: its receiving_unit
    # when that is not the competent one
    scope: Mapped[str] = mapped_column(String(24))
    stage: Mapped[str] = mapped_column(String(32))
    delta: Mapped[int] = mapped_column(Integer)


class DossierDocument(Base):
    """One document of a dossier, as listed in the catalogue; files are stored content-addressed."""

    __tablename__ = "dossier_documents"
    __table_args__ = (Index("ix_dossier_documents_dossier", "dossier_code"),
                      Index("ix_dossier_documents_reuse", "applicant_id_number", "document_code"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dossier_code: Mapped[str] = mapped_column(ForeignKey("dossiers.code"))
    applicant_id_number: Mapped[str] = mapped_column(String(32))
    document_code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(Text)
    originals: Mapped[int] = mapped_column(Integer, default=0)
    copies: Mapped[int] = mapped_column(Integer, default=0)
    digitised: Mapped[bool] = mapped_column(Boolean, default=False)
    reused: Mapped[bool] = mapped_column(Boolean, default=False)
    from_national_store: Mapped[bool] = mapped_column(Boolean, default=False)
    reused_from: Mapped[str | None] = mapped_column(String(64))
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    file_name: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size_bytes: Mapped[int | None] = mapped_column(Integer)


class DossierSequence(Base):
    """The day's running number per competent agency (Art. 28 codes): gapless, one row per agency-day."""

    __tablename__ = "dossier_sequences"

    agency_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[str] = mapped_column(String(6), primary_key=True)  # yyMMdd
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class CalendarOverride(Base):
    """An admin's correction of the national calendar: an extra day off or a make-up working day."""

    __tablename__ = "calendar_overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # day-off | working-day
    reason: Mapped[str] = mapped_column(Text)
    legal_reference: Mapped[str | None] = mapped_column(String(255))
    created_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
