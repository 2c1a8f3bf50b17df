"""Rules of the code that are not about floors (those are the import contracts in
pyproject.toml, checked by tests/unit/test_import_rules.py): who may touch raw cryptography
and tokens, and the CLI's lazy command table."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "gateway"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_only_the_crypto_and_identity_packages_import_cryptography_or_jwt() -> None:
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.parent.name not in {"crypto", "identity"}
        and any(n.startswith(("cryptography", "jwt")) for n in _imports(path))
    ]
    assert offenders == []


def test_the_cli_command_table_matches_what_each_module_registers() -> None:
    """'gateway --help' lists commands from a table (so it imports nothing heavy); each must be
    defined, under that name, by the module the table names, and each module's commands must
    all be in the table."""
    import importlib

    from gateway.cli.main import COMMANDS

    for name, (module, _help) in COMMANDS.items():
        command = importlib.import_module(f"gateway.cli.{module}").COMMANDS[name]
        assert command.name == name, (name, command.name)
    for module in {m for m, _ in COMMANDS.values()}:
        defined = importlib.import_module(f"gateway.cli.{module}").COMMANDS
        assert all(COMMANDS[name][0] == module for name in defined), module
