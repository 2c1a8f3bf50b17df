"""docker-compose.yml against the Compose specification, and against what the gateway reads."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from jsonschema import Draft7Validator

from gateway.config import Settings
from tests.conftest import ROOT

SCHEMA = Path(__file__).resolve().parents[1] / "fixtures" / "compose-spec.json"
# Read by the PostgreSQL driver (libpq), not by the gateway's settings.
DRIVER_VARIABLES = {"PGPASSFILE"}


def compose() -> dict:  # type: ignore[type-arg]
    return dict(yaml.safe_load((ROOT / "docker-compose.yml").read_text()))


def test_compose_file_is_valid_against_the_specification() -> None:
    errors = sorted(
        Draft7Validator(json.loads(SCHEMA.read_text())).iter_errors(compose()),
        key=lambda e: list(e.path),
    )
    assert [f"{list(e.path)}: {e.message}" for e in errors] == []


def test_every_gateway_variable_is_one_the_gateway_reads() -> None:
    known = {f"GATEWAY_{name.upper()}" for name in Settings.model_fields}
    services = compose()["services"]
    gateways = [
        name
        for name, s in services.items()
        if "gateway" in " ".join(map(str, s.get("command", [])))
    ]
    assert {"migrate", "gateway-1", "gateway-2"} <= set(gateways)
    for name in gateways:
        variables = set(services[name].get("environment", {}))
        unknown = variables - known - DRIVER_VARIABLES
        assert unknown == set(), f"{name} sets variables nothing reads: {unknown}"


def test_the_shape_is_the_production_one() -> None:
    spec = compose()
    services = spec["services"]
    assert services["gateway-1"]["environment"]["GATEWAY_AUTO_MIGRATE"] == "false"
    assert services["migrate"]["environment"]["GATEWAY_AUTO_MIGRATE"] == "true"
    assert "gateway-keys:/run/gateway-keys:ro" in services["gateway-2"]["volumes"]
    assert all(
        "healthcheck" in services[s] for s in ("postgres", "gateway-1", "gateway-2", "proxy")
    )
    mounted = services["proxy"]["volumes"][0].split(":")[0]
    assert (ROOT / mounted).is_file()
    for service in services.values():  # no secret in the file: secrets come from files
        for variable in service.get("environment", {}):
            assert not variable.endswith(("PASSWORD", "SECRET", "MASTER_KEY")), variable
    assert "@postgres" in services["gateway-1"]["environment"]["GATEWAY_DATABASE_URL"]
    assert (
        ":"
        not in services["gateway-1"]["environment"]["GATEWAY_DATABASE_URL"]
        .split("//")[1]
        .split("@")[0]
    )  # user only, no password in the URL


def test_the_spark_override_is_valid_and_protects_the_cluster() -> None:
    """deploy/compose.spark.yml: valid Compose, only variables the gateway reads, and every
    Spark process requires the shared secret with encrypted RPC, shuffle and spill."""
    override = dict(yaml.safe_load((ROOT / "deploy" / "compose.spark.yml").read_text()))
    errors = list(Draft7Validator(json.loads(SCHEMA.read_text())).iter_errors(override))
    assert [e.message for e in errors] == []
    known = {f"GATEWAY_{name.upper()}" for name in Settings.model_fields}
    services = override["services"]
    for name in ("gateway-1", "gateway-2"):
        assert set(services[name]["environment"]) <= known, name
        assert services[name]["environment"]["GATEWAY_ENGINE"].startswith("spark://")
    for name in ("spark-master", "spark-worker"):
        options = services[name]["environment"]["SPARK_DAEMON_JAVA_OPTS"]
        for setting in (
            "spark.authenticate=true",
            "spark.network.crypto.enabled=true",
            "spark.io.encryption.enabled=true",
            "spark.authenticate.secret.file=/run/secrets/spark_secret",
        ):
            assert setting in options, (name, setting)
        assert "gateway-data:/var/lib/gateway:ro" in services[name]["volumes"]
    assert (ROOT / services["spark-master"]["build"]["dockerfile"]).is_file()
