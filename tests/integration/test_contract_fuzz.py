"""Schemathesis, as an outsider runs it (its own command line, a process of its own), against
a live server: every operation of the OpenAPI document, once for a principal of each role (and
once holding every role), in its three phases (the document's examples; coverage, which also
sends every method a path does not declare and probes content types; generated fuzzing).

Whatever arrives, the gateway never answers 5xx (503 and 507 are faults it explains; none is
expected here), never a status the document does not declare for that operation
(``status_code_conformance``), never a content type or header it does not declare, and every
body matches the schema the document gives for it (refusals are problem+json, successes the
route's response model). An undeclared method gets 405 with ``Allow`` (``unsupported_method``,
``allow_header_conformance``); a request without the token is refused (``ignored_auth``);
invalid data is refused (``negative_data_rejection``)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.domain.principals import Role
from tests.conftest import Gateway, serving_gateway

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "unsupported_method",
    "allow_header_conformance",
    "ignored_auth",
    "negative_data_rejection",
    "missing_required_header",
    "use_after_free",
    "ensure_resource_availability",
)
PRINCIPALS = {
    "source": ("sundhedsdatastyrelsen", (Role.SOURCE,)),
    "recipient": ("star-analyse", (Role.RECIPIENT,)),
    "approver": ("star-statistik", (Role.APPROVER,)),
    "auditor": ("hub-dpo", (Role.AUDITOR,)),
    "operator": ("hub-operations", (Role.OPERATOR,)),
    "every role": ("star-analyse", tuple(Role)),
}
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    with serving_gateway(tmp_path_factory.mktemp("contract") / "var") as gw:
        yield gw


@pytest.mark.parametrize("who", sorted(PRINCIPALS))
def test_every_answer_is_one_the_document_declares(live: Gateway, who: str) -> None:
    organisation, roles = PRINCIPALS[who]
    url = str(live.client.base_url).rstrip("/")
    done = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{url}/openapi.json",
            "--phases",
            "examples,coverage,fuzzing",
            "--checks",
            ",".join(CHECKS),
            "--header",
            f"Authorization: Bearer {live.token(organisation, *roles)}",
            "--max-examples",
            "12",
            "--continue-on-failure",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    summary = done.stdout[done.stdout.rfind("SUMMARY") :]
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-2000:]
    cases = re.search(r"(\d+) generated, (\d+) passed", summary)
    assert cases is not None and cases[1] == cases[2], summary  # every case passed every check
    paths = live.client.get("/openapi.json").json()["paths"]
    operations = sum(len(methods) for methods in paths.values())
    assert int(cases[1]) > 500 and f"Tested: {operations}\n" in summary, summary
