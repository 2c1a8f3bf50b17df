"""Reading policy files: YAML documents, their entries validated as models, every problem
collected with its file and entry (never a CPR-shaped value: the catalogue is published)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from gateway.domain.identifiers import has_cpr

M = TypeVar("M", bound=BaseModel)


def _cpr_shaped(value: Any, at: str = "") -> list[str]:
    """Where in a YAML document a string (key or value) holds something CPR-shaped."""
    if isinstance(value, str):
        return [at or "value"] if has_cpr(value) else []
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            shown = "[a key]" if has_cpr(str(key)) else str(key)  # never the key itself
            here = f"{at}.{shown}" if at else shown
            if shown == "[a key]":
                found.append(here)
            found += _cpr_shaped(item, here)
        return found
    if isinstance(value, list):
        return [w for i, item in enumerate(value) for w in _cpr_shaped(item, f"{at}[{i}]")]
    return []


class Loader:
    """Reads policy files and collects every problem with its file and entry (a catalogue
    with any problem is refused whole)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[str] = []

    def rel(self, path: Path) -> str:
        return path.relative_to(self.root.parent).as_posix() if self.root.parent else str(path)

    def read(self, path: Path) -> Any:
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            for where in _cpr_shaped(doc):
                self.problems.append(
                    f"{self.rel(path)}: {where}: holds a CPR-shaped number; policy files are "
                    "published (the catalogue endpoint) and must hold no personal identifier"
                )
            return doc
        except FileNotFoundError:
            self.problems.append(f"{self.rel(path)}: file is missing")
        except yaml.YAMLError as exc:
            self.problems.append(f"{self.rel(path)}: not valid YAML ({exc})")
        return None

    def entries(self, path: Path, key: str) -> list[Any]:
        doc = self.read(path)
        if doc is None:
            return []
        if not isinstance(doc, dict) or not isinstance(doc.get(key), list):
            self.problems.append(f"{self.rel(path)}: expected a top-level list '{key}:'")
            return []
        unknown = set(doc) - {key, "changes", "notes"}
        if unknown:
            self.problems.append(f"{self.rel(path)}: unknown top-level keys {sorted(unknown)}")
        return list(doc[key])

    def model(self, model: type[M], raw: Any, path: Path, position: int | None) -> M | None:
        label = self._label(raw, position)
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                loc = ".".join(str(p) for p in err["loc"]) or "(entry)"
                self.problems.append(f"{self.rel(path)}: {label}: {loc}: {err['msg']}")
            return None

    @staticmethod
    def _label(raw: Any, position: int | None) -> str:
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            return f"entry '{raw['id']}'"
        return "document" if position is None else f"entry #{position + 1}"

    def models(self, model: type[M], path: Path, key: str) -> list[tuple[M, Path]]:
        out = []
        for i, raw in enumerate(self.entries(path, key)):
            item = self.model(model, raw, path, i)
            if item is not None:
                out.append((item, path))
        return out


def unique(loader: Loader, items: Iterable[tuple[Any, Path]], kind: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for item, path in items:
        if item.id in seen:
            loader.problems.append(f"{loader.rel(path)}: {kind} '{item.id}': duplicate id")
        else:
            seen[item.id] = item
    return seen
