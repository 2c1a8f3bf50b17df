"""The permission table's own promises, independent of any route."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from gateway.domain.permissions import PERMISSIONS, Reach, permits
from gateway.domain.principals import Role

CONTENT = ("release.run", "release.pull")


def test_content_is_reached_by_its_own_recipient_only() -> None:
    for case in CONTENT:
        assert PERMISSIONS[case].allowed == {Role.RECIPIENT: Reach.OWN}


@given(st.frozensets(st.sampled_from(list(Role)), min_size=1))
def test_no_combination_of_roles_reaches_another_recipients_content(roles: frozenset[Role]) -> None:
    for case in CONTENT:
        assert not permits(roles, case, owner=False)


def test_more_roles_never_take_a_permission_away_and_owner_is_never_less() -> None:
    for case, (a, b) in itertools.product(PERMISSIONS, itertools.combinations(Role, 2)):
        for owner in (False, True):
            assert permits(frozenset({a, b}), case, owner=owner) == (
                permits(frozenset({a}), case, owner=owner)
                or permits(frozenset({b}), case, owner=owner)
            )
        assert permits(frozenset({a}), case, owner=True) >= permits(
            frozenset({a}), case, owner=False
        )
