"""Pushing a delivery: a source pushes one dataset for one period; the hub validates,
pseudonymises, seals and records it (with its quality report, held for its source's
confirmation where it would make data vanish), or refuses it whole."""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from gateway.audit.events import AuditEvent, EventType
from gateway.crypto.envelope import SealingWriter
from gateway.crypto.pseudonyms import subject_keys
from gateway.dataplane.ingest import IngestReport, ingest
from gateway.dataplane.quality import QualityCounter
from gateway.dataplane.reading import Opener
from gateway.domain import confirmation, identifiers, quality, suggestions
from gateway.domain.permissions import permits
from gateway.domain.principals import Principal
from gateway.domain.records import DeliveryRecord, VersionAction
from gateway.domain.subjects import SubjectKeys
from gateway.domain.versions import MonthVersions
from gateway.errors import (
    Conflict,
    DeliveryRejected,
    Forbidden,
    Gone,
    InvalidRequest,
    NotFound,
    PolicyDenied,
)
from gateway.services.audit import trail as audit_service
from gateway.services.context import Context
from gateway.services.deliveries import reads
from gateway.services.deliveries import versions as delivery_versions
from gateway.services.deliveries.uploads import Upload


@dataclass(frozen=True)
class Receipt:
    """What the source gets back, and can keep as proof of delivery."""

    delivery_id: str
    source: str
    dataset: str
    period: str
    rows: int
    sha256: str
    size_bytes: int
    received_at: str
    audit_index: int
    duplicate: bool
    audit: dict[str, Any]  # entry bytes, inclusion proof, signed checkpoint
    version: int | None = None  # which version of the month this delivery is (newest)
    current: bool = True
    quality: dict[str, Any] | None = None  # the quality report (none before migration 0011)
    held: list[dict[str, str]] | None = None  # why it waits for its source's confirmation

    @classmethod
    def of(cls, ctx: Context, record: DeliveryRecord, *, duplicate: bool, by: Principal) -> Receipt:
        return cls(
            record.id,
            record.source,
            record.dataset,
            record.period,
            record.rows,
            record.sha256,
            record.size_bytes,
            record.received_at,
            record.audit_index,
            duplicate,
            audit_service.proof_material(ctx, record.audit_index, by=by),
            *_version(ctx, record),
            record.quality_report(),
            reads.held_reasons(ctx, record),
        )

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _version(ctx: Context, record: DeliveryRecord) -> tuple[int | None, bool]:
    described = reads.describe(ctx, record)
    return described["version"], described["current"]


class _Discard(Exception):
    """Raised inside the blob writer's block so that nothing of a bad delivery is kept."""


def push_delivery(
    ctx: Context,
    *,
    by: Principal,
    source: str,
    dataset: str,
    period: str,
    upload: Upload,
    confirm: bool = False,
) -> Receipt:
    """Accept or refuse one delivery. The same content for the same dataset and period returns
    the first receipt and stores nothing new. A delivery that would make data vanish or looks
    like another month's (:mod:`gateway.domain.confirmation`) is stored and held, the current
    version staying, unless ``confirm`` says its source means it.

    The body is read as it arrives (validated, pseudonymised and sealed on the way), so its
    digest, and with it whether it was delivered before, is known only at its end."""
    source = identifiers.identifier("source", source)
    dataset = identifiers.identifier("dataset", dataset)
    period = identifiers.period("period", period)
    refs = {"source": source, "dataset": dataset, "period": period}
    if not permits(by.roles, "delivery.push", owner=by.subject == source):
        ctx.refuse(
            Forbidden(f"only source '{source}' may push to its endpoint"),
            event=EventType.DELIVERY_REFUSED,
            by=by,
            refs=refs,
        )
    ds = ctx.catalogue.datasets.get(dataset)
    if source not in ctx.catalogue.sources or ds is None:
        ctx.refuse(
            NotFound(_no_such_dataset(ctx, source, dataset)),
            event=EventType.DELIVERY_REFUSED,
            by=by,
            refs=refs,
        )
    if ds.owner != source:
        ctx.refuse(
            Forbidden(f"dataset '{dataset}' belongs to '{ds.owner}', not '{source}'"),
            event=EventType.DELIVERY_REFUSED,
            by=by,
            refs=refs,
        )
    _within_reach(ctx, period, ds.future_months)
    if ds.collection_basis is None:
        ctx.refuse(
            PolicyDenied(
                f"no legal basis: the hub may not receive '{dataset}'",
                decision={"rule": "collection-basis", "dataset": dataset},
            ),
            event=EventType.DELIVERY_REFUSED,
            by=by,
            refs=refs,
        )

    delivery_id = identifiers.new_id("dlv")
    blob_key = f"deliveries/{dataset}/{period}/{delivery_id}.gwb"
    vault_key = f"vault/{dataset}/{period}/{delivery_id}.gwb"
    with ctx.writing(blob_key, vault_key):
        return _ingest_and_record(ctx, by, refs, delivery_id, upload, blob_key, vault_key, confirm)


