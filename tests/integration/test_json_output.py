"""Every ``--json`` command prints JSON and nothing else on standard output, in a real
process against a real server, including when a fault path logs a warning (a torn last line
in the checkpoint file, as a full disk leaves it): logs go to standard error.

The commands are found by walking the command line itself, so a new ``--json`` command fails
this test until it is run here too.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest

from gateway.cli.main import COMMANDS
from gateway.domain.principals import Role
from tests.conftest import Synthetic
from tests.cpr_scan import input_cprs
from tests.identity import provider
from tests.integration.test_aggregates_api import (
    BY_KOMMUNE,
    SERVICES_SUM,
    _ssr_with_a_negative_value,
)
from tests.integration.test_extracts_api import LINKED
from tests.integration.test_processes import gateway_cmd
from tests.server import Server

LPR, ANALYSE, STATISTIK = "sundhedsdatastyrelsen", "star-analyse", "star-statistik"


def json_commands() -> set[str]:
    """Every command of the CLI that takes ``--json``, by its words (``extract pull``)."""

    def walk(command: click.Command, words: list[str]) -> Iterator[str]:
        if isinstance(command, click.Group):
            for name in command.list_commands(click.Context(command)):
                sub = command.get_command(click.Context(command), name)
                assert sub is not None
                yield from walk(sub, [*words, name])
        elif any(p.name == "json" for p in command.params):
            yield " ".join(words)

    found: set[str] = set()
    for name, (module, _) in COMMANDS.items():
        found |= set(walk(importlib.import_module(f"gateway.cli.{module}").COMMANDS[name], [name]))
    return found


class Runner:
    """Runs CLI commands as processes against one server and keeps what each printed."""

    def __init__(self, server: Server, tmp: Path) -> None:
        self.server, self.tmp = server, tmp
        self.ran: set[str] = set()
        self.stderr = ""  # the last command's

    def __call__(
        self,
        *words: str,
        who: tuple[str, Role] | None = None,
        ok: bool = True,
        lines: bool = False,
        stdin: str | None = None,
    ) -> Any:
        args = list(words)
        if who is not None:
            token = provider().token(who[0], who[1])
            args += ["--url", self.server.url, "--token", token]
        env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
        done = gateway_cmd(*args, "--json", data_dir=self.server.data, env=env, stdin=stdin)
        command = " ".join(w for w in words if not w.startswith("-"))
        self.stderr = done.stderr
        assert (done.returncode == 0) is ok, (command, done.stdout, done.stderr)
        name = next(
            c for c in sorted(json_commands(), key=len, reverse=True) if command.startswith(c)
        )
        self.ran.add(name)
        if not ok:
            assert done.stdout == "", (command, done.stdout)  # the problem goes to stderr
            return None
        try:
            if lines:  # JSON Lines: one object per line, nothing else
                return [json.loads(line) for line in done.stdout.splitlines()]
            return json.loads(done.stdout)
        except ValueError as exc:
            raise AssertionError(f"{command}: not JSON on stdout: {done.stdout[:500]!r}") from exc


def _spec(tmp: Path, name: str, spec: dict[str, Any]) -> str:
    path = tmp / f"{name}.json"
    path.write_text(json.dumps(spec))
    return str(path)


@pytest.mark.slow
def test_every_json_command_prints_json_alone(tmp_path: Path, synthetic: Synthetic) -> None:
    server = Server(tmp_path / "var")
    server.start()
    run = Runner(server, tmp_path)
    try:
        _walk(run, tmp_path, synthetic)
    finally:
        server.stop()
    assert run.ran == json_commands(), json_commands() - run.ran


def _walk(run: Runner, tmp: Path, synthetic: Synthetic) -> None:
    source = (LPR, Role.SOURCE)
    negative = tmp / "ssr.parquet"  # a correction booked as a negative count: held for review
    negative.write_bytes(_ssr_with_a_negative_value(synthetic))
    files = {"dfdg-indsats": synthetic.path("dfdg-indsats"), "lpr": synthetic.path("lpr")}
    receipts: dict[str, str] = {}
    for dataset, path in {**files, "ssr": negative}.items():
        f = synthetic.files[dataset]
        receipt = run(
            "push", str(path), "--source", f.source, "--dataset", dataset,
            "--period", "2016-11", who=(f.source, Role.SOURCE),
        )  # fmt: skip
        assert receipt["delivery_id"]
        receipts[dataset] = receipt["delivery_id"]
    lpr = str(synthetic.path("lpr"))
    held = run(
        "push", lpr, "--source", LPR, "--dataset", "lpr", "--period", "2016-08", who=source
    )  # another month's file: held
    assert held["held"]
    delivery = held["delivery_id"]
    assert run("delivery", "show", delivery, who=source)["status"] == "held"
    assert run("delivery", "quality", delivery, who=source)
    assert run("delivery", "confirm", delivery, who=source)["confirmed"] is True
    assert run("delivery", "withdraw", delivery, who=source)["withdrawn"] is True
    run("delivery", "show", "dlv-unknown", who=source, ok=False)

    analyst, approver = (ANALYSE, Role.RECIPIENT), ("dpo@star.dk", Role.APPROVER)
    extract = run("extract", "request", _spec(tmp, "linked", LINKED), who=analyst)["id"]
    assert run("extract", "show", extract, who=analyst)["id"] == extract
    assert run("extract", "list", who=analyst)
    assert run("extract", "approve", extract, "--note", "within the grant", who=approver)
    assert "purpose analysis" in run.stderr and "policy: allowed" in run.stderr  # what, first
    release = run("extract", "release", extract, who=analyst)["id"]
    built = run("extract", "builds", extract, who=analyst)["builds"]
    assert [(b["state"], b["engine"], b["release_id"]) for b in built] == [
        ("built", "local", release)
    ]
    pulled = run("extract", "pull", release, "--out", str(tmp / "linked.parquet"), who=analyst)
    assert pulled["sha256"] and pulled["matches_audit_entry"] is True and pulled["rows"] > 0
    again = ("extract", "pull", release, "--out", pulled["file"])
    run(*again, who=analyst, ok=False)  # an existing file is never replaced silently
    assert "--force" in run.stderr
    assert run(*again, "--force", who=analyst)["sha256"] == pulled["sha256"]
    impact = run("delivery", "impact", receipts["lpr"], who=("hub-dpo", Role.AUDITOR))
    assert [r["release"] for r in impact["releases"]] == [release]
    assert impact["summary"]["collected_by_recipient"] == 1
    other = run("extract", "request", _spec(tmp, "again", LINKED), who=analyst)["id"]
    assert run("extract", "reject", other, "--note", "one is enough", who=approver)
    third = run("extract", "request", _spec(tmp, "third", LINKED), who=analyst)["id"]
    run("extract", "return", third, who=approver, ok=False)  # the comment is required
    back = run("extract", "return", third, "--note", "fewer columns, please", who=approver)
    assert (back["status"], back["decision_note"]) == ("returned", "fewer columns, please")
    assert run("extract", "show", third, who=analyst)["decision_note"] == "fewer columns, please"

    statistician = (STATISTIK, Role.RECIPIENT)
    for name, spec in (("by-kommune", BY_KOMMUNE), ("services", SERVICES_SUM)):
        asked = run("extract", "request", _spec(tmp, name, spec), who=statistician)["id"]
        run("extract", "approve", asked, who=approver)
        run("extract", "release", asked, who=statistician)
    queue = run("extract", "queue", who=approver)
    held_aggregates = [r["id"] for r in queue["releases"] if r["status"] == "pending-review"]
    assert held_aggregates, queue
    run("extract", "release-held", held_aggregates[0], "--note", "fine", who=approver)
    run("extract", "withhold", held_aggregates[0], "--note", "no", who=("legal@hub", Role.APPROVER))
    # Not every dataset of the report is delivered here: refused, the problem on stderr.
    run("report", "ressourceforloeb", "--period", "2016-11", who=statistician, ok=False)

    for words in (("catalogue", "list"), ("catalogue", "grants"), ("catalogue", "show", "lpr")):
        assert run(*words, who=analyst)
    operator = ("hub-operations", Role.OPERATOR)
    assert "sessions" in run("sessions", "list", who=operator)
    assert run("sessions", "revoke", "--organisation", "nobody", who=operator)["ended"] == 0

    # Storage limitation: holds and deletions over HTTP, the plan and a sweep at the terminal.
    dpo = ("hub-dpo", Role.AUDITOR)
    hold = run("holds", "place", "--reason", "inspection of 2016", "--dataset", "lpr", who=dpo)
    assert hold["standing"] is True
    assert run("holds", "lift", hold["id"], "--reason", "closed", who=dpo)["lift_requested_by"]
    assert run("holds", "list", who=dpo)["holds"]
    assert run("deletions", "list", who=analyst)["requests"] == []
    run("deletions", "confirm", "del-" + "0" * 32, who=analyst, ok=False)
    assert run("retention", "plan")["summary"]["held_at_the_hub"] > 0
    assert "erased" in run("retention", "sweep")
    assert run("records", "approve")["version"] == 1

    explain = ("--recipient", ANALYSE, "--dataset", "lpr", "--purpose", "analysis")
    assert run("policy", "explain", *explain)["allowed"] is True
    assert run("policy", "table")
    assert run("synth", "--out", str(tmp / "synth"), "--scale", "0.01")
    assert run("keys", "rotate", "--recipient", ANALYSE)["version"] == 2
    assert run("keys", "rewrap") is not None

    # A fault path that logs: the checkpoint file's last line torn, as a full disk leaves it.
    checkpoints = run.server.data / "audit" / "checkpoints.jsonl"
    with open(checkpoints, "ab") as fh:
        fh.write(b'{"note": "gateway.local/audit\\n12')
    assert run("audit", "verify")["ok"] is True
    assert "torn last line" in run.stderr  # said, on standard error
    found = run("audit", "search", "--category", "deliveries", lines=True)
    assert found and all(e["type"].startswith("delivery.") for e in found)
    person = sorted(input_cprs([synthetic.path("lpr")]))[0]
    about = run("audit", "subject", lines=True, stdin=person + "\n")
    assert any(e["type"] == "delivery.accepted" for e in about) and person not in str(about)

    export = tmp / "export"
    gateway_cmd("audit", "export", "--out", str(export), data_dir=run.server.data, check=True)
    key_file = export / "vkey.txt"
    assert run("audit", "verify-export", str(export), "--key", str(key_file))["ok"] is True
    key_text = key_file.read_text().strip()
    assert run("audit", "verify-export", str(export), "--key", key_text)["ok"] is True
    run("audit", "verify-export", str(export), "--key", str(tmp / "receipt.json"), ok=False)
    assert "wrong key format" in run.stderr  # not "does not verify": the key is the problem
    receipt_file = tmp / "receipt.json"
    receipt_file.write_text(json.dumps(held))
    policy = tmp / "policy.txt"
    policy.write_text(f"log {key_file.read_text().strip()}\nquorum none\n")
    assert run("audit", "verify-proof", str(receipt_file), "--policy", str(policy))
