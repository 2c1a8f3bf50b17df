"""Each storage adapter satisfies its port, member by member, as zope.interface's
``verifyClass`` checks a class against an interface: every method of the port exists on the
implementation with the same parameters (names, kinds, defaults), and every attribute the port
declares is set. mypy proves the same statically (``gateway/storage/conformance.py``); this
test says which member differs, in the suite."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from gateway.ports import Cosigning
from gateway.services.audit.witnessing import Witnessing
from gateway.storage.conformance import IMPLEMENTATIONS

PAIRS = [(port, impl) for port, impls in IMPLEMENTATIONS.items() for impl in impls]
PAIRS.append((Cosigning, Witnessing))


def _members(port: type) -> dict[str, Any]:
    own = {
        name: value
        for klass in reversed(port.__mro__)
        if klass not in (object,) and klass.__module__.startswith("gateway.")
        for name, value in vars(klass).items()
        if not name.startswith("_")
    }
    annotated = {
        name: None
        for klass in port.__mro__
        if klass.__module__.startswith("gateway.")
        for name in getattr(klass, "__annotations__", {})
    }
    return {**annotated, **own}


def _parameters(fn: Any) -> list[tuple[str, Any, bool]]:
    signature = inspect.signature(fn)
    return [
        (p.name, p.kind, p.default is not inspect.Parameter.empty)
        for p in signature.parameters.values()
    ]


@pytest.mark.parametrize(("port", "impl"), PAIRS, ids=lambda c: c.__name__)
def test_each_adapter_has_every_member_of_its_port_with_its_signature(
    port: type, impl: type
) -> None:
    members = _members(port)
    assert members, f"{port.__name__} declares nothing"
    for name, declared in members.items():
        if declared is None:  # an attribute: set in __init__ or on the class
            assert name in impl.__dict__ or name in _init_assigns(impl) or hasattr(impl, name), (
                f"{impl.__name__} does not set {port.__name__}.{name}"
            )
            continue
        assert hasattr(impl, name), f"{impl.__name__} lacks {port.__name__}.{name}"
        if callable(declared):
            assert _parameters(getattr(impl, name)) == _parameters(declared), (
                f"{impl.__name__}.{name} does not take what {port.__name__}.{name} takes"
            )


def _init_assigns(impl: type) -> set[str]:
    """Names ``__init__`` (or a dataclass's fields) assign on ``self``."""
    fields = set(getattr(impl, "__dataclass_fields__", {}))
    try:
        source = inspect.getsource(impl.__init__)  # type: ignore[misc]
    except (OSError, TypeError):
        return fields
    return fields | {
        line.split("self.", 1)[1].split("=")[0].split(":")[0].strip()
        for line in source.splitlines()
        if "self." in line and "=" in line
    }
