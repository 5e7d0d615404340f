"""The published OpenAPI schema, fuzzed with schemathesis: every operation, with valid
and invalid inputs, answers as its schema says and never with a server error."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from insiderwatch.web.api import create_app
from test_web import company, make_service  # noqa: F401 (fixture)


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory, company):  # noqa: F811
    service, tokens = make_service(tmp_path_factory.mktemp("fuzz"), company[0])
    app = create_app(service, run_service=False)
    service.start()
    yield schemathesis.openapi.from_asgi("/openapi.json", app), tokens
    service.stop()


def fuzz(operation, token: str) -> None:
    """Drive one operation's strategy with Hypothesis (schemathesis' pytest plug-in
    predates this pytest)."""

    @given(case=operation.as_strategy())
    @settings(max_examples=25, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def check(case):
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"})

    check()


def test_every_operation_keeps_to_its_schema(api_schema):
    schema, tokens = api_schema
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/v1/events", "/v1/alerts", "/healthz"}
    for operation in operations:
        fuzz(operation, tokens.collector if operation.path == "/v1/events" else tokens.reader)
