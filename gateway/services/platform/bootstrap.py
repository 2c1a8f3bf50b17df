"""Start-up: load the policies, the keys and the database, and check they belong together.

* A missing key folder on a new installation is created (``gateway keys init`` does the same).
* A database that already holds data refuses a different or missing master key, by comparing
  the key check value stored at first start, instead of producing unreadable data.
* A change of the policy set since the last start is an audit entry.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from dataclasses import dataclass

from gateway.audit.checkpointer import Checkpointer
from gateway.audit.events import AuditEvent, EventType
from gateway.config import Settings
from gateway.crypto.keys import KeyRing, init_key_folder, master_key_source
from gateway.crypto.notes import NoteSigner
from gateway.domain.catalogue import Catalogue
from gateway.domain.policy_files import load_catalogue
from gateway.engines import EngineChoice
from gateway.errors import ConfigurationError, IntegrityError, KeyUnavailable
from gateway.identity.issuers import load_identity_config
from gateway.identity.verifier import TokenVerifier
from gateway.ports import BlobStore
from gateway.services.audit.witnessing import Witnessing, load_policy
from gateway.services.context import Context
from gateway.storage.blobs import LocalBlobStore
from gateway.storage.sql_store import SqlStore
from gateway.storage.work_area import WorkArea

SYSTEM_ACTOR = "gateway/local:system[system]"
KEY_CHECK = "key-check-value"
POLICY_HASH = "policy-hash"


@dataclass
class Runtime:
    context: Context
    store: SqlStore
    settings: Settings
    _verifier: TokenVerifier | None = None

    @property
    def verifier(self) -> TokenVerifier:
        """Built from the trusted issuers file on first use: the server builds it at start
        (a missing file stops it there); local CLI verbs that take no tokens never need it."""
        if self._verifier is None:
            config = load_identity_config(self.settings.resolved_trusted_issuers_file)
            self._verifier = TokenVerifier(config)
        return self._verifier

    def check_before_serving(self) -> None:
        """What a server checks before it answers anything: the checkpoint file against the
        database (:func:`check_witness`) and the trusted issuers file (a missing one stops
        it here)."""
        check_witness(self.store, self.context.checkpointer)
        self.verifier  # noqa: B018

    def close(self) -> None:
        """Release the database connections and the identity providers' connections."""
        if self._verifier is not None:
            self._verifier.close()
        if isinstance(self.context.witnessing, Witnessing):
            self.context.witnessing.stop()
        self.store.dispose()


def blob_store(settings: Settings, owner: str | None = None) -> BlobStore:
    """The local folder by default; an S3-compatible bucket when GATEWAY_S3_BUCKET is set.
    ``owner`` is the work token that names this process's partly written files."""
    if settings.s3_bucket:
        from gateway.storage.s3_blobs import S3BlobStore

        return S3BlobStore.connect(settings.s3_bucket, settings.s3_prefix, settings.s3_endpoint_url)
    return LocalBlobStore(settings.resolved_blobs_dir, owner=owner)


def audit_checkpointer(settings: Settings, keys: KeyRing) -> Checkpointer:
    """The checkpoint signer: an Ed25519 key derived from the master key, named after the log."""
    signer = NoteSigner.from_seed(settings.audit_origin, keys.checkpoint_seed())
    return Checkpointer(signer, settings.resolved_checkpoint_file)


def open_runtime(settings: Settings) -> Runtime:
    """Everything the API and CLI need, checked. Raises ConfigurationError subclasses."""
    catalogue = load_catalogue(settings.policies_dir)
    store = SqlStore.open(settings.resolved_database_url, migrate_schema=settings.auto_migrate)
    try:
        return _checked_runtime(settings, catalogue, store)
    except BaseException:
        store.dispose()  # a refused start leaves no connection behind
        raise


