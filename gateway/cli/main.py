"""Entry point: parses arguments and dispatches to one function per verb.

Every failure is one readable line on stderr (plus a gateway error's details, which never
carry payload data), never a traceback, and an exit code that says what kind of failure it was
(``EXIT_CODES``, shown in ``gateway --help``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence

import httpx

from gateway import __version__
from gateway.errors import ConfigurationError, GatewayError, InvalidRequest, ServiceUnavailable

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_CODES = """exit codes:
  0    done
  1    refused or failed (not logged in, not allowed, refused by policy, verification failed)
  2    usage: bad arguments, an unreadable or malformed input file, a configuration problem
  3    the gateway or the identity provider cannot be reached (or is not ready); retry
  130  interrupted"""


# Each command, the module that defines it, and its one-line help. Only the module of the
# command being run is imported (its dependencies are heavy), so 'gateway --help' is quick.
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("local", "run the HTTP server in the foreground"),
    "keys": ("local", "key management"),
    "synth": ("local", "write deterministic synthetic deliveries"),
    "policy": ("local", "the legal-basis policies"),
    "audit": ("local", "the audit trail"),
    "db": ("local", "database schema"),
    "push": ("client", "push a delivery file (CSV or Parquet)"),
    "extract": ("client", "extract specifications"),
    "catalogue": ("client", "the datasets and legal bases in force"),
    "report": ("client", "run a built-in aggregate report (e.g. ressourceforloeb) for a month"),
    "login": (
        "login",
        "log in at the identity provider (a person: device code; a machine: client key)",
    ),
    "logout": ("login", "forget the session's tokens"),
    "witness": ("transparency", "run a witness for a gateway's audit log (C2SP tlog-witness)"),
    "provider": ("provider", "the development identity provider (oidc-provider on Node.js)"),
    "demo": ("demo", "run the whole flow against a real server and summarise"),
    "backup": ("ops", "copy database, blobs and checkpoints (not the keys)"),
    "restore": ("ops", "restore a backup into an empty data folder"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``command``, that command's module registers its full arguments and
    every other command is listed by name and help only."""
    parser = argparse.ArgumentParser(
        prog="gateway",
        description="Privacy-preserving data exchange hub between ministries.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"gateway {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = [COMMANDS[command][0]] if command in COMMANDS else []
    if command == "*":
        modules = sorted({module for module, _ in COMMANDS.values()})
    for module in modules:
        importlib.import_module(f"gateway.cli.{module}").register(sub)
    for name, (_, help_text) in COMMANDS.items():
        if name not in sub.choices:
            sub.add_parser(name, help=help_text)
    return parser


def _command(argv: Sequence[str]) -> str | None:
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command(arguments))
    args = parser.parse_args(arguments)
    try:
        result: int = args.handler(args)
        sys.stdout.flush()
        return result
    except GatewayError as exc:
        print(f"error: {exc.title}: {exc.detail}", file=sys.stderr)
        if exc.extra:
            print(json.dumps(exc.extra, indent=2, ensure_ascii=False), file=sys.stderr)
        return _exit_code(exc)
    except httpx.TransportError as exc:
        url = getattr(args, "url", None) or "the server"
        print(
            f"error: cannot reach {url} ({type(exc).__name__}); is the gateway running? "
            "(--url or GATEWAY_URL)",
            file=sys.stderr,
        )
        return EXIT_UNREACHABLE
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"error: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    except json.JSONDecodeError as exc:
        print(f"error: not valid JSON (line {exc.lineno}, column {exc.colno})", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. '| head': the reader has what it wanted
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _exit_code(exc: GatewayError) -> int:
    if isinstance(exc, ServiceUnavailable):
        return EXIT_UNREACHABLE
    if isinstance(exc, InvalidRequest | ConfigurationError):
        return EXIT_USAGE
    return EXIT_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
