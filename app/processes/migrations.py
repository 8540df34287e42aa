"""Version diffs, and moving running instances onto another version of their process (dry run or for real)."""

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.engine import versions
from app.engine.model import ProcessModel
from app.errors import MotcuaError, NotFound, Problem
from app.processes.instances import InstanceService, _now
from app.processes.views import View
from persistence import repositories as repo
from persistence.models import Event, ProcessDefinition, ProcessInstance, TaskCandidateGroup

MOVABLE = ("running", "suspended")


class ElementChangeView(View):
    element_id: str
    type: str
    name: str | None
    changes: list[str]


class VersionRef(View):
    id: str
    key: str
    version: int


class DiffView(View):
    source: VersionRef
    target: VersionRef
    added: list[ElementChangeView]
    removed: list[ElementChangeView]
    changed: list[ElementChangeView]
    realigned: dict[str, str]


class ProblemView(View):
    code: str
    message: str
    element_id: str | None = None


class MigrationOutcome(View):
    instance_id: str
    can_migrate: bool
    migrated: bool = False
    source_definition_id: str | None = None
    source_version: int | None = None
    active_elements: list[str] = []
    problems: list[ProblemView] = []


class MigrationReport(View):
    target: VersionRef
    dry_run: bool
    instances: list[MigrationOutcome]


class MigrationService:
    def __init__(self, instances: InstanceService) -> None:
        self.instances = instances

    def diff(self, definition_id: str, other_id: str) -> DiffView:
        with self.instances.db.read() as session:
            source = self._definition(session, definition_id, "id")
            target = self._definition(session, other_id, "otherId")
            result = versions.diff_models(self._model(session, source), source.xml,
                                          self._model(session, target), target.xml)
            return DiffView(source=_ref(source), target=_ref(target),
                            added=[ElementChangeView.of(c) for c in result.added],
                            removed=[ElementChangeView.of(c) for c in result.removed],
                            changed=[ElementChangeView.of(c) for c in result.changed],
                            realigned=result.realigned)

    def plan(self, instance_ids: list[str], target_id: str) -> MigrationReport:
        """Dry run: every instance is migrated in memory inside a transaction that is always rolled back."""
        target = self._target(target_id)
        outcomes = []
        for instance_id in dict.fromkeys(instance_ids):
            with self.instances.db.read() as session:
                outcomes.append(self._migrate_one(session, instance_id, target_id, actor=None, write=False))
        return MigrationReport(target=target, dry_run=True, instances=outcomes)

    def execute(self, instance_ids: list[str], target_id: str, actor: str | None) -> MigrationReport:
        """Each instance in its own transaction with the usual version check; one failure stops no other."""
        target = self._target(target_id)
        outcomes = []
        for instance_id in dict.fromkeys(instance_ids):
            try:
                with self.instances.command() as session:
                    outcome = self._migrate_one(session, instance_id, target_id, actor=actor, write=True)
                    if not outcome.migrated:
                        raise _Refused(outcome)
            except _Refused as refused:
                outcome = refused.outcome
            except MotcuaError as exc:  # e.g. a concurrent step on this instance (409)
                outcome = MigrationOutcome(instance_id=instance_id, can_migrate=False,
                                           problems=[ProblemView(code=exc.code, message=exc.detail)])
            outcomes.append(outcome)
        return MigrationReport(target=target, dry_run=False, instances=outcomes)

    # --- one instance ---------------------------------------------------------------------------

    def _migrate_one(self, session: Session, instance_id: str, target_id: str, *, actor: str | None,
                     write: bool) -> MigrationOutcome:
        row = session.get(ProcessInstance, instance_id)
        if row is None:
            return _refused(instance_id, [Problem("not_found", f"Không có phiên chạy '{instance_id}'")])
        target = session.get(ProcessDefinition, target_id)
        assert target is not None  # checked before
        outcome = MigrationOutcome(instance_id=row.id, can_migrate=False, source_definition_id=row.definition_id,
                                   source_version=row.definition_version)
        problems = []
        if target.key != row.key:
            problems.append(Problem("different_process", f"Phiên bản đích thuộc quy trình '{target.key}', "
                                    f"không phải '{row.key}'"))
        elif target.id == row.definition_id:
            problems.append(Problem("same_version", "Hồ sơ đã chạy trên phiên bản này"))
        if row.status not in MOVABLE:
            problems.append(Problem("instance_finished", f"Phiên chạy đã kết thúc ({row.status})"))
        if problems:
            outcome.problems = [ProblemView.of(p) for p in problems]
            return outcome
        old_model = self.instances.deployments.model_of(session, row.definition_id)
        new_model = self.instances.deployments.model_of(session, target.id)
        workflow = self.instances.engine.load(old_model, row.state)
        outcome.active_elements = sorted({t.task_spec.bpmn_id for t in workflow.get_tasks(
            state=TaskState.READY | TaskState.WAITING | TaskState.STARTED) if getattr(t.task_spec, "bpmn_id", None)})
        problems = versions.migrate(workflow, new_model)
        if problems:
            outcome.problems = [ProblemView.of(p) for p in problems]
            return outcome
        try:
            self.instances.engine.run(workflow)
        except MotcuaError as exc:
            outcome.problems = [ProblemView(code=exc.code, message=exc.detail, element_id=exc.element_id)]
            return outcome
        outcome.can_migrate = True
        if not write:
            return outcome
        now = _now()
        source_version = row.definition_version
        _realign_open_rows(session, row.id, workflow, new_model)  # before touching the row: one version bump
        row.definition_id = target.id
        row.definition_version = target.version
        event = Event(process_instance_id=row.id, type="instance.migrated", actor=actor, at=now,
                      data={"fromDefinitionId": outcome.source_definition_id, "fromVersion": source_version,
                            "toDefinitionId": target.id, "toVersion": target.version})
        self.instances._save(session, row, new_model, workflow, [event], actor, now)
        outcome.migrated = True
        return outcome

    def _target(self, target_id: str) -> VersionRef:
        with self.instances.db.read() as session:
            return _ref(self._definition(session, target_id, "targetDefinitionId"))

    def _model(self, session: Session, definition: ProcessDefinition) -> ProcessModel:
        return self.instances.deployments.model_of(session, definition.id)

    @staticmethod
    def _definition(session: Session, definition_id: str, field: str) -> ProcessDefinition:
        definition = session.get(ProcessDefinition, definition_id)
        if definition is None:
            raise NotFound(f"Không có phiên bản quy trình '{definition_id}'", field=field)
        return definition


