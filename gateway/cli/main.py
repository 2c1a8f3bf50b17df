"""Entry point: parses arguments and dispatches to one function per verb.

Every failure is one readable line on stderr (plus a gateway error's details, which never
carry payload data), never a traceback, and an exit code that says what kind of failure it was
(``EXIT_CODES``, shown in ``gateway --help``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

import httpx

from gateway import __version__
from gateway.cli import client, demo, local, login, ops, provider
from gateway.errors import ConfigurationError, GatewayError, InvalidRequest, ServiceUnavailable

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_CODES = """exit codes:
  0    done
  1    refused or failed (not logged in, not allowed, refused by policy, verification failed)
  2    usage: bad arguments, an unreadable or malformed input file, a configuration problem
  3    the gateway or the identity provider cannot be reached (or is not ready); retry
  130  interrupted"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gateway",
        description="Privacy-preserving data exchange hub between ministries.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"gateway {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    local.register(sub)
    client.register(sub)
    login.register(sub)
    provider.register(sub)
    demo.register(sub)
    ops.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
