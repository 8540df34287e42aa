"""schemathesis against the live server's OpenAPI schema, as the bootstrap system admin, every operation:
no 5xx and every documented response matches its schema. `make fuzz` runs many more examples
(MOTCUA_FUZZ_EXAMPLES); failures are collected per operation so one run names every bug."""

import os

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from app.jobs.worker import Worker
from tests.conftest import ADMIN_HEADERS
from tests.onestop import install_catalogue

EXAMPLES = int(os.environ.get("MOTCUA_FUZZ_EXAMPLES", "15"))


def test_every_operation_answers_without_5xx_and_as_documented(services, server):
    install_catalogue(services)  # real procedures and units, so generated codes sometimes hit something
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json", headers=ADMIN_HEADERS)
    failures: dict[str, str] = {}
    operations = 0
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        if operation.path == "/readyz":  # without a live worker its documented answer is 503: one beats now
            Worker(services.db, []).beat()

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def fuzz(case) -> None:
            nonlocal calls
            calls += 1
            case.call_and_validate(base_url=server.url, headers=ADMIN_HEADERS,
                                   checks=[not_a_server_error, response_schema_conformance])

        try:
            fuzz()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # schemathesis' FailureGroup is a BaseExceptionGroup
            failures[operation.label] = f"{exc.__class__.__name__}: {str(exc)[:800]}"
    print(f"\nfuzz: {operations} operations, {calls} requests (up to {EXAMPLES} examples each)")
    assert operations >= 50 and calls >= operations
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())
