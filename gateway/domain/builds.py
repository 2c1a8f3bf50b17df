"""A release being built, as its requester, the approvers and the DPO can follow it.

A linked release over national registers runs for minutes on Spark. Its build is recorded as
it goes: which engine took it, how many of the job's tasks Spark has finished out of those it
has planned so far, and how it ended (built, with the release it made; failed, with why,
nothing released; or interrupted, when the gateway process that ran it stopped). The record
holds counts and states only: no row, person or key of the release.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class BuildState(StrEnum):
    RUNNING = "running"
    BUILT = "built"
    FAILED = "failed"  # the engine failed after its retries; nothing was released
    INTERRUPTED = "interrupted"  # the process that ran it stopped; nothing was released


@dataclass(frozen=True)
class BuildRecord:
    id: str
    extract_id: str
    recipient: str
    engine: str  # "local" or "spark"
    state: BuildState
    started_at: str
    updated_at: str
    owner: str  # the running process's work-area token (a dead owner's build is interrupted)
    tasks_done: int = 0  # Spark tasks finished
    tasks_total: int = 0  # Spark tasks planned so far (grows as the job's stages are planned)
    jobs_done: int = 0  # Spark jobs finished
    release_id: str | None = None  # the release it made, once built
    note: str = ""  # why it failed

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "extract_id": self.extract_id,
            "recipient": self.recipient,
            "engine": self.engine,
            "state": self.state.value,
            "started_at": self.started_at,
            "updated_at": self.updated_at,
            "tasks_done": self.tasks_done,
            "tasks_total": self.tasks_total,
            "jobs_done": self.jobs_done,
            "release_id": self.release_id,
            "note": self.note,
        }
