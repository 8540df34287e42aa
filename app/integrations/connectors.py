"""HTTP connectors (httpx) to the national portal and the Ministry system: one POST per outbox message."""

from typing import Any, Protocol

import httpx

from persistence.integration_models import OutboxMessage


class DeliveryFailed(Exception):
    """The receiver did not take the message; the dispatcher retries later."""


class Connector(Protocol):
    def send(self, message: OutboxMessage) -> dict[str, Any]: ...


class HttpConnector:
    """POSTs `payload` to base_url + path with the message's idempotency key; a 2xx JSON object is success."""

    def __init__(self, base_url: str, paths: dict[str, str], *, token: str | None = None,
                 timeout_seconds: float = 5.0) -> None:
        self.paths = paths
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(base_url=base_url, headers=headers, timeout=timeout_seconds)

    def send(self, message: OutboxMessage) -> dict[str, Any]:
        path = self.paths.get(message.kind) or self.paths["*"]
        try:
            response = self.client.post(path.format(aggregate=message.aggregate), json=message.payload,
                                        headers={"Idempotency-Key": message.idempotency_key})
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{exc.__class__.__name__}: {exc}") from exc
        if not response.is_success:
            raise DeliveryFailed(f"HTTP {response.status_code}: {response.text[:300]}")
        try:
            body = response.json()
        except ValueError as exc:
            raise DeliveryFailed(f"answer is not JSON: {response.text[:300]!r}") from exc
        if not isinstance(body, dict):
            raise DeliveryFailed(f"answer is not a JSON object: {response.text[:300]!r}")
        return body

    def close(self) -> None:
        self.client.close()


def dvcqg_connector(base_url: str, token: str | None, timeout_seconds: float) -> HttpConnector:
    return HttpConnector(base_url, {"*": "/api/dossiers/{aggregate}/sync"}, token=token,
                         timeout_seconds=timeout_seconds)


def moh_connector(base_url: str, token: str | None, timeout_seconds: float) -> HttpConnector:
    return HttpConnector(base_url, {"*": "/api/handovers"}, token=token, timeout_seconds=timeout_seconds)


def payment_connector(base_url: str, token: str | None, timeout_seconds: float) -> HttpConnector:
    return HttpConnector(base_url, {"*": "/api/payment-requests"}, token=token, timeout_seconds=timeout_seconds)
