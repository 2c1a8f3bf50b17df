"""Table definitions (SQLAlchemy Core). No plaintext CPR ever has a column here."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("source", String(100), nullable=False),
    Column("dataset", String(100), nullable=False),
    Column("period", String(7), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("blob_key", String(300), nullable=False),
    Column("received_at", String(40), nullable=False),
    Column("pushed_by", String(200), nullable=False),
    Column("audit_index", BigInteger, nullable=False),
    Column("vault_blob_key", String(300), nullable=False),
    Column("quality", Text),  # the quality report, JSON (none for deliveries before 0011)
    Column("discarded_at", String(40)),  # withdrawn by its source while held (migration 0014)
    Column("erased_at", String(40)),  # its content crypto-shredded under a retention rule
    UniqueConstraint("dataset", "period", "sha256", name="uq_delivery_content"),
    Index("ix_deliveries_dataset_period", "dataset", "period"),
)

# The versions of a dataset's month, newest last: an accepted delivery, an earlier delivery
# sent again (reinstated), or a withdrawal (no delivery_id). Releases read the newest version.
delivery_versions = Table(
    "delivery_versions",
    metadata,
    Column("dataset", String(100), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("delivery_id", String(40)),
    Column("action", String(20), nullable=False),
    Column("recorded_at", String(40), nullable=False),
    Column("recorded_by", String(200), nullable=False),
    Column("audit_index", BigInteger, nullable=False),
    Index("ix_delivery_versions_delivery", "delivery_id"),
)

extracts = Table(
    "extracts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("recipient", String(100), nullable=False, index=True),
    Column("requested_by", String(200), nullable=False),
    Column("spec", Text, nullable=False),
    Column("status", String(30), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("audit_index", BigInteger, nullable=False),
    Column("decided_by", String(200)),
    Column("decided_at", String(40)),
    Column("decision_note", Text),
)

releases = Table(
    "releases",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("extract_id", String(40), nullable=False, index=True),
    Column("recipient", String(100), nullable=False),
    Column("rows", BigInteger, nullable=False),
    Column("persons", BigInteger),  # aggregates: the published total only, if any
    Column("sha256", String(64), nullable=False),
    Column("key_version", Integer, nullable=False),
    Column("identifier", String(30), nullable=False),
    Column("blob_key", String(300), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("released_by", String(200), nullable=False),
    Column("audit_index", BigInteger, nullable=False),
    Column("kind", String(20), nullable=False, server_default="microdata"),
    Column("status", String(30), nullable=False, server_default="released", index=True),
    Column("sdc_status", String(10)),
    Column("report_blob_key", String(300)),
    Column("report_sha256", String(64)),
    Column("reviewed_by", String(200)),
    Column("reviewed_at", String(40)),
    Column("review_note", Text),
    Column("inputs", Text),
    Column("last_pulled_at", String(40)),  # the recipient's latest pull (migration 0014)
    Column("erased_at", String(40)),  # its content crypto-shredded under a retention rule
)

release_ledger = Table(
    "release_ledger",
    metadata,
    Column("release_id", String(40), primary_key=True),
    Column("source", String(200), primary_key=True),
    Column("cell", BigInteger, primary_key=True, autoincrement=False),
    Column("recipient", String(100), nullable=False),
    Column("key", BigInteger, nullable=False),
    Column("label0", BigInteger, nullable=False),
    Column("label1", BigInteger, nullable=False),
    Column("label2", BigInteger, nullable=False),
    Column("label3", BigInteger, nullable=False),
    Column("first_month", Integer, nullable=False),
    Column("last_month", Integer, nullable=False),
    Column("persons", BigInteger, nullable=False),
    Column("table_name", String(100), nullable=False, server_default=""),
    Column("basis", String(64), nullable=False, server_default=""),
    Column("scope", String(100), nullable=False, server_default="published"),
    Column("lower", Float),
    Column("upper", Float),  # -1: no upper bound (a hidden cell); NULL: recorded before 0012
    Index("ix_release_ledger_lookup", "recipient", "source"),
    Index("ix_release_ledger_source", "source", "basis"),
)

ledger_tables = Table(
    "ledger_tables",
    metadata,
    Column("release_id", String(40), primary_key=True),
    Column("table_name", String(100), primary_key=True),
    Column("source", String(200), nullable=False),
    Column("basis", String(64), nullable=False),
    Column("scope", String(100), nullable=False),
    Column("recipient", String(100), nullable=False),
    Column("shape", String(100), nullable=False),
    Index("ix_ledger_tables_basis", "source", "basis"),
)

release_votes = Table(
    "release_votes",
    metadata,
    Column("release_id", String(40), primary_key=True),
    Column("voter", String(200), primary_key=True),
    Column("vote", String(20), nullable=False),
    Column("note", Text),
    Column("recorded_at", String(40), nullable=False),
    Column("salt", String(32)),  # opens the vote's sealed commitment (migration 0013)
)

console_sessions = Table(
    "console_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),  # SHA-256 of the cookie's random id
    Column("principal", String(300)),  # identity once logged in
    Column("roles", String(200)),
    Column("created_at", Float, nullable=False),
    Column("last_seen_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("sealed", Text, nullable=False),  # tokens and form state, sealed (AES-GCM)
    Column("ended_at", Float),
    Column("end_reason", String(40)),
    Index("ix_console_sessions_principal", "principal"),
)

# Releases being built (migration 0015): the engine, Spark's tasks done of those planned, and
# how the build ended. Counts and states only; rewritten as the build goes.
release_builds = Table(
    "release_builds",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("extract_id", String(64), nullable=False),
    Column("recipient", String(100), nullable=False),
    Column("engine", String(20), nullable=False),
    Column("state", String(20), nullable=False),
    Column("started_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Column("owner", String(64), nullable=False),
    Column("tasks_done", Integer, nullable=False),
    Column("tasks_total", Integer, nullable=False),
    Column("jobs_done", Integer, nullable=False),
    Column("release_id", String(64)),
    Column("note", Text, nullable=False),
    Index("ix_release_builds_extract", "extract_id"),
    Index("ix_release_builds_state", "state"),
)

# Storage limitation (migration 0014). An erasure is begun (a row), carried out (data keys
# destroyed, then the blobs), and finished (done_at, with its audit entry) in that order, so a
# crash at any point leaves a begun row that the next sweep completes.
erasures = Table(
    "erasures",
    metadata,
    Column("kind", String(20), primary_key=True),  # delivery | release
    Column("object_id", String(40), primary_key=True),
    Column("rule", String(40), nullable=False),
    Column("due", String(10), nullable=False),
    Column("blob_keys", Text, nullable=False),  # JSON list
    Column("started_at", String(40), nullable=False),
    Column("done_at", String(40)),
    Column("audit_index", BigInteger),
)

legal_holds = Table(
    "legal_holds",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("reason", Text, nullable=False),
    Column("placed_by", String(300), nullable=False),
    Column("placed_at", String(40), nullable=False),
    Column("dataset", String(100)),
    Column("source", String(100)),
    Column("period_from", String(7)),
    Column("period_to", String(7)),
    Column("release", String(40)),
    Column("lift_requested_by", String(300)),
    Column("lift_requested_at", String(40)),
    Column("lift_reason", Text),
    Column("lifted_by", String(300)),
    Column("lifted_at", String(40)),
)

# A recipient's confirmation that it deleted its copies once a grant ended.
deletion_requests = Table(
    "deletion_requests",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("recipient", String(100), nullable=False, index=True),
    Column("grant_id", String(100), nullable=False),
    Column("releases", Text, nullable=False),  # JSON list of release ids
    Column("due", String(10), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("reminded_at", String(40)),
    Column("reminders", Integer, nullable=False, server_default="0"),
    Column("confirmed_by", String(300)),
    Column("confirmed_at", String(40)),
    Column("note", Text),
    UniqueConstraint("recipient", "grant_id", name="uq_deletion_request"),
)

# Approved, frozen versions of the records of processing (GDPR art. 30).
record_snapshots = Table(
    "record_snapshots",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("created_at", String(40), nullable=False),
    Column("approved_by", String(300), nullable=False),
    Column("policy_hash", String(64), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("body", Text, nullable=False),  # the record, JSON
    Column("audit_index", BigInteger, nullable=False),
)

audit_entries = Table(
    "audit_entries",
    metadata,
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("recorded_at", String(40), nullable=False, index=True),
    Column("event_type", String(60), nullable=False, index=True),
    Column("actor", String(200), nullable=False, index=True),
    Column("dataset", String(100), index=True),
    Column("recipient", String(100), index=True),
    Column("body", LargeBinary, nullable=False),
    Column("leaf_hash", String(64), nullable=False),
)

# Every complete subtree of the Merkle tree (level 0 = leaf hashes): proofs in O(log n) reads.
audit_nodes = Table(
    "audit_nodes",
    metadata,
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary, nullable=False),
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", String(64), nullable=False),
    Column("note", Text, nullable=False),
)

# Keyed hashes of the persons an entry's data involved (never a CPR): for the DPO's lookups.
audit_subjects = Table(
    "audit_subjects",
    metadata,
    Column("entry_index", BigInteger, nullable=False),
    Column("subject", LargeBinary, nullable=False),
    Index("ix_audit_subjects_subject", "subject"),
    Index("ix_audit_subjects_entry", "entry_index"),
)

# A large entry's subject keys (a national delivery: hundreds of thousands of persons) are
# written as one sorted, packed value in the entry's own transaction, and moved into
# audit_subjects afterwards, chunk by chunk, by the subject indexer; until then a lookup
# searches the packed value itself. Small entries go straight into audit_subjects.
audit_subject_sets = Table(
    "audit_subject_sets",
    metadata,
    Column("entry_index", BigInteger, primary_key=True, autoincrement=False),
    Column("count", Integer, nullable=False),
    Column("keys", LargeBinary, nullable=False),
)

# One row per chunk of a subject set already in audit_subjects (the indexer's progress).
audit_subject_merges = Table(
    "audit_subject_merges",
    metadata,
    Column("entry_index", BigInteger, primary_key=True, autoincrement=False),
    Column("chunk", Integer, primary_key=True, autoincrement=False),
)

# Witnesses' cosignature lines on checkpoints (C2SP tlog-cosignature), one per witness and size.
audit_cosignatures = Table(
    "audit_cosignatures",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("witness", String(200), primary_key=True),
    Column("line", Text, nullable=False),
    Column("recorded_at", String(40), nullable=False),
)

APPEND_ONLY = (
    "audit_entries",
    "audit_nodes",
    "audit_checkpoints",
    "audit_subjects",
    "audit_subject_sets",
    "audit_subject_merges",
    "audit_cosignatures",
)
