"""Engines execute release plans (:mod:`gateway.domain.release_plan`).

``local`` is the Arrow path in the worker's own process (:func:`gateway.dataplane.link.run_plan`),
the embedded default. ``spark`` (:mod:`gateway.engines.spark`) runs the same plan on Apache
Spark, for links that one process cannot hold. Engines are adapters: the services choose one
(:class:`EngineChoice`), hand it the plan, the sealed inputs and the keys the job needs, and read
what it built; disclosure control, the ledger and the audit entry stay in the services. Only
:mod:`gateway.engines.spark` imports pyspark (an import rule says so), and only when chosen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa


@dataclass(frozen=True)
class SealedInput:
    """One stored blob of a dataset, as a distributed job's executor opens it: its location,
    its own data key (unwrapped by the hub) and how many Parquet row groups it holds (one
    task each)."""

    dataset: str
    location: str
    blob_id: str
    data_key: bytes
    row_groups: int


@dataclass(frozen=True)
class Built:
    """A linked release an engine built and the hub sealed: its counts, the distinct internal
    pseudonyms it holds (for the audit trail's subject index), the SHA-256 of its content,
    and which engine built it (with Spark's application id) for its audit entry."""

    rows: int
    persons: int
    rows_by_dataset: dict[str, int]
    internal_persons: pa.Array
    sha256: str
    engine: dict[str, str]


@dataclass(frozen=True)
class EngineChoice:
    """Which engine builds a linked release: Spark (``master``: ``local[n]``,
    ``spark://host:7077``, ``k8s://...``) for releases whose inputs hold at least
    ``min_rows`` stored rows, else the local engine. No master: always local."""

    master: str | None = None
    min_rows: int = 50_000_000
    work_dir: Path = Path("var/spark")
    conf: dict[str, str] = field(default_factory=dict)
    owner: str = "local"  # the process's work-area token: its jobs' folders carry it

    def engine_for(self, input_rows: int) -> str:
        return "spark" if self.master and input_rows >= self.min_rows else "local"


JOB_PREFIX = "job-"


def job_owner(folder: Path) -> str | None:
    """The work-area token of the process that ran the Spark job of ``folder``
    (``job-<token>-<random>``); None if the folder is not a job's."""
    parts = folder.name.split("-")
    return parts[1] if folder.name.startswith(JOB_PREFIX) and len(parts) == 3 else None
