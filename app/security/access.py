"""Unit scoping: may this principal see or act on this dossier, process instance or task?

Each check answers the audit target ("dossier:<code>" or "instance:<id>") and its current status, or
raises Forbidden. A record that does not exist passes, so the route itself answers its usual 404.
"""

import logging
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from app.errors import MotcuaError
from app.security import audit
from app.security.principal import Principal
from app.security.roles import Role, roles_for_group
from persistence.dossier_models import Dossier
from persistence.models import HumanTask, ProcessInstance
from persistence.repositories import dossier_of_instance

log = logging.getLogger("motcua.security")
RECEPTION_LANES = ("lane_reception",)
HEADS = (Role.DIVISION_HEAD, Role.ONE_STOP_HEAD)


class Forbidden(MotcuaError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, code="forbidden", status=403, title="Không có quyền thực hiện")


@dataclass(frozen=True)
class Target:
    ref: str | None
    status: str | None


NOTHING = Target(None, None)


class Owner(Protocol):
    """What scoping reads of a dossier: a Dossier row, or those columns alone (the checks before every task
    and instance command select columns rather than load whole rows)."""

    code: str
    status: str
    receiving_unit: str
    competent_unit: str


# Selected beside the instance's status (labelled instance_status), so a result row is itself an Owner.
_OWNER = (Dossier.code, Dossier.status, Dossier.receiving_unit, Dossier.competent_unit)


def dossier(session: Session, who: Principal, code: str) -> Target:
    row = session.get(Dossier, code)
    if row is None:
        return NOTHING
    _check_dossier(who, row)
    return Target(f"dossier:{code}", row.status)


def instance(session: Session, who: Principal, instance_id: str) -> Target:
    found = session.execute(_INSTANCE_SCOPE, {"instance_id": instance_id}).first()
    if found is None:
        return NOTHING
    return _instance_target(who, instance_id, found.instance_status, _owner(found))


def _owner(found: Any) -> Owner | None:
    """The dossier's columns of a scoping row, None for an instance without a dossier (the outer join)."""
    return found if found.code is not None else None


def _instance_target(who: Principal, instance_id: str, status: str, owner: Owner | None) -> Target:
    if owner is not None:
        _check_dossier(who, owner)
        return Target(f"dossier:{owner.code}", owner.status)
    if who.unit_scoped:
        raise Forbidden("Cán bộ đơn vị chỉ xem phiên chạy gắn với hồ sơ của đơn vị mình")
    return Target(f"instance:{instance_id}", status)


_TASK = (HumanTask.process_instance_id, HumanTask.name, HumanTask.element_id, HumanTask.lane, HumanTask.assignee,
         HumanTask.candidate_groups, HumanTask.properties)

# Built once: these run before every task and instance command, and building a select with its joins cost about
# a third of running it (bench.http --profile).
_INSTANCE_SCOPE = (select(ProcessInstance.status.label("instance_status"), *_OWNER)
                   .outerjoin(Dossier, Dossier.process_instance_id == ProcessInstance.id)
                   .where(ProcessInstance.id == bindparam("instance_id")))
_TASK_SCOPE = (select(*_TASK, ProcessInstance.status.label("instance_status"), *_OWNER)
               .join(ProcessInstance, ProcessInstance.id == HumanTask.process_instance_id)
               .outerjoin(Dossier, Dossier.process_instance_id == HumanTask.process_instance_id)
               .where(HumanTask.id == bindparam("task_id")))


def task(session: Session, who: Principal, task_id: str, *, acting: bool, assign_to: str | None = None) -> Target:
    """Reading needs the dossier's unit; completing needs the step's group and unit, or being its assignee;
    claiming is for oneself, except heads, who hand steps of their unit to their people (DOMAIN: assigns)."""
    # One query for the task, its instance's status and its dossier: this runs before every task command.
    found = session.execute(_TASK_SCOPE, {"task_id": task_id}).first()
    if found is None:
        return NOTHING
    return _task_target(who, found, found.instance_status, _owner(found), acting=acting, assign_to=assign_to)


