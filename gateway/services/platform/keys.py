"""Key rotation: recipient pseudonym keys and the blob key-encryption key.

Rotation adds a version; nothing derived under an old version is destroyed, because every
stored object names its version (releases their pseudonym key version, blobs their KEK version
in the header). So earlier releases stay verifiable, and reads go on during a blob re-wrap.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.audit.events import AuditEvent, EventType
from gateway.crypto.envelope import rewrap
from gateway.domain.principals import Principal, Role
from gateway.errors import InvalidRequest
from gateway.services.context import BLOB_KEK_VERSION, RECIPIENT_KEY_VERSION, Context

BLOB_PREFIXES = ("deliveries/", "vault/", "releases/")


def rotate_recipient_key(ctx: Context, *, by: Principal, recipient: str) -> int:
    """Start a new pseudonym key version for ``recipient``; returns the new version."""
    by.require(Role.OPERATOR)
    if recipient not in ctx.catalogue.recipients:
        raise InvalidRequest(f"unknown recipient '{recipient}'")
    key = RECIPIENT_KEY_VERSION + recipient
    with ctx.store.unit_of_work() as uow:
        current = int(uow.get_meta(key) or 1)
        uow.set_meta(key, str(current + 1))
        uow.append_audit(
            AuditEvent(
                EventType.KEY_ROTATED,
                by.label,
                {"recipient": recipient},
                {"key": "recipient-pseudonym", "from_version": current, "to_version": current + 1},
            )
        )
    return current + 1


@dataclass(frozen=True)
class RewrapResult:
    from_version: int
    to_version: int
    rewrapped: int
    already_current: int


def rotate_blob_kek(ctx: Context, *, by: Principal) -> RewrapResult:
    """Move new writes to a new KEK version, then re-wrap every existing blob's data key.

    Safe to run while serving: readers take the version from each blob's header and every
    version stays derivable from the master key. Safe to run again after an interruption: blobs
    already under the new version are skipped.
    """
    by.require(Role.OPERATOR)
    with ctx.store.unit_of_work() as uow:
        current = int(uow.get_meta(BLOB_KEK_VERSION) or 1)
        uow.set_meta(BLOB_KEK_VERSION, str(current + 1))
        uow.append_audit(
            AuditEvent(
                EventType.KEY_ROTATED,
                by.label,
                {},
                {"key": "blob-kek", "from_version": current, "to_version": current + 1},
            )
        )
    result = rewrap_all(ctx, by=by, to_version=current + 1)
    return RewrapResult(current, current + 1, result.rewrapped, result.already_current)


def rewrap_all(ctx: Context, *, by: Principal, to_version: int) -> RewrapResult:
    """Re-wrap every blob not yet under ``to_version``; audited with the counts."""
    by.require(Role.OPERATOR)
    done = skipped = 0
    for prefix in BLOB_PREFIXES:
        for key in ctx.blobs.keys(prefix):
            with ctx.blobs.open_for_update(key) as fh:
                if rewrap(fh, blob_id=key, kek_for=ctx.keys.blob_kek, new_version=to_version):
                    done += 1
                else:
                    skipped += 1
    with ctx.store.unit_of_work() as uow:
        uow.append_audit(
            AuditEvent(
                EventType.KEYS_REWRAPPED,
                by.label,
                {},
                {"to_version": to_version, "rewrapped": done, "already_current": skipped},
            )
        )
    return RewrapResult(to_version - 1, to_version, done, skipped)
