"""Sanctioned extracts: request (policy decision), four-eyes approval, release, pull.

The policy is evaluated when the specification is requested and again when it is released, so
a grant that expired or was revoked in between blocks the release of an approved spec.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gateway.audit.events import AuditEvent, EventType
from gateway.crypto.pseudonyms import subject_keys
from gateway.dataplane.aggregate import dimensions
from gateway.dataplane.ingest import CPR, PERSON, VAULT_SCHEMA
from gateway.dataplane.link import Identify, pseudonymise_for
from gateway.domain import identifiers
from gateway.domain.builds import BuildRecord
from gateway.domain.catalogue import IdentifierForm, OutputForm
from gateway.domain.extracts import TRANSITIONS, ExtractSpec, ExtractStatus
from gateway.domain.permissions import authorize, permits, reaches_all
from gateway.domain.policy import Decision, evaluate, four_eyes_level
from gateway.domain.principals import Principal, apart
from gateway.domain.records import ExtractRecord, ReleaseRecord
from gateway.errors import (
    Conflict,
    Forbidden,
    GatewayError,
    IntegrityError,
    InvalidRequest,
    NotFound,
    PolicyDenied,
)
from gateway.services.context import Context
from gateway.services.platform.sealed import open_sealed, stored_reader
from gateway.services.releases import aggregates
from gateway.services.releases.building import build_linked
from gateway.services.releases.builds import BuildTracker


def decide(ctx: Context, recipient: str, spec: ExtractSpec) -> Decision:
    return evaluate(
        ctx.catalogue,
        recipient=recipient,
        purpose=spec.purpose,
        datasets=[(d.dataset, d.columns) for d in spec.datasets],
        on=ctx.today(),
        output=spec.output,
        population=spec.population,
        identifier=spec.identifier,
    )


def _spec_refs(recipient: str, spec: ExtractSpec, **more: str) -> dict[str, str]:
    refs = {"recipient": recipient, "datasets": ",".join(d.dataset for d in spec.datasets)}
    if len(spec.datasets) == 1:
        refs["dataset"] = spec.datasets[0].dataset
    refs.update(more)
    return refs


def request_extract(ctx: Context, *, by: Principal, spec: ExtractSpec) -> ExtractRecord:
    """A recipient asks for a specification; refused with reasons, or pending approval."""
    authorize(by, "extract.request")
    recipient = identifiers.identifier("recipient", by.subject)
    decision = decide(ctx, recipient, spec)
    refs = _spec_refs(recipient, spec)
    if not decision.allowed:
        ctx.refuse(
            PolicyDenied(decision.summary(), decision=decision.as_dict()),
            event=EventType.EXTRACT_REFUSED,
            by=by,
            refs=refs,
            details={"decision": decision.as_dict(), "spec": spec.model_dump(mode="json")},
        )
    if spec.output is OutputForm.AGGREGATE:
        dimensions(ctx.catalogue, spec)  # a table that can never be computed is a 422 now
    extract_id = identifiers.new_id("ext")
    with ctx.store.unit_of_work() as uow:
        entry = uow.append_audit(
            AuditEvent(
                EventType.EXTRACT_REQUESTED,
                by.label,
                {**refs, "extract": extract_id},
                {"decision": decision.as_dict(), "spec": spec.model_dump(mode="json")},
            )
        )
        record = ExtractRecord(
            extract_id,
            recipient,
            by.identity,
            spec,
            ExtractStatus.PENDING,
            entry.recorded_at,
            entry.index,
        )
        uow.add_extract(record)
    return record


def _load_visible(
    ctx: Context, by: Principal, extract_id: str, use_case: str = "extract.read"
) -> ExtractRecord:
    """The specification, if ``by`` may perform ``use_case`` on it; otherwise a 404 (whether
    it exists is not told) and an audited refusal."""
    identifiers.identifier("extract_id", extract_id, identifiers.EXTRACT_ID)
    with ctx.store.unit_of_work() as uow:
        record = uow.get_extract(extract_id)
    if record is None:
        raise NotFound(f"no extract specification '{extract_id}'")
    if permits(by.roles, use_case, owner=by.subject == record.recipient):
        return record
    ctx.refuse(
        NotFound(f"no extract specification '{extract_id}'"),
        event=EventType.ACCESS_REFUSED,
        by=by,
        refs={"extract": extract_id, "recipient": record.recipient},
        details={"attempt": f"{use_case} on another recipient's specification"},
    )


def get_extract(ctx: Context, *, by: Principal, extract_id: str) -> ExtractRecord:
    return _load_visible(ctx, by, extract_id)


def builds_of(ctx: Context, *, by: Principal, extract_id: str) -> list[BuildRecord]:
    """A specification's builds, newest first, for whoever may read the specification."""
    _load_visible(ctx, by, extract_id)
    with ctx.store.unit_of_work() as uow:
        return uow.builds_of(extract_id)


