"""Logging with the request id on every record, as plain text (dev) or one JSON object per line (prod)."""

import json
import logging
import logging.config
import re
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("motcua_request_id", default=None)
# Accepted from callers only when harmless in a log line and a header; anything else is replaced.
_SAFE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
TEXT_FORMAT = "%(asctime)s %(name)s %(levelname)s [%(request_id)s] %(message)s"
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id", "color_message"}


def accept_request_id(value: str | None) -> str:
    """The caller's X-Request-ID when it is a plain token, else a new one."""
    if value and _SAFE_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Puts the current request id (or "-") on each record, so formatters can show it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extras and the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "requestId": request_id_var.get() if getattr(record, "request_id", "-") == "-" else record.request_id,
        }
        body.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        return json.dumps(body, ensure_ascii=False, default=str)


def logging_config(log_format: str = "text", level: str = "INFO") -> dict[str, Any]:
    """A dictConfig for the root logger and uvicorn's; handed to uvicorn so its worker processes use it too."""
    formatter: dict[str, Any] = ({"()": f"{__name__}.JsonFormatter"} if log_format == "json"
                                 else {"format": TEXT_FORMAT})
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": f"{__name__}.RequestIdFilter"}},
        "formatters": {"default": formatter},
        "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "default",
                                 "filters": ["request_id"]}},
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": {
            **{name: {"handlers": [], "propagate": True} for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
            "spiff": {"level": "WARNING"},  # one line per task state change otherwise
            "alembic": {"level": "WARNING"},  # /readyz reads the schema revision on every probe
        },
    }


def configure(log_format: str = "text", level: str = "INFO") -> None:
    """Logging for `motcua serve` and `motcua worker`."""
    logging.config.dictConfig(logging_config(log_format, level))
