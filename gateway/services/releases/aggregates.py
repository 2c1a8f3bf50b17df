"""Aggregate releases: compute, check for disclosure, release, hold for review or refuse.

The disclosure checker decides what happens to a computed aggregate (ACRO's statuses):

* ``pass``: released at once (``release.created``);
* ``review``: held in the approvers' queue (``release.held-for-review``) until an approver who
  neither requested the specification nor ran it releases or withholds it;
* ``fail``: refused with the checker's reasons (``release.refused``); nothing leaves.

In every case the checker's report (``results.json``, ACRO's layout) is sealed and stored, and
the audit entry carries its SHA-256 and blob key, so a DPO can see exactly why a table was or
was not released. An aggregate carries no person key, so no pseudonym key is used and no person
enters the audit subject index.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, NoReturn

from gateway.audit.events import AuditEvent, EventType
from gateway.dataplane.aggregate import tabulate
from gateway.domain import identifiers
from gateway.domain.catalogue import AggregateTerms
from gateway.domain.disclosure import (
    CheckedTable,
    Scope,
    Status,
)
from gateway.domain.permissions import authorize
from gateway.domain.policy import Decision
from gateway.domain.principals import Principal
from gateway.domain.records import ExtractRecord, ReleaseKind, ReleaseRecord, ReleaseStatus
from gateway.domain.sdc_report import overall_status, results_json
from gateway.errors import Conflict, DisclosureRefused, NotFound
from gateway.ports import UnitOfWork
from gateway.reports.bundle import json_bytes, table_files, unzip, zip_bytes
from gateway.services.context import Context
from gateway.services.platform.sealed import read_sealed, seal_bytes, stored_reader
from gateway.services.releases.building import aggregate_rows
from gateway.services.releases.builds import BuildTracker
from gateway.services.releases.ledger import (
    Ledgered,
    basis_of,
    checked_against_ledger,
    protection_note,
    published_total,
    record_in_ledger,
)

RESULTS = "results.json"


@dataclass(frozen=True)
class CheckedRelease:
    """Everything :func:`record_checked` needs to release (or refuse) a set of checked tables."""

    release_id: str
    kind: str
    extract_id: str
    recipient: str
    tables: list[Ledgered]
    files: dict[str, bytes]  # the bundle's files (the checker's report is kept apart)
    refs: dict[str, str]
    decision: Decision
    command: str
    inputs: list[dict[str, Any]] = field(default_factory=list)  # deliveries and versions read
    max_runs: int | None = None  # the runs its approval covers (a built-in report: none)
    engine: dict[str, str] = field(default_factory=dict)  # which engine counted it (audit)

    @property
    def checked(self) -> list[CheckedTable]:
        return [t.checked for t in self.tables]


def _grant_terms(decision: Decision, dataset: str) -> AggregateTerms:
    grant = next((d.grant for d in decision.datasets if d.dataset == dataset), None)
    return grant.aggregates if grant is not None else AggregateTerms()


def release_aggregate(
    ctx: Context,
    *,
    by: Principal,
    record: ExtractRecord,
    decision: Decision,
    refs: dict[str, str],
    tracker: BuildTracker | None = None,
) -> ReleaseRecord:
    """Run an approved aggregate specification through the checker."""
    spec = record.spec
    assert spec.aggregate is not None
    read = stored_reader(ctx, spec.months)
    municipality = ctx.catalogue.recipients[record.recipient].municipality
    linked, engine = aggregate_rows(ctx, spec, read, municipality=municipality, tracker=tracker)
    table = tabulate(ctx.catalogue, spec, linked)
    del linked
    terms = _grant_terms(decision, spec.aggregate.dataset)
    rules = ctx.catalogue.disclosure_rules([d.dataset for d in spec.datasets], terms.method)
    source = f"dataset:{spec.aggregate.dataset}"
    counted = {spec.aggregate.dataset, ctx.catalogue.populations[spec.population].dataset}
    months = (spec.period_from, spec.period_to)
    ledgered = checked_against_ledger(
        ctx,
        table,
        rules,
        source=source,
        basis=basis_of(
            source,
            spec.population,
            months,
            municipality,
            [i for i in read.inputs if i["dataset"] in counted],
        ),
        months=months,
        scope=record.recipient if terms.scope is Scope.CONFIDENTIAL else Scope.PUBLISHED.value,
    )
    meta = {
        "period": f"{spec.period_from}/{spec.period_to}",
        "population": spec.population,
        "purpose": spec.purpose.value,
        "datasets": [d.dataset for d in spec.datasets],
        "protection": protection_note(ledgered.checked),
    }
    return record_checked(
        ctx,
        by,
        CheckedRelease(
            new_release_id(),
            ReleaseKind.AGGREGATE,
            record.id,
            record.recipient,
            [ledgered],
            table_files(ledgered.checked, meta),
            refs,
            decision,
            f"extract {record.id}: {json.dumps(spec.model_dump(mode='json')['aggregate'])}",
            read.inputs,
            max_runs=spec.runs,
            engine=engine,
        ),
    )


def runs_used(uow: UnitOfWork, extract_id: str) -> int:
    """Runs of a specification that count against its approval: every release made from it
    but a refused one (nothing left the hub)."""
    return sum(1 for r in uow.list_releases(extract_id) if r.status != ReleaseStatus.REFUSED)


def new_release_id() -> str:
    return identifiers.new_id("rel")


def record_checked(ctx: Context, by: Principal, release: CheckedRelease) -> ReleaseRecord:
    """Store the checker's report, then release, hold or refuse according to its status."""
    release_id = release.release_id
    now = ctx.clock().isoformat()
    names = [f"tables/{c.tabulation.name}.csv" for c in release.checked]
    report = results_json(release.checked, command=release.command, timestamp=now, files=names)
    report_bytes = json_bytes(report)
    base = f"releases/{release.recipient}/{release_id}"
    report_key = f"{base}.{RESULTS}.gwb"
    with ctx.writing(report_key):
        return _release_checked(ctx, by, release, report_bytes, report_key, base)


