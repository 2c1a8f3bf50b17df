"""The reviewers' folder opens in SACRO Viewer (the SACRO project's viewer, from PyPI): its own
loader reads our results.json, finds every table at the path it names and verifies each
checksum. Run in a child process, where the viewer's Django settings are its own."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from gateway.domain.principals import Role
from tests.conftest import Gateway, Synthetic
from tests.integration.test_aggregates_api import BY_KOMMUNE, DPO, approved, run

VIEWER = """
import json, sys
from pathlib import Path
import django
django.setup()
from sacro.models import load_from_path
outputs = load_from_path(Path(sys.argv[1]) / "results.json")
print(json.dumps({
    name: {
        "status": out["status"],
        "files": [[f["name"], f["checksum_valid"], len(f.get("cell_index", {}))]
                  for f in out["files"]],
    }
    for name, out in outputs.items()
}))
"""


def test_sacro_viewer_opens_the_review_folder(
    gateway: Gateway, synthetic: Synthetic, tmp_path: Path
) -> None:
    f = synthetic.files["dfdg-indsats"]
    assert (
        gateway.push(f.source, "dfdg-indsats", synthetic.bytes("dfdg-indsats")).status_code == 201
    )
    rel = run(gateway, "star-statistik", approved(gateway, "star-statistik", BY_KOMMUNE))
    assert rel.status_code == 201, rel.text
    path = f"/v1/releases/{rel.json()['id']}/review-bundle"
    mine = gateway.client.get(path, headers=gateway.auth("star-statistik", Role.RECIPIENT))
    assert mine.status_code == 404  # for reviewers only
    bundle = gateway.client.get(path, headers=gateway.auth(*DPO))
    assert bundle.status_code == 200
    folder = tmp_path / "review"
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
        archive.extractall(folder)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sacro.settings",
        "SECRET_KEY": "test-only",
    }
    done = subprocess.run(
        [sys.executable, "-c", VIEWER, str(folder)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["output_0"]["status"] == "pass"
    [[name, checksum_valid, flagged]] = seen["output_0"]["files"]
    assert name == "tables/dfdg-indsats-persons.csv" and checksum_valid and flagged > 0
