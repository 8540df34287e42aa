"""SQLAlchemy 2 typed models: definitions, instances, open/closed tasks, waits and the event log."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from persistence.types import JSONDocument, UTCDateTime, utcnow


class Base(DeclarativeBase):
    pass


class Deployment(Base):
    __tablename__ = "deployments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(255))


class ProcessDefinition(Base):
    """One deployed version of one executable process: the XML and its parsed spec, stored once."""

    __tablename__ = "process_definitions"
    __table_args__ = (UniqueConstraint("key", "version", name="uq_process_definitions_key_version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    resource_name: Mapped[str | None] = mapped_column(String(500))
    xml: Mapped[str] = mapped_column(Text)
    spec: Mapped[bytes] = mapped_column(LargeBinary)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployments.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProcessInstance(Base):
    """A running or finished instance; `state` is the workflow's task tree without its spec."""

    __tablename__ = "process_instances"
    __table_args__ = (
        Index("ix_process_instances_key_status", "key", "status"),
        Index("ix_process_instances_business_key", "business_key"),
        Index("ix_process_instances_status_ended", "status", "ended_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    definition_id: Mapped[str] = mapped_column(ForeignKey("process_definitions.id"), index=True)
    key: Mapped[str] = mapped_column(String(255))
    definition_version: Mapped[int] = mapped_column(Integer)
    business_key: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    state: Mapped[bytes] = mapped_column(LargeBinary)
    variables: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # state dropped; history and result kept

    __mapper_args__ = {"version_id_col": version}


class HumanTask(Base):
    """One row per user/manual task the engine made ready; worklists read this table only."""

    __tablename__ = "human_tasks"
    __table_args__ = (
        Index("ix_human_tasks_status_lane", "status", "lane"),
        Index("ix_human_tasks_status_assignee", "status", "assignee"),
        Index("ix_human_tasks_instance_status", "process_instance_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    process_instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id"))
    element_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(500))
    lane: Mapped[str | None] = mapped_column(String(255))
    lane_name: Mapped[str | None] = mapped_column(String(500))
    candidate_groups: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    candidate_users: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    assignee: Mapped[str | None] = mapped_column(String(255))
    form: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    properties: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(255))
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # set once by the deadline scan


class TaskCandidateGroup(Base):
    """Normalised candidate groups so 'tasks for group X' is an index lookup."""

    __tablename__ = "task_candidate_groups"

    task_id: Mapped[str] = mapped_column(ForeignKey("human_tasks.id", ondelete="CASCADE"), primary_key=True)
    group_name: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)


class Wait(Base):
    """What an instance is waiting for (message or timer), so correlation and timers need no state load."""

    __tablename__ = "waits"
    __table_args__ = (
        Index("ix_waits_kind_name", "kind", "name"),
        Index("ix_waits_kind_due_at", "kind", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    process_instance_id: Mapped[str] = mapped_column(ForeignKey("process_instances.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(255))
    element_id: Mapped[str] = mapped_column(String(255))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Event(Base):
    """Append-only history: every command and engine step worth telling later."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_instance_id", "process_instance_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    process_instance_id: Mapped[str | None] = mapped_column(String(36))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    type: Mapped[str] = mapped_column(String(64))
    element_id: Mapped[str | None] = mapped_column(String(255))
    actor: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
