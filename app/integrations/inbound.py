"""Inbound messages handled exactly once: a repeated message id gets the first answer and changes nothing.

The answer is stored in the same transaction as the change it reports, so a crash can't leave one without
the other. Two copies racing each other: the loser's transaction fails (version check or the key's primary
key) and it then finds and returns the winner's answer.
"""

import hashlib
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.errors import Conflict, InvalidInput
from app.processes.instances import InstanceService
from persistence.integration_models import ProcessedMessage


def request_hash(body: Any) -> str:
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


class InboundOnce:
    def __init__(self, instances: InstanceService) -> None:
        self.instances = instances

    def run(self, key: str, body: Any, act: Callable[[Session], dict[str, Any]], *,
            field: str = "messageId") -> dict[str, Any]:
        digest = request_hash(body)
        try:
            with self.instances.command() as session:
                earlier = session.get(ProcessedMessage, key)
                if earlier is not None:
                    return _same_request(earlier, digest, key, field)
                answer = act(session)
                session.add(ProcessedMessage(key=key, request_hash=digest, status_code=200, response=answer))
                session.flush()
                return answer
        except (Conflict, IntegrityError):
            with self.instances.db.read() as session:
                earlier = session.get(ProcessedMessage, key)
            if earlier is None:
                raise
            return _same_request(earlier, digest, key, field)


def _same_request(earlier: ProcessedMessage, digest: str, key: str, field: str) -> dict[str, Any]:
    if earlier.request_hash != digest:
        raise InvalidInput(f"Mã '{key.rsplit(':', 1)[-1]}' đã được dùng cho một yêu cầu khác",
                           code="idempotency_key_reused", field=field)
    return earlier.response
