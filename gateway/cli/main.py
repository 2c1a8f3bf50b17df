"""Entry point: parses arguments and dispatches to one function per verb.

Domain errors are printed as one readable line (plus details) with exit code 2; they never
carry payload data, so printing them is safe.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from gateway import __version__
from gateway.cli import client, demo, local, login, ops, provider
from gateway.errors import GatewayError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gateway", description="Privacy-preserving data exchange hub between ministries."
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
        return result
    except GatewayError as exc:
        print(f"error: {exc.title}: {exc.detail}", file=sys.stderr)
        if exc.extra:
            print(json.dumps(exc.extra, indent=2, ensure_ascii=False), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
