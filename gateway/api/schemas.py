"""What each JSON route answers, as the OpenAPI document states it.

These models describe the answers; the routes still build them from the records, and the
contract test (``tests/integration/test_contract_fuzz.py``) checks every answer against the
model its route declares, for a principal of every role. Objects may carry more members than
listed (``extra="allow"``): clients must ignore what they do not know, and the gateway may add
a member without a new version of the API.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gateway.domain.catalogue import Dataset, Grant, ReportDefinition
from gateway.domain.extracts import ExtractSpec


class Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


class ProofMaterial(Answer):
    """What proves that an audit entry is in the log (C2SP tlog-proof in ``tlog_proof``)."""

    index: int
    leaf_hash: str = Field(pattern="^[0-9a-f]{64}$")
    entry: str | None = Field(
        None, description="The entry's exact bytes: for auditors and for one's own entries."
    )
    tree_size: int
    inclusion_proof: list[str]
    checkpoint: str = Field(description="The signed checkpoint (C2SP signed note).")
    tlog_proof: str = Field(description="The same proof as one C2SP tlog-proof.")


class QualityFlag(Answer):
    code: str = Field(description="e.g. rows-changed, partial-coverage, events-outside-period")
    detail: str


class Quality(Answer):
    """A delivery's quality report (``docs/quality.md`` describes every member)."""

    status: str = Field(description="ok, or flagged when a threshold of the dataset is passed")
    flags: list[QualityFlag]
    period: str
    rows: int
    persons: int
    columns: dict[str, dict[str, Any]] = Field(
        description="Per column: missing and invalid values, completeness."
    )
    events: dict[str, Any] = Field(description="Rows dated before or after the month.")
    duplicates: dict[str, Any] = Field(description="Rows that repeat an earlier row.")
    municipalities: dict[str, Any] | None = Field(None, description="Rows per municipality.")
    coverage: dict[str, Any] | None = Field(None, description="Municipalities delivered of 98.")
    date_precision: dict[str, Any] | None = None
    previous: dict[str, Any] | None = Field(
        None, description="Change against the previous month's current delivery."
    )
    thresholds: dict[str, Any]


class QualitySummary(Answer):
    status: str
    flags: list[str]


class DeliveryQuality(Answer):
    delivery_id: str
    source: str
    dataset: str
    period: str
    quality: Quality | None = Field(description="None for deliveries accepted before reports.")


class HeldReason(Answer):
    code: str = Field(description="no-rows, rows-dropped, persons-dropped, mostly-outside-period")
    detail: str


class Receipt(Answer):
    delivery_id: str
    source: str
    dataset: str
    period: str
    rows: int
    sha256: str
    size_bytes: int
    received_at: str
    audit_index: int
    duplicate: bool = Field(description="The same content for the same month was sent before.")
    audit: ProofMaterial
    version: int | None = Field(None, description="Which version of its month this delivery is.")
    current: bool = Field(True, description="Whether new releases read this delivery.")
    quality: Quality | None = Field(None, description="The delivery's quality report.")
    held: list[HeldReason] | None = Field(
        None,
        description="Why the delivery is stored but not current: it waits for its source's "
        "confirmation (POST /v1/deliveries/{id}/confirm).",
    )


class MonthVersion(Answer):
    version: int
    delivery_id: str | None = Field(description="None: the month's delivery was withdrawn.")
    action: str = Field(description="delivered, reinstated, confirmed or withdrawn")
    recorded_at: str


class Delivery(Answer):
    id: str
    source: str
    dataset: str
    period: str
    sha256: str
    rows: int
    size_bytes: int
    received_at: str
    pushed_by: str
    audit_index: int
    status: str = Field(
        description="accepted; held (waiting for its source's confirmation); discarded (its "
        "source withdrew it while held); erased (its retention rule ran out: crypto-shredded)"
    )
    discarded_at: str | None = None
    erased_at: str | None = Field(None, description="When its content was erased, if it was.")
    version: int | None
    current: bool
    held: list[HeldReason] | None = None
    current_version: int | None
    versions: list[MonthVersion]
    quality: QualitySummary | None = None


class Withdrawal(Answer):
    delivery_id: str
    dataset: str
    period: str
    withdrawn: bool
    current_version: int | None = Field(
        description="The month's version now: a withdrawal's own (no current delivery), or, for "
        "a held delivery withdrawn, the current version that stays (none if there is none)"
    )
    audit_index: int


class Extract(Answer):
    id: str
    recipient: str
    requested_by: str
    spec: ExtractSpec
    status: str
    created_at: str
    audit_index: int
    decided_by: str | None = None
    decided_at: str | None = None
    decision_note: str | None = None
    decision: dict[str, Any] | None = Field(
        None, description="One specification's answer: the policy's decision today, every rule"
    )


class Extracts(Answer):
    extracts: list[Extract]