def _release_checked(
    ctx: Context,
    by: Principal,
    release: CheckedRelease,
    report_bytes: bytes,
    report_key: str,
    base: str,
) -> ReleaseRecord:
    release_id = release.release_id
    status = overall_status(release.checked)
    report_sha = seal_bytes(ctx, report_key, report_bytes)
    # The entry commits to the checker's report by its hash; what each check found stays in
    # the report (reviewers only): the recipient's own receipt carries this entry's bytes.
    disclosure = {"status": status.value, "report_sha256": report_sha, "report_blob": report_key}
    cells = sum(int(c.suppressed.size) for c in release.checked)
    if status is Status.FAIL:
        _refuse(ctx, by, release, disclosure, report_key, report_sha, cells)
    bundle = zip_bytes(release.files)  # the checker's report stays with the reviewers
    blob_key = f"{base}.zip.gwb"
    with ctx.writing(blob_key):
        digest = seal_bytes(ctx, blob_key, bundle)
        held = status is Status.REVIEW
        with ctx.store.unit_of_work() as uow:
            if release.max_runs is not None and (
                runs_used(uow, release.extract_id) >= release.max_runs
            ):  # another run raced this one
                raise Conflict(f"the approval of '{release.extract_id}' is used up")
            record_in_ledger(
                uow,
                release_id=release.release_id,
                recipient=release.recipient,
                tables=release.tables,
            )
            entry = uow.append_audit(
                AuditEvent(
                    EventType.RELEASE_HELD if held else EventType.RELEASE_CREATED,
                    by.label,
                    {**release.refs, "release": release_id},
                    {
                        "kind": release.kind,
                        "sha256": digest,
                        "cells": cells,
                        "files": sorted(release.files),
                        "disclosure": disclosure,
                        "decision": release.decision.as_dict(),
                        "inputs": release.inputs,
                        **release.engine,
                    },
                )
            )
            stored = ReleaseRecord(
                id=release_id,
                extract_id=release.extract_id,
                recipient=release.recipient,
                rows=cells,
                persons=published_total(release.checked[0]),
                sha256=digest,
                key_version=0,
                identifier="none",
                blob_key=blob_key,
                created_at=entry.recorded_at,
                released_by=by.label,
                audit_index=entry.index,
                kind=release.kind,
                status=ReleaseStatus.PENDING_REVIEW if held else ReleaseStatus.RELEASED,
                sdc_status=status.value,
                report_blob_key=report_key,
                report_sha256=report_sha,
                inputs=json.dumps(release.inputs),
            )
            uow.add_release(stored)
    return stored


