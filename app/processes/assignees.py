"""Camunda assignee attributes given as expressions (`${initiator}`, `=owner`) resolved on the task's data."""

from typing import Any

from app.engine import dialects
from app.engine.scripting import ExpressionRejected, RestrictedEnvironment

_ENVIRONMENT = RestrictedEnvironment(timeout_seconds=0.2)


def resolve_assignee(expression: str | None, data: dict[str, Any]) -> str | None:
    """A literal user name stays as written; an expression becomes its value, or None when it has none yet."""
    if not expression or dialects.dialect_of(expression) == "python":
        return expression
    try:
        value = _ENVIRONMENT.evaluate(dialects.to_python(expression), dict(data))
    except (dialects.DialectError, ExpressionRejected, NameError, KeyError, TypeError, ValueError):
        return None  # unassigned: the task stays claimable by its candidate groups
    return str(value) if value not in (None, "") else None
