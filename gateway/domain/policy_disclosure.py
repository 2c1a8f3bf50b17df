"""Cross-checks of the policy files' disclosure parts: implications between categories, the
terms of grants' aggregates, and the p-tables the rules name.

Kept beside :mod:`gateway.domain.policy_files` (which calls these) because they are about the
output checker, not the legal bases, and because a p-table is a data file, not YAML.
"""

from __future__ import annotations

from pathlib import Path

from gateway.domain.catalogue import ColumnType, Dataset, Grant, OutputForm
from gateway.domain.disclosure import DisclosureRules, Scope
from gateway.domain.disclosure.ptable import load


def implication_problems(where: str, ds: Dataset) -> list[str]:
    """Each implication must join two category values of two different columns."""
    problems = []
    for imp in ds.implications:
        (a, x), (b, y) = imp.pair
        for column, value in ((a, x), (b, y)):
            if column not in ds.column_names:
                problems.append(f"{where}: implications: '{column}' is not a column")
            elif ds.column(column).type is not ColumnType.CATEGORY:
                problems.append(f"{where}: implications: '{column}' is not a category column")
            elif value not in (ds.column(column).values or ()):
                problems.append(f"{where}: implications: '{value}' is not a value of '{column}'")
        if a == b:
            problems.append(f"{where}: implications: '{a}' implies a value of itself")
    return problems


def aggregate_terms_problems(where: str, grant: Grant) -> list[str]:
    """A confidential scope needs its legal text; terms for aggregates need aggregates."""
    terms = grant.aggregates
    problems = []
    if terms.scope is Scope.CONFIDENTIAL and not (terms.confidential_citation or "").strip():
        problems.append(
            f"{where}: aggregates: a confidential scope needs confidential_citation, the legal "
            "text that keeps the tables with the recipient (the default is published)"
        )
    if terms.scope is Scope.PUBLISHED and terms.confidential_citation:
        problems.append(f"{where}: aggregates: confidential_citation without scope confidential")
    touched = terms.method is not None or terms.scope is not Scope.PUBLISHED
    if touched and OutputForm.AGGREGATE not in grant.outputs:
        problems.append(f"{where}: aggregates: terms for a grant that allows no aggregates")
    return problems


def ptable_paths(
    root: Path, rules: list[tuple[str, DisclosureRules | None]]
) -> tuple[dict[str, str], list[str]]:
    """Every p-table file the rules name, loaded once to prove it is well formed."""
    paths: dict[str, str] = {}
    problems = []
    for where, rule in rules:
        name = rule.ptable_file if rule is not None else None
        if name is None or name in paths:
            continue
        path = (root / name).resolve()
        if root.resolve() not in path.parents:
            problems.append(f"{where}: ptable_file '{name}' is outside the policy folder")
            continue
        try:
            load(path)
        except FileNotFoundError:
            problems.append(f"{where}: ptable_file '{name}' not found")
            continue
        except ValueError as exc:
            problems.append(f"{where}: ptable_file: {exc}")
            continue
        paths[name] = str(path)
    return paths, problems
