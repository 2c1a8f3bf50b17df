"""``make serve-demo`` (``gateway demo --serve``) on a folder with no demo in it says what to
do instead of starting an empty server."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.cli.demo_serve import serve
from gateway.errors import ConfigurationError


def test_serving_a_folder_without_a_demo_says_to_run_the_demo(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="run 'make demo'"):
        serve(tmp_path / "demo", 8000)
