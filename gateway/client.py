"""A Python client for analysts: the gateway's releases as Arrow tables, the catalogue and
one's own extract specifications as Python objects, no CLI needed.

    from gateway.client import Gateway

    with Gateway("https://gateway.star.dk") as gw:          # the session 'gateway login' keeps
        release = gw.pull("rel-...")                         # a pyarrow.Table, typed
        lpr = gw.pull("rel-...", layout="by-dataset")["lpr"] # plain column names, one dataset
        frame = to_pandas(lpr)                               # or to_polars(lpr)

The token comes from ``token=``, or ``client_key=`` (a machine's key file), or the same places
as the CLI (``GATEWAY_TOKEN``, ``GATEWAY_CLIENT_KEY``, the ``gateway login`` session). Every
pull is checked against the ``X-Content-SHA256-Parquet`` the gateway sends (the digest in the
audit entry) and is an audited ``release.pulled`` entry like any other.

A microdata release is one long table: ``person``, ``dataset``, ``event_start``,
``event_end`` and each dataset's columns as ``<dataset>__<column>`` (empty on the other
datasets' rows). ``layout="by-dataset"`` splits it into one table per dataset with the plain
column names and only that dataset's rows.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, overload

import httpx
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from gateway.errors import NotAuthenticated

BASE_COLUMNS = ("person", "dataset", "event_start", "event_end")


class GatewayClientError(Exception):
    """The gateway answered with a problem; ``http_status`` and ``body`` (the problem+json,
    whose ``type`` is a page at the gateway) say which. Raised on the analyst's side only."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        self.detail = str(problem.get("detail") or problem.get("title") or status)
        super().__init__(self.detail)
        self.http_status = status
        self.body = problem


@dataclass(frozen=True)
class Dataset:
    id: str
    title: str
    owner: str
    purposes: list[str]
    restricted: bool
    columns: list[str]
    quality_notes: list[str]


@dataclass(frozen=True)
class Extract:
    id: str
    recipient: str
    status: str
    purpose: str
    datasets: dict[str, list[str]]
    period_from: str
    period_to: str
    output: str


class Gateway:
    """A session with one gateway (a context manager; ``close()`` otherwise)."""

    def __init__(
        self,
        url: str = "http://127.0.0.1:8000",
        *,
        token: str | None = None,
        client_key: Path | None = None,
        timeout: float = 600.0,
    ) -> None:
        self.url = url.rstrip("/")
        self._token = token or self._token_from(client_key)
        self._http = httpx.Client(
            base_url=self.url,
            timeout=httpx.Timeout(timeout, connect=10.0),
            headers={"Authorization": f"Bearer {self._token}"},
        )

    @staticmethod
    def _token_from(client_key: Path | None) -> str:
        from gateway.identity.credentials import DEFAULT_AUDIENCE, bearer_token

        if client_key is not None:
            from gateway.identity.client_keys import ClientKey
            from gateway.identity.oauth import OAuthClient

            key = ClientKey.load(client_key)
            with OAuthClient(key.issuer) as oauth:
                return oauth.client_credentials(key, DEFAULT_AUDIENCE).access_token
        return bearer_token()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _get(self, path: str, **params: str) -> httpx.Response:
        response = self._http.get(path, params=params or None)
        if response.status_code == 401:
            raise NotAuthenticated(response.json().get("detail", "not authenticated"))
        if not response.is_success:
            try:
                problem = response.json()
            except ValueError:
                problem = {"status": response.status_code}
            raise GatewayClientError(response.status_code, problem)
        return response

    def datasets(self) -> list[Dataset]:
        """The catalogue: every dataset, its owner, purposes, restriction and columns."""
        return [
            Dataset(
                d["id"],
                d["title"],
                d["owner"],
                sorted(d["purposes"]),
                bool(d["restricted"]),
                [c["name"] for c in d["columns"]],
                list(d.get("quality_notes", [])),
            )
            for d in self._get("/v1/catalogue/datasets").json()["datasets"]
        ]

    def extracts(self) -> list[Extract]:
        """Your organisation's extract specifications (all of them for approvers)."""
        return [_extract(e) for e in self._get("/v1/extracts").json()["extracts"]]

    @overload
    def pull(self, release_id: str, layout: Literal["long"] = "long") -> pa.Table: ...

    @overload
    def pull(self, release_id: str, layout: Literal["by-dataset"]) -> dict[str, pa.Table]: ...

    def pull(
        self, release_id: str, layout: Literal["long", "by-dataset"] = "long"
    ) -> pa.Table | dict[str, pa.Table]:
        """A microdata release as a typed Arrow table (dates as dates, counts as integers),
        checked against the SHA-256 the gateway sent."""
        response = self._get(f"/v1/releases/{release_id}/content", format="parquet")
        expected = response.headers.get("X-Content-SHA256-Parquet")
        if expected and hashlib.sha256(response.content).hexdigest() != expected:
            raise GatewayClientError(502, {"detail": "the release arrived damaged; pull again"})
        table = pq.read_table(io.BytesIO(response.content))
        return by_dataset(table) if layout == "by-dataset" else table


def _extract(body: dict[str, Any]) -> Extract:
    spec = body["spec"]
    return Extract(
        body["id"],
        body["recipient"],
        body["status"],
        spec["purpose"],
        {d["dataset"]: list(d["columns"]) for d in spec["datasets"]},
        spec["period_from"],
        spec["period_to"],
        spec.get("output", "microdata"),
    )


def by_dataset(table: pa.Table) -> dict[str, pa.Table]:
    """One table per dataset: its rows only, ``person``, ``event_start``, ``event_end`` and its
    own columns under their plain names."""
    out: dict[str, pa.Table] = {}
    for dataset in pc.unique(table["dataset"]).to_pylist():
        prefix = f"{dataset.replace('-', '_')}__"
        rows = table.filter(pc.equal(table["dataset"], dataset))
        keep = [c for c in BASE_COLUMNS if c != "dataset" and c in rows.column_names]
        own = [c for c in rows.column_names if c.startswith(prefix)]
        part = rows.select(keep + own)
        out[dataset] = part.rename_columns(keep + [c[len(prefix) :] for c in own])
    return out


def to_pandas(table: pa.Table) -> Any:
    """The table as a pandas DataFrame (``pip install 'gateway[analysis]'``)."""
    return table.to_pandas()


def to_polars(table: pa.Table) -> Any:
    """The table as a polars DataFrame (``pip install 'gateway[analysis]'``)."""
    import polars

    return polars.from_arrow(table)