def list_extracts(ctx: Context, *, by: Principal) -> list[ExtractRecord]:
    authorize(by, "extract.list")
    with ctx.store.unit_of_work() as uow:
        return uow.list_extracts(None if reaches_all(by, "extract.list") else by.subject)


def decide_extract(
    ctx: Context,
    *,
    by: Principal,
    extract_id: str,
    approve: bool,
    note: str | None = None,
    send_back: bool = False,
) -> ExtractRecord:
    """Four eyes: an approver who is not the requester approves or rejects a pending spec,
    or returns it for changes (``send_back``, Airlock's returned state): then a comment to the
    requester is required, and the requester asks anew with a changed specification."""
    identifiers.identifier("extract_id", extract_id, identifiers.EXTRACT_ID)
    note = identifiers.free_text("note", note)
    if send_back and not note:
        raise InvalidRequest("returning a specification for changes needs a comment ('note')")
    approve = approve and not send_back
    refs = {"extract": extract_id}
    ctx.require_person(by, "extract.decide", refs=refs, role="approver", act="approving")
    record = _load_visible(ctx, by, extract_id, "extract.decide")
    refs = _spec_refs(record.recipient, record.spec, extract=extract_id)
    datasets = [d.dataset for d in record.spec.datasets]
    level = four_eyes_level(ctx.catalogue, record.recipient, datasets)
    reason = apart(record.requested_by, by, level)
    if reason is not None:
        ctx.refuse(
            Forbidden(f"four-eyes rule: the approver {reason} as the requester"),
            event=EventType.APPROVAL_REFUSED,
            by=by,
            refs=refs,
        )
    target = (
        ExtractStatus.RETURNED
        if send_back
        else ExtractStatus.APPROVED
        if approve
        else ExtractStatus.REJECTED
    )
    if target not in TRANSITIONS[record.status]:
        raise Conflict(f"specification '{extract_id}' is {record.status}, not pending approval")
    details: dict[str, Any] = {"note": note}
    if approve:
        decision = decide(ctx, record.recipient, record.spec)
        if not decision.allowed:
            ctx.refuse(
                PolicyDenied(decision.summary(), decision=decision.as_dict()),
                event=EventType.APPROVAL_REFUSED,
                by=by,
                refs=refs,
                details={"decision": decision.as_dict()},
            )
        details["decision"] = decision.as_dict()
        if record.spec.output is OutputForm.AGGREGATE:
            dimensions(ctx.catalogue, record.spec)  # never approve what cannot run
    event = (
        EventType.EXTRACT_RETURNED
        if send_back
        else EventType.EXTRACT_APPROVED
        if approve
        else EventType.EXTRACT_REJECTED
    )
    with ctx.store.unit_of_work() as uow:
        current = uow.get_extract(extract_id)
        if current is None or current.status is not ExtractStatus.PENDING:
            raise Conflict(f"specification '{extract_id}' is no longer pending approval")
        entry = uow.append_audit(AuditEvent(event, by.label, refs, details))
        uow.set_extract_status(extract_id, target, by=by.label, at=entry.recorded_at, note=note)
        updated = uow.get_extract(extract_id)
    assert updated is not None
    return updated


def approval_exhausted(ctx: Context, record: ExtractRecord) -> str | None:
    """Why the approval of ``record`` does not cover another run, or None if it does."""
    spec = record.spec
    if spec.valid_until is not None and ctx.today() > spec.valid_until:
        return (
            f"the approval of '{record.id}' ran until {spec.valid_until.isoformat()}; request "
            "the specification again for a new approval"
        )
    with ctx.store.unit_of_work() as uow:
        used = aggregates.runs_used(uow, record.id)
    if used >= spec.runs:
        return (
            f"the approval of '{record.id}' covers {spec.runs} run(s), and {used} were made; "
            "request the specification again for a new approval"
        )
    return None


