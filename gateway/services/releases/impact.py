"""A breach question, answered: which recipients and releases hold data from a given delivery
(a source reports a file sent in error, a key is feared lost, a month proves wrong). Read from
the inputs each release recorded when it was built; for auditors and the DPO.

Persons are the release's own count (everyone in it, not only those the delivery added), and
whether its recipient has collected it; an erased release is said to be erased."""

from __future__ import annotations

import json
from typing import Any

from gateway.domain import identifiers
from gateway.domain.permissions import authorize
from gateway.domain.principals import Principal
from gateway.errors import NotFound
from gateway.services.context import Context


def of_delivery(ctx: Context, *, by: Principal, delivery_id: str) -> dict[str, Any]:
    """The delivery, and every release that read it, with its recipient, persons and pulls."""
    authorize(by, "delivery.impact")
    identifiers.identifier("delivery_id", delivery_id, identifiers.DELIVERY_ID)
    with ctx.store.unit_of_work() as uow:
        delivery = uow.get_delivery(delivery_id)
        releases = uow.all_releases() if delivery is not None else []
    if delivery is None:
        raise NotFound(f"no delivery '{delivery_id}'")
    recipients = ctx.catalogue.recipients
    holding = []
    for release in releases:
        inputs = json.loads(release.inputs or "[]")
        if not any(i.get("delivery") == delivery_id for i in inputs):
            continue
        holding.append(
            {
                "release": release.id,
                "recipient": release.recipient,
                "recipient_name": recipients[release.recipient].name
                if release.recipient in recipients
                else release.recipient,
                "kind": str(release.kind),
                "status": str(release.status),
                "created_at": release.created_at,
                "rows": release.rows,
                "persons": release.persons,
                "pulled_at": release.last_pulled_at,
                "erased_at": release.erased_at,
            }
        )
    report = delivery.quality_report() or {}
    microdata = [h for h in holding if h["kind"] == "microdata"]
    return {
        "delivery": {
            "id": delivery.id,
            "source": delivery.source,
            "dataset": delivery.dataset,
            "period": delivery.period,
            "rows": delivery.rows,
            "persons": report.get("persons"),
            "erased_at": delivery.erased_at,
        },
        "releases": holding,
        "summary": {
            "recipients": sorted({h["recipient"] for h in holding}),
            "releases": len(holding),
            "microdata_releases": len(microdata),
            "collected_by_recipient": sum(1 for h in microdata if h["pulled_at"]),
        },
    }
