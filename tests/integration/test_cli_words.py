"""What a data owner reads when a push goes wrong, from the real command in a real process
against a real server: the first problems of a rejected file (row, line, column, code) without
``--json``; a malformed period named as such with the form expected; a misspelt dataset or
source answered with the registered names it resembles."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.domain.principals import Role
from tests.identity import provider
from tests.integration.test_processes import gateway_cmd
from tests.server import Server

LPR = "sundhedsdatastyrelsen"
BAD = (
    "cpr,kommune,contact_start,contact_end,contact_type,diagnosis_chapter\n"
    "0101801111,101,2016-11-40,2016-11-02,ambulant,F\n"
    "12,101,2016-11-01,2016-11-02,ambulant,F\n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Server:
    running = Server(tmp_path_factory.mktemp("words") / "var")
    running.start()
    yield running  # type: ignore[misc]
    running.stop()


def _push(server: Server, tmp: Path, dataset: str, period: str, source: str = LPR) -> str:
    path = tmp / "file.csv"
    path.write_text(BAD)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    token = provider().token(source, Role.SOURCE)
    done = gateway_cmd(
        "push",
        str(path),
        "--source",
        source,
        "--dataset",
        dataset,
        "--period",
        period,
        "--url",
        server.url,
        "--token",
        token,
        data_dir=server.data,
        env=env,
    )
    assert done.returncode == 1 and done.stdout == "", (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    return done.stderr


def test_a_rejected_push_shows_where_and_what(server: Server, tmp_path: Path) -> None:
    said = _push(server, tmp_path, "lpr", "2016-11")
    assert said.count("nothing was stored") == 1, said
    assert "row 1, line 2, column contact_start: invalid-date" in said, said
    assert "column cpr" in said and "2016-11-40" not in said and "0101801111" not in said


def test_a_malformed_period_says_the_form_expected(server: Server, tmp_path: Path) -> None:
    said = _push(server, tmp_path, "lpr", "2016-1")
    assert "expected YYYY-MM" in said and "identifier" not in said, said


def test_a_misspelt_name_gets_a_did_you_mean(server: Server, tmp_path: Path) -> None:
    assert "did you mean 'lpr'" in _push(server, tmp_path, "lrp", "2016-11"), "dataset"


def test_catalogue_show_prints_a_table_with_a_header(server: Server) -> None:
    """An analyst reads one dataset: labelled facts, then its columns under a header row."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    token = provider().token("star-analyse", Role.RECIPIENT)
    done = gateway_cmd(
        "catalogue",
        "show",
        "lpr",
        "--url",
        server.url,
        "--token",
        token,
        data_dir=server.data,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("lpr: "), lines
    header = next(line for line in lines if line.startswith("COLUMN"))
    assert header.split()[:4] == ["COLUMN", "TYPE", "REQUIRED", "VALUES"], header
    below = lines[lines.index(header) + 1 :]
    assert any(line.split()[:3] == ["cpr", "cpr", "yes"] for line in below), below
    assert any(line.startswith("contact_start ") for line in below), below
