"""The review of held aggregates: the state machine as a table, sealed ballots that the
decision opens, and independence checked over every combination of requester, runner, first
and second voter."""

from __future__ import annotations

import itertools

import pytest

from gateway.domain.principals import ActorKind, FourEyes, Principal, Role
from gateway.domain.reviews import (
    OPEN,
    TRANSITIONS,
    Ballot,
    ReviewEvent,
    ReviewState,
    commitment,
    independence,
    opened,
    state_of,
    step,
)


def test_every_state_has_its_row_and_only_decided_is_final() -> None:
    assert set(TRANSITIONS) == set(ReviewState)
    assert [s for s, moves in TRANSITIONS.items() if not moves] == [ReviewState.DECIDED]
    reachable = {ReviewState.INDEPENDENT}
    frontier = [ReviewState.INDEPENDENT]
    while frontier:
        for following in TRANSITIONS[frontier.pop()].values():
            if following not in reachable:
                reachable.add(following)
                frontier.append(following)
    assert reachable == set(ReviewState)
    assert ReviewState.INDEPENDENT not in OPEN  # blind while independent
    with pytest.raises(ValueError):
        step(ReviewState.DECIDED, ReviewEvent.VOTE)
    with pytest.raises(ValueError):
        step(ReviewState.INDEPENDENT, ReviewEvent.CLOSE_WITHHELD)


def _b(voter: str, vote: str) -> Ballot:
    return Ballot(voter, vote, "why", "00" * 16)


def test_state_follows_the_votes() -> None:
    one = [_b("a/x/person:a", "release")]
    assert state_of(one, 2, decided=False) is ReviewState.INDEPENDENT
    agree = [*one, _b("b/y/person:b", "release")]
    assert state_of(agree, 2, decided=False) is ReviewState.CONSOLIDATING
    differ = [*one, _b("b/y/person:b", "withhold")]
    assert state_of(differ, 2, decided=False) is ReviewState.CONFLICTED
    assert state_of(differ, 2, decided=True) is ReviewState.DECIDED


def test_a_sealed_ballot_is_opened_by_the_decision() -> None:
    ballot = _b("hub-legal/legal/person:jurist", "withhold")
    sealed = commitment("rel-1", ballot)
    assert sealed not in ("withhold", ballot.voter) and len(sealed) == 64
    (shown,) = opened("rel-1", [ballot])
    assert shown["commitment"] == sealed and shown["voter"] == ballot.voter
    other = Ballot(ballot.voter, "release", ballot.note, ballot.salt)
    assert commitment("rel-1", other) != sealed  # the vote cannot be swapped afterwards


PEOPLE = {
    "anna": ("star-analyse", "analyse"),
    "bo": ("star-analyse", "analyse"),
    "carl": ("star-analyse", "jura"),
    "jurist": ("hub-legal", "legal"),
    "jurist2": ("hub-legal", "legal"),
    "dpo": ("hub-dpo", "dpo"),
}


def _p(name: str) -> Principal:
    org, unit = PEOPLE[name]
    return Principal(org, frozenset({Role.APPROVER}), name, ActorKind.PERSON, unit)


def _expected(requester: str, runner: str, first: str | None, second: str, level: FourEyes) -> bool:
    """The rule in words: the second voter is another person than all of them, of another
    unit (another organisation where the level says so) than each."""
    strict = level is FourEyes.OTHER_ORGANISATION
    for other in filter(None, (requester, runner, first)):
        if other == second:
            return False
        same_org = PEOPLE[other][0] == PEOPLE[second][0]
        if same_org and (strict or PEOPLE[other][1] == PEOPLE[second][1]):
            return False
    return True


@pytest.mark.parametrize("level", list(FourEyes))
def test_independence_over_every_combination(level: FourEyes) -> None:
    names = list(PEOPLE)
    checked = 0
    for requester, runner, first, second in itertools.product(names, names, [None, *names], names):
        voters = [] if first is None else [_p(first).identity]
        reason = independence(
            requester=_p(requester).identity,
            runner=_p(runner).identity,
            voters=voters,
            by=_p(second),
            level=level,
        )
        assert (reason is None) == _expected(requester, runner, first, second, level), (
            requester,
            runner,
            first,
            second,
            level,
            reason,
        )
        checked += 1
    assert checked == 6 * 6 * 7 * 6


def test_two_colleagues_of_one_office_are_one_pair_of_eyes() -> None:
    """The attack: a held aggregate released by two persons of one organisation and unit."""
    assert independence(
        requester="star-statistik/client:script",
        runner="star-statistik/client:script",
        voters=[_p("jurist").identity],
        by=_p("jurist2"),
        level=FourEyes.PERSON,  # even where a grant asks for no more than another person
    )
    assert (
        independence(
            requester="star-statistik/client:script",
            runner="star-statistik/client:script",
            voters=[_p("jurist").identity],
            by=_p("dpo"),
            level=FourEyes.OTHER_UNIT,
        )
        is None
    )
