"""Diagram pictures of a deployed version, and of an instance coloured by where its tokens are."""

from sqlalchemy import select

from app.engine import tokens
from app.engine.diagram_svg import render_svg
from app.processes.instances import InstanceService
from persistence.models import Event, ProcessDefinition


class DiagramService:
    def __init__(self, instances: InstanceService) -> None:
        self.instances = instances

    def definition_svg(self, definition_id: str) -> str:
        with self.instances.db.read() as session:
            definition = self.instances.deployments._get_row(session, definition_id)
            return render_svg(definition.xml, definition.key)

    def instance_svg(self, instance_id: str) -> str:
        with self.instances.db.read() as session:
            row = self.instances.instance_row(session, instance_id)
            definition = session.get(ProcessDefinition, row.definition_id)
            assert definition is not None  # a foreign key guarantees it
            if row.archived_at is not None:  # the state is gone: what the history says was done
                done = session.scalars(select(Event.element_id).where(
                    Event.process_instance_id == row.id, Event.type == "task.completed"))
                return render_svg(definition.xml, definition.key, {e: "completed" for e in done if e})
            model = self.instances.deployments.model_of(session, row.definition_id)
            states = tokens.element_states(self.instances.engine.load(model, row.state))
            if row.status not in ("running", "suspended"):
                # A terminated instance's tokens stopped where they were: nothing is active any more.
                states = {k: v for k, v in states.items() if v == "completed"}
            return render_svg(definition.xml, definition.key, states)
