"""The retention plan: every delivery and microdata release the hub holds, with the day its
rule lets it go, the rule and its citation in words, and the legal holds that delay it. What
``gateway retention plan`` shows before anything goes, and what the sweep erases.

A delivery's state comes from its month's versions (:class:`gateway.domain.versions.
MonthVersions`): the current one is kept by the period rule; one a correction replaced, one
withdrawn, or one held and never confirmed goes sooner. A release's terms are its grants':
the strictest of the grants of the datasets it read. Whatever has no rule (a dataset or grant
no longer in the policies) is kept and said to have none: nothing is erased without a rule.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from gateway.domain.catalogue import Catalogue
from gateway.domain.permissions import authorize
from gateway.domain.principals import Principal
from gateway.domain.records import DeliveryRecord, ExtractRecord, ReleaseKind, ReleaseRecord
from gateway.domain.retention import (
    Due,
    Hold,
    delivery_due,
    delivery_state,
    grant_end,
    release_due,
)
from gateway.domain.versions import MonthVersions
from gateway.ports import UnitOfWork
from gateway.services.context import Context


@dataclass(frozen=True)
class Item:
    """One thing the hub holds, and when it must go."""

    kind: str  # delivery | release
    id: str
    state: str
    due: Due | None  # None: kept as published (aggregates), or no rule (said in ``note``)
    holds: tuple[str, ...]
    erased_at: str | None
    blob_keys: tuple[str, ...]
    sha256: str
    refs: dict[str, str]  # dataset, period, source / release, recipient
    note: str = ""

    def due_by(self, on: dt.date) -> bool:
        """Whether it is to be erased on ``on`` (due, not held, not erased yet)."""
        return (
            self.erased_at is None and self.due is not None and self.due.on <= on and not self.holds
        )

    def as_dict(self) -> dict[str, Any]:
        due = self.due
        return {
            "kind": self.kind,
            "id": self.id,
            "state": "erased" if self.erased_at else self.state,
            "due": due.on.isoformat() if due else None,
            "rule": due.rule.value if due else None,
            "reason": due.reason if due else self.note,
            "citation": due.citation if due else None,
            "held_by": list(self.holds),
            "erased_at": self.erased_at,
            **self.refs,
        }


def _day(stamp: str | None) -> dt.date | None:
    return dt.date.fromisoformat(stamp[:10]) if stamp else None


def _delivery_item(
    catalogue: Catalogue, record: DeliveryRecord, month: MonthVersions, holds: list[Hold]
) -> Item:
    state, since = delivery_state(record, month)
    refs = {"dataset": record.dataset, "period": record.period, "source": record.source}
    ds = catalogue.datasets.get(record.dataset)
    terms = ds.retention if ds is not None else None
    due = None if terms is None else delivery_due(terms, record.period, state, _day(since))
    held = tuple(
        h.id
        for h in holds
        if h.covers_delivery(dataset=record.dataset, source=record.source, period=record.period)
    )
    return Item(
        "delivery",
        record.id,
        state.value,
        due,
        held,
        record.erased_at,
        (record.blob_key, record.vault_blob_key),
        record.sha256,
        refs,
        "" if due else "no retention rule: the dataset is no longer in the policies; kept",
    )


def _release_item(
    catalogue: Catalogue, record: ReleaseRecord, extract: ExtractRecord | None, holds: list[Hold]
) -> Item | None:
    if record.kind != ReleaseKind.MICRODATA:
        return None  # aggregates are kept as published: no person-level data
    inputs = json.loads(record.inputs) if record.inputs else []
    read = [
        (i["dataset"], catalogue.datasets[i["dataset"]].owner, i["period"])
        for i in inputs
        if i["dataset"] in catalogue.datasets
    ]
    held = tuple(h.id for h in holds if h.covers_release(record.id, read))
    refs = {"release": record.id, "recipient": record.recipient}
    datasets = [d.dataset for d in extract.spec.datasets] if extract else []
    grants = [g for d in datasets for g in catalogue.grants_for(record.recipient, d)]
    terms = [g.retention for g in grants if g.retention is not None]
    due = None
    if terms and len(terms) == len(grants):
        strictest = min(terms, key=lambda t: t.days_after_pull)
        ends = [e for g in grants if (e := grant_end(g.valid_to, g.revoked)) is not None]
        due = release_due(
            strictest,
            created=_day(record.created_at) or dt.date.min,
            last_pulled=_day(record.last_pulled_at),
            grant_ends=min(ends) if ends else None,
        )
    return Item(
        "release",
        record.id,
        record.status,
        due,
        held,
        record.erased_at,
        (record.blob_key,),
        record.sha256,
        refs,
        "" if due else "no retention rule: a grant it was made under is no longer in the policies",
    )


def items(ctx: Context, uow: UnitOfWork) -> list[Item]:
    """Everything held, with its retention (read in ``uow``)."""
    holds = uow.holds(standing_only=True)
    months: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for version in uow.all_versions():
        months[(version.dataset, version.period)].append(version)
    found = [
        _delivery_item(
            ctx.catalogue, d, MonthVersions.of(months.get((d.dataset, d.period), [])), holds
        )
        for d in uow.all_deliveries()
    ]
    for release in uow.all_releases():
        item = _release_item(ctx.catalogue, release, uow.get_extract(release.extract_id), holds)
        if item is not None:
            found.append(item)
    return found


@dataclass(frozen=True)
class Plan:
    on: dt.date
    items: list[Item]

    def as_dict(self) -> dict[str, Any]:
        due = [i for i in self.items if i.due_by(self.on)]
        held = [i for i in self.items if i.holds and i.erased_at is None]
        return {
            "on": self.on.isoformat(),
            "summary": {
                "held_at_the_hub": sum(1 for i in self.items if i.erased_at is None),
                "due_now": len(due),
                "delayed_by_holds": len(held),
                "erased": sum(1 for i in self.items if i.erased_at),
                "next_due": min(
                    (i.due.on.isoformat() for i in self.items if i.due and not i.erased_at),
                    default=None,
                ),
            },
            "items": [i.as_dict() for i in self.items],
        }


def plan(ctx: Context, *, by: Principal, on: dt.date | None = None) -> Plan:
    """What would go and when, as of ``on`` (today by default), before anything goes."""
    authorize(by, "retention.plan")
    with ctx.store.unit_of_work() as uow:
        found = items(ctx, uow)
    found.sort(key=lambda i: (i.due.on if i.due else dt.date.max, i.kind, i.id))
    return Plan(on or ctx.today(), found)
