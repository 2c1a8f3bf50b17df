"""Statistical disclosure control for aggregate tables.

* :mod:`.rules`: the parameters (``policies/disclosure.yaml``), statuses and checks;
* :mod:`.tables`: tables as cubes with their margins, before and after checking;
* :mod:`.checker`: :func:`check`, the output checker every aggregate passes;
* :mod:`.suppression`: the table-local rules that find a candidate pattern;
* :mod:`.lp_audit`: the proof of a pattern against everything published (HiGHS);
* :mod:`.protection`: the one step every published person count goes through;
* :mod:`.ptable`: the cell-key method's p-table (the layout statistics offices publish);
* :mod:`.ledger`: every cell ever published, and how cells relate across tables.
"""

from gateway.domain.disclosure.checker import Placement, check
from gateway.domain.disclosure.rules import (
    PRIMARY,
    Check,
    DisclosureRules,
    Method,
    Scope,
    Status,
)
from gateway.domain.disclosure.suppression import recoverable
from gateway.domain.disclosure.tables import (
    MAX_CELLS,
    TOTAL,
    AuditSummary,
    CheckedTable,
    SumStats,
    Tabulation,
)

__all__ = [
    "MAX_CELLS",
    "PRIMARY",
    "TOTAL",
    "AuditSummary",
    "Check",
    "CheckedTable",
    "DisclosureRules",
    "Method",
    "Placement",
    "Scope",
    "Status",
    "SumStats",
    "Tabulation",
    "check",
    "recoverable",
]
