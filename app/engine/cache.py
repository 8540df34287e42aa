"""In-memory cache of parsed process models keyed by immutable content hash: never stale."""

import threading
from collections.abc import Callable

from app.engine.model import ProcessModel


class ModelCache:
    def __init__(self, max_entries: int = 512) -> None:
        self._models: dict[str, ProcessModel] = {}
        self._lock = threading.Lock()
        self._max = max_entries

    def get(self, key: str, load: Callable[[], ProcessModel]) -> ProcessModel:
        model = self._models.get(key)
        if model is not None:
            return model
        model = load()
        with self._lock:
            if len(self._models) >= self._max:
                self._models.pop(next(iter(self._models)))
            return self._models.setdefault(key, model)
