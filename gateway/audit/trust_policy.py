"""C2SP tlog-policy: which log keys and which witnesses make a checkpoint trusted.

The file is lines of ``log <vkey> [<url>]``, ``witness <name> <vkey> [<url>]``,
``group <name> all|any|<k> <member>...`` and exactly one ``quorum <name>`` (``quorum none``:
the log's signature alone). Groups and the quorum may only name witnesses and groups defined
on earlier lines; a name is a member of a group at most once. The gateway reads the same file
to know where its witnesses are (their URLs) and when a checkpoint is trusted; a data owner
or a court reads it to verify a proof bundle offline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.audit.checkpoints import Checkpoint
from gateway.crypto.cosignature import CosignatureVerifier, split_note
from gateway.crypto.notes import NoteError, NoteVerifier
from gateway.errors import IntegrityError


class PolicyError(ValueError):
    """The policy file is malformed; the message names the line."""


@dataclass(frozen=True)
class Witness:
    name: str
    verifier: CosignatureVerifier
    url: str | None = None


@dataclass(frozen=True)
class Group:
    name: str
    threshold: int
    members: tuple[str, ...]


@dataclass(frozen=True)
class TrustPolicy:
    logs: tuple[NoteVerifier, ...]
    log_urls: tuple[str | None, ...]
    witnesses: dict[str, Witness]
    groups: dict[str, Group] = field(default_factory=dict)
    quorum: str = "none"

    def satisfied(self, cosigned: set[str]) -> bool:
        """Whether witnesses ``cosigned`` (by policy name) meet the quorum."""
        if self.quorum == "none":
            return True
        return self._holds(self.quorum, cosigned)

    def _holds(self, name: str, cosigned: set[str]) -> bool:
        group = self.groups.get(name)
        if group is None:
            return name in cosigned
        return sum(self._holds(m, cosigned) for m in group.members) >= group.threshold

    def check(self, note: str) -> tuple[Checkpoint, dict[str, int]]:
        """The checkpoint, if a listed log signed it and the quorum cosigned it, and the
        cosignatures found (witness name -> timestamp). Raises :class:`IntegrityError`
        naming what is missing."""
        text, lines = split_note(note)
        checkpoint: Checkpoint | None = None
        for log in self.logs:
            try:
                checkpoint = Checkpoint.parse(log.open(note))
            except NoteError:
                continue
            if checkpoint.origin != log.name:
                raise IntegrityError(f"the checkpoint's origin is not '{log.name}'")
            break
        if checkpoint is None:
            raise IntegrityError("the checkpoint carries no valid signature by a listed log")
        found: dict[str, int] = {}
        for witness in self.witnesses.values():
            stamp = witness.verifier.timestamp(text, lines)
            if stamp is not None:
                found[witness.name] = stamp
        if not self.satisfied(set(found)):
            have = ", ".join(sorted(found)) or "none"
            raise IntegrityError(
                f"the checkpoint's cosignatures ({have}) do not meet the quorum '{self.quorum}'"
            )
        return checkpoint, found


def parse_policy(text: str) -> TrustPolicy:
    logs: list[NoteVerifier] = []
    urls: list[str | None] = []
    witnesses: dict[str, Witness] = {}
    groups: dict[str, Group] = {}
    quorum: str | None = None
    publics: set[bytes] = set()
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip(" \t")
        if not line or line.startswith("#"):
            continue
        words = line.split()
        where = f"line {number}"
        try:
            if words[0] == "log" and len(words) in (2, 3):
                verifier = NoteVerifier.from_vkey(words[1])
                _unique(publics, verifier.key.public_bytes_raw(), where)
                logs.append(verifier)
                urls.append(words[2] if len(words) == 3 else None)
            elif words[0] == "witness" and len(words) in (3, 4):
                name = _new_name(words[1], witnesses, groups, where)
                cosigner = CosignatureVerifier.from_vkey(words[2])
                _unique(publics, cosigner.key.public_bytes_raw(), where)
                url = words[3] if len(words) == 4 else None
                witnesses[name] = Witness(name, cosigner, url)
            elif words[0] == "group" and len(words) >= 4:
                name = _new_name(words[1], witnesses, groups, where)
                members = tuple(words[3:])
                for member in members:
                    if member not in witnesses and member not in groups:
                        raise PolicyError(f"{where}: '{member}' is not defined above")
                if len(set(members)) != len(members):
                    raise PolicyError(f"{where}: a member is listed twice")
                threshold = _threshold(words[2], len(members), where)
                groups[name] = Group(name, threshold, members)
            elif words[0] == "quorum" and len(words) == 2:
                if quorum is not None:
                    raise PolicyError(f"{where}: a second quorum line")
                if words[1] != "none" and words[1] not in witnesses and words[1] not in groups:
                    raise PolicyError(f"{where}: '{words[1]}' is not defined above")
                quorum = words[1]
            else:
                raise PolicyError(f"{where}: not a log, witness, group or quorum line")
        except NoteError as exc:
            raise PolicyError(f"{where}: {exc.detail}") from None
    if quorum is None:
        raise PolicyError("the policy has no quorum line")
    return TrustPolicy(tuple(logs), tuple(urls), witnesses, groups, quorum)


def _new_name(
    name: str, witnesses: dict[str, Witness], groups: dict[str, Group], where: str
) -> str:
    if name == "none" or name in witnesses or name in groups:
        raise PolicyError(f"{where}: the name '{name}' is reserved or already defined")
    return name


def _unique(seen: set[bytes], public: bytes, where: str) -> None:
    if public in seen:
        raise PolicyError(f"{where}: the same public key is listed twice")
    seen.add(public)


def _threshold(word: str, members: int, where: str) -> int:
    if word == "all":
        return members
    if word == "any":
        return 1
    if word.isdigit() and 1 <= int(word) <= members:
        return int(word)
    raise PolicyError(f"{where}: the threshold is all, any or 1..{members}")
