"""Prometheus metrics. Labels are ids of datasets, recipients, routes and problem codes only.

With several worker processes set PROMETHEUS_MULTIPROC_DIR (an empty folder shared by the
workers of one host) and every worker's /metrics reports the sum over the workers; without it
each worker reports its own counters.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUEST_SECONDS = Histogram(
    "gateway_http_request_duration_seconds",
    "Request latency by route template and status",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
DELIVERIES = Counter(
    "gateway_deliveries_total", "Delivery pushes by dataset and outcome", ["dataset", "outcome"]
)
DELIVERY_ROWS = Counter("gateway_delivery_rows_total", "Rows accepted, by dataset", ["dataset"])
REFUSALS = Counter("gateway_refusals_total", "Refused requests by problem code", ["code"])
RELEASES = Counter("gateway_releases_total", "Releases created, by recipient", ["recipient"])

CONTENT_TYPE = CONTENT_TYPE_LATEST


def render(
    audit_entries: int,
    *,
    last_entry_age: float | None = None,
    ready: bool = True,
    witnesses: dict[str, dict[str, object]] | None = None,
) -> bytes:
    """The exposition text, plus what is read at scrape time: the audit log's size (it only
    grows; a drop is tampering or a restore), the age of its newest entry (every transaction
    signs a checkpoint, so this is also the newest checkpoint's age), and readiness."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    gauge = (
        "# HELP gateway_audit_entries Entries in the audit log\n"
        "# TYPE gateway_audit_entries gauge\n"
        f"gateway_audit_entries {audit_entries}\n"
        "# HELP gateway_ready 1 when the database answers and the keys are loaded\n"
        "# TYPE gateway_ready gauge\n"
        f"gateway_ready {1 if ready else 0}\n"
    )
    if last_entry_age is not None:
        gauge += (
            "# HELP gateway_audit_last_entry_age_seconds Seconds since the newest audit entry "
            "(and its signed checkpoint)\n"
            "# TYPE gateway_audit_last_entry_age_seconds gauge\n"
            f"gateway_audit_last_entry_age_seconds {last_entry_age:.0f}\n"
        )
    gauge += _witness_gauges(witnesses or {})
    return generate_latest(registry) + gauge.encode()


def _witness_gauges(witnesses: dict[str, dict[str, object]]) -> str:
    """Each witness's largest cosigned size and whether it saw the log roll back: declared
    always (so alert rules name real metrics), a sample per witness of the policy file."""
    names = sorted(witnesses)
    labels = {n: n.replace("\\", "").replace('"', "") for n in names}  # from the policy file
    text = (
        "# HELP gateway_witness_cosigned_size The largest checkpoint each witness cosigned\n"
        "# TYPE gateway_witness_cosigned_size gauge\n"
    )
    text += "".join(
        f'gateway_witness_cosigned_size{{witness="{labels[n]}"}} {witnesses[n]["cosigned"]}\n'
        for n in names
    )
    text += (
        "# HELP gateway_witness_rolled_back 1 when a witness holds a larger log than this one\n"
        "# TYPE gateway_witness_rolled_back gauge\n"
    )
    text += "".join(
        f'gateway_witness_rolled_back{{witness="{labels[n]}"}} '
        f"{1 if witnesses[n]['rolled_back'] else 0}\n"
        for n in names
    )
    return text
