"""Following a release's build while ``gateway extract release`` waits for it.

A release built on Spark takes minutes. While the request runs, a second connection asks the
gateway twice a second how the specification's newest build goes and tells standard error: a
bar at a terminal, else a line when the build is first seen and then every ten seconds (a
scheduled job's log shows it went on). Standard output keeps only the answer, so ``--json``
stays JSON. Builds on the local engine are quick and shown only if they last.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from types import TracebackType
from typing import Any

from gateway.cli.client import http_client, show

_POLL = 0.5
_LINE_EVERY = 10.0
_QUIET_LOCAL = 5.0  # seconds a local build runs before it is shown at all


def build_line(build: dict[str, Any]) -> str:
    """One build in words: engine, state, Spark's tasks."""
    tasks = (
        f": {build['tasks_done']} of {build['tasks_total']} Spark tasks"
        if build.get("engine") == "spark" and build.get("tasks_total")
        else ""
    )
    state = build.get("state")
    if state == "running":
        return f"building on the {build.get('engine')} engine{tasks}"
    if state == "built":
        return f"built on the {build.get('engine')} engine{tasks}: {build.get('release_id')}"
    ended = f"{state} on the {build.get('engine')} engine{tasks}"
    return f"{ended}: {build['note']}" if build.get("note") else ended


class BuildWatch:
    """Shows the newest build of ``extract_id`` that began after it started watching (the
    builds there were before are asked for before the release is asked for)."""

    def __init__(self, args: argparse.Namespace, extract_id: str) -> None:
        self._args = args
        self._path = f"/v1/extracts/{extract_id}/builds"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="build-watch", daemon=True)
        self._client: Any = None
        self._before: set[str] = set()
        self._began = time.monotonic()

    def __enter__(self) -> BuildWatch:
        try:
            self._client = http_client(self._args)
            self._before = {b["id"] for b in self._builds()}
        except Exception:  # no progress then; the release itself says what is wrong
            return self
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        if self._client is not None:
            self._client.close()

    def _run(self) -> None:
        try:
            self._follow()
        except Exception:  # progress is a courtesy; the answer is what counts
            return

    def _builds(self) -> list[dict[str, Any]]:
        answer = self._client.get(self._path)
        found: list[dict[str, Any]] = answer.json().get("builds", []) if answer.is_success else []
        return found

    def _follow(self) -> None:
        shown_at = 0.0
        bar = _Bar() if sys.stderr.isatty() else None
        try:
            while not self._stop.wait(_POLL):
                mine = [b for b in self._builds() if b["id"] not in self._before]
                if not mine:
                    continue
                build = mine[0]
                waited = time.monotonic() - self._began
                if build["engine"] == "local" and waited < _QUIET_LOCAL:
                    continue
                if bar is not None:
                    bar.show(build)
                elif time.monotonic() - shown_at >= _LINE_EVERY and build["state"] == "running":
                    print(build_line(build), file=sys.stderr, flush=True)
                    shown_at = time.monotonic()
        finally:
            if bar is not None:
                bar.close()


class _Bar:
    """A transient rich bar of Spark's tasks on standard error."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task("building", total=None)

    def show(self, build: dict[str, Any]) -> None:
        total = build.get("tasks_total") or None
        self._progress.update(
            self._task,
            description=f"building on the {build['engine']} engine",
            total=total,
            completed=build.get("tasks_done", 0),
        )

    def close(self) -> None:
        self._progress.stop()


def builds(args: argparse.Namespace, extract_id: str) -> int:
    """A specification's builds, one line each (``--json``: the answer as is)."""
    with http_client(args) as client:
        response = client.get(f"/v1/extracts/{extract_id}/builds")
    if args.json or not response.is_success:
        return show(response, args.json)
    found = response.json()["builds"]
    for build in found:
        print(f"{build['id']}  {build['started_at'][:16].replace('T', ' ')}  {build_line(build)}")
    if not found:
        print("no build yet: run it with 'gateway extract release'")
    return 0