def check_witness(store: SqlStore, checkpointer: Checkpointer) -> None:
    """The checkpoint file is written after each commit, so it is never ahead of the database
    unless the database lost committed entries (restored from an older copy, or a storage
    layer that acknowledged writes it did not keep). Refuse to start then, saying so: signing
    on would hide the loss. (The server checks at start; ``gateway audit verify`` still runs
    and names what is missing.)"""
    witnessed = checkpointer.last()
    if witnessed is None:
        return
    size = store.audit_size()
    if witnessed.size > size:
        raise IntegrityError(
            f"the audit log in the database has {size} entries, but the checkpoint file "
            f"{checkpointer.file} holds a signed checkpoint for {witnessed.size}: the database "
            "has lost committed entries (restored from an older copy?). Restore the newest "
            "backup of the database; 'gateway audit verify' shows what is missing. Do not edit "
            "the checkpoint file: it is the evidence."
        )


def _checked_runtime(settings: Settings, catalogue: Catalogue, store: SqlStore) -> Runtime:
    with store.unit_of_work() as uow:
        stored_kcv = uow.get_meta(KEY_CHECK)
    created = []
    if stored_kcv is None and not settings.master_key:
        created = init_key_folder(settings.resolved_keys_dir)
    keys = KeyRing(master_key_source(settings.resolved_keys_dir, settings.master_key).load())
    checkpointer = audit_checkpointer(settings, keys)
    store.checkpointer = checkpointer
    with store.unit_of_work() as uow:
        if stored_kcv is None:
            uow.set_meta(KEY_CHECK, keys.key_check_value)
            uow.append_audit(
                AuditEvent(
                    EventType.KEYS_INITIALISED,
                    SYSTEM_ACTOR,
                    {},
                    {
                        "key_check_value": keys.key_check_value,
                        "created_files": [p.name for p in created],
                    },
                )
            )
        elif not keys.matches(stored_kcv):
            raise KeyUnavailable(
                "the master key does not match the one this database was set up with "
                f"(key check value {keys.key_check_value}, expected {stored_kcv}); restore the "
                "original master key - with another key stored data cannot be decrypted"
            )
        previous = uow.get_meta(POLICY_HASH)
        if previous != catalogue.policy_hash:
            uow.set_meta(POLICY_HASH, catalogue.policy_hash)
            uow.append_audit(
                AuditEvent(
                    EventType.POLICY_LOADED,
                    SYSTEM_ACTOR,
                    {},
                    {
                        "policy_hash": catalogue.policy_hash,
                        "previous_policy_hash": previous,
                        "datasets": sorted(catalogue.datasets),
                        "grants": [g.id for g in catalogue.grants],
                    },
                )
            )
    work = WorkArea(settings.data_dir / "run")
    policy = load_policy(settings.resolved_witness_policy_file, checkpointer.signer.vkey)
    witnessing = None if policy is None else Witnessing(store, policy)
    if witnessing is not None:
        store.on_checkpoint = witnessing.poke  # each new checkpoint to the witnesses at once
    context = Context(
        catalogue=catalogue,
        store=store,
        blobs=blob_store(settings, owner=work.token),
        keys=keys,
        checkpointer=checkpointer,
        work=work,
        witnessing=witnessing,
        witness_wait=settings.witness_wait_seconds,
        engines=EngineChoice(
            master=None if settings.engine == "local" else settings.engine,
            min_rows=settings.spark_min_rows,
            work_dir=settings.spark_dir or settings.data_dir / "spark",
            conf=_spark_conf(settings),
            owner=work.token,
        ),
    )
    return Runtime(context=context, store=store, settings=settings)


def _spark_conf(settings: Settings) -> dict[str, str]:
    """What the Spark engine adds to its session: the cluster's shared secret, read from its
    file (never from the environment, never logged). A Spark engine that cannot start (no
    pyspark, no Java) stops the gateway's start, not a release an hour later."""
    if settings.engine != "local":
        if importlib.util.find_spec("pyspark") is None:
            raise ConfigurationError(
                f"GATEWAY_ENGINE={settings.engine} needs pyspark: pip install 'gateway[spark]'"
            )
        if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
            raise ConfigurationError(
                f"GATEWAY_ENGINE={settings.engine} needs Java 17 (Debian: openjdk-17-jre-headless)"
            )
    if settings.spark_secret_file is None:
        return {}
    secret = settings.spark_secret_file.read_text().strip()
    if len(secret) < 32:
        raise ConfigurationError(
            f"{settings.spark_secret_file}: the Spark secret must have at least 32 characters"
        )
    return {"spark.authenticate.secret": secret}
