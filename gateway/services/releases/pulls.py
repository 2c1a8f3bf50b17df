"""Reading releases: a release's metadata (its recipient, approvers and auditors) and pulling
its content (its recipient only), streamed from the sealed blob; every pull is an audit entry.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from gateway.audit.events import AuditEvent, EventType
from gateway.domain import identifiers
from gateway.domain.permissions import authorize, permits
from gateway.domain.principals import Principal
from gateway.domain.records import ReleaseKind, ReleaseRecord, ReleaseStatus
from gateway.errors import Conflict, Gone, NotFound
from gateway.reports.bundle import unzip
from gateway.services.context import Context
from gateway.services.platform.sealed import open_sealed
from gateway.services.releases import aggregates


@dataclass(frozen=True)
class ReleaseContent:
    release: ReleaseRecord
    media_type: str
    filename: str
    chunks: Iterator[bytes]


def get_release(
    ctx: Context, *, by: Principal, release_id: str, use_case: str = "release.read"
) -> ReleaseRecord:
    """The release, if ``by`` may perform ``use_case`` on it (``release.read``: metadata for
    its recipient, approvers and auditors; ``release.pull``: its recipient only); otherwise a
    404 and an audited refusal."""
    identifiers.identifier("release_id", release_id, identifiers.RELEASE_ID)
    with ctx.store.unit_of_work() as uow:
        release = uow.get_release(release_id)
    if release is None:
        raise NotFound(f"no release '{release_id}'")
    if permits(by.roles, use_case, owner=by.subject == release.recipient):
        return release
    ctx.refuse(
        NotFound(f"no release '{release_id}'"),
        event=EventType.ACCESS_REFUSED,
        by=by,
        refs={"release": release_id, "recipient": release.recipient},
        details={"attempt": f"{use_case} on another recipient's release"},
    )


def pull_release(
    ctx: Context, *, by: Principal, release_id: str, fmt: str | None = None
) -> ReleaseContent:
    """Only the recipient pulls its release (whatever other roles the caller holds); the pull
    is audited before any byte leaves."""
    authorize(by, "release.pull")
    release = get_release(ctx, by=by, release_id=release_id, use_case="release.pull")
    if release.erased_at:
        raise Gone(
            f"release '{release_id}' was erased on {release.erased_at[:10]} under its grant's "
            "retention rule; the audit entry of the erasure says which",
            erased_at=release.erased_at,
        )
    if release.status != ReleaseStatus.RELEASED:
        raise Conflict(
            f"release '{release_id}' is {release.status}; only a released one can be pulled"
        )
    aggregate = release.kind != ReleaseKind.MICRODATA
    formats = ("zip", "csv") if aggregate else ("parquet", "csv")
    fmt = fmt or formats[0]
    if fmt not in formats:
        raise NotFound(
            f"no format '{fmt}' for a {release.kind} release; use {' or '.join(formats)}"
        )
    if aggregate and fmt == "csv":
        files = unzip(aggregates.bundle_bytes(ctx, release))
        tables = sorted(n for n in files if n.startswith("tables/") and n.endswith(".csv"))
        if len(tables) != 1:
            raise Conflict(f"release '{release_id}' holds {len(tables)} tables; pull it as zip")
    with ctx.store.unit_of_work() as uow:
        uow.append_audit(
            AuditEvent(
                EventType.RELEASE_PULLED,
                by.label,
                {
                    "release": release_id,
                    "recipient": release.recipient,
                    "extract": release.extract_id,
                },
                {"format": fmt, "sha256": release.sha256},
            )
        )
        uow.mark_pulled(release_id, ctx.stamp())
    if aggregate:
        if fmt == "csv":
            return ReleaseContent(
                release, "text/csv; charset=utf-8", f"{release_id}.csv", iter([files[tables[0]]])
            )
        return ReleaseContent(
            release,
            "application/zip",
            f"{release_id}.zip",
            iter([aggregates.bundle_bytes(ctx, release)]),
        )
    reader = open_sealed(ctx, release.blob_key)
    if fmt == "parquet":
        return ReleaseContent(
            release, "application/vnd.apache.parquet", f"{release_id}.parquet", _stream(reader)
        )
    spool = tempfile.SpooledTemporaryFile(max_size=32 << 20)  # noqa: SIM115 - closed by _stream
    with reader:
        pacsv.write_csv(pq.read_table(reader), spool)
    spool.seek(0)
    return ReleaseContent(release, "text/csv; charset=utf-8", f"{release_id}.csv", _stream(spool))


def _stream(fh: Any, size: int = 1 << 20) -> Iterator[bytes]:
    with fh:
        while chunk := fh.read(size):
            yield chunk
