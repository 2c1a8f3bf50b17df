"""The review of an aggregate held by the output checker, as OpenSAFELY's Airlock reviews
outputs: independent blind votes, then a decision everyone can read.

States and what moves them (:data:`TRANSITIONS`, tested to cover every state):

* ``independent``: votes are being cast. Nobody sees another reviewer's identity, vote or
  note (the audit log holds a sealed commitment to each vote, opened at the decision).
* ``conflicted``: every vote is in and they differ. Nothing is released. The votes and notes
  are now shown to the reviewers, who consolidate: a reviewer changes a vote (with a note),
  or a reviewer who voted to withhold closes the review as withheld.
* ``decided``: every vote is in and they agree (through ``consolidating``, where the
  unanimous outcome is recorded with every vote opened), or a conflict was consolidated.
  ``released`` or ``withheld``; final.

Who may vote (:func:`independence`): a person (never a machine client), neither the requester
nor the runner, and from another organisation unit, or another organisation where the policy
says so (``four_eyes`` on a grant, a dataset or a report), than the requester and every
reviewer who voted before. Two colleagues of one office are one pair of eyes.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

from gateway.domain.principals import FourEyes, Principal, apart, strictest


class ReviewState(StrEnum):
    INDEPENDENT = "independent"
    CONSOLIDATING = "consolidating"
    CONFLICTED = "conflicted"
    DECIDED = "decided"


class ReviewEvent(StrEnum):
    VOTE = "vote"  # a vote that is not the last one needed
    LAST_VOTE_AGREES = "last-vote-agrees"
    LAST_VOTE_DIFFERS = "last-vote-differs"
    RECORD = "record"  # the unanimous outcome is recorded
    CHANGE_VOTE = "change-vote"  # in a conflict, a reviewer changes a vote; still differing
    AGREE = "agree"  # in a conflict, a changed vote makes them agree
    CLOSE_WITHHELD = "close-withheld"  # in a conflict, a withholding reviewer closes it


TRANSITIONS: dict[ReviewState, dict[ReviewEvent, ReviewState]] = {
    ReviewState.INDEPENDENT: {
        ReviewEvent.VOTE: ReviewState.INDEPENDENT,
        ReviewEvent.LAST_VOTE_AGREES: ReviewState.CONSOLIDATING,
        ReviewEvent.LAST_VOTE_DIFFERS: ReviewState.CONFLICTED,
    },
    ReviewState.CONSOLIDATING: {ReviewEvent.RECORD: ReviewState.DECIDED},
    ReviewState.CONFLICTED: {
        ReviewEvent.CHANGE_VOTE: ReviewState.CONFLICTED,
        ReviewEvent.AGREE: ReviewState.CONSOLIDATING,
        ReviewEvent.CLOSE_WITHHELD: ReviewState.DECIDED,
    },
    ReviewState.DECIDED: {},
}
# States in which the votes are open to the reviewers (and every reader of the audit log).
OPEN = frozenset({ReviewState.CONSOLIDATING, ReviewState.CONFLICTED, ReviewState.DECIDED})


def step(state: ReviewState, event: ReviewEvent) -> ReviewState:
    """The next state; a move the table does not allow is a programming error."""
    following = TRANSITIONS[state].get(event)
    if following is None:
        raise ValueError(f"a review that is {state} cannot take '{event}'")
    return following


@dataclass(frozen=True)
class Ballot:
    """One reviewer's vote as the service holds it."""

    voter: str  # identity: organisation[/unit]/kind:actor
    vote: str  # "release" | "withhold"
    note: str | None
    salt: str  # hex; opens the sealed commitment in the audit log


def state_of(ballots: list[Ballot], needed: int, decided: bool) -> ReviewState:
    if decided:
        return ReviewState.DECIDED
    if len(ballots) < needed:
        return ReviewState.INDEPENDENT
    if len({b.vote for b in ballots}) > 1:
        return ReviewState.CONFLICTED
    return ReviewState.CONSOLIDATING


def new_salt() -> str:
    return secrets.token_hex(16)


def commitment(release_id: str, ballot: Ballot) -> str:
    """SHA-256 over the vote, its voter and note, salted: what the log holds while the review
    is independent. Anyone holding the decision entry (which opens every ballot) can check it
    against the earlier entry."""
    text = "\n".join(
        ["gateway-vote/v1", release_id, ballot.voter, ballot.vote, ballot.note or "", ballot.salt]
    )
    return hashlib.sha256(text.encode()).hexdigest()


def opened(release_id: str, ballots: list[Ballot]) -> list[dict[str, str | None]]:
    """The ballots as the decision entry records them, with what opens each commitment."""
    return [
        {
            "voter": b.voter,
            "vote": b.vote,
            "note": b.note,
            "salt": b.salt,
            "commitment": commitment(release_id, b),
        }
        for b in ballots
    ]


def independence(
    *,
    requester: str | None,
    runner: str | None,
    voters: list[str],
    by: Principal,
    level: FourEyes,
) -> str | None:
    """Why ``by`` may not cast a vote, or None if it may: apart from the requester, the runner
    and every earlier voter at ``level``, and for votes never less than another unit."""
    level = strictest([level, FourEyes.OTHER_UNIT])
    against = [("the requester", requester), ("the one who ran it", runner)]
    against += [("a reviewer who voted", v) for v in voters]
    for who, identity in against:
        if identity is None:
            continue
        reason = apart(identity, by, level)
        if reason is not None:
            return f"the reviewer {reason} as {who}"
    return None
