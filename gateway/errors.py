"""Domain errors, mapped to RFC 9457 problem responses in one place (``gateway.api.problems``).

Hierarchy::

    GatewayError                      500  internal
    ├── ConfigurationError            500  policies, keys or settings unusable at start-up
    │   ├── PolicyFileError                one or more policy files are invalid
    │   └── KeyUnavailable            503  master key missing, or not the one data was sealed with
    ├── NotAuthenticated              401  no, expired or forged bearer token
    ├── Forbidden                     403  the principal may not do this (role, owner, four eyes)
    │   ├── PolicyDenied                   the legal-basis evaluator said no; carries the decision
    │   └── DisclosureRefused              the disclosure checker failed an aggregate; carries why
    ├── NotFound                      404
    ├── Conflict                      409  wrong state for the action (e.g. release before approval)
    ├── InvalidRequest                422  a request that makes no sense (bad purpose or period)
    │   └── DeliveryRejected               a delivery failed validation; carries row/column problems
    ├── IntegrityError                500  stored data does not verify (audit log, blob tag)
    ├── ServiceUnavailable            503  the database (or another dependency) does not answer
    ├── StorageFull                   507  a volume or the database is full
    ├── BodyTooLarge                  413  a request body over its limit
    └── RequestTimeout                408  a request body that stalls or takes too long

Messages are written for the person reading them and never contain payload data (no CPR,
no row content) or key material: callers pass identifiers and counts, not values.
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_PATH = "/problems/"


def problem_type(code: str) -> str:
    """A problem's ``type``: a URI reference to the page the gateway itself serves about it
    (RFC 9457 section 3.1.1; relative, so it resolves against whichever address the client
    used to reach the gateway)."""
    return f"{PROBLEM_PATH}{code}"


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        """The RFC 9457 body: type, title, status, detail and any extension members."""
        body: dict[str, Any] = {
            "type": problem_type(self.code),
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        body.update(self.extra)
        return body


class ConfigurationError(GatewayError):
    code = "configuration-error"
    title = "The gateway is not configured correctly"


class PolicyFileError(ConfigurationError):
    """Raised with every problem found, each naming its file and entry."""

    code = "invalid-policy-files"
    title = "The policy files are invalid"

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            f"{len(problems)} problem(s) in the policy files:\n  " + "\n  ".join(problems),
            problems=problems,
        )
        self.problems = problems


class KeyUnavailable(ConfigurationError):
    code = "key-unavailable"
    title = "Key material is unavailable"
    status = 503


class NotAuthenticated(GatewayError):
    status = 401
    code = "not-authenticated"
    title = "Authentication required"


class MethodNotAllowed(GatewayError):
    """The path exists, the method does not: answered before any token is looked at, with
    ``Allow`` naming the methods that do."""

    status = 405
    code = "method-not-allowed"
    title = "Method not allowed"

    def __init__(self, detail: str, allow: list[str]) -> None:
        super().__init__(detail)
        self.allow = allow


class Forbidden(GatewayError):
    status = 403
    code = "forbidden"
    title = "Not allowed"


class PolicyDenied(Forbidden):
    code = "policy-denied"
    title = "Refused by the legal-basis policy"


class DisclosureRefused(Forbidden):
    """The output checker failed the aggregate; the problem body carries its report (which
    never contains the value of a suppressed cell)."""

    code = "disclosure-refused"
    title = "Refused by disclosure control"


class NotFound(GatewayError):
    status = 404
    code = "not-found"
    title = "Not found"


class Conflict(GatewayError):
    status = 409
    code = "conflict"
    title = "Not possible in the current state"


class Gone(GatewayError):
    """The content was erased under its retention rule (crypto-shredded): its record and the
    audit entries about it stay, the data are gone for good."""

    status = 410
    code = "erased"
    title = "Erased under its retention rule"


class InvalidRequest(GatewayError):
    status = 422
    code = "invalid-request"
    title = "The request is invalid"


class DeliveryRejected(InvalidRequest):
    code = "delivery-rejected"
    title = "The delivery was rejected; nothing was stored"


class IntegrityError(GatewayError):
    code = "integrity-error"
    title = "Stored data failed verification"


class ServiceUnavailable(GatewayError):
    """A dependency is away (the database stopped, a connection lost); retrying later helps."""

    status = 503
    code = "unavailable"
    title = "Temporarily unavailable"
    retry_after = 5


class StorageFull(GatewayError):
    """No space left for the work; nothing partial was kept and nothing committed was lost."""

    status = 507
    code = "storage-full"
    title = "Insufficient storage"
    retry_after = 60


class BodyTooLarge(GatewayError):
    status = 413
    code = "body-too-large"
    title = "The request body is too large"


class RequestTimeout(GatewayError):
    """The client sent its body too slowly (an idle pause or the whole body over its bound)."""

    status = 408
    code = "request-timeout"
    title = "The request body did not arrive in time"
