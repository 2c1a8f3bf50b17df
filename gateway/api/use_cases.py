"""Every route names the use case it performs: a row of the permission table.

The name travels in the OpenAPI document (``x-use-case``), so the permission test can walk
every route the app serves and fail for one without a row (see
:mod:`gateway.domain.permissions`).
"""

from __future__ import annotations

from typing import Any

from gateway.domain.permissions import PERMISSIONS, PUBLIC

KEY = "x-use-case"


def use_case(name: str, **more: Any) -> dict[str, Any]:
    """``openapi_extra`` for a route performing ``name`` (plus any other OpenAPI members)."""
    if name not in PERMISSIONS and name not in PUBLIC:
        raise KeyError(f"use case '{name}' has no row in the permission table")
    return {KEY: name, **more}
