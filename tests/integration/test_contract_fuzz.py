"""Schemathesis against a live server: every operation of the OpenAPI document, with generated
parameters and bodies, as a principal holding every role. Whatever arrives, the gateway
answers with a client error or success, never a 5xx (503 and 507 are faults it explains; none
is expected here)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from gateway.identity.principal import Role
from tests.conftest import Gateway, serving_gateway


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with serving_gateway(tmp_path_factory.mktemp("contract") / "var") as gw:
        yield gw


def test_no_generated_request_makes_the_gateway_fail(live: Gateway) -> None:
    api = schemathesis.openapi.from_url(str(live.client.base_url).rstrip("/") + "/openapi.json")
    token = live.token("star-analyse", *Role)
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) > 20

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def answers(case: Any) -> None:
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            assert response.status_code < 500, (case.method, case.path, response.status_code)
            if response.status_code >= 400:
                kind = response.headers.get("content-type") or [""]
                kind = kind[0] if isinstance(kind, list) else kind
                assert kind.startswith("application/problem+json"), (case.path, kind)

        answers()
