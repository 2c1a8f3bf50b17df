"""Start-up checks: broken policies, lost or swapped master keys, policy changes audited."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from gateway.crypto.keys import MASTER_KEY_FILE
from gateway.errors import KeyUnavailable, PolicyFileError
from gateway.services.platform.bootstrap import open_runtime
from tests.conftest import POLICIES, make_settings


def _events(runtime: object) -> list[dict[str, object]]:
    store = runtime.store  # type: ignore[attr-defined]
    return [json.loads(e.body) for e in store.audit_entries()]


def test_first_start_creates_keys_and_audits_policy(tmp_path: Path, database_url: str) -> None:
    runtime = open_runtime(make_settings(tmp_path / "var", database_url=database_url))
    assert (tmp_path / "var" / "keys" / MASTER_KEY_FILE).exists()
    types = [e["type"] for e in _events(runtime)]
    assert types == ["keys.initialised", "policy.loaded"]
    runtime.store.dispose()
    again = open_runtime(make_settings(tmp_path / "var", database_url=database_url))
    assert [e["type"] for e in _events(again)] == types  # unchanged policies: no new entry
    again.store.dispose()


def test_a_policy_change_is_an_audit_entry(tmp_path: Path, database_url: str) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    open_runtime(
        make_settings(tmp_path / "var", policies_dir=policies, database_url=database_url)
    ).store.dispose()
    lpr = policies / "datasets" / "lpr.yaml"
    lpr.write_text(lpr.read_text().replace("first version.", "first version; reviewed."))
    runtime = open_runtime(
        make_settings(tmp_path / "var", policies_dir=policies, database_url=database_url)
    )
    last = _events(runtime)[-1]
    assert last["type"] == "policy.loaded"
    details = last["details"]
    assert isinstance(details, dict) and details["previous_policy_hash"] != details["policy_hash"]
    runtime.store.dispose()


def test_lost_master_key_is_a_clear_error_not_a_new_key(tmp_path: Path, database_url: str) -> None:
    open_runtime(make_settings(tmp_path / "var", database_url=database_url)).store.dispose()
    (tmp_path / "var" / "keys" / MASTER_KEY_FILE).unlink()
    with pytest.raises(KeyUnavailable, match="restore the master key"):
        open_runtime(make_settings(tmp_path / "var", database_url=database_url))
    assert not (tmp_path / "var" / "keys" / MASTER_KEY_FILE).exists()


def test_a_different_master_key_is_refused(tmp_path: Path, database_url: str) -> None:
    open_runtime(make_settings(tmp_path / "var", database_url=database_url)).store.dispose()
    other = "A" * 43 + "="
    with pytest.raises(KeyUnavailable, match="does not match"):
        open_runtime(make_settings(tmp_path / "var", master_key=other, database_url=database_url))


def test_broken_policies_stop_the_start(tmp_path: Path, database_url: str) -> None:
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    (policies / "recipients.yaml").write_text("recipients: [{id: x}]\n")
    with pytest.raises(PolicyFileError, match=r"recipients\.yaml"):
        open_runtime(
            make_settings(tmp_path / "var", policies_dir=policies, database_url=database_url)
        )


def test_a_spark_engine_that_cannot_start_stops_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GATEWAY_ENGINE names Spark on a machine without Java: the gateway refuses to start,
    saying what is missing, instead of failing a release later. A short secret is refused."""
    from gateway.errors import ConfigurationError

    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no java on it
    with pytest.raises(ConfigurationError, match="needs Java 17"):
        open_runtime(make_settings(tmp_path / "var", engine="local[2]"))
    monkeypatch.undo()
    secret = tmp_path / "spark_secret"
    secret.write_text("too short")
    with pytest.raises(ConfigurationError, match="at least 32 characters"):
        open_runtime(make_settings(tmp_path / "var2", spark_secret_file=secret))
