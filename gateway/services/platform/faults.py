"""What an infrastructure failure means to the caller, for every front: a database that is
away or a full disk is a fault to retry (503 or 507 with the gateway's own words), anything
else an internal error. The knowledge of what drivers and the operating system raise stays in
storage (:mod:`gateway.storage.faults`); the fronts ask here."""

from __future__ import annotations

from gateway.errors import GatewayError
from gateway.storage.faults import classify


def fault_of(exc: BaseException) -> GatewayError | None:
    """The retryable fault behind ``exc`` (ServiceUnavailable, StorageFull), or None."""
    return classify(exc)
