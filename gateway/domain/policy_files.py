"""Load ``policies/`` into a :class:`Catalogue`, reporting every problem with file and entry.

Layout of the folder::

    sources.yaml         sources: [...]
    recipients.yaml      recipients: [...]
    populations.yaml     populations: [...]
    municipalities.yaml  municipalities: {code: name}
    controller.yaml      the controller, its DPO and the supervisory authority (GDPR art. 30)
    datasets/<id>.yaml   one dataset per file, file name = dataset id
    disclosure.yaml      disclosure_control: {...}  (the output checker's default rules)
    reports/<id>.yaml    one built-in aggregate report per file, file name = report id
    grants/<name>.yaml   grants: [...]  (one file per recipient by convention)

A catalogue with any problem is refused whole: the gateway does not start on half a policy.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from gateway.domain.catalogue import (
    Catalogue,
    Controller,
    Dataset,
    Grant,
    Population,
    Recipient,
    ReportDefinition,
    Source,
)
from gateway.domain.disclosure import DisclosureRules
from gateway.domain.policy_checks import (
    check_dataset,
    check_grant,
    check_overlaps,
    check_population,
    check_report,
    load_disclosure,
    load_municipalities,
)
from gateway.domain.policy_disclosure import (
    ptable_paths,
)
from gateway.domain.policy_loader import Loader, unique
from gateway.errors import PolicyFileError


def policy_files(root: Path) -> list[Path]:
    """Every file that makes up the policy set, in a stable order (for hashing)."""
    return sorted(p for p in (*root.rglob("*.yaml"), *root.rglob("*.csv")) if p.is_file())


def hash_policy_files(root: Path) -> str:
    """SHA-256 over each file's relative path and bytes; changes when any policy file changes."""
    digest = hashlib.sha256()
    for path in policy_files(root):
        rel = path.relative_to(root).as_posix().encode()
        data = path.read_bytes()
        digest.update(len(rel).to_bytes(4, "big") + rel + len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def load_catalogue(root: Path) -> Catalogue:
    """Load and cross-check the policy folder.

    Raises :class:`PolicyFileError` listing every problem found, each as ``file: entry: message``.
    """
    if not root.is_dir():
        raise PolicyFileError([f"{root}: policy folder not found"])
    ld = Loader(root)
    sources = unique(ld, ld.models(Source, root / "sources.yaml", "sources"), "source")
    recipients = unique(
        ld, ld.models(Recipient, root / "recipients.yaml", "recipients"), "recipient"
    )
    populations = unique(
        ld, ld.models(Population, root / "populations.yaml", "populations"), "population"
    )
    municipalities = load_municipalities(ld, root / "municipalities.yaml")
    controller = ld.model(
        Controller, ld.read(root / "controller.yaml"), root / "controller.yaml", None
    )
    for recipient in recipients.values():
        if recipient.municipality is not None and recipient.municipality not in municipalities:
            ld.problems.append(
                f"recipients.yaml: recipient '{recipient.id}': municipality "
                f"'{recipient.municipality}' is not a code in municipalities.yaml"
            )

    dataset_items: list[tuple[Dataset, Path]] = []
    for path in sorted((root / "datasets").glob("*.yaml")):
        ds = ld.model(Dataset, ld.read(path), path, None)
        if ds is None:
            continue
        if ds.id != path.stem:
            ld.problems.append(f"{ld.rel(path)}: dataset '{ds.id}': id must equal the file name")
        dataset_items.append((ds, path))
        check_dataset(ld, ds, path, sources)
    datasets = unique(ld, dataset_items, "dataset")

    grant_items: list[tuple[Grant, Path]] = []
    for path in sorted((root / "grants").glob("*.yaml")):
        grant_items.extend(ld.models(Grant, path, "grants"))
    unique(ld, grant_items, "grant")
    for grant, path in grant_items:
        check_grant(ld, grant, path, datasets, recipients, populations)
    check_overlaps(ld, grant_items)
    for pop in populations.values():
        check_population(ld, pop, root / "populations.yaml", datasets)

    disclosure = load_disclosure(ld, root / "disclosure.yaml")
    reports: dict[str, ReportDefinition] = {}
    for path in sorted((root / "reports").glob("*.yaml")):
        report = ld.model(ReportDefinition, ld.read(path), path, None)
        if report is not None:
            check_report(ld, report, path, datasets, recipients, populations)
            reports[report.id] = report

    ptables, problems = ptable_paths(
        root,
        [(ld.rel(root / "disclosure.yaml"), disclosure)]
        + [(ld.rel(root / f"datasets/{d.id}.yaml"), d.disclosure) for d in datasets.values()]
        + [(ld.rel(root / f"reports/{r.id}.yaml"), r.disclosure) for r in reports.values()],
    )
    ld.problems.extend(problems)
    if ld.problems:
        raise PolicyFileError(ld.problems)
    return Catalogue(
        sources=sources,
        datasets=datasets,
        recipients=recipients,
        populations=populations,
        grants=tuple(g for g, _ in grant_items),
        municipalities=municipalities,
        disclosure=disclosure or DisclosureRules(),
        reports=reports,
        ptable_paths=ptables,
        policy_hash=hash_policy_files(root),
        controller=controller,
    )
