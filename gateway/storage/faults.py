"""Which infrastructure failures are the caller's to retry: the one place that knows what the
database drivers and the operating system raise when a dependency is away or a disk is full.

:func:`classify` turns such an exception into a :class:`gateway.errors.ServiceUnavailable`
(503) or :class:`gateway.errors.StorageFull` (507); anything else stays an internal error.
Messages are the gateway's own: a driver's message can quote SQL parameters.
"""

from __future__ import annotations

import errno

from sqlalchemy import exc as sa_exc

from gateway.errors import GatewayError, ServiceUnavailable, StorageFull

_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_FULL_WORDS = ("disk is full", "database or disk is full", "no space left", "disk full")


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or any(current is s for s in seen) or len(seen) > 20:
            continue
        seen.append(current)
        todo += [current.__cause__, current.__context__, getattr(current, "orig", None)]
    return seen


def classify(exc: BaseException) -> GatewayError | None:
    """The retryable fault behind ``exc``, or None if it is not one."""
    chain = _chain(exc)
    for item in chain:
        if isinstance(item, OSError) and item.errno in _FULL_ERRNOS:
            return StorageFull("no space left on a volume the gateway writes to; retry later")
    for item in chain:
        text = str(item).lower()
        if isinstance(item, sa_exc.DBAPIError | sa_exc.OperationalError) and any(
            w in text for w in _FULL_WORDS
        ):
            return StorageFull("the database has no space left; retry later")
    for item in chain:
        if isinstance(item, sa_exc.DBAPIError) and (
            item.connection_invalidated
            or isinstance(item, sa_exc.OperationalError | sa_exc.InterfaceError)
        ):
            return ServiceUnavailable("the database is not available; retry later")
        if isinstance(item, ConnectionError | TimeoutError):
            return ServiceUnavailable("a service the gateway depends on is not available")
        if type(item).__module__.startswith("psycopg") and type(item).__name__ in (
            "OperationalError",
            "InterfaceError",
        ):
            return ServiceUnavailable("the database is not available; retry later")
    return None