def run_release(ctx: Context, *, by: Principal, extract_id: str) -> ReleaseRecord:
    """Run an approved spec: decide again, link, pseudonymise for the recipient, seal, record.
    Only the recipient that owns the specification runs it, whatever other roles it holds."""
    authorize(by, "release.run")
    record = _load_visible(ctx, by, extract_id, "release.run")
    refs = _spec_refs(record.recipient, record.spec, extract=extract_id)
    if record.status is not ExtractStatus.APPROVED:
        raise Conflict(
            f"specification '{extract_id}' is {record.status}; only an approved "
            "specification can be released"
        )
    exhausted = approval_exhausted(ctx, record)
    if exhausted is not None:
        ctx.refuse(
            Conflict(exhausted, runs=record.spec.runs),
            event=EventType.RELEASE_REFUSED,
            by=by,
            refs=refs,
            details={"rule": "approval-limits", "runs": record.spec.runs},
        )
    decision = decide(ctx, record.recipient, record.spec)
    if not decision.allowed:
        ctx.refuse(
            PolicyDenied(decision.summary(), decision=decision.as_dict()),
            event=EventType.RELEASE_REFUSED,
            by=by,
            refs=refs,
            details={"decision": decision.as_dict()},
        )
    tracker = BuildTracker(ctx, extract_id=record.id, recipient=record.recipient)
    if record.spec.output is OutputForm.AGGREGATE:
        _require_inputs(ctx, record.spec)
        with _failing(tracker):
            made = aggregates.release_aggregate(
                ctx, by=by, record=record, decision=decision, refs=refs, tracker=tracker
            )
        tracker.built(made.id)
        return made
    version = ctx.recipient_key_version(record.recipient)
    read = stored_reader(ctx, record.spec.months)
    key: bytes | None = None
    if record.spec.identifier is IdentifierForm.CPR:
        identify = _cpr_from_vault(ctx, record.spec)
    else:
        key = ctx.keys.recipient_pseudonym_key(record.recipient, version)
        identify = pseudonymise_for(key)
    municipality = ctx.catalogue.recipients[record.recipient].municipality
    release_id = identifiers.new_id("rel")
    blob_key = f"releases/{record.recipient}/{release_id}.gwb"
    with ctx.writing(blob_key), _failing(tracker):
        linked = build_linked(
            ctx,
            record.spec,
            read,
            identify,
            recipient_key=key,
            municipality=municipality,
            blob_key=blob_key,
            tracker=tracker,
        )
        digest = linked.sha256
        with ctx.store.unit_of_work() as uow:
            if aggregates.runs_used(uow, record.id) >= record.spec.runs:  # a run raced it
                raise Conflict(f"the approval of '{record.id}' is used up; ask for a new one")
            entry = uow.append_audit(
                AuditEvent(
                    EventType.RELEASE_CREATED,
                    by.label,
                    {**refs, "release": release_id},
                    {
                        "sha256": digest,
                        "rows": linked.rows,
                        "persons": linked.persons,
                        "rows_by_dataset": linked.rows_by_dataset,
                        "pseudonym_key_version": version,
                        "identifier": record.spec.identifier.value,
                        "approval_references": sorted(
                            {
                                d.grant.approval_reference
                                for d in decision.datasets
                                if d.grant and d.grant.approval_reference
                            }
                        )
                        if record.spec.identifier is IdentifierForm.CPR
                        else [],
                        "decision": decision.as_dict(),
                        "inputs": read.inputs,
                        **linked.engine,
                    },
                ),
                subjects=subject_keys(linked.internal_persons, ctx.keys.subject_index_key()),
            )
            release = ReleaseRecord(
                release_id,
                extract_id,
                record.recipient,
                linked.rows,
                linked.persons,
                digest,
                version,
                record.spec.identifier.value,
                blob_key,
                entry.recorded_at,
                by.label,
                entry.index,
                inputs=json.dumps(read.inputs),
            )
            uow.add_release(release)
    tracker.built(release_id)
    return release


@contextmanager
def _failing(tracker: BuildTracker) -> Iterator[None]:
    """A build that fails says so in its row, and why (nothing was released)."""
    try:
        yield
    except GatewayError as exc:
        tracker.failed(exc.detail)
        raise
    except Exception as exc:
        tracker.failed(type(exc).__name__)
        raise


def _require_inputs(ctx: Context, spec: ExtractSpec) -> None:
    """An aggregate over months with no delivery would publish tables of nothing (and the
    checker would then refuse them at length): a 409 naming what is missing instead."""
    missing = []
    with ctx.store.unit_of_work() as uow:
        for request in spec.datasets:
            found = {d.period for d in uow.latest_deliveries(request.dataset, spec.months)}
            missing += [f"{request.dataset} {m}" for m in spec.months if m not in found]
    if missing:
        shown = ", ".join(missing[:12]) + (
            f" and {len(missing) - 12} more" if len(missing) > 12 else ""
        )
        raise Conflict(
            f"the aggregate's inputs are not all delivered yet: no delivery of {shown}",
            missing=missing,
        )


def _cpr_from_vault(ctx: Context, spec: ExtractSpec) -> Identify:
    """Map internal pseudonyms back to CPR through the sealed identity vaults of the deliveries
    the release reads. Only reached when the decision allowed CPR (grant-identifier)."""

    def identify(internal: pa.Array) -> tuple[str, pa.Array]:
        tables = [pa.Table.from_batches([], schema=VAULT_SCHEMA)]
        for request in spec.datasets:
            with ctx.store.unit_of_work() as uow:
                deliveries = uow.latest_deliveries(request.dataset, spec.months)
            for delivery in deliveries:
                with open_sealed(ctx, delivery.vault_blob_key) as fh:
                    tables.append(pq.read_table(fh))
        vault = pa.concat_tables(tables).group_by([PERSON, CPR]).aggregate([])
        positions = pc.index_in(internal, value_set=vault[PERSON].combine_chunks())
        if len(internal) and pc.any(pc.is_null(positions)).as_py():
            raise IntegrityError("a released person has no entry in the identity vault")
        return CPR, pc.take(vault[CPR].combine_chunks(), positions)

    return identify
