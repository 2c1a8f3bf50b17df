"""Principals and four eyes: identities read back from records are the principals that wrote
them, and the approver is never the requester, under any organisation or role."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gateway.domain.identifiers import ACTOR_FILTER, ACTOR_LABEL, IDENTITY
from gateway.domain.principals import ActorKind, FourEyes, Identity, Principal, Role, apart

ORGS = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True)
UNITS = st.none() | st.from_regex(r"[a-z0-9][a-z0-9._-]{0,10}", fullmatch=True)
ACTORS = st.from_regex(r"[a-z0-9_-][a-z0-9._@:+_-]{0,30}", fullmatch=True)
KINDS = st.sampled_from([ActorKind.PERSON, ActorKind.CLIENT])
ROLES = st.frozensets(st.sampled_from(list(Role)), min_size=1)


def principals() -> st.SearchStrategy[Principal]:
    return st.builds(Principal, ORGS, ROLES, ACTORS, KINDS, UNITS)


@given(principals())
def test_identity_and_label_read_back_as_the_principal(p: Principal) -> None:
    assert IDENTITY.fullmatch(p.identity) and ACTOR_LABEL.fullmatch(p.label)
    assert ACTOR_FILTER.fullmatch(p.label) and ACTOR_FILTER.fullmatch(p.identity)
    for text in (p.identity, p.label):
        back = Identity.parse(text)
        assert (back.organisation, back.unit, back.kind, back.actor) == (
            p.organisation,
            p.unit,
            p.kind,
            p.actor,
        )


@given(principals(), ORGS, ROLES, UNITS, st.sampled_from(list(FourEyes)))
def test_the_requester_never_approves_under_any_organisation_or_role(
    requester: Principal, org: str, roles: frozenset[Role], unit: str | None, level: FourEyes
) -> None:
    same_person = Principal(org, roles, requester.actor, requester.kind, unit)
    assert apart(requester.identity, same_person, level) is not None


def test_two_people_of_one_organisation_and_units() -> None:
    anna = Principal("star-analyse", frozenset({Role.RECIPIENT}), "anna", ActorKind.PERSON, "a")
    bo = Principal("star-analyse", frozenset({Role.APPROVER}), "bo", ActorKind.PERSON, "a")
    carl = Principal("star-analyse", frozenset({Role.APPROVER}), "carl", ActorKind.PERSON, "b")
    dina = Principal("hub-legal", frozenset({Role.APPROVER}), "dina", ActorKind.PERSON)
    assert apart(anna.identity, bo, FourEyes.PERSON) is None
    assert apart(anna.identity, bo, FourEyes.OTHER_UNIT) is not None
    assert apart(anna.identity, carl, FourEyes.OTHER_UNIT) is None
    assert apart(anna.identity, carl, FourEyes.OTHER_ORGANISATION) is not None
    assert apart(anna.identity, dina, FourEyes.OTHER_ORGANISATION) is None
    # A client named like a person is not that person.
    client = Principal("star-analyse", frozenset({Role.APPROVER}), "anna", ActorKind.CLIENT)
    assert apart(anna.identity, client, FourEyes.PERSON) is None


def test_records_from_before_persons_were_named_keep_the_organisation_rule() -> None:
    legacy = "star-analyse"  # requested_by of an old record: the organisation itself
    colleague = Principal("star-analyse", frozenset({Role.APPROVER}), "bo", ActorKind.PERSON)
    outsider = Principal("hub-legal", frozenset({Role.APPROVER}), "bo", ActorKind.PERSON)
    assert apart(legacy, colleague, FourEyes.PERSON) is not None
    assert apart(legacy, outsider, FourEyes.PERSON) is None
