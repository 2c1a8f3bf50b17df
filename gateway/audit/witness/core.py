"""A C2SP tlog-witness: cosign a log's checkpoint only if it extends every one seen before.

An outside organisation (a ministry, a data owner, the DPO's office) runs it with its own key
(``gateway witness init`` / ``serve``). Its folder holds:

* ``witness.key``: the private key (mode 0600), ML-DSA-44 or Ed25519 (C2SP tlog-cosignature);
* ``logs.policy``: the logs it witnesses, one ``log <vkey> [<url>]`` line each;
* ``state.json``: per log origin, the latest checkpoint it cosigned (size, root, the note
  with its cosignature), replaced atomically (write, fsync, rename, fsync the folder) under
  an exclusive lock *before* the cosignature is returned, so checking the old size and
  recording the new checkpoint are one step, across threads and processes;
* ``evidence.jsonl``: every validly signed checkpoint it refused as inconsistent, with the
  reason: proof that the log showed two histories.

``add_checkpoint`` answers exactly as the protocol says: 404 unknown origin, 403 no valid
signature by the log's key, 400 malformed or old size beyond the checkpoint, 409 (with the
recorded size, ``text/x.tlog.size``) when the old size is not what it recorded, 422 when the
consistency proof or the roots do not agree, and 200 with the cosignature line otherwise.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gateway.audit.checkpoints import Checkpoint
from gateway.audit.merkle import EMPTY_ROOT, verify_consistency
from gateway.crypto.cosignature import Cosigner, split_note
from gateway.crypto.notes import NoteError, NoteVerifier
from gateway.errors import IntegrityError
from gateway.files import append_line, write_atomic

MAX_PROOF_LINES = 63
SIZE_TYPE = "text/x.tlog.size"


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"


class Witness:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.cosigner = Cosigner.from_skey((folder / "witness.key").read_text())
        self._logs: dict[str, NoteVerifier] = {}
        self._logs_seen: tuple[int, int] | None = None
        self._lock = threading.Lock()

    @property
    def logs(self) -> dict[str, NoteVerifier]:
        """The logs it witnesses, re-read when ``logs.policy`` changes (adding a log needs
        no restart)."""
        path = self.folder / "logs.policy"
        stat = path.stat() if path.exists() else None
        seen = (stat.st_mtime_ns, stat.st_size) if stat else (0, 0)
        if seen != self._logs_seen:
            self._logs, self._logs_seen = read_logs(path), seen
        return self._logs

    @classmethod
    def init(cls, folder: Path, name: str, algorithm: str = "ml-dsa-44") -> Witness:
        """A new witness folder with a fresh key (ML-DSA-44 by default, as C2SP recommends;
        or Ed25519); refuses to overwrite an existing key."""
        folder.mkdir(parents=True, exist_ok=True)
        key = folder / "witness.key"
        if key.exists():
            raise FileExistsError(f"{key} exists: a witness keeps its key")
        cosigner = Cosigner.generate(name, algorithm)
        write_atomic(key, (cosigner.skey + "\n").encode(), mode=0o600)
        logs = folder / "logs.policy"
        if not logs.exists():
            write_atomic(logs, b"# one line per log this witness cosigns: log <vkey> [<url>]\n")
        return cls(folder)

    def add_log(self, vkey: str, url: str | None = None) -> None:
        verifier = NoteVerifier.from_vkey(vkey)  # refuses a malformed key before writing
        path = self.folder / "logs.policy"
        line = f"log {vkey.strip()}" + (f" {url}" if url else "") + "\n"
        if verifier.name in self.logs:
            raise ValueError(f"the log '{verifier.name}' is already witnessed")
        write_atomic(path, path.read_bytes() + line.encode())

    # -- the protocol -------------------------------------------------------------------
    def add_checkpoint(self, body: bytes) -> Answer:
        try:
            old, proof, note = parse_request(body)
            text, _ = split_note(note)
            checkpoint = Checkpoint.parse(text)
        except (ValueError, NoteError) as exc:
            return Answer(400, f"malformed request: {exc}\n")
        log = self.logs.get(checkpoint.origin)
        if log is None:
            return Answer(404, f"unknown log origin '{checkpoint.origin}'\n")
        try:
            log.open(note)
        except NoteError as exc:
            return Answer(403, f"{exc.detail}\n")
        if old > checkpoint.size:
            return Answer(400, "the old size is larger than the checkpoint's size\n")
        with self._locked():
            state = self._read_state()
            recorded = state.get(checkpoint.origin)
            size = int(str(recorded["size"])) if recorded else 0
            if old != size:
                return Answer(409, f"{size}\n", SIZE_TYPE)
            problem = _inconsistency(checkpoint, old, proof, recorded)
            if problem is not None:
                self._evidence(note, old, problem)
                return Answer(422, problem + "\n")
            line = self.cosigner.cosign(text, int(time.time()))
            state[checkpoint.origin] = {
                "size": checkpoint.size,
                "root": base64.b64encode(checkpoint.root).decode(),
                "note": note + line,
            }
            write_atomic(self.folder / "state.json", json.dumps(state, indent=1).encode())
        return Answer(200, line)

    def latest(self, origin_hash: str) -> Answer:
        """``GET <prefix>/<hex SHA-256 of origin>/checkpoint``: the latest cosigned note."""
        for origin, recorded in self._read_state().items():
            if hashlib.sha256(origin.encode()).hexdigest() == origin_hash:
                return Answer(200, str(recorded["note"]))
        return Answer(404, "no checkpoint cosigned for that log\n")

    # -- state ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock, open(self.folder / "state.lock", "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def _read_state(self) -> dict[str, dict[str, object]]:
        path = self.folder / "state.json"
        if not path.exists():
            return {}
        loaded: dict[str, dict[str, object]] = json.loads(path.read_text())
        return loaded

    def _evidence(self, note: str, old: int, problem: str) -> None:
        """A validly signed but inconsistent checkpoint is kept: the log signed two histories."""
        record = {"at": int(time.time()), "old": old, "problem": problem, "note": note}
        line = json.dumps(record, ensure_ascii=False).encode() + b"\n"
        append_line(self.folder / "evidence.jsonl", line)  # a torn last line is cut first


def _inconsistency(
    checkpoint: Checkpoint, old: int, proof: list[bytes], recorded: dict[str, object] | None
) -> str | None:
    if checkpoint.size == 0 and checkpoint.root != EMPTY_ROOT:
        return "a checkpoint of size 0 must have the empty tree's root"
    if old == 0:
        return "a proof from size 0 must be empty" if proof else None
    assert recorded is not None
    old_root = base64.b64decode(str(recorded["root"]))
    if old == checkpoint.size:
        if proof:
            return "the sizes are equal but the proof is not empty"
        if old_root != checkpoint.root:
            return f"a different root for size {old} than the one cosigned before"
        return None
    try:
        verify_consistency(old, checkpoint.size, old_root, checkpoint.root, proof)
    except IntegrityError as exc:
        return f"the consistency proof from {old} does not verify: {exc.detail}"
    return None


def parse_request(body: bytes) -> tuple[int, list[bytes], str]:
    """(old size, consistency proof, checkpoint note) of an add-checkpoint body."""
    text = body.decode("utf-8")
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise ValueError("no empty line before the checkpoint")
    lines = head.split("\n")
    first = lines[0]
    number = first[4:]
    if not first.startswith("old ") or not number.isdigit() or number != str(int(number)):
        raise ValueError("the first line is not 'old <size>'")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise ValueError(f"more than {MAX_PROOF_LINES} proof lines")
    try:
        proof = [base64.b64decode(line, validate=True) for line in lines[1:]]
    except binascii.Error:
        raise ValueError("a proof line is not base64") from None
    if any(len(h) != 32 for h in proof):
        raise ValueError("a proof hash is not 32 bytes")
    return int(number), proof, note


def request_body(old: int, proof: list[bytes], note: str) -> bytes:
    lines = [f"old {old}", *(base64.b64encode(h).decode() for h in proof)]
    return ("\n".join(lines) + "\n\n" + note).encode()


def read_logs(path: Path) -> dict[str, NoteVerifier]:
    """The ``log <vkey> [<url>]`` lines of a witness's log list (comments and blanks skipped)."""
    logs: dict[str, NoteVerifier] = {}
    if not path.exists():
        return logs
    for number, raw in enumerate(path.read_text().split("\n"), start=1):
        words = raw.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] != "log" or len(words) not in (2, 3):
            raise ValueError(f"{path}: line {number} is not 'log <vkey> [<url>]'")
        verifier = NoteVerifier.from_vkey(words[1])
        logs[verifier.name] = verifier
    return logs
