"""JSON answers serialised once, for the hot command routes."""

from typing import Any

from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel


def model_json(answer: BaseModel | dict[str, Any], status_code: int = 200) -> Response:
    """The read model as camelCase JSON. Returning the model itself would make FastAPI validate it again against
    the route's response_model (which stays on the route for OpenAPI) and, for a plain `def` route, hop to the
    threadpool to do so; a stored idempotent answer (a dict, already in that shape) goes out as it is."""
    if isinstance(answer, BaseModel):
        return Response(answer.model_dump_json(by_alias=True), status_code=status_code,
                        media_type="application/json")
    return JSONResponse(answer, status_code=status_code)
