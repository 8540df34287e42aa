"""Check what a user submits to complete a task against the task's Camunda formData fields."""

from datetime import date, datetime
from typing import Any

from app.errors import InvalidInput, Problem

_TYPE_NAMES = {"long": "số nguyên", "boolean": "đúng/sai", "string": "chuỗi", "date": "ngày (YYYY-MM-DD)",
               "enum": "một trong các lựa chọn"}


def validate_submission(form: dict[str, Any] | None, variables: dict[str, Any], element_id: str) -> None:
    """Raise InvalidInput naming every field that breaks its type or constraints; nothing is changed."""
    problems: list[Problem] = []
    for field in (form or {}).get("fields") or []:
        name = field.get("id")
        if not name:
            continue
        label = field.get("label") or name
        rules = field.get("validation") or {}
        value = variables.get(name)
        present = name in variables and value not in (None, "")
        if not present:
            if "required" in rules:
                problems.append(Problem("required", f"Trường '{label}' là bắt buộc", field=name))
            continue
        if "readonly" in rules:
            if str(value) != str(field.get("defaultValue")):
                problems.append(Problem("readonly", f"Trường '{label}' chỉ được xem, không được sửa", field=name))
            continue
        message = _type_error(field, value) or _constraint_error(rules, value)
        if message:
            problems.append(Problem("invalid_form_field", f"Trường '{label}': {message}", field=name))
    if problems:
        raise InvalidInput(f"Dữ liệu của bước '{element_id}' không hợp lệ: "
                           + "; ".join(p.message for p in problems),
                           code="invalid_form_data", field=problems[0].field, element_id=element_id,
                           problems=problems)


def _type_error(field: dict[str, Any], value: Any) -> str | None:
    kind = field.get("type") or "string"
    ok = {
        "long": isinstance(value, int) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "string": isinstance(value, str),
        "date": isinstance(value, str) and _is_date(value),
        "enum": value in {o.get("id") for o in field.get("options") or []},
    }.get(kind, True)  # custom types: nothing to check
    return None if ok else f"cần {_TYPE_NAMES.get(kind, kind)}"


def _is_date(text: str) -> bool:
    for parse in (date.fromisoformat, datetime.fromisoformat, lambda t: datetime.strptime(t, "%d/%m/%Y")):
        try:
            parse(text)
            return True
        except ValueError:
            continue
    return False


def _constraint_error(rules: dict[str, str | None], value: Any) -> str | None:
    for rule, bound_text in rules.items():
        try:
            bound = float(bound_text) if bound_text is not None else None
        except ValueError:
            continue
        if bound is None:
            continue
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number and ((rule == "min" and value < bound) or (rule == "max" and value > bound)):
            return f"giá trị phải {'≥' if rule == 'min' else '≤'} {bound_text}"
        sized = isinstance(value, str | list)
        if sized and ((rule == "minlength" and len(value) < bound) or (rule == "maxlength" and len(value) > bound)):
            return f"độ dài phải {'≥' if rule == 'minlength' else '≤'} {bound_text} ký tự"
    return None
