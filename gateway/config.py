"""Settings: the only place that reads the environment.

Built once at start-up (``Settings()``) and passed down; nothing reads ``os.environ`` at
import time. Every variable has the ``GATEWAY_`` prefix. The embedded default keeps
everything under ``var/``: one SQLite file, the encrypted blob folder and the key folder.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Gateway configuration. Paths are resolved relative to the working directory."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    data_dir: Path = Field(Path("var"), description="Root of the embedded default's state.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default: a SQLite file in data_dir."
    )
    policies_dir: Path = Field(Path("policies"), description="Catalogue and legal bases.")
    keys_dir: Path | None = Field(None, description="Key folder; default data_dir/keys.")
    blobs_dir: Path | None = Field(
        None, description="Encrypted blob folder; default data_dir/blobs."
    )
    s3_bucket: str | None = Field(
        None, description="Keep blobs in this S3-compatible bucket instead of blobs_dir."
    )
    s3_prefix: str = Field("", description="Key prefix inside the bucket.")
    s3_endpoint_url: str | None = Field(None, description="S3-compatible endpoint (MinIO etc.).")
    master_key: str | None = Field(
        None,
        description="Base64 master key; overrides the key file (for containers and KMS shims).",
        repr=False,
    )
    trusted_issuers_file: Path | None = Field(
        None,
        description="The identity providers whose tokens the gateway accepts, for which "
        "organisations, and their claim mapping; default data_dir/trusted-issuers.yaml.",
    )
    metrics_token_file: Path | None = Field(
        None,
        description="A file holding a long random secret that Prometheus sends as its bearer "
        "token (its 'credentials_file') to scrape /metrics; operators' tokens work as well.",
    )
    provider_port: int = Field(
        8001, description="Port of the development identity provider ('gateway provider')."
    )
    provider_issuer: str | None = Field(
        None,
        description="The development provider's issuer URL as clients and the gateway reach "
        "it; default http://127.0.0.1:<provider_port> (compose: http://identity-provider:8001).",
    )
    provider_listen: str = Field(
        "127.0.0.1", description="Address the development provider listens on."
    )
    max_request_bytes: int = Field(
        1024**2,
        ge=1024,
        description="Largest body of any request other than a delivery (JSON specifications, "
        "notes, lookups).",
    )
    body_timeout_seconds: float = Field(
        3600.0,
        gt=0,
        description="Longest time a client may take to send a delivery's body.",
    )
    body_idle_seconds: float = Field(
        60.0,
        gt=0,
        description="Longest pause between two chunks of a request body; a client that stalls "
        "longer is cut off (it would hold an ingest slot).",
    )
    retention_interval_seconds: float = Field(
        3600.0,
        gt=0,
        description="How often each server process erases what its retention rule no longer "
        "lets the hub keep (and asks recipients to confirm their deletions); the first sweep "
        "runs a minute after start.",
    )
    sweep_interval_seconds: float = Field(
        300.0,
        gt=0,
        description="How often each server process removes what interrupted work left behind "
        "(it also does so at start).",
    )
    max_delivery_bytes: int = Field(
        8 * 1024**3, description="Largest request body accepted for one delivery."
    )
    max_concurrent_ingests: int = Field(
        4,
        ge=1,
        description="Deliveries processed at once per process; more wait, their bodies "
        "spooled sealed. Each holds a worker thread while its body arrives, so the bound keeps "
        "slow uploads from taking the threads other requests need, and bounds memory.",
    )
    auto_migrate: bool = Field(
        True,
        description="Upgrade the schema at start-up (embedded default). Production workers set "
        "false and a migration job runs 'gateway db upgrade'.",
    )
    audit_origin: str = Field(
        "gateway.local/audit", description="Name of the audit log in its signed checkpoints."
    )
    checkpoint_file: Path | None = Field(
        None, description="Append-only copy of every signed checkpoint; default data_dir/audit."
    )
    witness_policy_file: Path | None = Field(
        None,
        description="C2SP tlog-policy naming the audit log's witnesses (keys, URLs) and the "
        "quorum; default data_dir/witness-policy.txt; absent: no witnesses.",
    )
    witness_wait_seconds: float = Field(
        2.0, ge=0, le=60, description="How long a receipt waits for a witnessed checkpoint."
    )
    engine: str = Field(
        "local",
        description="Which engine builds linked releases: 'local' (Arrow in the worker, the "
        "default) or a Spark master ('local[2]', 'spark://host:7077', 'k8s://...') for "
        "releases whose inputs hold at least spark_min_rows rows (docs/scale.md).",
        pattern=r"^(local|local\[(\d+|\*)(,\d+)?\]|spark://[\w.\-:,]+|k8s://\S+|yarn)$",
    )
    spark_min_rows: int = Field(
        50_000_000, ge=0, description="Inputs this large go to Spark when an engine is set."
    )
    spark_secret_file: Path | None = Field(
        None,
        description="The shared secret of a Spark cluster's authentication (spark.authenticate); "
        "unset: a random one per session (enough for local[n]).",
    )
    spark_dir: Path | None = Field(
        None, description="Spark's work and spill folder and the job parts; default data_dir/spark."
    )
    log_level: str = "INFO"
    log_json: bool | None = Field(
        None,
        description="Logs as JSON lines (true) or readable text (false); unset: readable text "
        "on a terminal, JSON lines otherwise (a file, a pipe, a container's log collector).",
    )
    log_file: Path | None = Field(None, description="Append logs here instead of stderr.")

    @property
    def resolved_keys_dir(self) -> Path:
        return self.keys_dir or self.data_dir / "keys"

    @property
    def resolved_blobs_dir(self) -> Path:
        return self.blobs_dir or self.data_dir / "blobs"

    @property
    def resolved_checkpoint_file(self) -> Path:
        return self.checkpoint_file or self.data_dir / "audit" / "checkpoints.jsonl"

    @property
    def resolved_witness_policy_file(self) -> Path:
        return self.witness_policy_file or self.data_dir / "witness-policy.txt"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'gateway.db'}"

    @property
    def resolved_trusted_issuers_file(self) -> Path:
        return self.trusted_issuers_file or self.data_dir / "trusted-issuers.yaml"
