"""The house's floors and contexts hold (``[tool.importlinter]`` in pyproject.toml, pictured in
docs/architecture.md): no arrow runs up a floor, the fronts go through the services, the
services' contexts stand on each other one way only, the core knows no web framework or
database library, and no two siblings import each other at any depth.

The second test breaks a copy of the package on purpose (an arrow up a floor, a front that
reaches into storage, a circle) and checks that the rules catch each: rules that could not
fail would prove nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(package_parent: Path, config: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run(
        [str(LINT), "--config", str(config), "--no-cache"],
        cwd=package_parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_every_import_keeps_the_floors_contexts_and_no_circles() -> None:
    done = _lint(ROOT, ROOT / "pyproject.toml")
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "BROKEN" not in done.stdout and done.stdout.count("KEPT") >= 7, done.stdout


def test_the_rules_catch_an_arrow_up_a_front_into_storage_and_a_circle(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "gateway", tmp_path / "gateway", ignore=shutil.ignore_patterns("*.so"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    broken = {
        # An arrow up a floor: the domain reaching into the services.
        "gateway/domain/quality.py": "import gateway.services.context\n",
        # A front that skips the services.
        "gateway/console/texts.py": "import gateway.storage.tables\n",
        # A circle between two contexts' modules.
        "gateway/services/audit/filters.py": "import gateway.services.releases.reviews\n",
    }
    for path, line in broken.items():
        target = tmp_path / path
        target.write_text(target.read_text() + "\n" + line)
    done = _lint(tmp_path, tmp_path / "pyproject.toml")
    assert done.returncode != 0
    out = done.stdout
    assert "gateway.domain.quality -> gateway.services.context" in out, out[-4000:]
    assert "gateway.console.texts -> gateway.storage.tables" in out, out[-4000:]
    assert "gateway.services.audit.filters -> gateway.services.releases.reviews" in out, out[-4000:]
