"""The cross-checks of a policy set, each adding its problems to the loader: a dataset against
its source and columns, a grant against its recipient, datasets, populations and purposes,
grants that overlap, reports against the datasets they read, municipal scopes."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

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
from gateway.domain.policy_disclosure import (
    aggregate_terms_problems,
    implication_problems,
)
from gateway.domain.policy_loader import Loader

# What a citation may not lean on: this project's own working documents.
DEVELOPMENT_REFERENCE = re.compile(
    r"\bseed\s*\d+|\bissue\s*#?\d+|\bwork[- ]item\b|#\d{2,}|\bTODO\b|\bticket\b",
    re.IGNORECASE,
)


def load_disclosure(ld: Loader, path: Path) -> DisclosureRules | None:
    doc = ld.read(path)
    if doc is None:
        return None
    if not isinstance(doc, dict) or set(doc) - {"disclosure_control", "changes"}:
        ld.problems.append(f"{ld.rel(path)}: expected one top-level map 'disclosure_control:'")
        return None
    return ld.model(DisclosureRules, doc.get("disclosure_control"), path, None)


def check_report(
    ld: Loader,
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
            check_municipal_scope(ld, where, recipients.get(recipient), population)
    for item in report.datasets:
        ds = datasets.get(item.dataset)
        if ds is None:
            ld.problems.append(f"{where}: unknown dataset '{item.dataset}'")
            continue
        unknown = sorted(set(item.columns) - set(ds.shared_columns))
        if unknown:
            ld.problems.append(f"{where}: dataset '{ds.id}' has no columns {unknown}")


def load_municipalities(ld: Loader, path: Path) -> dict[str, str]:
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


def citation_problems(where: str, field: str, text: str | None) -> list[str]:
    """A citation names the law (act, section, executive order, decision), not a document of
    this project: references to seeds, issues or work items are refused."""
    if text and DEVELOPMENT_REFERENCE.search(text):
        found = DEVELOPMENT_REFERENCE.search(text)
        assert found is not None
        return [
            f"{where}: {field}: cites '{found.group(0)}', a development reference; cite the "
            "law's own reference (act, section, executive order) or the decision's"
        ]
    return []


def check_dataset(ld: Loader, ds: Dataset, path: Path, sources: dict[str, Source]) -> None:
    where = f"{ld.rel(path)}: dataset '{ds.id}'"
    if ds.retention is None:
        ld.problems.append(
            f"{where}: no retention rule: say how long its deliveries are kept (retention: "
            "years_after_period, superseded_months, withdrawn_days, citation)"
        )
    for field, text in (
        ("purpose_citation", ds.purpose_citation),
        ("restriction_citation", ds.restriction_citation),
        ("collection_basis", ds.collection_basis),
        ("retention.citation", ds.retention.citation if ds.retention else None),
        *((f"quality_notes[{i}]", note) for i, note in enumerate(ds.quality_notes)),
        *((f"changes[{i}]", note) for i, note in enumerate(ds.changes)),
    ):
        ld.problems.extend(citation_problems(where, field, text))
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


def check_grant(
    ld: Loader,
    grant: Grant,
    path: Path,
    datasets: dict[str, Dataset],
    recipients: dict[str, Recipient],
    populations: dict[str, Population],
) -> None:
    where = f"{ld.rel(path)}: grant '{grant.id}'"
    ld.problems.extend(aggregate_terms_problems(where, grant))
    if grant.retention is None:
        ld.problems.append(
            f"{where}: no retention rule: say how long its releases stay at the hub "
            "(retention: days_after_pull, recipient_deletion_days, citation)"
        )
    if grant.dpia is None:
        ld.problems.append(
            f"{where}: no DPIA: name the impact assessment that covers it (dpia: reference, "
            "review_by)"
        )
    for field, text in (
        ("citation", grant.citation),
        ("restricted_exception", grant.restricted_exception),
        ("aggregates.confidential_citation", grant.aggregates.confidential_citation),
        ("retention.citation", grant.retention.citation if grant.retention else None),
        *((f"changes[{i}]", note) for i, note in enumerate(grant.changes)),
    ):
        ld.problems.extend(citation_problems(where, field, text))
    if grant.recipient not in recipients:
        ld.problems.append(f"{where}: recipient '{grant.recipient}' is not a known recipient")
    if grant.population not in populations:
        ld.problems.append(f"{where}: population '{grant.population}' is not defined")
    else:
        check_municipal_scope(
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


def check_municipal_scope(
    ld: Loader, where: str, recipient: Recipient | None, population: Population
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


def check_overlaps(ld: Loader, grants: list[tuple[Grant, Path]]) -> None:
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


def check_population(ld: Loader, pop: Population, path: Path, datasets: dict[str, Dataset]) -> None:
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


def catalogue_warnings(catalogue: Catalogue, on: dt.date) -> list[str]:
    """What ``gateway policy check`` says without refusing: grants past their end or revoked
    (they decide nothing any more, but their releases may still be held), and DPIAs whose
    review date is near or past."""
    found = []
    for grant in catalogue.grants:
        if grant.revoked is not None and grant.revoked <= on:
            found.append(f"grant '{grant.id}': revoked from {grant.revoked}")
        elif grant.valid_to is not None and grant.valid_to < on:
            found.append(f"grant '{grant.id}': expired on {grant.valid_to}")
        if grant.dpia is not None and grant.dpia.review_due(on):
            when = "was due" if grant.dpia.review_by < on else "is due"
            found.append(
                f"grant '{grant.id}': the review of DPIA '{grant.dpia.reference}' {when} on "
                f"{grant.dpia.review_by}"
            )
    return found
