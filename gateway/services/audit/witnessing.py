"""Getting the audit log's checkpoints cosigned by its witnesses (C2SP tlog-witness client).

The witness policy file (C2SP tlog-policy; ``GATEWAY_WITNESS_POLICY_FILE``, default
``<data dir>/witness-policy.txt``) lists the log's key, each witness's key and URL, and the
quorum that makes a checkpoint trusted. After each audited transaction, and every few seconds,
the latest checkpoint is sent to every witness with a consistency proof from the size that
witness cosigned last; the cosignature lines that come back are checked against the witness's
key and recorded (``audit_cosignatures``, append-only). A witness that answers 409 says which
size it holds: the proof is made from there and sent once more; one that holds a size larger
than the log has seen the log roll back, and that is logged as an error, not retried.

Receipts and releases wait a bounded time (``GATEWAY_WITNESS_WAIT_SECONDS``) for a checkpoint
covering their entry that meets the quorum, so their proof bundles verify offline; if the
witnesses do not answer in time the receipt still stands (the data are committed) with the
log's own signature, and ``GET /v1/audit/proofs/inclusion/{index}`` gives a witnessed bundle
later.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import structlog

from gateway.audit.checkpoints import Checkpoint
from gateway.audit.merkle import consistency_proof
from gateway.audit.trust_policy import TrustPolicy, Witness, parse_policy
from gateway.audit.witness.core import SIZE_TYPE, request_body
from gateway.crypto.cosignature import split_note
from gateway.crypto.notes import NoteError, NoteVerifier
from gateway.errors import ConfigurationError, IntegrityError
from gateway.ports import Store

log = structlog.get_logger("gateway.witnessing")


def load_policy(path: Path, log_vkey: str) -> TrustPolicy | None:
    """The witness policy, or None without a file. The gateway's own key must be its log."""
    if not path.exists():
        return None
    try:
        policy = parse_policy(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"witness policy {path}: {exc}") from None
    own = NoteVerifier.from_vkey(log_vkey).key.public_bytes_raw()
    if not any(log.key.public_bytes_raw() == own for log in policy.logs):
        raise ConfigurationError(
            f"witness policy {path}: the gateway's audit log key ({log_vkey}) is not a 'log' line"
        )
    return policy


@dataclass
class WitnessStatus:
    """What the last submission to one witness gave (for readiness and the console)."""

    cosigned: int = 0
    attempted: int = 0  # the largest size sent (answered or not)
    last_error: str | None = None
    rolled_back: bool = False


