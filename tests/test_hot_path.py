"""The task-completion hot path writes through Core statements: what the ORM used to guarantee must still hold."""

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm.exc import StaleDataError

from app.engine.parsing import SourceFile
from app.errors import Conflict, NotFound
from bench.common import PATH, PROCESS_KEY, reference_source
from persistence import repositories as repo
from persistence.models import HumanTask, ProcessInstance, TaskCandidateGroup
from tests import diagrams


def _deploy(services, key: str, content: bytes | None = None) -> None:
    services.deployments.deploy([SourceFile(f"{key}.bpmn", content or diagrams.linear(key, tasks=("a", "b")))],
                                name=key, actor="test")


def test_each_command_bumps_the_revision_once_and_rows_match_the_answer(services):
    _deploy(services, "hot_linear")
    started = services.instances.start(key="hot_linear", actor="test")
    assert started.revision == 1
    first = started.open_tasks[0]
    after = services.instances.complete_task(first.id, {"x": 1}, actor="an")
    assert after.revision == 2 and [t.element_id for t in after.open_tasks] == ["b"]
    with services.db.read() as session:
        row = session.get(ProcessInstance, after.id)
        assert row.version == 2 and row.variables == {"x": 1}
        done = session.get(HumanTask, first.id)
        assert (done.status, done.completed_by, done.completed_at is not None) == ("completed", "an", True)
        opened = session.get(HumanTask, after.open_tasks[0].id)
        assert (opened.status, opened.element_id, opened.overdue_at) == ("open", "b", None)
    last = services.instances.complete_task(after.open_tasks[0].id, {}, actor="an")
    assert (last.status, last.revision, last.open_tasks) == ("completed", 3, [])
    with services.db.read() as session:
        assert session.get(ProcessInstance, last.id).ended_at is not None
    types = [e.type for e in services.queries.history(last.id)]
    assert types == ["instance.started", "task.created", "task.completed", "task.created", "task.completed",
                     "instance.completed"]


def test_a_version_changed_under_the_loaded_row_is_a_lost_race(services):
    _deploy(services, "hot_stale")
    started = services.instances.start(key="hot_stale", actor="test")
    with pytest.raises(Conflict), services.instances.command() as session:
        row = repo.lock_instance_of_task(session, started.open_tasks[0].id, for_update=False)
        # Another writer's commit, as the version check sees it: the row's version moved on.
        session.execute(text("UPDATE process_instances SET version = version + 1 WHERE id = :id"), {"id": row.id})
        with pytest.raises(StaleDataError):
            repo.save_instance(session, row, {"state": row.state, "variables": {}, "updated_at": row.updated_at})
        raise StaleDataError("re-raised for command()")
    with services.db.read() as session:
        assert session.get(ProcessInstance, started.id).version == 1  # the whole command rolled back


def test_rows_inserted_through_core_still_flush_later_orm_changes(services):
    """A listener may change a task row the command just created (the dossier tracker sets due times)."""
    _deploy(services, "hot_flush")
    started = services.instances.start(key="hot_flush", actor="test")
    with services.db.transaction() as session:
        task = HumanTask(id="hot-task", process_instance_id=started.id, element_id="x", name=None, lane=None,
                         lane_name=None, candidate_groups=["g1", "g2"], candidate_users=[], assignee=None, form=None,
                         properties={}, status="open", created_at=started.created_at, due_at=None,
                         completed_at=None, completed_by=None, overdue_at=None)
        repo.insert_tasks(session, [task])
        task.due_at = started.created_at
        session.flush()
        repo.close_tasks(session, [task], "cancelled", started.created_at, None)
        assert task.status == "cancelled" and not session.dirty
    with services.db.read() as session:
        stored = session.get(HumanTask, "hot-task")
        assert (stored.due_at, stored.status) == (started.created_at, "cancelled")
        groups = session.scalars(select(TaskCandidateGroup.group_name).where(TaskCandidateGroup.task_id == "hot-task")
                                 .order_by(TaskCandidateGroup.group_name))
        assert list(groups) == ["g1", "g2"]


def test_completing_an_unknown_or_finished_task_answers_as_before(services):
    _deploy(services, "hot_refusals")
    started = services.instances.start(key="hot_refusals", actor="test")
    with pytest.raises(NotFound) as missing:
        services.instances.complete_task("khong-co", {}, actor="x")
    assert (missing.value.code, missing.value.field) == ("not_found", "id")
    services.instances.complete_task(started.open_tasks[0].id, {}, actor="x")
    with pytest.raises(Conflict):
        services.instances.complete_task(started.open_tasks[0].id, {}, actor="x")


def test_wait_rows_mirror_the_state_after_every_command_even_when_their_replacement_is_skipped(services):
    """Completions that wait on nothing before nor after skip the waits DELETE; the rows must still match."""
    services.deployments.deploy([reference_source()], name="ref", actor="test")
    view = services.instances.start(key=PROCESS_KEY, business_key="hot-waits", actor="test")

    def stored_waits(instance_id: str) -> list[tuple[str, str | None, str]]:
        with services.db.read() as session:
            return [(w.kind, w.name, w.element_id) for w in repo.waits_of(session, [instance_id])]

    seen_waiting = False
    for step in PATH:
        if step.kind == "message":
            view = services.instances.deliver_message(step.element_id, instance_id=view.id,
                                                      variables=step.variables, actor="test")
        else:
            assert view.open_tasks[0].element_id == step.element_id
            view = services.instances.complete_task(view.open_tasks[0].id, step.variables, actor="test")
        assert stored_waits(view.id) == [(w.type, w.name, w.element_id) for w in view.waiting_for]
        seen_waiting = seen_waiting or bool(view.waiting_for)
    assert seen_waiting and view.status == "completed"
