"""gateway.client as an analyst uses it, over real HTTP: the catalogue and one's extracts as
objects, a release as a typed Arrow table, split by dataset, into pandas and polars."""

from __future__ import annotations

import pyarrow as pa
import pytest

from gateway import client as analyst
from gateway.domain.principals import Role
from tests.conftest import Gateway as Served
from tests.conftest import Synthetic
from tests.integration.test_extracts_api import LINKED, push_all, release_for


def test_an_analyst_pulls_a_release_as_typed_tables(served: Served, synthetic: Synthetic) -> None:
    push_all(served, synthetic)
    release, _ = release_for(served, "star-analyse", LINKED)
    url = str(served.client.base_url)
    with analyst.Gateway(url, token=served.token("star-analyse", Role.RECIPIENT)) as gw:
        datasets = {d.id: d for d in gw.datasets()}
        assert datasets["sfi-hjemloese"].restricted and "kommune" in datasets["lpr"].columns
        (mine,) = gw.extracts()
        assert mine.purpose == "analysis" and set(mine.datasets) == {"dfdg-indsats", "lpr"}
        table = gw.pull(release["id"])
        assert table.num_rows == release["rows"]
        assert pa.types.is_date32(table.schema.field("event_start").type)
        parts = gw.pull(release["id"], layout="by-dataset")
        assert set(parts) == {"dfdg-indsats", "lpr"}
        lpr = parts["lpr"]
        assert "contact_type" in lpr.column_names and not any("__" in c for c in lpr.column_names)
        assert sum(p.num_rows for p in parts.values()) == table.num_rows
        assert len(analyst.to_pandas(lpr)) == lpr.num_rows
        assert analyst.to_polars(lpr).height == lpr.num_rows
        with pytest.raises(analyst.GatewayClientError) as refused:
            gw.pull("rel-" + "0" * 32)
        assert refused.value.http_status == 404
        with pytest.raises(analyst.GatewayClientError) as misread:
            gw.pull("rel-12345")  # a mistyped id: the answer says what an id looks like
        assert "expected rel- and 32 hexadecimal digits" in misread.value.detail