def _refuse(
    ctx: Context,
    by: Principal,
    release: CheckedRelease,
    disclosure: dict[str, Any],
    report_key: str,
    report_sha: str,
    cells: int,
) -> NoReturn:
    """Refuse a failed aggregate: the requester learns which rules and which table failed,
    never where; the checker's full report goes to the approvers' queue (a ``refused``
    release, ``GET /v1/releases?status=refused``) and to the audit entry."""
    failed = [
        {
            "table": c.tabulation.name,
            "dimensions": list(c.tabulation.dimensions),
            "rules": sorted(check.value for check, n in c.counts().items() if n),
        }
        for c in release.checked
        if c.status is Status.FAIL
    ]
    detail = (
        "the disclosure checker refused the release ("
        + "; ".join(
            f"{f['table']} by {', '.join(f['dimensions']) or 'no dimension'}: "
            f"{', '.join(f['rules']) or 'nothing publishable'}"
            for f in failed
        )
        + "); the approvers have the checker's full report"
    )
    error = DisclosureRefused(detail, release=release.release_id, failed=failed)
    with ctx.store.unit_of_work() as uow:
        entry = uow.append_audit(
            AuditEvent(
                EventType.RELEASE_REFUSED,
                by.label,
                {**release.refs, "release": release.release_id},
                {
                    "reason": detail,
                    "status": error.status,
                    "kind": release.kind,
                    "disclosure": disclosure,
                    "decision": release.decision.as_dict(),
                    "inputs": release.inputs,
                },
            )
        )
        uow.add_release(
            ReleaseRecord(
                id=release.release_id,
                extract_id=release.extract_id,
                recipient=release.recipient,
                rows=cells,
                persons=None,
                sha256="",
                key_version=0,
                identifier="none",
                blob_key="",
                created_at=entry.recorded_at,
                released_by=by.label,
                audit_index=entry.index,
                kind=release.kind,
                status=ReleaseStatus.REFUSED,
                sdc_status=Status.FAIL.value,
                report_blob_key=report_key,
                report_sha256=report_sha,
                inputs=json.dumps(release.inputs),
            )
        )
    error.extra["audit_index"] = entry.index
    raise error


def disclosure_report(ctx: Context, release: ReleaseRecord) -> dict[str, Any]:
    """The checker's results.json of an aggregate release (it never holds a hidden value)."""
    if release.report_blob_key is None:
        raise NotFound(f"release '{release.id}' is microdata; it has no disclosure report")
    report: dict[str, Any] = json.loads(read_sealed(ctx, release.report_blob_key))
    return report


def review_bundle(ctx: Context, *, by: Principal, release: ReleaseRecord) -> bytes:
    """The reviewers' folder as a zip, laid out as ACRO writes its output folder, so SACRO
    Viewer opens it: ``results.json``, the published tables at the paths it names, and
    ``checksums/<path>.txt`` with each table's SHA-256. For approvers and auditors."""
    return zip_bytes(review_files(ctx, by=by, release=release))


def review_files(ctx: Context, *, by: Principal, release: ReleaseRecord) -> dict[str, bytes]:
    """The files of :func:`review_bundle`, by path (the console shows them cell by cell)."""
    authorize(by, "release.report")
    report = disclosure_report(ctx, release)
    tables = unzip(bundle_bytes(ctx, release)) if release.blob_key else {}
    files: dict[str, bytes] = {"results.json": json_bytes(report)}
    for output in report["results"].values():
        for entry in output["files"]:
            name = entry["name"]
            if name in tables:
                files[name] = tables[name]
                files[f"checksums/{name}.txt"] = hashlib.sha256(tables[name]).hexdigest().encode()
    return files


def bundle_bytes(ctx: Context, release: ReleaseRecord) -> bytes:
    return read_sealed(ctx, release.blob_key)
