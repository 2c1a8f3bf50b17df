"""Witnesses over real HTTP: two witness processes cosign the gateway's checkpoints, receipts
carry proof bundles that verify offline with nothing but the policy, tiles are public and
proofs computed from them verify, and a log that rolls back or shows two histories is caught.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from gateway.audit.checkpoints import Checkpoint
from gateway.audit.merkle import MemoryTree, consistency_proof, leaf_hash
from gateway.audit.proof_bundle import parse_bundle, verify_bundle
from gateway.audit.tile_client import TileClient, monitor
from gateway.audit.tiles import WIDTH, Tile
from gateway.audit.trust_policy import parse_policy
from gateway.audit.witness.core import Witness, request_body
from gateway.cli.demo_witnesses import start_witness_process
from gateway.config import Settings
from gateway.crypto.cosignature import split_note
from gateway.crypto.keys import KeyRing, init_key_folder, master_key_source
from gateway.crypto.notes import NoteSigner
from gateway.domain.principals import Role
from gateway.errors import IntegrityError
from gateway.services.platform.bootstrap import audit_checkpointer
from tests.conftest import Gateway, Synthetic, serving_gateway


@dataclass
class WitnessProcess:
    name: str
    folder: Path
    vkey: str
    url: str
    process: subprocess.Popen[bytes]


def start_witness(
    folder: Path, name: str, log_vkeys: list[str], algorithm: str = "ml-dsa-44"
) -> WitnessProcess:
    witness = Witness.init(folder, name, algorithm)
    for vkey in log_vkeys:
        witness.add_log(vkey)
    return serve_witness(folder, name, witness.cosigner.vkey)


def serve_witness(folder: Path, name: str, vkey: str) -> WitnessProcess:
    """``gateway witness serve`` in its own process, on a free port, answering."""
    process, url = start_witness_process(folder)
    return WitnessProcess(name, folder, vkey, url, process)


@pytest.fixture
def two_witnesses(tmp_path: Path) -> Iterator[tuple[str, list[WitnessProcess]]]:
    """The gateway's log key (its key folder made first) and two witnesses that trust it."""
    data = tmp_path / "var"
    init_key_folder(data / "keys")
    settings = Settings(data_dir=data)
    master = master_key_source(settings.resolved_keys_dir, None).load()
    vkey = audit_checkpointer(settings, KeyRing(master)).signer.vkey
    witnesses = [  # one of each cosignature type
        start_witness(tmp_path / f"w{n}", f"witness{n}.example.dk/w", [vkey], algorithm)
        for n, algorithm in ((1, "ml-dsa-44"), (2, "ed25519"))
    ]
    try:
        yield vkey, witnesses
    finally:
        for w in witnesses:
            w.process.terminate()
            w.process.wait(10)


def policy_text(log_vkey: str, witnesses: list[WitnessProcess], quorum: str = "both") -> str:
    lines = [f"log {log_vkey}"]
    # Policy names are the policy's own (w1, w2), not the witnesses' key names.
    lines += [f"witness w{i} {w.vkey} {w.url}" for i, w in enumerate(witnesses, start=1)]
    names = " ".join(f"w{i}" for i in range(1, len(witnesses) + 1))
    lines += [f"group both all {names}", f"quorum {quorum}"]
    return "\n".join(lines) + "\n"


