"""The gateway as real processes: the CLI, and the demo against a real server."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from gateway.dataplane import synth
from tests import pg
from tests.conftest import POLICIES, ROOT
from tests.cpr_scan import hits, input_cprs
from tests.identity import free_port


def gateway_cmd(
    *args: str,
    data_dir: Path,
    check: bool = False,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """The CLI as a process, on ``data_dir`` (and ``env``'s variables, if given)."""
    env = {
        **(env or os.environ),
        "GATEWAY_DATA_DIR": str(data_dir),
        "GATEWAY_POLICIES_DIR": str(POLICIES),
    }
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=check,
        input=stdin,
    )


@pytest.mark.slow
def test_demo_runs_against_a_real_server_and_leaves_no_cpr(tmp_path: Path) -> None:
    state = tmp_path / "demo"
    done = gateway_cmd("demo", "--dir", str(state), "--scale", "0.05", data_dir=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for expected in (
        "== Summary",
        "19 of 20 accepted",
        "report: ",
        "audit log: verified",
        "restricted-dataset",
        "purpose-binding",
        "four-eyes",
        "share 0 of",
        "sweep: 1 erased (crypto-shredded)",
        "sent again it answers HTTP 410",
    ):
        assert expected in out, expected
    # The same seed and scale give the same synthetic CPRs the demo pushed.
    from gateway.domain.policy_files import load_catalogue

    regenerated = tmp_path / "sources"
    files = synth.generate(load_catalogue(POLICIES), regenerated, scale=0.05)
    cprs = input_cprs(regenerated / f.path for f in files)
    assert (state / "server.log").stat().st_size > 0
    assert hits(state, cprs) == {}


def test_cli_keys_policy_and_audit(tmp_path: Path) -> None:
    data = tmp_path / "var"
    assert "master.key" in gateway_cmd("keys", "init", data_dir=data, check=True).stdout
    assert "OK" in gateway_cmd("policy", "check", data_dir=data, check=True).stdout
    deny = gateway_cmd(
        "policy",
        "explain",
        "--recipient",
        "star-analyse",
        "--dataset",
        "flis-voksenhandicap",
        "--purpose",
        "administration",
        data_dir=data,
    )
    assert deny.returncode == 1 and "DENY" in deny.stdout and "purpose-binding" in deny.stdout
    allow = gateway_cmd(
        "policy",
        "explain",
        "--recipient",
        "star-analyse",
        "--dataset",
        "lpr",
        "--purpose",
        "analysis",
        "--json",
        data_dir=data,
    )
    assert allow.returncode == 0 and '"allowed": true' in allow.stdout
    table = gateway_cmd("policy", "table", "--on", "2026-11-23", "--json", data_dir=data)
    rows = json.loads(table.stdout)
    allowed = {(r["recipient"], r["dataset"], r["purpose"]) for r in rows if r["allowed"]}
    assert ("star-analyse", "lpr", "analysis") in allowed
    assert not {r for r in allowed if r[1] in ("sfi-hjemloese", "laegemiddelstatistik")}
    typo = gateway_cmd(
        "policy",
        "explain",
        "--recipient",
        "star-analyse",
        "--dataset",
        "lpr",
        "--purpose",
        "analyse",
        data_dir=data,
    )
    assert typo.returncode == 2 and "unknown purpose" in typo.stderr

    broken = tmp_path / "broken"

    shutil.copytree(POLICIES, broken)
    grants = broken / "grants" / "star-analyse.yaml"
    grants.write_text(grants.read_text().replace("dataset: lpr", "dataset: lrp"))
    checked = gateway_cmd("policy", "check", "--dir", str(broken), data_dir=data)
    assert checked.returncode == 2
    assert "grant 'star-analyse-lpr': dataset 'lrp' is not a known dataset" in checked.stderr

    assert "ready" in gateway_cmd("db", "upgrade", data_dir=data, check=True).stdout
    rotated = gateway_cmd("keys", "rotate", "--recipient", "star-analyse", data_dir=data)
    assert rotated.returncode == 0 and "pseudonym key v2" in rotated.stdout
    rewrapped = gateway_cmd("keys", "rotate", "--blob-kek", data_dir=data)
    assert rewrapped.returncode == 0 and "v1 -> v2" in rewrapped.stdout
    ok = gateway_cmd("audit", "verify", data_dir=data)
    assert ok.returncode == 0 and "audit log OK: 5 entries" in ok.stdout
    with sqlite3.connect(data / "gateway.db") as conn:
        conn.execute("DROP TRIGGER audit_entries_no_update")
        conn.execute("UPDATE audit_entries SET actor = 'someone-else' WHERE idx = 1")
    searched = gateway_cmd("audit", "search", "--event-type", "keys.rotated", data_dir=data)
    assert searched.returncode == 0 and searched.stdout.count(" keys.rotated ") == 2
    assert "entries 1-2 of 2 matching" in searched.stderr
    assert re.match(r"#\d+ +\d{4}-\d{2}-\d{2} \d{2}:\d{2}  keys\.rotated", searched.stdout)
    lines = gateway_cmd(
        "audit", "search", "--event-type", "keys.rotated", "--json", data_dir=data
    ).stdout.splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["keys.rotated"] * 2
    recent = gateway_cmd(
        "audit", "search", "--since", "30d", "--category", "keys-and-policy", "--limit", "1",
        data_dir=data,
    )  # fmt: skip
    assert recent.returncode == 0 and recent.stdout.count("\n") == 1
    assert "more (use --offset 1)" in recent.stderr  # truncation is said, not silent
    month = gateway_cmd("audit", "search", "--since", "last-month", "--refusals", data_dir=data)
    assert month.returncode == 0 and "of 0 matching" in month.stderr
    bad = gateway_cmd("audit", "search", "--since", "last fortnight", data_dir=data)
    assert bad.returncode == 2 and "not a range" in bad.stderr
    vkey = gateway_cmd("keys", "show-public", "--audit", data_dir=data, check=True).stdout
    assert vkey.startswith("gateway.local/audit+")
    broken = gateway_cmd("audit", "verify", data_dir=data)
    assert broken.returncode == 1 and "BROKEN at entry 1" in broken.stdout


def _demo(env: dict[str, str], state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "demo", "--dir", str(state), "--scale", "0.02"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_demo_honours_a_postgresql_url_for_all_its_parts(tmp_path: Path) -> None:
    server = pg.start_or_skip()
    try:
        url = server.url(server.new_database())
        env = {**os.environ, "GATEWAY_DATABASE_URL": url, "GATEWAY_POLICIES_DIR": str(POLICIES)}
        state = tmp_path / "demo"
        for _ in range(2):  # a second run starts afresh too
            done = _demo(env, state)
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
            assert "audit log: verified" in done.stdout and "_demo" in done.stdout
        assert not (state / "gateway.db").exists()  # nothing on SQLite
        demo_url = make_url(url).set(database=f"{make_url(url).database}_demo")
        engine = create_engine(demo_url)
        with engine.connect() as conn:
            entries = conn.exec_driver_sql("SELECT count(*) FROM audit_entries").scalar()
        engine.dispose()
        assert entries and entries > 10
        # A role that may not create databases: the URL's own (empty) database, again and
        # again; never a database holding gateway data the demo did not make.
        server.psql("CREATE ROLE limited LOGIN")
        server.psql("CREATE DATABASE limited_db OWNER limited")
        limited = {**env, "GATEWAY_DATABASE_URL": server.url("limited_db", user="limited")}
        for _ in range(2):
            done = _demo(limited, state)
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        foreign = {
            **env,
            "GATEWAY_DATABASE_URL": server.url(make_url(url).database or "", "limited"),
        }
        refused = _demo(foreign, state)
        assert refused.returncode != 0
    finally:
        server.stop()


def test_cli_failures_are_one_line_with_documented_exit_codes(tmp_path: Path) -> None:
    """A missing file, a malformed spec and a server that is not running each give one line
    and the exit code ``gateway --help`` documents; a closed pipe is not an error."""
    data = tmp_path / "var"
    assert "exit codes:" in gateway_cmd("--help", data_dir=data).stdout
    closed = free_port()
    remote = ["--url", f"http://127.0.0.1:{closed}", "--token", "x.y.z"]
    missing = gateway_cmd(
        "push", str(tmp_path / "nope.csv"), "--source", "s", "--dataset", "d",
        "--period", "2016-11", *remote, data_dir=data,
    )  # fmt: skip
    assert missing.returncode == 2 and "cannot read" in missing.stderr
    spec = tmp_path / "spec.json"
    spec.write_text("{not json")
    malformed = gateway_cmd("extract", "request", str(spec), *remote, data_dir=data)
    assert malformed.returncode == 2 and "not valid JSON (line 1" in malformed.stderr
    down = gateway_cmd("extract", "list", *remote, data_dir=data)
    assert down.returncode == 3 and "cannot reach" in down.stderr
    for done in (missing, malformed, down):
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    env = {**os.environ, "GATEWAY_DATA_DIR": str(data), "GATEWAY_POLICIES_DIR": str(POLICIES)}
    with subprocess.Popen(
        [sys.executable, "-m", "gateway", "policy", "table", "--json"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as piped:
        assert piped.stdout is not None and piped.stderr is not None
        piped.stdout.read(10)
        piped.stdout.close()  # as '| head -c 10' does
        assert piped.wait(timeout=60) == 0
        assert b"Traceback" not in piped.stderr.read()


def test_every_command_answers_help_quickly_without_a_traceback(tmp_path: Path) -> None:
    """Every command and every verb under it: --help answers, with a description of each
    option (Click), and no traceback."""
    import click

    from gateway.cli.framework import LazyGroup
    from gateway.cli.main import cli

    assert isinstance(cli, LazyGroup)
    context = click.Context(cli)
    paths: list[list[str]] = []
    for name in cli.list_commands(context):
        command = cli.get_command(context, name)
        paths.append([name])
        if isinstance(command, click.Group):
            paths += [[name, verb] for verb in command.list_commands(context)]
    for path in paths:
        done = gateway_cmd(*path, "--help", data_dir=tmp_path)
        assert done.returncode == 0, (path, done.stderr)
        assert f"Usage: gateway {' '.join(path)}" in done.stdout, (path, done.stdout)
    undocumented = [
        f"{' '.join(path)} {param.name}"
        for path in paths
        for param in _command(cli, context, path).params
        if isinstance(param, click.Option) and not param.help and param.name != "help"
    ]
    assert not undocumented, f"options without help text: {undocumented}"


def _command(cli: object, context: object, path: list[str]) -> object:
    command = cli
    for name in path:
        command = command.get_command(context, name)  # type: ignore[attr-defined]
    return command


def test_push_retries_a_busy_gateway_and_answers_in_words(tmp_path: Path) -> None:
    """A 503 with Retry-After is retried with the whole file (harmless: a repeat gets the same
    receipt); the receipt is printed as readable lines, or as JSON with --json."""
    import json as json_module
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    calls: list[int] = []

    class Busy(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            while self.headers.get("transfer-encoding") == "chunked":
                size = int(self.rfile.readline().strip(), 16)
                chunk = self.rfile.read(size + 2)[:size]
                body += chunk
                if size == 0:
                    break
            calls.append(len(body))
            busy = len(calls) == 1
            answer = (
                {"type": "/problems/unavailable", "title": "Temporarily unavailable", "status": 503}
                if busy
                else {"delivery_id": "dlv-" + "1" * 32, "rows": 2, "audit_index": 7}
            )
            data = json_module.dumps(answer).encode()
            self.send_response(503 if busy else 201)
            if busy:
                self.send_header("Retry-After", "0")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Busy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        delivery = tmp_path / "lpr.csv"
        delivery.write_text("cpr,contact_start\n0101801234,2016-11-02\n")
        url = f"http://127.0.0.1:{server.server_address[1]}"
        args = ("push", str(delivery), "--source", "s", "--dataset", "d", "--period", "2016-11")
        done = gateway_cmd(*args, "--url", url, "--token", "x.y.z", data_dir=tmp_path)
        assert done.returncode == 0, done.stderr
        assert calls == [delivery.stat().st_size] * 2  # the whole file, twice
        assert "retrying" in done.stderr and "delivery_id: dlv-" in done.stdout
        as_json = gateway_cmd(*args, "--url", url, "--token", "x.y.z", "--json", data_dir=tmp_path)
        assert json_module.loads(as_json.stdout)["audit_index"] == 7
    finally:
        server.shutdown()
        server.server_close()


def test_long_verbs_draw_progress_on_a_terminal_and_nothing_when_piped(tmp_path: Path) -> None:
    """'gateway audit verify' (like push, pull and export) draws a progress bar on standard
    error when that is a terminal, and writes no escape codes when it is a pipe."""
    import pty

    gateway_cmd("keys", "init", data_dir=tmp_path, check=True)
    env = {**os.environ, "GATEWAY_DATA_DIR": str(tmp_path), "GATEWAY_POLICIES_DIR": str(POLICIES)}
    parent, child = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "gateway", "audit", "verify"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=child,
            timeout=120,
            check=False,
        )
        os.close(child)
        drawn = b""
        while True:
            try:
                chunk = os.read(parent, 65536)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(parent)
    assert done.returncode == 0, drawn
    assert b"verifying" in drawn and b"verifying" not in done.stdout
    assert b"audit log OK" in done.stdout
    piped = gateway_cmd("audit", "verify", data_dir=tmp_path)
    assert piped.returncode == 0 and "verifying" not in piped.stderr and "\x1b[" not in piped.stderr
