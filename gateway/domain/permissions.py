"""Who may do what, on whose data: the one permission table, and the one check over it.

Each use case lists the roles that may perform it and with what reach:

* ``ANY``: on any object (approvers deciding, auditors reading the trail);
* ``OWN``: only on objects of the principal's own organisation (a source's deliveries, a
  recipient's specifications and releases).

A role that is not listed may not perform the use case at all. Roles never combine into more
reach: a principal holding ``recipient`` and ``approver`` runs and pulls only its own releases,
because the rows for running and pulling list ``recipient: OWN`` and nothing else. Content (the
rows of a release) is reached only through ``release.run`` and ``release.pull``; approvers and
auditors see metadata (specifications, decisions, checker reports, hashes).

The HTTP layer names a use case for every route (``gateway.api.routes``); a test walks this
table over HTTP for every role, alone and in pairs, as owner and not, and fails for a route
without a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gateway.domain.principals import Principal, Role
from gateway.errors import Forbidden


class Reach(StrEnum):
    ANY = "any"
    OWN = "own"


S, R, A, D, OP = Role.SOURCE, Role.RECIPIENT, Role.APPROVER, Role.AUDITOR, Role.OPERATOR
ANY, OWN = Reach.ANY, Reach.OWN
EVERYONE = dict.fromkeys(Role, ANY)


@dataclass(frozen=True)
class UseCase:
    name: str
    allowed: dict[Role, Reach]
    summary: str
    four_eyes: bool = False  # the principal who requested (or ran) the object may not do it


_CASES = (
    UseCase("delivery.push", {S: OWN}, "push a delivery of one's own dataset"),
    UseCase("delivery.read", {S: OWN, A: ANY, D: ANY}, "a delivery's status and counts"),
    UseCase("delivery.withdraw", {S: OWN}, "withdraw one's own month's current delivery"),
    UseCase("delivery.confirm", {S: OWN}, "confirm one's own delivery held for confirmation"),
    UseCase("delivery.quality", {S: OWN, A: ANY}, "a delivery's quality report"),
    UseCase(
        "delivery.impact",
        {D: ANY},
        "which recipients and releases hold data from a delivery (a breach question)",
    ),
    UseCase("catalogue.read", EVERYONE, "the datasets and the legal bases in force"),
    UseCase("extract.request", {R: OWN}, "request a specification for oneself"),
    UseCase("extract.list", {R: OWN, A: ANY, D: ANY}, "list specifications"),
    UseCase("extract.read", {R: OWN, A: ANY, D: ANY}, "a specification and its decision"),
    UseCase("extract.decide", {A: ANY}, "approve or reject a specification", four_eyes=True),
    UseCase("release.run", {R: OWN}, "run one's own approved specification"),
    UseCase("release.list", {A: ANY, D: ANY}, "list releases by status (the review queue)"),
    UseCase("release.read", {R: OWN, A: ANY, D: ANY}, "a release's metadata (hash, counts)"),
    UseCase(
        "release.report",
        {A: ANY, D: ANY},
        "the disclosure checker's full report (cell by cell: reviewers only, never the recipient)",
    ),
    UseCase("release.review", {A: ANY}, "release or withhold a held aggregate", four_eyes=True),
    UseCase("release.pull", {R: OWN}, "pull the content of one's own release"),
    UseCase("report.list", EVERYONE, "the built-in reports"),
    UseCase("report.run", {R: OWN}, "run a built-in report for oneself"),
    UseCase("audit.checkpoint", EVERYONE, "the latest signed checkpoint"),
    UseCase(
        "audit.proof",
        EVERYONE,
        "proof material; entry bytes only of one's own entries (auditors: all)",
    ),
    UseCase("audit.consistency", EVERYONE, "a consistency proof between two tree sizes"),
    UseCase("audit.entries", {D: ANY}, "read entry bytes (auditors: any entry)"),
    UseCase("audit.entry-bundles", {D: ANY}, "the log's entries as C2SP entry bundles"),
    UseCase("audit.search", {D: ANY}, "search the audit trail"),
    UseCase("audit.subject-lookup", {D: ANY}, "every entry about one person"),
    UseCase("audit.verify", {D: ANY}, "verify the whole log"),
    UseCase("operations.metrics", {OP: ANY}, "Prometheus metrics"),
    UseCase("session.list", {OP: ANY}, "the console sessions that are live"),
    UseCase("session.revoke", {OP: ANY}, "end console sessions (a person's, an organisation's)"),
    UseCase(
        "retention.plan",
        {D: ANY, OP: ANY},
        "what the hub keeps, until when and why; holds; erasures with their audit entries",
    ),
    UseCase("retention.sweep", {OP: ANY}, "erase what is due now (the workers do it hourly)"),
    UseCase("hold.list", {D: ANY, OP: ANY}, "the legal holds, standing and lifted"),
    UseCase("hold.place", {D: ANY}, "place a legal hold: nothing it covers is erased"),
    UseCase("hold.lift", {D: ANY}, "ask to lift a legal hold, or (another person) lift it"),
    UseCase("deletion.list", {R: OWN, D: ANY}, "recipients' deletion requests and confirmations"),
    UseCase("deletion.confirm", {R: OWN}, "confirm one's own deletion after a grant ended"),
    UseCase(
        "records.read",
        {A: ANY, D: ANY, OP: ANY},
        "the records of processing (GDPR art. 30) and their approved versions",
    ),
    UseCase("records.snapshot", {D: ANY}, "approve and freeze the records of processing"),
)
PERMISSIONS: dict[str, UseCase] = {case.name: case for case in _CASES}
# Routes that need no token at all: liveness and a bare readiness answer; the audit log's
# checkpoints and hash tiles (hashes only: anyone may check that the log only grows).
PUBLIC = frozenset({"operations.health", "audit.tiles"})
# Rows checked inside another use case rather than by a route of their own.
INNER = frozenset({"audit.entries"})  # whose entry bytes come with proof material


def permits(roles: frozenset[Role], use_case: str, *, owner: bool) -> bool:
    """Whether a principal with ``roles`` may perform ``use_case`` on an object it does
    (``owner``) or does not own. Four eyes is a separate rule."""
    case = PERMISSIONS[use_case]
    return any(role in case.allowed and (case.allowed[role] is ANY or owner) for role in roles)


def authorize(by: Principal, use_case: str, owner: str | None = None) -> None:
    """Raise :class:`Forbidden` unless ``by`` may perform ``use_case`` on an object owned by
    ``owner`` (an organisation id; ``None`` for use cases about no one object)."""
    case = PERMISSIONS[use_case]
    is_owner = owner is not None and owner == by.subject
    if not permits(by.roles, use_case, owner=is_owner or owner is None):
        needed = ", ".join(
            f"'{role}'" + (" (own only)" if reach is OWN else "")
            for role, reach in case.allowed.items()
        )
        raise Forbidden(
            f"'{use_case}' needs one of the roles {needed}",
            needs_roles=sorted(str(role) for role in case.allowed),
        )


def reaches_all(by: Principal, use_case: str) -> bool:
    """Whether ``by`` may perform ``use_case`` on any object, not only its own."""
    case = PERMISSIONS[use_case]
    return any(case.allowed.get(role) is ANY for role in by.roles)
