"""The answer to a person's access request (GDPR art. 15), built from the audit entries the
keyed lookup found and the policies in force: what article 15, stk. 1 asks for, in words.

For each release that held the person's data: the recipient by name, the purpose, the legal
basis with its citation, the categories of data (the columns released), when, who approved it,
and when it was pulled. For each dataset delivered about the person: its source by name. How
long the data are kept, at the hub and by each recipient. The person's rights and where to
complain. The entries themselves go in an appendix, each with the index of its inclusion proof.
"""

from __future__ import annotations

import json
from typing import Any

from gateway.domain.audit_query import AuditQuery
from gateway.services.context import Context

PURPOSES = {  # the catalogue's purposes in Danish, then English
    "statistics": ("statistik", "statistics"),
    "analysis": ("analyse", "analysis"),
    "administration": ("administration af den enkelte borgers sag", "administration of cases"),
}
OUTPUTS = {
    "microdata": (
        "pseudonymiserede oplysninger på personniveau",
        "pseudonymised person-level data",
    ),
    "aggregate": ("optællinger i tabeller (ikke personoplysninger)", "counts in tables"),
}
RIGHTS = (
    ("Berigtigelse (art. 16)", "Rectification (art. 16)"),
    ("Sletning (art. 17)", "Erasure (art. 17)"),
    ("Begrænsning af behandling (art. 18)", "Restriction of processing (art. 18)"),
    ("Indsigelse (art. 21)", "Objection (art. 21)"),
    (
        "Rettighederne kan være begrænsede, når oplysninger alene behandles til statistik eller "
        "forskning (art. 89, stk. 2)",
        "These rights may be limited where data are processed only for statistics or research "
        "(art. 89(2))",
    ),
)


def kept_terms(ctx: Context, entries: list[dict[str, Any]]) -> list[dict[str, str]]:
    """How long the data are kept (art. 15, stk. 1, litra d): per dataset delivered about the
    person, at the hub; per grant a release was made under, at the hub and by the recipient."""
    catalogue = ctx.catalogue
    datasets = sorted(
        {
            e["refs"]["dataset"]
            for e in entries
            if e["type"].startswith("delivery.") and "dataset" in e.get("refs", {})
        }
    )
    lines: list[dict[str, str]] = []
    for dataset in datasets:
        ds = catalogue.datasets.get(dataset)
        if ds is None or ds.retention is None:
            continue
        kept = ds.retention
        lines.append(
            {
                "who": "the hub",
                "what": f"{dataset} ({ds.title})",
                "kept": f"{kept.years_after_period} years after the month it describes; a "
                "replaced or withdrawn delivery sooner",
                "citation": kept.citation,
            }
        )
    grants = {g.id: g for g in catalogue.grants}
    for grant_id in sorted({g for e in entries for g in _grants_of(e)}):
        grant = grants.get(grant_id)
        if grant is None or grant.retention is None:
            continue
        terms = grant.retention
        end = f"the grant's end ({grant.valid_to})" if grant.valid_to else "the grant's end"
        lines.append(
            {
                "who": grant.recipient,
                "what": f"{grant.dataset} under grant {grant.id}",
                "kept": f"at the hub {terms.days_after_pull} days after the recipient's pull; the "
                f"recipient deletes its copy within {terms.recipient_deletion_days} days after "
                f"{end}",
                "citation": terms.citation,
            }
        )
    return lines


def _grants_of(entry: dict[str, Any]) -> list[str]:
    if entry["type"] != "release.created":
        return []
    decision = entry.get("details", {}).get("decision", {})
    return [d["grant"] for d in decision.get("datasets", []) if d.get("grant")]


def answer(ctx: Context, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """The article 15 answer as data (the console prints it as a letter)."""
    catalogue = ctx.catalogue
    grants = {g.id: g for g in catalogue.grants}
    received = []
    pulled: dict[str, dict[str, list[str]]] = {}  # recipient -> release -> days (one search each)
    for entry in (e for e in entries if e["type"] == "release.created"):
        refs, details = entry["refs"], entry.get("details", {})
        decision = details.get("decision", {})
        release_id, recipient = refs.get("release", ""), refs.get("recipient", "")
        with ctx.store.unit_of_work() as uow:
            extract = uow.get_extract(refs["extract"]) if "extract" in refs else None
        columns = {d.dataset: list(d.columns) for d in extract.spec.datasets} if extract else {}
        purpose = decision.get("purpose", "")
        output = decision.get("output", "")
        for d in decision.get("datasets", []):
            grant = grants.get(d.get("grant") or "")
            ds = catalogue.datasets.get(d["dataset"])
            received.append(
                {
                    "release": release_id,
                    "audit_index": entry["index"],
                    "recipient": recipient,
                    "recipient_name": catalogue.recipients[recipient].name
                    if recipient in catalogue.recipients
                    else recipient,
                    "dataset": d["dataset"],
                    "dataset_title": ds.title if ds else d["dataset"],
                    "columns": columns.get(d["dataset"], []),
                    "purpose": PURPOSES.get(purpose, (purpose, purpose)),
                    "output": OUTPUTS.get(output, (output, output)),
                    "grant": grant.id if grant else d.get("grant"),
                    "citation": grant.citation if grant else "",
                    "released_on": str(entry.get("time", ""))[:10],
                    "approved_by": extract.decided_by if extract else None,
                    "pulled_on": pulled.setdefault(recipient, _pulls(ctx, recipient)).get(
                        release_id, []
                    ),
                }
            )
    sources = []
    delivered = [e for e in entries if e["type"] == "delivery.accepted"]
    for dataset in sorted({e["refs"].get("dataset", "") for e in delivered} - {""}):
        ds = catalogue.datasets.get(dataset)
        owner = catalogue.sources.get(ds.owner) if ds else None
        periods = sorted(
            {e["refs"].get("period", "") for e in delivered if e["refs"].get("dataset") == dataset}
        )
        sources.append(
            {
                "dataset": dataset,
                "title": ds.title if ds else dataset,
                "source": owner.name if owner else (ds.owner if ds else ""),
                "months": periods,
            }
        )
    controller = catalogue.controller
    return {
        "controller": controller.model_dump(mode="json") if controller else None,
        "received": received,
        "sources": sources,
        "kept": kept_terms(ctx, entries),
        "rights": [list(r) for r in RIGHTS],
        "entries": len(entries),
    }


def _pulls(ctx: Context, recipient: str) -> dict[str, list[str]]:
    """The days the recipient pulled each of its releases (its ``release.pulled`` entries)."""
    query = AuditQuery(event_type="release.pulled", recipient=recipient, limit=10_000)
    days: dict[str, set[str]] = {}
    for entry in ctx.store.search_audit(query):
        release = json.loads(entry.body).get("refs", {}).get("release")
        if release:
            days.setdefault(release, set()).add(entry.recorded_at[:10])
    return {release: sorted(found) for release, found in days.items()}