def _task_target(who: Principal, row: Any, instance_status: str, owner: Owner | None, *, acting: bool,
                 assign_to: str | None) -> Target:
    """`row`: the task's columns (a scoping row, or the HumanTask the command loaded)."""
    target = _instance_target(who, row.process_instance_id, instance_status, owner)
    if not acting or who.is_system_admin:
        return target
    label = row.name or row.element_id
    if assign_to is not None and who.role in HEADS:
        _check_step_unit(who, row, owner)
        return target
    if assign_to is not None and assign_to != who.subject:
        raise Forbidden(f"Chỉ lãnh đạo mới giao bước '{label}' cho người khác")
    if row.assignee and row.assignee == who.subject:
        return target
    groups = list(row.candidate_groups or [])
    if groups and not any(who.role in roles_for_group(g) for g in groups):
        raise Forbidden(f"Bước '{label}' dành cho nhóm {', '.join(groups)}, không phải vai trò '{who.role}'")
    if row.assignee and who.role not in HEADS:
        raise Forbidden(f"Bước '{label}' đã được giao cho người khác")
    _check_step_unit(who, row, owner)
    return target


@dataclass
class CommandCheck:
    """A task completion's scoping, left by the API for the command itself (see check_in_command)."""

    who: Principal
    task_id: str
    done: bool = False


# Set by the API's authorization for the request; the command runs in a copy of the request's context.
pending_check: ContextVar[CommandCheck | None] = ContextVar("motcua_pending_check", default=None)


def check_in_command(session: Session, instance: ProcessInstance, task_row: HumanTask) -> None:
    """The instance guard of task completion: the scoping of `task` on the rows the command has just locked
    and read, in its transaction. Saves the separate read before every completion, and nothing can change
    the step's assignee or group between the check and the completion."""
    check = pending_check.get()
    if check is None or check.task_id != task_row.id:
        return
    try:
        target = _task_target(check.who, task_row, instance.status, dossier_of_instance(session, instance),
                              acting=True, assign_to=None)
    except Forbidden as exc:
        who = check.who
        log.warning("denied completion of task %s subject=%s role=%s unit=%s: %s", check.task_id, who.subject,
                    who.role, who.unit, exc.detail)
        raise
    check.done = True
    context = audit.current.get()
    if context is not None:
        context.target, context.before_status = target.ref, target.status


def require_pending_check(session: Session) -> None:
    """Before every commit: a check left for a command must have run in it, or nothing is written."""
    check = pending_check.get()
    if check is not None and not check.done:
        raise RuntimeError(f"the scoping of task {check.task_id} never ran in its command")


def _check_step_unit(who: Principal, row: Any, owner: Owner | None) -> None:
    # motcua:unit says which of the dossier's units does the step ("receiving" or "competent").
    side = (row.properties or {}).get("motcua:unit")
    if side is None:
        side = "receiving" if row.lane in RECEPTION_LANES else "competent"
    unit = None
    if owner is not None:
        unit = {"receiving": owner.receiving_unit, "competent": owner.competent_unit}.get(side, side)
    if unit and who.unit_scoped and unit not in who.units:
        raise Forbidden(f"Bước '{row.name or row.element_id}' thuộc đơn vị {unit}")


def unit_filter(who: Principal, unit: str | None) -> None:
    if who.unit_scoped and unit is not None and unit not in who.units:
        raise Forbidden(f"Chỉ xem được hồ sơ của đơn vị {', '.join(sorted(who.units))}")


def _check_dossier(who: Principal, row: Owner) -> None:
    if not who.may_see_units(row.receiving_unit, row.competent_unit):
        raise Forbidden(f"Hồ sơ {row.code} không thuộc đơn vị tiếp nhận hay giải quyết của bạn")
