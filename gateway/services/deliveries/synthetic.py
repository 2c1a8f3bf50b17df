"""Synthetic deliveries for demos, tests and benchmarks: every dataset of the catalogue for one
month, deterministic for a seed. They hold plaintext CPR numbers (synthetic ones), so they are
written outside the hub's folders and pushed like any source's file."""

from __future__ import annotations

from pathlib import Path

from gateway.dataplane.synth import SynthFile, generate
from gateway.domain.catalogue import Catalogue

__all__ = ["SynthFile", "write"]


def write(
    catalogue: Catalogue, out: Path, *, period: str, seed: int = 2016, scale: float = 1.0
) -> list[SynthFile]:
    """Write one file per dataset under ``out``; what was written (dataset, rows, path)."""
    return generate(catalogue, out, period=period, seed=seed, scale=scale)
