"""Property-based requests generated from the OpenAPI schema: never a server error.

Schemathesis turns each operation of the served schema into a Hypothesis strategy;
requests go to a real uvicorn server over HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error

from tests.fixtures.serving import local_settings, uvicorn_serving

OPERATIONS = [
    ("POST", "/predict"),
    ("POST", "/explain"),
    ("POST", "/invocations"),
    ("GET", "/ping"),
    ("GET", "/version"),
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/model"),
    ("GET", "/metrics"),
    ("POST", "/admin/reload"),
]


@pytest.fixture(scope="module")
def served_api(model_dir: Path) -> Iterator[str]:
    with uvicorn_serving(local_settings(model_dir, max_text_chars=500, max_batch_size=20)) as url:
        yield url


@pytest.fixture(scope="module")
def api_schema(served_api: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{served_api}/openapi.json")


def test_every_operation_is_fuzzed(api_schema: schemathesis.BaseSchema) -> None:
    served = {
        (result.ok().method.upper(), result.ok().path) for result in api_schema.get_all_operations()
    }
    assert served == set(OPERATIONS)


#: Operations that take input, so that invalid requests can be generated for them.
WITH_INPUT = [
    ("POST", "/predict"),
    ("POST", "/explain"),
    ("POST", "/invocations"),
    ("POST", "/admin/reload"),
]


@pytest.mark.parametrize(
    ("method", "path", "mode"),
    [(method, path, GenerationMode.POSITIVE) for method, path in OPERATIONS]
    + [(method, path, GenerationMode.NEGATIVE) for method, path in WITH_INPUT],
)
def test_generated_requests_get_no_server_error(
    api_schema: schemathesis.BaseSchema,
    served_api: str,
    method: str,
    path: str,
    mode: GenerationMode,
) -> None:
    operation = api_schema[path][method]

    @given(data=st.data())
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    def no_server_error(data: st.DataObject) -> None:
        case: Case = data.draw(operation.as_strategy(generation_mode=mode))
        response = case.call(base_url=served_api)
        case.validate_response(response, checks=[not_a_server_error])

    no_server_error()
