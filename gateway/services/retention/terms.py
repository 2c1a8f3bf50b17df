"""How long a person's data are kept, for an article 15 answer (GDPR art. 15, stk. 1, litra
d): for each dataset delivered about the person, how long the hub keeps it; for each recipient
that received it, how long the hub keeps the release and when the recipient must have deleted
its copy. Read from the audit entries the lookup found and the policies in force."""

from __future__ import annotations

from typing import Any

from gateway.services.context import Context


def for_entries(ctx: Context, entries: list[dict[str, Any]]) -> list[dict[str, str]]:
    """One line per dataset at the hub and per grant a release was made under, each with the
    rule's citation; the same for everyone with the same entries."""
    catalogue = ctx.catalogue
    datasets = sorted(
        {
            e["refs"]["dataset"]
            for e in entries
            if e["type"].startswith("delivery.") and "dataset" in e.get("refs", {})
        }
    )
    grant_ids = sorted(
        {
            d["grant"]
            for e in entries
            if e["type"] == "release.created"
            for d in e.get("details", {}).get("decision", {}).get("datasets", [])
            if d.get("grant")
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
                f"replaced or withdrawn delivery sooner",
                "citation": kept.citation,
            }
        )
    grants = {g.id: g for g in catalogue.grants}
    for grant_id in grant_ids:
        grant = grants.get(grant_id)
        if grant is None or grant.retention is None:
            continue
        r = grant.retention
        end = f"the grant's end ({grant.valid_to})" if grant.valid_to else "the grant's end"
        lines.append(
            {
                "who": grant.recipient,
                "what": f"{grant.dataset} under grant {grant.id}",
                "kept": f"at the hub {r.days_after_pull} days after the recipient's pull; the "
                f"recipient deletes its copy within {r.recipient_deletion_days} days after {end}",
                "citation": r.citation,
            }
        )
    return lines
