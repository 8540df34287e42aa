"""The `Idempotency-Key` header: the same key and body get the first answer again; another body gets 422.

The answer is stored by the command's own transaction (app/integrations/inbound.py), so a retried request
after a timeout never creates a second dossier or completes a task twice.
"""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Header, Request
from pydantic import BaseModel
from sqlalchemy.orm import Session

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", min_length=8, max_length=200)]


def once(request: Request, key: str, body: BaseModel | None, act: Callable[[Session], BaseModel], *,
         namespace: str | None = None, field: str = "Idempotency-Key") -> dict[str, Any]:
    """Run `act` once per key: by default keys belong to one route; `namespace` shares them across routes
    (e.g. `message` for BPMN message ids, whatever route delivers them)."""
    scope = f"{namespace}:{key}" if namespace else f"idem:{request.method} {request.url.path}:{key}"
    payload = body.model_dump(mode="json", by_alias=True) if body is not None else None
    return request.app.state.services.inbound.run(
        scope, payload, lambda session: act(session).model_dump(mode="json", by_alias=True), field=field)
