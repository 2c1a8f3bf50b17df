"""OpenAPI descriptions of answers that are files or text, not JSON."""

from __future__ import annotations

from typing import Any


def binary(description: str, *media_types: str) -> dict[str, Any]:
    """An OpenAPI response of files, not JSON."""
    schema = {"type": "string", "format": "binary"}
    return {"description": description, "content": {m: {"schema": schema} for m in media_types}}


def text(description: str) -> dict[str, Any]:
    """An OpenAPI response of plain text."""
    return {"description": description, "content": {"text/plain": {"schema": {"type": "string"}}}}