def test_receipts_carry_bundles_cosigned_by_both_witnesses(
    tmp_path: Path, two_witnesses: tuple[str, list[WitnessProcess]], synthetic: Synthetic
) -> None:
    vkey, witnesses = two_witnesses
    policy_file = tmp_path / "witness-policy.txt"
    policy_file.write_text(policy_text(vkey, witnesses))
    policy = parse_policy(policy_file.read_text())
    with serving_gateway(
        tmp_path / "var", witness_policy_file=policy_file, witness_wait_seconds=10
    ) as gw:
        r = gw.push("sundhedsdatastyrelsen", "lpr", synthetic.bytes("lpr"))
        assert r.status_code == 201, r.text  # type: ignore[attr-defined]
        receipt = r.json()  # type: ignore[attr-defined]
        bundle = parse_bundle(receipt["audit"]["tlog_proof"])
        checked = verify_bundle(bundle, policy)
        assert set(checked.cosigned_by) == {"w1", "w2"}
        assert checked.entry["refs"]["delivery"] == receipt["delivery_id"]

        # Offline, with nothing but the policy file: the CLI agrees, and a tampered entry fails.
        receipt_file = tmp_path / "receipt.json"
        receipt_file.write_text(r.text)  # type: ignore[attr-defined]
        cli = [sys.executable, "-m", "gateway", "audit", "verify-proof"]
        ok = subprocess.run([*cli, str(receipt_file), "--policy", str(policy_file)], check=False)
        assert ok.returncode == 0
        forged = bundle.extra.replace(b'"rows":', b'"rows":1')  # type: ignore[union-attr]
        with pytest.raises(IntegrityError):
            verify_bundle(bundle, policy, forged)

        # And with nothing but the specifications: audit/README.md's own worked verification.
        proof_file = tmp_path / "receipt.tlog-proof"
        proof_file.write_text(bundle.text())
        spec_only(proof_file, vkey, [w.vkey for w in witnesses])
        proof_file.write_text(bundle.text().replace("index ", "index 1", 1))
        with pytest.raises((AssertionError, ValueError)):
            spec_only(proof_file, vkey, [w.vkey for w in witnesses])

        # A policy asking for a third witness is not met by these cosignatures.
        stricter = policy_text(vkey, witnesses).replace("quorum both", "quorum w3")
        stricter = stricter.replace("group both", "witness w3 " + _other_vkey() + "\ngroup both")
        with pytest.raises(IntegrityError, match="quorum"):
            verify_bundle(bundle, parse_policy(stricter))

        # Operators see each witness's state in /readyz and in the metrics.
        operator = gw.auth("hub-operations", Role.OPERATOR)
        ready = gw.client.get("/readyz", headers=operator).json()
        assert set(ready["witnesses"]) == {"w1", "w2"}
        assert not any(w["rolled_back"] for w in ready["witnesses"].values())
        scraped = gw.client.get("/metrics", headers=operator).text
        assert 'gateway_witness_cosigned_size{witness="w1"}' in scraped
        # The DPO sees them on the console's integrity page: how far each cosigned, in words.
        from tests.integration.test_console import _login

        base = str(gw.client.base_url).rstrip("/")
        with closing(_login(base, "dpo")) as browser:
            page = browser.get(f"{base}/console/integrity").text
        rows = re.findall(r"<tr><td>(w[12])</td><td>(\d+)</td><td>(\d+)</td><td>i orden</td>", page)
        assert [name for name, _, _ in rows] == ["w1", "w2"], page[:3000]

        # Tiles and checkpoints need no token; entry bundles need an auditor.
        with httpx.Client(base_url=str(gw.client.base_url)) as anonymous:
            check_public_tiles(anonymous, gw)
        auditor = gw.token("dpo@star.dk", Role.AUDITOR)

        # A proof computed from the tiles alone, by a client that trusts only the policy.
        with TileClient(str(gw.client.base_url), token=auditor) as client:
            proved = client.prove(receipt["audit"]["index"], policy)
            assert verify_bundle(proved, policy).index == receipt["audit"]["index"]
            # The monitor proves growth from tiles.
            state = tmp_path / "monitor.json"
            first = monitor(client, policy, state)
            gw.push("sundhedsdatastyrelsen", "ssr", synthetic.bytes("ssr"))
            assert monitor(client, policy, state).new_size > first.new_size