@dataclass
class Witnessing:
    store: Store
    policy: TrustPolicy
    timeout: float = 5.0
    interval: float = 5.0
    status: dict[str, WitnessStatus] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._client = httpx.Client(timeout=self.timeout)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._done = threading.Condition()
        self._submit_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        for witness in self.policy.witnesses.values():
            self.status[witness.name] = WitnessStatus(self.store.latest_cosigned(witness.name))

    # -- background -----------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="witnessing", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(self.timeout * 2)
            self._thread = None
        self._client.close()

    def poke(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.submit_latest()
            except Exception as exc:  # a database or network hiccup must not end witnessing
                log.warning("witnessing postponed", error_type=type(exc).__name__)
            self._wake.wait(self.interval)
            self._wake.clear()

    # -- submission -----------------------------------------------------------------------
    def submit_latest(self) -> int:
        """Send the latest checkpoint to every witness that has not cosigned it; the number
        of new cosignatures."""
        with self._submit_lock:
            note = self.store.latest_checkpoint()
            if note is None:
                return 0
            checkpoint = Checkpoint.parse(split_note(note)[0])
            added = 0
            for witness in self.policy.witnesses.values():
                if witness.url and self.status[witness.name].cosigned < checkpoint.size:
                    added += self._submit(witness, checkpoint, note)
        with self._done:
            self._done.notify_all()
        return added

    def _submit(self, witness: Witness, checkpoint: Checkpoint, note: str) -> int:
        try:
            return self._exchange(witness, checkpoint, note)
        finally:  # answered, refused or unreachable: asked about this size
            state = self.status[witness.name]
            state.attempted = max(state.attempted, checkpoint.size)

    def _exchange(self, witness: Witness, checkpoint: Checkpoint, note: str) -> int:
        state = self.status[witness.name]
        old = state.cosigned
        for _ in range(2):
            if old > checkpoint.size:
                state.rolled_back = True
                state.last_error = (
                    f"the witness holds size {old}, larger than the log's {checkpoint.size}"
                )
                log.error("witness saw a larger log", witness=witness.name, held=old)
                return 0
            proof: list[bytes] = []
            if 0 < old < checkpoint.size:
                proof = self._proof(old, checkpoint.size)
            try:
                answer = self._client.post(
                    f"{witness.url.rstrip('/')}/add-checkpoint",  # type: ignore[union-attr]
                    content=request_body(old, proof, note),
                )
            except httpx.HTTPError as exc:
                state.last_error = f"unreachable: {type(exc).__name__}"
                log.warning("witness unreachable", witness=witness.name)
                return 0
            if answer.status_code == 409 and answer.headers.get("content-type", "").startswith(
                SIZE_TYPE
            ):
                held = answer.text.strip()
                if not held.isdigit():
                    break
                old = int(held)
                continue
            if answer.status_code != 200:
                state.last_error = f"{answer.status_code}: {answer.text.strip()[:200]}"
                log.error(
                    "witness refused a checkpoint",
                    witness=witness.name,
                    status=answer.status_code,
                    size=checkpoint.size,
                    reason=answer.text.strip()[:200],
                )
                return 0
            return self._record(witness, checkpoint, note, answer.text)
        state.last_error = "the witness kept answering 409"
        return 0

    def _proof(self, old: int, new: int) -> list[bytes]:
        return self.store.with_subtree(lambda subtree: consistency_proof(subtree, old, new))

    def _record(self, witness: Witness, checkpoint: Checkpoint, note: str, body: str) -> int:
        state = self.status[witness.name]
        text = split_note(note)[0]
        lines = [line for line in body.split("\n") if line]
        try:
            stamp = witness.verifier.timestamp(text, lines)
        except NoteError as exc:
            stamp, state.last_error = None, exc.detail
        if stamp is None:
            state.last_error = state.last_error or "the answer carries no valid cosignature"
            log.error("witness answered without a valid cosignature", witness=witness.name)
            return 0
        prefix = f"\u2014 {witness.verifier.name} "  # the key's name, not the policy's
        line = next(x for x in lines if x.startswith(prefix) and _verifies(witness, text, x))
        self.store.add_cosignature(checkpoint.size, witness.name, line)
        state.cosigned, state.last_error, state.rolled_back = checkpoint.size, None, False
        return 1

    def report(self) -> dict[str, dict[str, object]]:
        return {
            name: {
                "cosigned": s.cosigned,
                "last_error": s.last_error,
                "rolled_back": s.rolled_back,
            }
            for name, s in self.status.items()
        }

    # -- reading --------------------------------------------------------------------------
    def cosigned_note(self, size: int) -> str | None:
        """The checkpoint of ``size`` with every cosignature recorded for it."""
        note = self.store.checkpoint_at(size)
        if note is None:
            return None
        return with_cosignatures(note, [line for _, line in self.store.cosignatures(size)])

    def trusted_checkpoint(self, min_size: int, wait: float) -> str | None:
        """The largest checkpoint of at least ``min_size`` that meets the quorum, waiting up
        to ``wait`` seconds for the witnesses; None if there is none in time."""
        if self._thread is None:  # a command-line process: no background thread, submit here
            self.submit_latest()
        else:
            self.poke()
        deadline = time.monotonic() + wait
        with self._done:
            while True:
                found = self._best_trusted(min_size)
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._all_answered(min_size):
                    return None  # in time, or every witness was asked and none will help now
                self._done.wait(remaining)

    def _all_answered(self, min_size: int) -> bool:
        """Every witness with a URL was sent a checkpoint covering ``min_size`` (and the quorum
        is still not met: unreachable or refusing), so waiting longer does not help."""
        asked = [self.status[w.name] for w in self.policy.witnesses.values() if w.url is not None]
        return all(s.attempted >= min_size for s in asked)

    def latest_trusted(self) -> str | None:
        """The largest checkpoint whose cosignatures meet the quorum (``/checkpoint``)."""
        return self._best_trusted(0)

    def _best_trusted(self, min_size: int) -> str | None:
        """From the database, so that every worker sees what any worker recorded."""
        for size in self.store.cosigned_sizes(at_least=max(min_size, 1)):
            note = self.cosigned_note(size)
            if note is None:
                continue
            try:
                self.policy.check(note)
            except IntegrityError:  # not enough cosignatures for this size (yet)
                log.debug("checkpoint below the quorum", size=size)
                continue
            return note
        return None


def with_cosignatures(note: str, lines: list[str]) -> str:
    """The signed note with extra signature lines appended (each once)."""
    present = set(note.rstrip("\n").split("\n"))
    extra = [line.rstrip("\n") for line in lines if line.rstrip("\n") not in present]
    return note + "".join(line + "\n" for line in extra)


def _verifies(witness: Witness, text: str, line: str) -> bool:
    try:
        return witness.verifier.timestamp(text, [line]) is not None
    except NoteError:
        return False
