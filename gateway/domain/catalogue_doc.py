"""``docs/catalogue.md``, written from the policy files: one line per dataset saying what it
is, who owns it, what the gateway lets whom do with it, and why.

The document is generated (``gateway policy doc``) and a test compares the committed file
with what the policies say today, so the page a lawyer reads cannot drift from the rules the
gateway enforces.
"""

from __future__ import annotations

from gateway.domain.catalogue import Catalogue, Dataset


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "/")


def _who(cat: Catalogue, ds: Dataset) -> str:
    if ds.restricted:
        return "nobody: restricted, no onward transfer in any form"
    grants = sorted((g for g in cat.grants if g.dataset == ds.id), key=lambda g: g.recipient)
    if not grants:
        return "nobody: no grant (every request is refused: no legal basis)"
    parts = []
    for g in grants:
        outputs = " and ".join(sorted(o.value for o in g.outputs))
        purposes = ", ".join(sorted(p.value for p in g.purposes))
        revoked = f", revoked {g.revoked.isoformat()}" if g.revoked else ""
        parts.append(f"{g.recipient}: {outputs} for {purposes} (grant {g.id}{revoked})")
    return "; ".join(parts)


def _why(cat: Catalogue, ds: Dataset) -> str:
    reasons = [ds.purpose_citation]
    if ds.restricted and ds.restriction_citation:
        reasons.append(ds.restriction_citation)
    reasons += sorted({g.citation for g in cat.grants if g.dataset == ds.id})
    return " ".join(_cell(r) for r in reasons)


def _kept(ds: Dataset) -> str:
    """How long the hub keeps the dataset's deliveries (docs/retention.md)."""
    if ds.retention is None:
        return "no rule (refused by policy check)"
    r = ds.retention
    return (
        f"{r.years_after_period} years after the month; replaced versions "
        f"{r.superseded_months} months; withdrawn {r.withdrawn_days} days"
    )


def catalogue_markdown(cat: Catalogue) -> str:
    lines = [
        "# The catalogue",
        "",
        "Every dataset the gateway knows, one line each: what it is, who owns it, the purposes",
        "it may serve, what the gateway lets whom do with it, how long the hub keeps it, and",
        "why. Written from `policies/` by `gateway policy doc`; a test fails when this page and",
        "the policies differ. Retention and erasure: `docs/retention.md`.",
        "",
        "| dataset | what it is | owner | purposes | who may receive what | kept at the hub "
        "| why |",
        "|---|---|---|---|---|---|---|",
    ]
    for ds in sorted(cat.datasets.values(), key=lambda d: d.id):
        owner = cat.sources[ds.owner].name if ds.owner in cat.sources else ds.owner
        purposes = ", ".join(sorted(p.value for p in ds.purposes))
        lines.append(
            f"| `{ds.id}` | {_cell(ds.title)} ({ds.cadence}) | {_cell(owner)} | {purposes} | "
            f"{_cell(_who(cat, ds))} | {_kept(ds)} | {_why(cat, ds)} |"
        )
    lines += [
        "",
        "Recipients: "
        + "; ".join(
            f"`{r.id}` {_cell(r.name)}" for r in sorted(cat.recipients.values(), key=lambda r: r.id)
        )
        + ".",
        "",
    ]
    return "\n".join(lines)