def spec_only(proof: Path, log_vkey: str, witness_vkeys: list[str]) -> None:
    """Run the verification that audit/README.md gives with only hashlib and cryptography."""
    readme = (Path(__file__).resolve().parents[2] / "audit" / "README.md").read_text()
    code = readme.split("With nothing but the specifications")[1].split("```python\n")[1]
    code = code.split("```")[0].replace('Path("receipt.tlog-proof")', f"Path({str(proof)!r})")
    exec(
        compile(code, "audit/README.md", "exec"),
        {"LOG_VKEY": log_vkey, "WITNESS_VKEYS": witness_vkeys},
    )


def check_public_tiles(anonymous: httpx.Client, gw: Gateway) -> None:
    """Checkpoints and hash tiles without a token; entry bundles for auditors only."""
    note = anonymous.get("/checkpoint").text
    size = Checkpoint.parse(split_note(note)[0]).size
    tile = anonymous.get("/" + Tile(0, 0, min(size, WIDTH)).path())
    assert tile.status_code == 200
    assert "immutable" in tile.headers["cache-control"]
    assert len(tile.content) == 32 * min(size, WIDTH)
    assert anonymous.get("/" + Tile(0, 0, min(size, WIDTH) + 1).path()).status_code == 404
    assert (
        anonymous.get(f"/v1/audit/checkpoints/{size}").text.split("\n")[:3] == note.split("\n")[:3]
    )
    entries_path = "/" + Tile(0, 0, min(size, WIDTH), entries=True).path()
    assert anonymous.get(entries_path).status_code == 401
    source = gw.auth("sundhedsdatastyrelsen", Role.SOURCE)
    assert gw.client.get(entries_path, headers=source).status_code == 403


def _other_vkey() -> str:
    from gateway.crypto.cosignature import Cosigner

    return Cosigner.generate("w3.example").vkey


def test_split_view_and_rollback_are_caught(
    tmp_path: Path, two_witnesses: tuple[str, list[WitnessProcess]]
) -> None:
    """A hub that signs two histories under one key: each witness cosigns the one it is
    shown, neither cosigns the other, the quorum is never met for either, and a monitor that
    saw one history catches the other."""
    hub = NoteSigner.from_seed("split.example/audit", b"\x09" * 32)
    _, witnesses = two_witnesses
    for w in witnesses:  # the running witnesses pick the new log up without a restart
        add_log = ["witness", "add-log", "--dir", str(w.folder), hub.vkey]
        subprocess.run([sys.executable, "-m", "gateway", *add_log], check=True)
    a, b = MemoryTree(), MemoryTree()
    for i in range(10):
        a.append(leaf_hash(f"entry {i}".encode()))
        b.append(leaf_hash(f"entry {i}".encode() if i < 5 else f"other {i}".encode()))

    def note(tree: MemoryTree, size: int) -> str:
        return hub.sign(Checkpoint(hub.name, size, tree.root(size)).text())

    def submit(w: WitnessProcess, old: int, proof: list[bytes], text: str) -> httpx.Response:
        return httpx.post(w.url + "/add-checkpoint", content=request_body(old, proof, text))

    w1, w2 = witnesses
    assert submit(w1, 0, [], note(a, 5)).status_code == 200
    assert submit(w2, 0, [], note(b, 5)).status_code == 200  # the shared prefix
    assert submit(w1, 5, consistency_proof(a.subtree, 5, 10), note(a, 10)).status_code == 200
    assert submit(w2, 5, consistency_proof(b.subtree, 5, 10), note(b, 10)).status_code == 200
    # To reach the quorum the hub must show history B to the witness that saw A: refused.
    equal = submit(w1, 10, [], note(b, 10))
    assert equal.status_code == 422
    assert "different root" in equal.text
    assert "split.example" in (w1.folder / "evidence.jsonl").read_text()
    # A rolled-back log: the witness holds 10 and is offered 7.
    back = submit(w1, 10, [], note(a, 7))
    assert back.status_code == 400
    stale = submit(w1, 5, consistency_proof(a.subtree, 5, 7), note(a, 7))
    assert stale.status_code == 409
    assert stale.text == "10\n"
    assert stale.headers["content-type"].startswith("text/x.tlog.size")
    # Unknown logs and forged signatures.
    stranger = NoteSigner.from_seed("stranger.example/log", b"\x01" * 32)
    assert (
        submit(w1, 0, [], stranger.sign(Checkpoint(stranger.name, 1, a.root(1)).text())).status_code
        == 404
    )
    forged = note(a, 10).replace("— split.example/audit ", "— split.example/audit AAAA")
    assert submit(w1, 10, [], forged).status_code == 403


