"""Every release per recipient, in the domain's terms: what it is (person-level data, tables,
a built-in report), its status, the grant and purpose it was released under, the deliveries it
read, its persons, whether the recipient collected it, and whether the checker's report is
there to open. The console's releases page reads this; approvers and auditors see all
recipients, a recipient its own.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from gateway.domain.permissions import authorize, permits
from gateway.domain.principals import Principal
from gateway.domain.records import ExtractRecord, ReleaseRecord
from gateway.services.context import Context


def _grants(ctx: Context, extract: ExtractRecord | None) -> list[str]:
    if extract is None:
        return []
    found = []
    for wanted in extract.spec.datasets:
        for grant in ctx.catalogue.grants_for(extract.recipient, wanted.dataset):
            if extract.spec.purpose in grant.purposes and grant.id not in found:
                found.append(grant.id)
    return found


def by_recipient(
    ctx: Context, *, by: Principal, recipient: str | None = None
) -> list[dict[str, Any]]:
    """Recipients in name order, each with its releases newest first."""
    authorize(by, "release.read", owner=recipient)
    with ctx.store.unit_of_work() as uow:
        releases = uow.all_releases()
        extracts = {e.id: e for e in uow.list_extracts(None)}
    grouped: dict[str, list[ReleaseRecord]] = defaultdict(list)
    for release in releases:
        if recipient and release.recipient != recipient:
            continue
        if not permits(by.roles, "release.read", owner=release.recipient == by.subject):
            continue
        grouped[release.recipient].append(release)
    names = ctx.catalogue.recipients
    out = []
    for who in sorted(grouped, key=lambda r: names[r].name if r in names else r):
        rows = []
        for release in sorted(grouped[who], key=lambda r: r.created_at, reverse=True):
            extract = extracts.get(release.extract_id)
            inputs = json.loads(release.inputs or "[]")
            rows.append(
                {
                    "id": release.id,
                    "kind": str(release.kind),
                    "status": "erased" if release.erased_at else str(release.status),
                    "created_at": release.created_at,
                    "purpose": str(extract.spec.purpose) if extract else None,
                    "population": extract.spec.population if extract else None,
                    "grants": _grants(ctx, extract),
                    "extract": release.extract_id,
                    "inputs": [
                        f"{i.get('dataset')} {i.get('period')}"
                        + (f" v{i['version']}" if i.get("version") else "")
                        for i in inputs
                    ],
                    "rows": release.rows,
                    "persons": release.persons,
                    "pulled_at": release.last_pulled_at,
                    "report": release.report_blob_key is not None,
                    "reviewed_by": release.reviewed_by,
                    "sha256": release.sha256,
                }
            )
        out.append(
            {"recipient": who, "name": names[who].name if who in names else who, "releases": rows}
        )
    return out
