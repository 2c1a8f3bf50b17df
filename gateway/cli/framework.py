"""The command line on Click: a lazily loaded command group, and the options verbs share.

Each command lives in a module named in :data:`gateway.cli.main.COMMANDS`; only the module of
the command being run is imported, so ``gateway --help`` (which lists the commands from that
table) answers in a fraction of a second. A verb's callback hands its parameters, as one
namespace, to the verb's function (``verb(args) -> exit code``), which knows nothing of Click.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

Verb = Callable[[argparse.Namespace], int]
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def runs(verb: Verb, **fixed: Any) -> Callable[..., int]:
    """A Click callback that calls ``verb`` with the parameters (plus ``fixed`` ones)."""

    def callback(**params: Any) -> int:
        return verb(argparse.Namespace(**params, **fixed))

    callback.__doc__ = verb.__doc__
    return callback


def http_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--url, --token and --json, for every verb that talks to a gateway over HTTP."""
    command = click.option(
        "--json", "json", is_flag=True, help="print the gateway's JSON answer, unchanged"
    )(command)
    command = click.option(
        "--token",
        default=None,
        help="a bearer token (default: the login session, $GATEWAY_CLIENT_KEY or $GATEWAY_TOKEN)",
    )(command)
    return click.option(
        "--url",
        default=lambda: os.environ.get("GATEWAY_URL", "http://127.0.0.1:8000"),
        show_default="$GATEWAY_URL or http://127.0.0.1:8000",
        help="the gateway's base URL",
    )(command)


def json_flag(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "json", is_flag=True, help="print the result as JSON")(command)


PATH = click.Path(path_type=Path)  # arguments and options that name files


class LazyGroup(click.Group):
    """Commands named in a table, each imported from its module on first use."""

    def __init__(self, table: dict[str, tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.table = table

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.table)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.table:
            return None
        module = importlib.import_module(f"gateway.cli.{self.table[name][0]}")
        command: click.Command = module.COMMANDS[name]
        return command

    def invoke(self, ctx: click.Context) -> Any:
        """A closed pipe (``| head``) is not an error: the reader has what it wanted (Click
        itself would exit 1)."""
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            quiet_stdout()
            return 0

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the table alone (importing every module would be slow)."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, text) for name, (_, text) in self.table.items()])


def quiet_stdout() -> None:
    """Point standard output at /dev/null, so that the interpreter's last flush after a closed
    pipe does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def quiet_logging() -> None:
    """Send the command line's own log lines (a warning on a fault path, say) to standard
    error, readable and screened for CPR, so that standard output holds the command's answer
    alone (``--json`` output stays parseable). structlog is configured lazily: it is imported
    by the first module that logs, and ``serve`` and ``demo`` configure the server's logging
    on top when they start one."""

    def configure() -> None:
        import structlog

        def screened(_logger: Any, _name: str, event: Any) -> Any:
            from gateway.domain.cpr_screen import redact

            return {k: redact(v) if isinstance(v, str) else v for k, v in event.items()}

        structlog.configure(
            processors=[
                structlog.processors.add_log_level,
                screened,
                structlog.dev.ConsoleRenderer(colors=False),
            ],
            logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
            cache_logger_on_first_use=False,
        )

    if "structlog" in sys.modules:
        configure()
    else:
        _on_import("structlog", configure)


def _on_import(module: str, then: Callable[[], None]) -> None:
    """Run ``then`` right after ``module`` is first imported (a one-shot meta path hook)."""
    import importlib.abc
    import importlib.util

    class Hook(importlib.abc.MetaPathFinder):
        def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
            if name != module:
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            if spec is not None and spec.loader is not None:
                loader = spec.loader
                original = loader.exec_module

                def exec_module(mod: Any) -> None:
                    original(mod)
                    then()

                loader.exec_module = exec_module  # type: ignore[method-assign,assignment]
            return spec

    sys.meta_path.insert(0, Hook())
