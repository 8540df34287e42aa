"""Presentation of reports as HTML: the printable periodic report and the public disclosure page.

Templates belong to the web layer (api/web/templates/reports); the route passes their folder in,
so this module never imports `api`.
"""

from collections.abc import Callable
from datetime import datetime
from importlib.abc import Traversable
from typing import Any

from jinja2 import Environment, FunctionLoader, StrictUndefined, TemplateNotFound

from app.calendar.workdays import LOCAL_TZ


def percent(value: float | None) -> str:
    """Vietnamese notation: 97,5 % (a comma for decimals); a dash when there is nothing to divide."""
    if value is None:
        return "–"
    return f"{value * 100:.2f}".rstrip("0").rstrip(".").replace(".", ",") + " %"


def number(value: float | int | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".")
    return f"{value:.2f}".replace(".", ",")


def local_time(value: datetime) -> str:
    return value.astimezone(LOCAL_TZ).strftime("%H:%M ngày %d/%m/%Y")


def verdict(passed: bool | None) -> str:
    return {True: "Đạt", False: "Chưa đạt", None: "Không áp dụng"}[passed]


class ReportPages:
    def __init__(self, web_dir: Traversable) -> None:
        self.templates = web_dir / "templates" / "reports"
        self.env = Environment(loader=FunctionLoader(self._load), autoescape=True, undefined=StrictUndefined,
                               trim_blocks=True, lstrip_blocks=True)
        self.env.filters.update(percent=percent, number=number, local_time=local_time, verdict=verdict)

    def render(self, name: str, **context: Any) -> str:
        return self.env.get_template(name).render(**context)

    def _load(self, name: str) -> tuple[str, None, Callable[[], bool]]:
        path = self.templates / name
        if not path.is_file():
            raise TemplateNotFound(name)
        return path.read_text(encoding="utf-8"), None, lambda: True
