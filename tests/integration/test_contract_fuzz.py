"""Schemathesis against a live server: every operation of the OpenAPI document, with generated
parameters and bodies, once for a principal of each role (and once holding every role).
Whatever arrives, the gateway never answers 5xx (503 and 507 are faults it explains; none is
expected here), never with a status the document does not declare for that operation, never
with a content type it does not declare, and every body matches the schema the document gives
for it (refusals are problem+json, successes the route's response model)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.domain.principals import Role
from tests.conftest import Gateway, serving_gateway

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
PRINCIPALS = {
    "source": ("sundhedsdatastyrelsen", (Role.SOURCE,)),
    "recipient": ("star-analyse", (Role.RECIPIENT,)),
    "approver": ("star-statistik", (Role.APPROVER,)),
    "auditor": ("hub-dpo", (Role.AUDITOR,)),
    "operator": ("hub-operations", (Role.OPERATOR,)),
    "every role": ("star-analyse", tuple(Role)),
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with serving_gateway(tmp_path_factory.mktemp("contract") / "var") as gw:
        yield gw


@pytest.mark.parametrize("who", sorted(PRINCIPALS))
def test_every_answer_is_one_the_document_declares(live: Gateway, who: str) -> None:
    api = schemathesis.openapi.from_url(str(live.client.base_url).rstrip("/") + "/openapi.json")
    organisation, roles = PRINCIPALS[who]
    token = live.token(organisation, *roles)
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) > 20

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def answers(case: Any) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

        answers()
