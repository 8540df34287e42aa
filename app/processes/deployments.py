"""Deploy diagrams as numbered versions and load the cached process model of any version."""

import uuid
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.engine import serialization
from app.engine.cache import ModelCache
from app.engine.model import ProcessModel
from app.engine.parsing import Limits, SourceFile, parse_files
from app.errors import Conflict, NotFound
from app.processes.views import DefinitionView, DeployedProcess, DeploymentView
from persistence import repositories as repo
from persistence.db import Database
from persistence.models import Deployment, Event, ProcessDefinition

DEPLOY_ATTEMPTS = 5

# Told of every newly stored version (row, parsed model) inside the deployment's transaction.
DeploymentListener = Callable[[Session, list[tuple[ProcessDefinition, ProcessModel]]], None]


class DeploymentService:
    def __init__(self, db: Database, cache: ModelCache, limits: Limits) -> None:
        self.db = db
        self.cache = cache
        self.limits = limits
        self.listeners: list[DeploymentListener] = []

    def deploy(self, sources: list[SourceFile], *, name: str | None = None,
               actor: str | None = None) -> DeploymentView:
        """Parse outside the transaction, then number versions inside it; a lost version race retries."""
        parsed = parse_files(sources, self.limits)
        for _attempt in range(DEPLOY_ATTEMPTS):
            try:
                return self._store(parsed, name, actor)
            except IntegrityError:
                continue  # another deployment of the same key took our version number: count again
        raise Conflict("Có nhiều lượt triển khai cùng lúc cho cùng quy trình, vui lòng thử lại")

    def _store(self, parsed, name: str | None, actor: str | None) -> DeploymentView:
        with self.db.transaction() as session:
            deployment_id = str(uuid.uuid4())
            results: list[DeployedProcess] = []
            new_rows: list[ProcessDefinition] = []
            new_models: list[ProcessModel] = []
            existing_deployments: set[str] = set()
            for key in sorted({m.key for item in parsed for m in item.processes}):  # one order: no deadlock
                repo.lock_process_key(session, key)
            for item in parsed:
                for model in item.processes:
                    latest = repo.latest_definition(session, model.key)
                    if latest is not None and latest.sha256 == item.sha256:
                        existing_deployments.add(latest.deployment_id)
                        results.append(DeployedProcess(id=latest.id, key=latest.key, version=latest.version,
                                                       name=latest.name, duplicate=True))
                        continue
                    row = ProcessDefinition(
                        id=str(uuid.uuid4()), key=model.key, version=(latest.version + 1 if latest else 1),
                        name=model.name, sha256=item.sha256, resource_name=item.source.name,
                        xml=item.xml_text, spec=serialization.dump_model(model), deployment_id=deployment_id,
                    )
                    new_rows.append(row)
                    new_models.append(model)
                    results.append(DeployedProcess(id=row.id, key=row.key, version=row.version, name=row.name))
            if not new_rows:
                only = existing_deployments.pop() if len(existing_deployments) == 1 else deployment_id
                return DeploymentView(id=only, duplicate=True, processes=results)
            session.add(Deployment(id=deployment_id, name=name or parsed[0].source.name, created_by=actor))
            session.flush()
            session.add_all(new_rows)
            session.flush()
            for listener in self.listeners:
                listener(session, list(zip(new_rows, new_models, strict=True)))
            session.add(Event(type="deployment.created", actor=actor, data={
                "deploymentId": deployment_id,
                "definitions": [{"id": r.id, "key": r.key, "version": r.version} for r in new_rows]}))
        return DeploymentView(id=deployment_id, duplicate=False, processes=results)

    def model_of(self, session: Session, definition_id: str) -> ProcessModel:
        """The parsed model of a version; only a cache miss reads the stored spec."""
        def load() -> ProcessModel:
            blob = session.scalar(select(ProcessDefinition.spec).where(ProcessDefinition.id == definition_id))
            if blob is None:
                raise NotFound(f"Không có phiên bản quy trình '{definition_id}'", field="definitionId")
            return serialization.load_model(blob)

        return self.cache.get(definition_id, load)

    def list_definitions(self, key: str | None, limit: int, offset: int) -> Sequence[DefinitionView]:
        with self.db.read() as session:
            return [DefinitionView.of(d) for d in repo.list_definitions(session, key, limit, offset)]

    def get(self, definition_id: str) -> DefinitionView:
        with self.db.read() as session:
            return DefinitionView.of(self._get_row(session, definition_id))

    def xml(self, definition_id: str) -> str:
        with self.db.read() as session:
            return self._get_row(session, definition_id).xml

    @staticmethod
    def _get_row(session, definition_id: str) -> ProcessDefinition:
        row = session.get(ProcessDefinition, definition_id)
        if row is None:
            raise NotFound(f"Không có phiên bản quy trình '{definition_id}'", field="id")
        return row
