"""Hypothesis strategies: generated catalogues (deliberately not loader-validated) and requests.

Grants are generated adversarially - purposes the dataset is not shared for, grants on
restricted datasets with or without an exception, CPR grants without approvals, lapsed and
revoked grants - because the evaluator must hold its invariants even where the loader would
have caught the mistake. At most one grant per recipient and dataset, as the loader's overlap
rule guarantees for real policy sets.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hypothesis import strategies as st

from gateway.domain.catalogue import (
    Catalogue,
    Column,
    ColumnType,
    Dataset,
    Grant,
    IdentifierForm,
    OutputForm,
    Population,
    Purpose,
    Recipient,
    Source,
)

COLUMNS = ("a", "b", "start")
DAYS = st.dates(dt.date(2012, 1, 1), dt.date(2030, 12, 31))


@dataclass(frozen=True)
class Request:
    recipient: str
    purpose: Purpose
    dataset: str
    columns: tuple[str, ...] | None
    on: dt.date
    output: OutputForm
    population: str | None
    identifier: IdentifierForm


@st.composite
def catalogues(draw: st.DrawFn) -> Catalogue:
    datasets = {}
    for i in range(draw(st.integers(1, 4))):
        restricted = draw(st.booleans())
        datasets[f"ds-{i}"] = Dataset(
            id=f"ds-{i}",
            title=f"dataset {i}",
            owner="src",
            cadence="monthly",
            purposes=frozenset(draw(st.sets(st.sampled_from(list(Purpose)), min_size=1))),
            purpose_citation="generated purpose citation",
            restricted=restricted,
            restriction_citation="generated restriction citation" if restricted else None,
            collection_basis="generated basis",
            columns=(
                Column(name="cpr", type=ColumnType.CPR),
                Column(name="a", type=ColumnType.STRING),
                Column(name="b", type=ColumnType.STRING),
                Column(name="start", type=ColumnType.DATE),
            ),
            event_start="start",
        )
    recipients = {
        f"r-{i}": Recipient(id=f"r-{i}", name=f"recipient {i}", kind="ministry")
        for i in range(draw(st.integers(1, 3)))
    }
    populations = {"everyone": Population(id="everyone", description="everyone")}
    for d in datasets:
        populations[f"pop-{d}"] = Population(id=f"pop-{d}", description="generated", dataset=d)
    pairs = draw(
        st.sets(
            st.tuples(st.sampled_from(sorted(recipients)), st.sampled_from(sorted(datasets))),
            max_size=8,
        )
    )
    grants = []
    for k, (recipient, dataset) in enumerate(sorted(pairs)):
        start = draw(DAYS)
        grants.append(
            Grant(
                id=f"g-{k}",
                recipient=recipient,
                dataset=dataset,
                purposes=frozenset(draw(st.sets(st.sampled_from(list(Purpose)), min_size=1))),
                citation="generated grant citation",
                population=draw(st.sampled_from(sorted(populations))),
                columns=tuple(sorted(draw(st.sets(st.sampled_from(COLUMNS))))),
                identifier=draw(st.sampled_from(list(IdentifierForm))),
                approval_reference=draw(st.sampled_from([None, "approval ref 1"])),
                restricted_exception=draw(st.sampled_from([None, "explicit exception citation"])),
                outputs=frozenset(draw(st.sets(st.sampled_from(list(OutputForm)), min_size=1))),
                valid_from=start,
                valid_to=draw(st.one_of(st.none(), DAYS)),
                revoked=draw(st.one_of(st.none(), DAYS)),
            )
        )
    return Catalogue(
        sources={"src": Source(id="src", name="source", kind="authority")},
        datasets=datasets,
        recipients=recipients,
        populations=populations,
        grants=tuple(grants),
        municipalities={},
        policy_hash="generated",
    )


def requests(catalogue: Catalogue) -> st.SearchStrategy[Request]:
    return st.builds(
        Request,
        recipient=st.sampled_from(sorted(catalogue.recipients)),
        purpose=st.sampled_from(list(Purpose)),
        dataset=st.sampled_from(sorted(catalogue.datasets)),
        columns=st.one_of(
            st.none(), st.sets(st.sampled_from(COLUMNS)).map(lambda s: tuple(sorted(s)))
        ),
        on=DAYS,
        output=st.sampled_from(list(OutputForm)),
        population=st.one_of(st.none(), st.sampled_from(sorted(catalogue.populations))),
        identifier=st.sampled_from(list(IdentifierForm)),
    )