class _Refused(Exception):
    """Rolls back a refused migration's transaction while keeping its explanation."""

    def __init__(self, outcome: MigrationOutcome) -> None:
        super().__init__(outcome.instance_id)
        self.outcome = outcome


def _realign_open_rows(session: Session, instance_id: str, workflow: BpmnWorkflow, model: ProcessModel) -> None:
    """Open worklist rows of tasks that survive the migration take the target version's names and groups."""
    ready = {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
    for task_row in repo.open_tasks_of(session, [instance_id]):
        task = ready.get(task_row.id)
        if task is None:
            continue
        info = model.elements.get(task.task_spec.bpmn_id)
        task_row.element_id = task.task_spec.bpmn_id
        task_row.name = (info.name if info else None) or task.task_spec.bpmn_name
        if info is None:
            continue
        task_row.lane, task_row.lane_name = info.lane, info.lane_name
        task_row.candidate_users, task_row.form = list(info.candidate_users), info.form
        task_row.properties = dict(info.properties)
        if list(task_row.candidate_groups) != list(info.candidate_groups):
            task_row.candidate_groups = list(info.candidate_groups)
            session.execute(delete(TaskCandidateGroup).where(TaskCandidateGroup.task_id == task_row.id))
            session.add_all(TaskCandidateGroup(task_id=task_row.id, group_name=g) for g in info.candidate_groups)
    session.flush()


def _ref(definition: ProcessDefinition) -> VersionRef:
    return VersionRef(id=definition.id, key=definition.key, version=definition.version)


def _refused(instance_id: str, problems: list[Problem]) -> MigrationOutcome:
    return MigrationOutcome(instance_id=instance_id, can_migrate=False, problems=[ProblemView.of(p) for p in problems])

