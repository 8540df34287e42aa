"""Camunda user-task attributes written as expressions (`${initiator}`, `=owner`) resolved on the task's data."""

from typing import Any

from app.engine import dialects
from app.engine.scripting import ExpressionRejected, RestrictedEnvironment

_ENVIRONMENT = RestrictedEnvironment(timeout_seconds=0.2)
_UNRESOLVED = object()


def _evaluate(expression: str, data: dict[str, Any]) -> Any:
    try:
        return _ENVIRONMENT.evaluate(dialects.to_python(expression), dict(data))
    except (dialects.DialectError, ExpressionRejected, NameError, KeyError, TypeError, ValueError):
        return _UNRESOLVED


def resolve_text(expression: str | None, data: dict[str, Any]) -> str | None:
    """A literal stays as written; an expression becomes its value, or None when it has none yet
    (an unassigned task stays claimable by its candidate groups)."""
    if not expression or dialects.dialect_of(expression) == "python":
        return expression
    value = _evaluate(expression, data)
    return None if value is _UNRESOLVED or value in (None, "") else str(value)


def resolve_names(names: list[str], data: dict[str, Any]) -> list[str]:
    """Candidate groups/users: each entry literal or an expression giving a name, a list or "a, b"."""
    resolved: list[str] = []
    for name in names:
        if dialects.dialect_of(name) == "python":
            resolved.append(name)
            continue
        value = _evaluate(name, data)
        if isinstance(value, str):
            resolved += [part.strip() for part in value.split(",") if part.strip()]
        elif isinstance(value, list | tuple):
            resolved += [str(item) for item in value if item not in (None, "")]
    return list(dict.fromkeys(resolved))
