"""The records of processing activities (GDPR art. 30), generated from the policy files: one
activity for each dataset the hub receives (collection) and one for each grant (disclosure to
a recipient), each with what article 30(1) asks for: the controller and its DPO, the purposes,
the legal basis with its citation, the categories of data subjects and of personal data, the
recipients, transfers to third countries (none), the time limits for erasure, and the
technical and organisational measures; plus, for grants, the DPIA that covers the processing
and when it is due for review.

The same record is given as plain data (:func:`build`), as JSON-LD in the W3C Data Privacy
Vocabulary (:func:`to_dpv`), and as a printable page (the console and ``gateway records``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from gateway.domain.catalogue import (
    Catalogue,
    ColumnType,
    Dataset,
    Grant,
    IdentifierForm,
    OutputForm,
)
from gateway.domain.retention import grant_end

DPV = "https://w3id.org/dpv#"
EU_GDPR = "https://w3id.org/dpv/legal/eu/gdpr#"
# The hub's safeguards (art. 32), for every activity; a grant adds its own (four eyes, the
# form of its persons, disclosure control for aggregates).
MEASURES = (
    (
        "Pseudonymisation",
        "CPR numbers are replaced by keyed pseudonyms before anything is "
        "stored; each recipient gets its own pseudonyms",
    ),
    ("Encryption", "everything stored is sealed with AES-256-GCM under a data key per file"),
    ("AccessControlMethod", "one permission table; every use case checks ownership itself"),
    ("AuditLog", "every transfer and refusal is an entry of an append-only, witnessed log"),
)

# The DPV concept each measure is an instance of (measures DPV has no term for are technical
# or organisational measures named by their label).
DPV_MEASURES = {
    "Pseudonymisation": "dpv:Pseudonymisation",
    "Encryption": "dpv:Encryption",
    "AccessControlMethod": "dpv:AccessControlMethod",
    "FourEyes": "dpv:OrganisationalMeasure",
}


def _dataset_activity(catalogue: Catalogue, ds: Dataset) -> dict[str, Any]:
    source = catalogue.sources[ds.owner]
    terms = ds.retention
    return {
        "id": f"collection/{ds.id}",
        "kind": "collection",
        "name": f"Receipt of {ds.title} from {source.name}",
        "purposes": sorted(p.value for p in ds.purposes),
        "purpose_basis": ds.purpose_citation,
        "legal_basis": ds.collection_basis or "none: deliveries are refused",
        "data_subjects": "persons in the delivered data (every CPR number a delivery holds)",
        "personal_data": [_column(c.name, c.description, c.type) for c in ds.columns],
        "source": source.name,
        "recipients": [],
        "third_countries": "none",
        "retention": None
        if terms is None
        else {
            "current": f"{terms.years_after_period} years after the month delivered",
            "superseded": f"{terms.superseded_months} months after a correction replaced it",
            "withdrawn": f"{terms.withdrawn_days} days after its source withdrew it",
            "citation": terms.citation,
        },
        "measures": [{"measure": m, "description": d} for m, d in MEASURES],
        "restricted": ds.restriction_citation if ds.restricted else None,
    }


def _column(name: str, description: str, kind: ColumnType) -> dict[str, str]:
    shown = "the person's CPR number (pseudonymised on receipt)" if kind is ColumnType.CPR else ""
    return {"column": name, "description": description or shown, "type": kind.value}


def _grant_activity(catalogue: Catalogue, grant: Grant, on: dt.date) -> dict[str, Any]:
    ds = catalogue.datasets[grant.dataset]
    recipient = catalogue.recipients[grant.recipient]
    population = catalogue.populations[grant.population]
    measures = [{"measure": m, "description": d} for m, d in MEASURES]
    measures.append(
        {
            "measure": "FourEyes",
            "description": f"every release approved by a second person ({grant.four_eyes.value})",
        }
    )
    if grant.identifier is IdentifierForm.CPR:
        measures[0] = {
            "measure": "Pseudonymisation",
            "description": "CPR is released under the approval " + (grant.approval_reference or ""),
        }
    if OutputForm.AGGREGATE in grant.outputs:
        method = grant.aggregates.method or catalogue.disclosure.method
        measures.append(
            {
                "measure": "StatisticalDisclosureControl",
                "description": f"aggregates protected by {method.value} and checked against "
                "everything published before",
            }
        )
    columns = {c.name: c for c in ds.columns}
    terms, dpia = grant.retention, grant.dpia
    ends = grant_end(grant.valid_to, grant.revoked)
    return {
        "id": f"disclosure/{grant.id}",
        "kind": "disclosure",
        "name": f"Disclosure of {ds.title} to {recipient.name}",
        "purposes": sorted(p.value for p in grant.purposes),
        "legal_basis": grant.citation,
        "data_subjects": population.description,
        "personal_data": [
            _column(name, columns[name].description, columns[name].type)
            for name in grant.columns
            if name in columns
        ],
        "source": catalogue.sources[ds.owner].name,
        "recipients": [recipient.name],
        "outputs": sorted(o.value for o in grant.outputs),
        "third_countries": "none",
        "valid_from": grant.valid_from.isoformat(),
        "ends": ends.isoformat() if ends else None,
        "in_force": grant.in_force(on),
        "retention": None
        if terms is None
        else {
            "at_the_hub": f"{terms.days_after_pull} days after the recipient's last pull, "
            "never beyond the grant's end; aggregates as published",
            "recipient_deletion": f"the recipient confirms deletion within "
            f"{terms.recipient_deletion_days} days after the grant ends",
            "citation": terms.citation,
        },
        "measures": measures,
        "dpia": None
        if dpia is None
        else {
            "reference": dpia.reference,
            "review_by": dpia.review_by.isoformat(),
            "review_due": dpia.review_due(on),
        },
    }


def build(catalogue: Catalogue, on: dt.date) -> dict[str, Any]:
    """The whole record as of ``on``: the controller, then every activity."""
    controller = catalogue.controller
    return {
        "as_of": on.isoformat(),
        "policy_hash": catalogue.policy_hash,
        "controller": None if controller is None else controller.model_dump(mode="json"),
        "activities": [
            *(_dataset_activity(catalogue, ds) for ds in catalogue.datasets.values()),
            *(_grant_activity(catalogue, g, on) for g in catalogue.grants),
        ],
    }


def to_dpv(record: dict[str, Any]) -> dict[str, Any]:
    """The record as JSON-LD in the W3C Data Privacy Vocabulary: each activity a
    ``dpv:Process`` with its purposes, legal basis, data subjects, personal data, recipients,
    storage condition, measures and impact assessment."""
    controller = record.get("controller") or {}
    graph = []
    for activity in record["activities"]:
        node: dict[str, Any] = {
            "@id": f"urn:gateway:activity:{activity['id']}",
            "@type": "dpv:Process",
            "dct:title": activity["name"],
            "dpv:hasDataController": {
                "@type": "dpv:DataController",
                "dpv:hasName": controller.get("name", ""),
            },
            "dpv:hasPurpose": [
                {"@type": "dpv:Purpose", "skos:prefLabel": p} for p in activity["purposes"]
            ],
            "dpv:hasLegalBasis": {
                "@type": "dpv:LegalBasis",
                "skos:prefLabel": activity["legal_basis"],
                "skos:broader": {"@id": "eu-gdpr:A6-1-e"},
            },
            "dpv:hasDataSubject": {
                "@type": "dpv:DataSubject",
                "skos:prefLabel": activity["data_subjects"],
            },
            "dpv:hasPersonalData": [
                {
                    "@type": "dpv:PersonalData",
                    "skos:prefLabel": c["column"],
                    "dct:description": c["description"],
                }
                for c in activity["personal_data"]
            ],
            "dpv:hasRecipient": [
                {"@type": "dpv:Recipient", "dpv:hasName": r} for r in activity["recipients"]
            ],
            "dpv:hasTechnicalOrganisationalMeasure": [
                {
                    "@type": DPV_MEASURES.get(m["measure"], "dpv:TechnicalMeasure"),
                    "skos:prefLabel": m["measure"],
                    "dct:description": m["description"],
                }
                for m in activity["measures"]
            ],
        }
        retention = activity.get("retention")
        if retention:
            node["dpv:hasStorageCondition"] = {
                "@type": "dpv:StorageDuration",
                "dct:description": "; ".join(
                    str(v) for k, v in retention.items() if k != "citation"
                ),
                "dct:source": retention["citation"],
            }
        dpia = activity.get("dpia")
        if dpia:
            node["dpv:hasImpactAssessment"] = {
                "@type": "dpv:DPIA",
                "dct:identifier": dpia["reference"],
                "dct:valid": dpia["review_by"],  # due for review by
            }
        graph.append(node)
    return {
        "@context": {
            "dpv": DPV,
            "eu-gdpr": EU_GDPR,
            "dct": "http://purl.org/dc/terms/",
            "skos": "http://www.w3.org/2004/02/skos/core#",
        },
        "dct:created": record["as_of"],
        "dct:identifier": record["policy_hash"],
        "@graph": graph,
    }
