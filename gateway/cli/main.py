"""Entry point: the Click command group, and what every failure turns into.

Every failure is one readable line on stderr (plus a gateway error's details, which never
carry payload data), never a traceback, and an exit code that says what kind of failure it was
(``EXIT_CODES``, shown in ``gateway --help``).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence

import click
import httpx

from gateway import __version__
from gateway.cli.framework import CONTEXT, LazyGroup, quiet_logging, quiet_stdout
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
    "serve": ("local_commands", "run the HTTP server in the foreground"),
    "keys": ("local_commands", "key management"),
    "synth": ("local_commands", "write deterministic synthetic deliveries"),
    "policy": ("local_commands", "the legal-basis policies"),
    "audit": ("local_commands", "the audit trail"),
    "db": ("local_commands", "database schema"),
    "push": ("client_commands", "push a delivery file (CSV or Parquet)"),
    "delivery": ("client_commands", "a delivery's version, and withdrawing it"),
    "extract": ("client_commands", "extract specifications"),
    "catalogue": ("client_commands", "the datasets and legal bases in force"),
    "sessions": ("client_commands", "the console's sessions: list, revoke (operators)"),
    "report": (
        "client_commands",
        "run a built-in aggregate report (e.g. ressourceforloeb) for a month",
    ),
    "login": (
        "login",
        "log in at the identity provider (a person: device code; a machine: client key)",
    ),
    "logout": ("login", "forget the session's tokens"),
    "witness": ("transparency", "run a witness for a gateway's audit log (C2SP tlog-witness)"),
    "provider": ("provider", "the development identity provider (oidc-provider on Node.js)"),
    "demo": ("demo", "run the whole flow against a real server and summarise"),
    "retention": ("retention_commands", "what the hub keeps until when; erase what is due"),
    "records": ("retention_commands", "the records of processing (GDPR art. 30)"),
    "holds": ("retention_commands", "legal holds: place, lift (two persons), list"),
    "deletions": ("retention_commands", "recipients confirm deleting their copies"),
    "backup": ("ops", "copy database, blobs and checkpoints (not the keys)"),
    "restore": ("ops", "restore a backup into an empty data folder"),
}


@click.group(
    cls=LazyGroup,
    table=COMMANDS,
    context_settings=CONTEXT,
    epilog="\b\n" + EXIT_CODES,  # \b: printed as written, not rewrapped
    help="Privacy-preserving data exchange hub between ministries.",
)
@click.version_option(__version__, "--version", prog_name="gateway", message="%(prog)s %(version)s")
def cli() -> None:
    """The gateway's command line."""


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    quiet_logging()
    try:
        result = cli.main(args=arguments, prog_name="gateway", standalone_mode=False)
        sys.stdout.flush()
        return result if isinstance(result, int) else EXIT_OK  # --help, --version: None
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.ClickException as exc:  # bad arguments: one line and the usage
        exc.show()
        return EXIT_USAGE
    except click.Abort:
        return EXIT_INTERRUPTED
    except GatewayError as exc:
        print(f"error: {exc.title}: {exc.detail}", file=sys.stderr)
        if exc.extra:
            print(json.dumps(exc.extra, indent=2, ensure_ascii=False), file=sys.stderr)
        return _exit_code(exc)
    except httpx.TransportError as exc:
        target = _named_url(arguments)
        print(
            f"error: cannot reach {target} ({type(exc).__name__}); is the gateway running? "
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
        quiet_stdout()
        return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _named_url(arguments: list[str]) -> str:
    """The gateway the command tried to reach: --url, else GATEWAY_URL."""
    for i, argument in enumerate(arguments):
        if argument == "--url" and i + 1 < len(arguments):
            return arguments[i + 1]
        if argument.startswith("--url="):
            return argument.split("=", 1)[1]
    return os.environ.get("GATEWAY_URL") or "the server"


def _exit_code(exc: GatewayError) -> int:
    if isinstance(exc, ServiceUnavailable):
        return EXIT_UNREACHABLE
    if isinstance(exc, InvalidRequest | ConfigurationError):
        return EXIT_USAGE
    return EXIT_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