def _no_such_dataset(ctx: Context, source: str, dataset: str) -> str:
    """Which name was wrong, and the registered names it resembles."""
    catalogue = ctx.catalogue
    if source not in catalogue.sources:
        return suggestions.unknown("source", source, catalogue.sources)
    owned = [d.id for d in catalogue.datasets.values() if d.owner == source]
    return suggestions.unknown(
        "dataset", dataset, owned, where=f" is registered for source '{source}'"
    )


def _within_reach(ctx: Context, period: str, ahead: int) -> None:
    """A month the clock does not yet allow (beyond this one, plus the dataset's tolerance)
    is no month to deliver for: a 422 that says why."""
    today = ctx.today()
    year, month = (int(p) for p in period.split("-"))
    latest = today.year * 12 + today.month - 1 + ahead
    if year * 12 + month - 1 > latest:
        allowed = f"{latest // 12}-{latest % 12 + 1:02d}"
        raise InvalidRequest(
            f"the period {period} lies beyond the current month ({today:%Y-%m}); this dataset "
            f"takes deliveries up to {allowed}",
            errors=[{"field": "period", "problem": "future"}],
        )


def _ingest_and_record(
    ctx: Context,
    by: Principal,
    refs: dict[str, str],
    delivery_id: str,
    upload: Upload,
    blob_key: str,
    vault_key: str,
    confirm: bool,
) -> Receipt:
    source, dataset, period = refs["source"], refs["dataset"], refs["period"]
    counter = QualityCounter(
        ctx.catalogue.datasets[dataset], period, list(ctx.catalogue.municipalities)
    )
    report, kek_version, subjects = _store_sealed(
        ctx, upload.open, dataset, blob_key, vault_key, counter
    )
    sha256, size = upload.sha256(), upload.size
    with ctx.store.unit_of_work() as uow:
        earlier = uow.find_delivery(dataset, period, sha256)
        newest = MonthVersions.of(uow.versions_of(dataset, period)).current
        previous = uow.previous_delivery(dataset, period)
    if earlier is not None:
        if report.ok:  # this request's own copies, never committed
            ctx.blobs.delete(blob_key)
            ctx.blobs.delete(vault_key)
        if earlier.erased_at or earlier.discarded_at:
            what = "erased" if earlier.erased_at else "discarded by its source"
            raise Gone(
                f"this content of {dataset} {period} was delivered before ({earlier.id}) and "
                f"{what} on {(earlier.erased_at or earlier.discarded_at or '')[:10]}; the hub "
                "does not keep it again",
                delivery_id=earlier.id,
            )
        if reads.held_reasons(ctx, earlier):  # held: sent again
            if confirm:
                delivery_versions.confirm(ctx, earlier, by=by)
                return Receipt.of(ctx, earlier, duplicate=False, by=by)
            return Receipt.of(ctx, earlier, duplicate=True, by=by)
        if newest is None or newest.delivery_id != earlier.id:  # an earlier version, again
            delivery_versions.reinstate(ctx, earlier, by=by)
            return Receipt.of(ctx, earlier, duplicate=False, by=by)
        return Receipt.of(ctx, earlier, duplicate=True, by=by)  # a retry: its first receipt
    if not report.ok:
        problems = [p.as_dict() for p in report.problems]
        ctx.refuse(
            DeliveryRejected(
                f"{report.problem_count} problem(s) in {report.rows} row(s)",
                problems=problems,
                problem_count=report.problem_count,
                rows=report.rows,
                invalid_by_column=dict(sorted(counter.invalid.items())),
            ),
            event=EventType.DELIVERY_REJECTED,
            by=by,
            refs=refs,
            details={
                "sha256": sha256,
                "rows": report.rows,
                "problem_count": report.problem_count,
                "problem_codes": report.codes,
            },
        )
    assessed = _assess(ctx, dataset, counter, report, previous)
    current_report = None
    if newest is not None and newest.delivery_id is not None:
        with ctx.store.unit_of_work() as uow:
            current_record = uow.get_delivery(newest.delivery_id)
        current_report = current_record.quality_report() if current_record else None
    doubts = confirmation.reasons(
        assessed, current_report, ctx.catalogue.datasets[dataset].quality.thresholds
    )
    held = bool(doubts) and not confirm
    if held:
        assessed["held"] = doubts
    details: dict[str, Any] = {
        "sha256": sha256,
        "rows": report.rows,
        "size_bytes": size,
        "kek_version": kek_version,
        "quality": {
            "status": assessed["status"],
            "flags": [f["code"] for f in assessed["flags"]],
        },
    }
    if doubts:
        details["confirmation"] = {
            "reasons": [d["code"] for d in doubts],
            "confirmed": not held,
        }
    try:
        with ctx.store.unit_of_work() as uow:
            entry = uow.append_audit(
                AuditEvent(
                    EventType.DELIVERY_HELD if held else EventType.DELIVERY_ACCEPTED,
                    by.label,
                    {**refs, "delivery": delivery_id},
                    details,
                ),
                subjects=subjects,
            )
            record = DeliveryRecord(
                delivery_id,
                source,
                dataset,
                period,
                sha256,
                report.rows,
                size,
                blob_key,
                entry.recorded_at,
                by.label,
                entry.index,
                vault_key,
                json.dumps(assessed, sort_keys=True),
            )
            uow.add_delivery(record)
            if not held:  # a held delivery is stored, but the current version stays
                uow.add_version(
                    dataset,
                    period,
                    delivery_id,
                    VersionAction.DELIVERED,
                    entry.recorded_at,
                    by.label,
                    entry.index,
                )
    except Conflict:
        # A concurrent push of the same content won the race; this transaction rolled back,
        # so these copies were never committed. Return the winner's receipt.
        ctx.blobs.delete(blob_key)
        ctx.blobs.delete(vault_key)
        with ctx.store.unit_of_work() as uow:
            winner = uow.find_delivery(dataset, period, sha256)
        if winner is None:
            raise
        return Receipt.of(ctx, winner, duplicate=True, by=by)
    return Receipt.of(ctx, record, duplicate=False, by=by)


