"""Domain errors with a stable `code`; the API layer turns them into RFC 9457 problem+json."""

from dataclasses import dataclass
from typing import Any


@dataclass
class Problem:
    """One thing wrong with the input, e.g. one unsupported BPMN element."""

    code: str
    message: str
    element_id: str | None = None
    field: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.element_id:
            out["elementId"] = self.element_id
        if self.field:
            out["field"] = self.field
        return out


class MotcuaError(Exception):
    """Base class: `status` is the HTTP status the API answers with, `title` is for people (Vietnamese)."""

    def __init__(self, detail: str, *, code: str = "error", status: int = 400,
                 title: str = "Yêu cầu không hợp lệ", field: str | None = None,
                 element_id: str | None = None, problems: list[Problem] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code
        self.status = status
        self.title = title
        self.field = field
        self.element_id = element_id
        self.problems = problems or []

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


class NotFound(MotcuaError):
    def __init__(self, detail: str, *, code: str = "not_found", field: str | None = None) -> None:
        super().__init__(detail, code=code, status=404, title="Không tìm thấy", field=field)


class Conflict(MotcuaError):
    def __init__(self, detail: str, *, code: str = "conflict") -> None:
        super().__init__(detail, code=code, status=409, title="Xung đột trạng thái, vui lòng tải lại")


class InvalidInput(MotcuaError):
    def __init__(self, detail: str, *, code: str = "invalid_input", field: str | None = None,
                 element_id: str | None = None, problems: list[Problem] | None = None) -> None:
        super().__init__(detail, code=code, status=422, title="Dữ liệu không hợp lệ", field=field,
                         element_id=element_id, problems=problems or [])


def invalid_body(what: str, errors: list[dict[str, Any]]) -> InvalidInput:
    """A body that failed its pydantic shape (`ValidationError.errors()`): one problem per error, the first named."""
    problems = [Problem(e["type"], e["msg"], field=".".join(str(p) for p in e["loc"]) or None) for e in errors]
    return InvalidInput(f"{what}: {problems[0].field}: {problems[0].message}", code="validation_error",
                        field=problems[0].field, problems=problems)


class InvalidDiagram(MotcuaError):
    def __init__(self, detail: str, *, code: str = "invalid_bpmn", element_id: str | None = None,
                 problems: list[Problem] | None = None) -> None:
        super().__init__(detail, code=code, status=422, title="Sơ đồ BPMN không hợp lệ", field="file",
                         element_id=element_id, problems=problems or [])


class PayloadTooLarge(MotcuaError):
    def __init__(self, detail: str, *, field: str | None = "file") -> None:
        super().__init__(detail, code="payload_too_large", status=413, title="Tệp quá lớn", field=field)


class ScriptError(MotcuaError):
    """A diagram's expression or script failed at run time; nothing of the command is kept."""

    def __init__(self, detail: str, *, element_id: str | None = None, code: str = "script_error") -> None:
        super().__init__(detail, code=code, status=422, title="Lỗi khi chạy sơ đồ", element_id=element_id)