def test_a_rolled_back_hub_is_caught_by_its_witnesses_and_by_a_monitor(
    tmp_path: Path, two_witnesses: tuple[str, list[WitnessProcess]], synthetic: Synthetic
) -> None:
    """The hub's database is restored from an older copy and its checkpoint file cut to
    match (a hub hiding what it did): the monitor that saw the newer log reports it shrank,
    and the log that grows again on the old copy is another history, which no witness
    cosigns, so no receipt meets the quorum again."""
    vkey, witnesses = two_witnesses
    policy_file = tmp_path / "witness-policy.txt"
    policy_file.write_text(policy_text(vkey, witnesses))
    policy = parse_policy(policy_file.read_text())
    watcher = parse_policy(f"log {vkey}\nquorum none\n")  # a monitor that needs no witness
    data, state = tmp_path / "var", tmp_path / "monitor.json"
    settings = {"witness_policy_file": policy_file, "witness_wait_seconds": 10}
    saved = tmp_path / "older-copy"

    with serving_gateway(data, **settings) as gw:  # type: ignore[arg-type]
        assert gw.push("sundhedsdatastyrelsen", "lpr", synthetic.bytes("lpr")).status_code == 201  # type: ignore[attr-defined]
    saved.mkdir()
    for name in ("gateway.db", "gateway.db-wal", "gateway.db-shm"):
        if (data / name).exists():
            (saved / name).write_bytes((data / name).read_bytes())
    checkpoints = data / "audit" / "checkpoints.jsonl"
    older_file = checkpoints.read_bytes()

    with serving_gateway(data, **settings) as gw:  # type: ignore[arg-type]
        r = gw.push("sundhedsdatastyrelsen", "ssr", synthetic.bytes("ssr"))
        verify_bundle(parse_bundle(r.json()["audit"]["tlog_proof"]), policy)  # type: ignore[attr-defined]
        with TileClient(str(gw.client.base_url)) as client:
            seen = monitor(client, watcher, state).new_size

    for name in ("gateway.db", "gateway.db-wal", "gateway.db-shm"):
        (data / name).unlink(missing_ok=True)
        if (saved / name).exists():
            (data / name).write_bytes((saved / name).read_bytes())
    checkpoints.write_bytes(older_file)  # the hub hides the newer checkpoints too

    with serving_gateway(data, **settings) as gw:  # type: ignore[arg-type]
        with (
            TileClient(str(gw.client.base_url)) as client,
            pytest.raises(IntegrityError, match="shrank"),
        ):
            monitor(client, watcher, state)
        for period in ("2016-11", "2016-12"):  # grow past the size the witnesses hold
            r = gw.push("dfdg", "dfdg-indsats", synthetic.bytes("dfdg-indsats"), period=period)
        material = r.json()["audit"]  # type: ignore[attr-defined]
        with pytest.raises(IntegrityError, match="quorum"):
            verify_bundle(parse_bundle(material["tlog_proof"]), policy)
        with TileClient(str(gw.client.base_url)) as client:
            # /checkpoint stays at the last witnessed size, older than what the monitor saw,
            _, served = client.checkpoint(policy)
            assert served.size < seen
            # and the newest checkpoint the hub signed is another history than the one seen.
            assert material["tree_size"] >= seen
            with pytest.raises(IntegrityError, match="another history"):
                monitor(client, watcher, state, size=material["tree_size"])
    refused = [(w.folder / "evidence.jsonl") for w in witnesses]
    assert all(path.exists() and path.read_text().strip() for path in refused)