def _assess(
    ctx: Context,
    dataset: str,
    counter: QualityCounter,
    report: IngestReport,
    previous: DeliveryRecord | None,
) -> dict[str, Any]:
    """The delivery's quality report, against the previous month's delivery if it has one."""
    before = previous.quality_report() if previous is not None else None
    return quality.assess(
        counter.figures(len(report.distinct_persons())),
        ctx.catalogue.datasets[dataset].quality,
        municipalities=list(ctx.catalogue.municipalities),
        previous=(
            {"delivery": previous.id, "period": previous.period, "quality": before}
            if previous is not None and before is not None
            else None
        ),
    )


def _store_sealed(
    ctx: Context,
    upload: Opener,
    dataset: str,
    blob_key: str,
    vault_key: str,
    counter: QualityCounter | None = None,
) -> tuple[IngestReport, int, SubjectKeys]:
    """Write the stored form and the identity vault, both sealed; keep neither if it fails.

    Returns the report, the key-encryption key version both were sealed under and the
    delivery's subject keys (none if it was refused). The keys are computed on a helper thread
    while the blobs are made durable (fsync is disk time, the keys CPU time)."""
    ds = ctx.catalogue.datasets[dataset]
    version = ctx.blob_kek_version()
    kek = ctx.keys.blob_kek(version)
    report = IngestReport()
    subjects: Future[SubjectKeys] | None = None
    helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="subject-keys")
    try:
        with ctx.blobs.create(blob_key) as fh, ctx.blobs.create(vault_key) as vh:
            sealed = SealingWriter(fh, blob_id=blob_key, kek=kek, kek_version=version)
            vault = SealingWriter(vh, blob_id=vault_key, kek=kek, kek_version=version)
            report = ingest(
                upload,
                ds,
                municipalities=list(ctx.catalogue.municipalities),
                pseudonym_key=ctx.keys.internal_pseudonym_key(),
                sink=sealed,
                vault=vault,
                quality=counter,
            )
            if not report.ok:
                sealed.abort()
                vault.abort()
                raise _Discard
            subjects = helper.submit(
                subject_keys, report.distinct_persons(), ctx.keys.subject_index_key()
            )
            sealed.close()
            vault.close()
    except _Discard:
        pass
    finally:
        helper.shutdown(wait=True)
    return report, version, subjects.result() if subjects is not None else SubjectKeys(b"")
