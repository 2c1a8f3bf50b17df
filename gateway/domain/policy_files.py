"""Load ``policies/`` into a :class:`Catalogue`, reporting every problem with file and entry.

Layout of the folder::

    sources.yaml         sources: [...]
    recipients.yaml      recipients: [...]
    populations.yaml     populations: [...]
    municipalities.yaml  municipalities: {code: name}
    datasets/<id>.yaml   one dataset per file, file name = dataset id
    disclosure.yaml      disclosure_control: {...}  (the output checker's default rules)
    reports/<id>.yaml    one built-in aggregate report per file, file name = report id
    grants/<name>.yaml   grants: [...]  (one file per recipient by convention)

A catalogue with any problem is refused whole: the gateway does not start on half a policy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from gateway.domain.catalogue import (
    Catalogue,
    ColumnType,
    Dataset,
    Grant,
    IdentifierForm,
    Population,
    Purpose,
    Recipient,
    ReportDefinition,
    Source,
)
from gateway.domain.disclosure import DisclosureRules
from gateway.domain.identifiers import has_cpr
from gateway.domain.policy_disclosure import (
    aggregate_terms_problems,
    implication_problems,
    ptable_paths,
)
from gateway.errors import PolicyFileError

M = TypeVar("M", bound=BaseModel)


def policy_files(root: Path) -> list[Path]:
    """Every file that makes up the policy set, in a stable order (for hashing)."""
    return sorted(p for p in (*root.rglob("*.yaml"), *root.rglob("*.csv")) if p.is_file())


def hash_policy_files(root: Path) -> str:
    """SHA-256 over each file's relative path and bytes; changes when any policy file changes."""
    digest = hashlib.sha256()
    for path in policy_files(root):
        rel = path.relative_to(root).as_posix().encode()
        data = path.read_bytes()
        digest.update(len(rel).to_bytes(4, "big") + rel + len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


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


class _Loader:
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


def _unique(loader: _Loader, items: Iterable[tuple[Any, Path]], kind: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for item, path in items:
        if item.id in seen:
            loader.problems.append(f"{loader.rel(path)}: {kind} '{item.id}': duplicate id")
        else:
            seen[item.id] = item
    return seen


def load_catalogue(root: Path) -> Catalogue:
    """Load and cross-check the policy folder.

    Raises :class:`PolicyFileError` listing every problem found, each as ``file: entry: message``.
    """
    if not root.is_dir():
        raise PolicyFileError([f"{root}: policy folder not found"])
    ld = _Loader(root)
    sources = _unique(ld, ld.models(Source, root / "sources.yaml", "sources"), "source")
    recipients = _unique(
        ld, ld.models(Recipient, root / "recipients.yaml", "recipients"), "recipient"
    )
    populations = _unique(
        ld, ld.models(Population, root / "populations.yaml", "populations"), "population"
    )
    municipalities = _load_municipalities(ld, root / "municipalities.yaml")
    for recipient in recipients.values():
        if recipient.municipality is not None and recipient.municipality not in municipalities:
            ld.problems.append(
                f"recipients.yaml: recipient '{recipient.id}': municipality "
                f"'{recipient.municipality}' is not a code in municipalities.yaml"
            )

    dataset_items: list[tuple[Dataset, Path]] = []
    for path in sorted((root / "datasets").glob("*.yaml")):
        ds = ld.model(Dataset, ld.read(path), path, None)
        if ds is None:
            continue
        if ds.id != path.stem:
            ld.problems.append(f"{ld.rel(path)}: dataset '{ds.id}': id must equal the file name")
        dataset_items.append((ds, path))
        _check_dataset(ld, ds, path, sources)
    datasets = _unique(ld, dataset_items, "dataset")

    grant_items: list[tuple[Grant, Path]] = []
    for path in sorted((root / "grants").glob("*.yaml")):
        grant_items.extend(ld.models(Grant, path, "grants"))
    _unique(ld, grant_items, "grant")
    for grant, path in grant_items:
        _check_grant(ld, grant, path, datasets, recipients, populations)
    _check_overlaps(ld, grant_items)
    for pop in populations.values():
        _check_population(ld, pop, root / "populations.yaml", datasets)

    disclosure = _load_disclosure(ld, root / "disclosure.yaml")
    reports: dict[str, ReportDefinition] = {}
    for path in sorted((root / "reports").glob("*.yaml")):
        report = ld.model(ReportDefinition, ld.read(path), path, None)
        if report is not None:
            _check_report(ld, report, path, datasets, recipients, populations)
            reports[report.id] = report

    ptables, problems = ptable_paths(
        root,
        [(ld.rel(root / "disclosure.yaml"), disclosure)]
        + [(ld.rel(root / f"datasets/{d.id}.yaml"), d.disclosure) for d in datasets.values()]
        + [(ld.rel(root / f"reports/{r.id}.yaml"), r.disclosure) for r in reports.values()],
    )
    ld.problems.extend(problems)
    if ld.problems:
        raise PolicyFileError(ld.problems)
    return Catalogue(
        sources=sources,
        datasets=datasets,
        recipients=recipients,
        populations=populations,
        grants=tuple(g for g, _ in grant_items),
        municipalities=municipalities,
        disclosure=disclosure or DisclosureRules(),
        reports=reports,
        ptable_paths=ptables,
        policy_hash=hash_policy_files(root),
    )


def _load_disclosure(ld: _Loader, path: Path) -> DisclosureRules | None:
    doc = ld.read(path)
    if doc is None:
        return None
    if not isinstance(doc, dict) or set(doc) - {"disclosure_control", "changes"}:
        ld.problems.append(f"{ld.rel(path)}: expected one top-level map 'disclosure_control:'")
        return None
    return ld.model(DisclosureRules, doc.get("disclosure_control"), path, None)


def _check_report(
    ld: _Loader,
    report: ReportDefinition,
    path: Path,
    datasets: dict[str, Dataset],
    recipients: dict[str, Recipient],
    populations: dict[str, Population],
) -> None:
    where = f"{ld.rel(path)}: report '{report.id}'"
    if report.id != path.stem:
        ld.problems.append(f"{where}: id must equal the file name")
    for recipient in report.recipients:
        if recipient not in recipients:
            ld.problems.append(f"{where}: unknown recipient '{recipient}'")
    if report.population not in populations:
        ld.problems.append(f"{where}: unknown population '{report.population}'")
    else:
        population = populations[report.population]
        if population.own_municipality is not None:
            ld.problems.append(
                f"{where}: built-in reports are computed for the whole population; "
                f"'{population.id}' (own municipality) is not supported"
            )
        for recipient in report.recipients:
            _check_municipal_scope(ld, where, recipients.get(recipient), population)
    for item in report.datasets:
        ds = datasets.get(item.dataset)
        if ds is None:
            ld.problems.append(f"{where}: unknown dataset '{item.dataset}'")
            continue
        unknown = sorted(set(item.columns) - set(ds.shared_columns))
        if unknown:
            ld.problems.append(f"{where}: dataset '{ds.id}' has no columns {unknown}")


def _load_municipalities(ld: _Loader, path: Path) -> dict[str, str]:
    doc = ld.read(path)
    if doc is None:
        return {}
    table = doc.get("municipalities") if isinstance(doc, dict) else None
    if not isinstance(table, dict):
        ld.problems.append(f"{ld.rel(path)}: expected 'municipalities:' as a code -> name map")
        return {}
    out: dict[str, str] = {}
    for code, name in table.items():
        code_s = f"{code:03d}" if isinstance(code, int) else str(code)
        if not (len(code_s) == 3 and code_s.isdigit()):
            ld.problems.append(f"{ld.rel(path)}: municipality '{code}': code must be 3 digits")
        out[code_s] = str(name)
    return out


def _check_dataset(ld: _Loader, ds: Dataset, path: Path, sources: dict[str, Source]) -> None:
    where = f"{ld.rel(path)}: dataset '{ds.id}'"
    if ds.owner not in sources:
        ld.problems.append(f"{where}: owner '{ds.owner}' is not a known source")
    names = [c.name for c in ds.columns]
    if len(set(names)) != len(names):
        ld.problems.append(f"{where}: duplicate column names")
    cprs = [c for c in ds.columns if c.type is ColumnType.CPR]
    if len(cprs) != 1:
        ld.problems.append(f"{where}: needs exactly one column of type cpr, has {len(cprs)}")
    elif not cprs[0].required:
        ld.problems.append(f"{where}: the cpr column must be required")
    for col in ds.columns:
        if col.type is ColumnType.CATEGORY and not col.values:
            ld.problems.append(f"{where}: column '{col.name}': a category needs 'values'")
        if col.type is not ColumnType.CATEGORY and col.values:
            ld.problems.append(f"{where}: column '{col.name}': only a category has 'values'")
    for role, name in (("event_start", ds.event_start), ("event_end", ds.event_end)):
        if name is None:
            continue
        if name not in names:
            ld.problems.append(f"{where}: {role} '{name}' is not a column")
        elif ds.column(name).type not in (ColumnType.DATE, ColumnType.MONTH):
            ld.problems.append(f"{where}: {role} '{name}' must be a date or month column")
    for imprecise in ds.quality.imprecise_dates:
        if imprecise.column not in names:
            ld.problems.append(f"{where}: quality: '{imprecise.column}' is not a column")
        elif ds.column(imprecise.column).type not in (ColumnType.DATE, ColumnType.MONTH):
            ld.problems.append(f"{where}: quality: '{imprecise.column}' is not a date column")
    for name in ds.quality.thresholds.completeness:
        if name not in names or ds.column(name).required:
            ld.problems.append(
                f"{where}: quality: completeness of '{name}': not an optional column"
            )
    ld.problems.extend(implication_problems(where, ds))
    if ds.restricted and not ds.restriction_citation:
        ld.problems.append(f"{where}: a restricted dataset needs a restriction_citation")
    if not ds.purposes:
        ld.problems.append(f"{where}: purposes must name at least one purpose")


def _check_grant(
    ld: _Loader,
    grant: Grant,
    path: Path,
    datasets: dict[str, Dataset],
    recipients: dict[str, Recipient],
    populations: dict[str, Population],
) -> None:
    where = f"{ld.rel(path)}: grant '{grant.id}'"
    ld.problems.extend(aggregate_terms_problems(where, grant))
    if grant.recipient not in recipients:
        ld.problems.append(f"{where}: recipient '{grant.recipient}' is not a known recipient")
    if grant.population not in populations:
        ld.problems.append(f"{where}: population '{grant.population}' is not defined")
    else:
        _check_municipal_scope(
            ld, where, recipients.get(grant.recipient), populations[grant.population]
        )
    if grant.valid_to is not None and grant.valid_to < grant.valid_from:
        ld.problems.append(f"{where}: valid_to {grant.valid_to} is before valid_from")
    if not grant.purposes:
        ld.problems.append(f"{where}: purposes must name at least one purpose")
    if grant.identifier is IdentifierForm.CPR:
        if grant.purposes != {Purpose.ADMINISTRATION}:
            ld.problems.append(f"{where}: CPR may be granted for the administration purpose only")
        if not (grant.approval_reference or "").strip():
            ld.problems.append(f"{where}: a CPR grant needs the approval_reference")
    ds = datasets.get(grant.dataset)
    if ds is None:
        ld.problems.append(f"{where}: dataset '{grant.dataset}' is not a known dataset")
        return
    if ds.restricted and not (grant.restricted_exception or "").strip():
        ld.problems.append(
            f"{where}: dataset '{ds.id}' is restricted (no onward transfer); a grant on it needs "
            "an explicit restricted_exception citing the basis"
        )
    if grant.restricted_exception and not ds.restricted:
        ld.problems.append(f"{where}: restricted_exception on '{ds.id}', which is not restricted")
    extra = sorted(p.value for p in grant.purposes - ds.purposes)
    if extra:
        shared = sorted(p.value for p in ds.purposes)
        ld.problems.append(
            f"{where}: purposes {extra} are not among dataset '{ds.id}' shared purposes {shared}"
        )
    unknown = sorted(set(grant.columns) - set(ds.shared_columns))
    if unknown:
        ld.problems.append(f"{where}: columns {unknown} are not shareable columns of '{ds.id}'")


def _check_municipal_scope(
    ld: _Loader, where: str, recipient: Recipient | None, population: Population
) -> None:
    """A municipality sees its own citizens: a grant to a municipal recipient must use a
    population limited to the recipient's own municipality, and only such a recipient can be
    given one (for anyone else "own municipality" means nothing)."""
    if recipient is None:
        return
    municipal = recipient.kind == "municipality" or recipient.municipality is not None
    if municipal and population.own_municipality is None:
        ld.problems.append(
            f"{where}: '{recipient.id}' is a municipality; its grant needs a population limited "
            f"to its own municipality (own_municipality), not '{population.id}'"
        )
    if population.own_municipality is not None and recipient.municipality is None:
        ld.problems.append(
            f"{where}: population '{population.id}' is limited to the recipient's own "
            f"municipality, but '{recipient.id}' names no municipality"
        )


def _check_overlaps(ld: _Loader, grants: list[tuple[Grant, Path]]) -> None:
    """Two grants for one recipient, dataset and purpose in force on the same day are ambiguous."""
    for i, (a, path) in enumerate(grants):
        for b, _ in grants[i + 1 :]:
            if (a.recipient, a.dataset) != (b.recipient, b.dataset):
                continue
            shared = a.purposes & b.purposes
            if shared and _periods_overlap(a, b):
                ld.problems.append(
                    f"{ld.rel(path)}: grant '{a.id}': overlaps grant '{b.id}' for purposes "
                    f"{sorted(p.value for p in shared)}"
                )


def _periods_overlap(a: Grant, b: Grant) -> bool:
    a_end = a.valid_to or b.valid_to
    b_end = b.valid_to or a.valid_to
    if a_end is None or b_end is None:
        return True
    return a.valid_from <= b_end and b.valid_from <= a_end


def _check_population(
    ld: _Loader, pop: Population, path: Path, datasets: dict[str, Dataset]
) -> None:
    where = f"{ld.rel(path)}: population '{pop.id}'"
    if pop.dataset is None:
        if pop.match:
            ld.problems.append(f"{where}: 'match' needs a 'dataset'")
        return
    ds = datasets.get(pop.dataset)
    if ds is None:
        ld.problems.append(f"{where}: dataset '{pop.dataset}' is not a known dataset")
        return
    if ds.restricted:
        ld.problems.append(
            f"{where}: defined on restricted dataset '{ds.id}': membership would disclose it"
        )
    own = pop.own_municipality
    if own is not None and (
        own not in ds.column_names or ds.column(own).type.value != "municipality"
    ):
        ld.problems.append(
            f"{where}: own_municipality '{own}' is not a municipality column of '{ds.id}'"
        )
    for col, value in pop.match.items():
        if col not in ds.column_names:
            ld.problems.append(f"{where}: match column '{col}' is not a column of '{ds.id}'")
        elif ds.column(col).values and value not in (ds.column(col).values or ()):
            ld.problems.append(f"{where}: match value '{value}' is not allowed in '{col}'")
