"""The operators' files in deploy/ name only metrics the gateway exports (checked against a
live /metrics after real traffic), and Prometheus can scrape with its own bearer secret."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

import yaml

from gateway.domain.principals import Role
from tests.conftest import ROOT, Synthetic, serving_gateway
from tests.identity import bearer

DEPLOY = ROOT / "deploy"
PROMQL_FUNCTIONS = {
    "sum", "by", "rate", "increase", "delta", "histogram_quantile", "max", "min", "avg",
    "count", "up", "le", "bool", "on", "without",
}  # fmt: skip


def _metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression (identifiers followed by '{', '[' or a space/end
    that are not functions, label names inside braces, or keywords)."""
    no_braces = re.sub(r"\{[^}]*\}", "{}", expr)
    no_strings = re.sub(r'"[^"]*"', "", no_braces)
    names = set(re.findall(r"\b([a-z_][a-z0-9_]*)\b", no_strings))
    labels = set(re.findall(r"by \(([^)]*)\)", no_strings))
    label_names = {n.strip() for group in labels for n in group.split(",")}
    return {n for n in names if n.startswith("gateway_")} - label_names


def test_alerts_and_dashboard_use_only_exported_metrics(
    tmp_path: Path, synthetic: Synthetic
) -> None:
    token = secrets.token_urlsafe(32)
    (tmp_path / "metrics-token").write_text(token + "\n")
    with serving_gateway(tmp_path / "var", metrics_token_file=tmp_path / "metrics-token") as gw:
        f = synthetic.files["lpr"]
        assert gw.push(f.source, "lpr", synthetic.bytes("lpr")).status_code == 201
        assert gw.push(f.source, "lpr", b"cpr\n").status_code == 422  # a rejection, counted
        assert gw.client.get("/v1/extracts").status_code == 401  # a refusal, counted
        scraped = gw.client.get("/metrics", headers=bearer(token))
        assert scraped.status_code == 200
        assert gw.client.get("/metrics", headers=bearer("x" * 43)).status_code == 401
        operator = gw.client.get("/metrics", headers=gw.auth("hub-operations", Role.OPERATOR))
        assert operator.status_code == 200
    exported = set(
        re.findall(r"^([a-z_][a-z0-9_]*?)(?:_bucket|_count|_sum|_created)?[{ ]", scraped.text, re.M)
    )
    exported |= set(re.findall(r"^([a-z_][a-z0-9_]*)[{ ]", scraped.text, re.M))
    exported |= set(re.findall(r"^# HELP (\S+)", scraped.text, re.M))  # declared, no sample yet
    assert (
        "gateway_ready 1" in scraped.text and "gateway_audit_last_entry_age_seconds" in scraped.text
    )
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    for rule in (r for g in rules["groups"] for r in g["rules"]):
        assert {"alert", "expr", "labels", "annotations"} <= set(rule), rule
    dashboard = json.loads((DEPLOY / "grafana" / "gateway-dashboard.json").read_text())
    exprs += [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = set().union(*(_metric_names(e) for e in exprs))
    assert used and used <= exported, used - exported
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    assert scrape["scrape_configs"][0]["authorization"]["credentials_file"]