class ReleaseInput(Answer):
    dataset: str
    period: str
    delivery: str
    version: int | None
    quality: dict[str, Any] | None = Field(
        None, description="The delivery's quality summary: flags, coverage, completeness."
    )


class Release(Answer):
    id: str
    extract_id: str
    recipient: str
    rows: int
    persons: int | None
    sha256: str
    key_version: int
    identifier: str
    created_at: str
    released_by: str
    audit_index: int
    kind: str
    status: str
    sdc_status: str | None = None
    report_sha256: str | None = None
    reviewed_by: str | None = None
    reviewed_at: str | None = None
    review_note: str | None = None
    last_pulled_at: str | None = Field(None, description="The recipient's latest pull.")
    erased_at: str | None = Field(
        None, description="When its content was erased under its grant's retention rule."
    )
    inputs: list[ReleaseInput] | None = Field(
        None, description="The deliveries it read, and which version of each month."
    )


class ReleaseWithProof(Release):
    audit: ProofMaterial


class Releases(Answer):
    releases: list[Release]


class Build(Answer):
    """A release being built, or how its build ended (counts and states only)."""

    id: str
    extract_id: str
    recipient: str
    engine: str = Field(description="local, or spark for a release built on Apache Spark.")
    state: str = Field(description="running, built, failed or interrupted.")
    started_at: str
    updated_at: str
    tasks_done: int = Field(description="Spark tasks finished (0 on the local engine).")
    tasks_total: int = Field(
        description="Spark tasks planned so far; it grows as the job's stages are planned."
    )
    jobs_done: int
    release_id: str | None = Field(description="The release it made, once built.")
    note: str = Field(description="Why it failed; nothing was released then.")


class Builds(Answer):
    builds: list[Build]


class Datasets(Answer):
    policy_hash: str
    datasets: list[Dataset]


class GrantInForce(Grant):
    in_force_today: bool = Field(alias="in_force", description="In force on today's date.")


class Grants(Answer):
    policy_hash: str
    grants: list[GrantInForce]


class Reports(Answer):
    reports: list[ReportDefinition]


class Checkpoint(Answer):
    checkpoint: str
    size: int
    root: str
    vkey: str


class Consistency(Answer):
    from_: int = Field(alias="from")
    to: int
    proof: list[str]
    checkpoint: str


class AuditEntry(Answer):
    index: int
    leaf_hash: str
    time: str
    type: str
    actor: str
    refs: dict[str, str]
    details: dict[str, Any]
    salt: str


class AuditPage(Answer):
    entries: list[AuditEntry]
    total: int
    limit: int
    offset: int


class AuditEntries(Answer):
    entries: list[AuditEntry]


class KeptTerm(Answer):
    who: str = Field(description="'the hub', or the recipient")
    what: str
    kept: str = Field(description="How long, in words")
    citation: str


class SubjectEntries(AuditEntries):
    kept: list[KeptTerm] = Field(
        description="How long the person's data are kept, at the hub and by each recipient "
        "(GDPR art. 15, stk. 1, litra d)"
    )
    answer: dict[str, Any] = Field(
        description="The article 15 answer: per release the recipient, purpose, legal basis "
        "and citation, data categories, dates, approver and pulls; the sources; how long the "
        "data are kept; the rights; the controller and where to complain"
    )


class Impact(Answer):
    delivery: dict[str, Any] = Field(description="The delivery: source, dataset, month, counts")
    releases: list[dict[str, Any]] = Field(
        description="Every release that read it: recipient, kind, status, rows, persons (the "
        "release's own count), when collected, when erased"
    )
    summary: dict[str, Any]


class Verification(Answer):
    ok: bool
    entries: int
    checkpoints: int
    root: str
    first_bad_index: int | None = None
    problem: str | None = None
    proven_since: list[int] = []


class Ready(Answer):
    """``{"status": "ready"}``; with an operator's token also the entry count, policy hash,
    kernels and witnesses."""

    status: str
    audit_entries: int | None = None
    policy_hash: str | None = None
    pseudonym_kernel: str | None = None
    audit_kernel: str | None = None
    witnesses: dict[str, dict[str, Any]] | None = None


class Alive(Answer):
    status: str


def answer(model: type[BaseModel], description: str, status: int = 200) -> dict[int | str, Any]:
    """``responses=`` for a route: its success answer documented by ``model`` (the route's
    return value is not re-validated; the contract test compares the two)."""
    return {status: {"model": model, "description": description}}


class ConsoleSession(Answer):
    principal: str = Field(description="Whose session: organisation[/unit]/kind:actor")
    roles: str = Field(description="The principal with its roles at login")
    created_at: float = Field(description="When the session began (Unix time)")
    last_seen_at: float
    expires_at: float


class ConsoleSessions(Answer):
    sessions: list[ConsoleSession]


class Revoked(Answer):
    ended: int = Field(description="How many sessions ended")
    principals: list[str]


class Confirmation(Answer):
    delivery_id: str
    confirmed: bool
    current_version: int = Field(description="The version of the month it now is")
